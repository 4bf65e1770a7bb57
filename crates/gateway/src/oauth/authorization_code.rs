//! The `authorization_code` grant (RFC 6749 §4.1.3, OAuth 2.1) with PKCE S256 only (RFC 7636,
//! A4): the code must exist, be unexpired and unredeemed, and have been issued to this client,
//! for this `redirect_uri` and this `resource` (M5); `code_verifier` is required, 43–128
//! unreserved characters (§4.1), and its S256 must equal the stored challenge (§4.6, compared in
//! constant time). Everything is checked before the code is spent; then the verifier decides
//! (public clients without an assertion, confidential ones with it), the code is redeemed
//! atomically, the token is minted and a refresh-token family is started. A second redemption
//! of a code is `invalid_grant` and revokes the family the first one started (RFC 6749 §4.1.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use crossauthz_store::{CodeRedemption, NewRefreshFamily};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::OAuthState;
use super::errors::OAuthError;
use super::grant::{ClientAuth, DecisionRequest, Granted, decide, mint, random_secret};
use super::params::Params;

/// Length of an S256 challenge: base64url of 32 bytes.
pub const S256_CHALLENGE_LEN: usize = 43;

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge: 43 base64url characters (RFC 7636 §4.2).
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == S256_CHALLENGE_LEN
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// True when `verifier` is well-formed and its S256 equals `challenge` (constant time).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    valid_verifier(verifier) && bool::from(s256(verifier).as_bytes().ct_eq(challenge.as_bytes()))
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

/// Runs the grant.
pub async fn grant(
    state: &OAuthState,
    params: &Params,
    client: &ClientAuth,
) -> Result<Granted, OAuthError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.get("code_verifier")?.ok_or_else(|| {
        OAuthError::invalid_request("code_verifier is required (PKCE, RFC 7636 §4.5)")
            .with_reason("pkce_verifier_missing")
    })?;
    if !valid_verifier(verifier) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43-128 unreserved characters (RFC 7636 §4.1)",
        )
        .with_reason("pkce_verifier_malformed"));
    }
    let resource = params.resource()?;
    let store = &state.inner.store;
    let stored = store
        .get_authorization_code(code)
        .await
        .map_err(|e| OAuthError::store(&e))?;
    let now = state.now();
    let Some(stored) = stored else {
        return Err(
            OAuthError::invalid_grant("the authorization code is unknown")
                .with_reason("code_unknown"),
        );
    };
    if stored.redeemed_at.is_some() {
        // A replayed code: spend the attempt on revoking what the first use started.
        let _ = store
            .redeem_authorization_code(code, Uuid::new_v4(), now)
            .await
            .map_err(|e| OAuthError::store(&e))?;
        return Err(
            OAuthError::invalid_grant("the authorization code was already used")
                .with_reason("code_reused"),
        );
    }
    let c = &stored.code;
    if c.expires_at <= now {
        return Err(
            OAuthError::invalid_grant("the authorization code has expired")
                .with_reason("code_expired"),
        );
    }
    if c.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        )
        .with_reason("code_client_mismatch"));
    }
    if c.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request's",
        )
        .with_reason("code_redirect_mismatch"));
    }
    if c.resource != resource {
        return Err(OAuthError::invalid_target(
            "the resource differs from the one the user authorized (RFC 8707 §2.2)",
        )
        .with_reason("code_resource_mismatch"));
    }
    if !pkce_matches(verifier, &c.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge (A4)",
        )
        .with_reason("pkce_mismatch"));
    }

    let decided = decide(
        state,
        client,
        DecisionRequest {
            grant_type: "authorization_code",
            scopes: &c.scopes,
            resource: &resource,
            original_scopes: &[],
        },
    )
    .await?;
    let family_id = Uuid::new_v4();
    match store
        .redeem_authorization_code(code, family_id, now)
        .await
        .map_err(|e| OAuthError::store(&e))?
    {
        CodeRedemption::Redeemed(_) => {}
        CodeRedemption::AlreadyRedeemed { .. } => {
            return Err(
                OAuthError::invalid_grant("the authorization code was already used")
                    .with_reason("code_reused"),
            );
        }
        CodeRedemption::Expired | CodeRedemption::NotFound => {
            return Err(
                OAuthError::invalid_grant("the authorization code has expired")
                    .with_reason("code_expired"),
            );
        }
    }
    let minted = mint(
        state,
        &client.client_id,
        &c.subject,
        &resource,
        &decided.granted_scopes,
        decided.credential.as_ref(),
    )
    .await?;
    let config = &state.inner.config;
    let refresh = random_secret();
    store
        .create_refresh_family(
            &NewRefreshFamily {
                family_id,
                client_id: client.client_id.clone(),
                confidential: client.has_assertion(),
                subject: c.subject.clone(),
                resource: resource.clone(),
                scopes: decided.granted_scopes.clone(),
                credential_id: decided.credential.as_ref().map(|v| v.id.clone()),
                issuer_domain: decided.credential.as_ref().map(|v| v.issuer_domain.clone()),
                created_at: now,
                expires_at: now + seconds(config.refresh_family_lifetime_seconds),
            },
            &refresh,
            now + seconds(config.refresh_token_lifetime_seconds),
        )
        .await
        .map_err(|e| OAuthError::store(&e))?;
    Ok(Granted::new(
        &client.client_id,
        &c.subject,
        &resource,
        decided,
        minted,
        Some((refresh, family_id)),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    #[test]
    fn a4_s256_matches_the_rfc7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        // `plain` would compare the verifier itself: never accepted.
        assert!(!pkce_matches(verifier, verifier));
    }

    // A4 / RFC 7636 §4.1: 43–128 unreserved characters.
    #[test]
    fn a4_verifier_is_43_to_128_unreserved_characters() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(valid_verifier(&"A-._~9".repeat(22)[..128]));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
        assert!(!valid_verifier(&format!("{} ", "a".repeat(43))));
        assert!(valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"
        ));
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"
        ));
    }

    proptest::proptest! {
        // Any verifier/challenge pair is compared without panicking.
        #[test]
        fn pkce_check_never_panics(v in ".*", c in ".*") {
            let _ = pkce_matches(&v, &c);
            let _ = valid_challenge(&c);
        }
    }
}
