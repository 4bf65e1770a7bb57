//! Step 3: client authentication with a `private_key_jwt` client assertion (RFC 7523 as amended
//! by 7523bis; rules P1–P5, C10). [`verify_assertion`] is pure: it checks the assertion against
//! the keys of the client's document and this AS's issuer at an explicit `now`. Replay (`jti`)
//! is recorded by the caller through the store, and only after this function succeeded.

use chrono::{DateTime, TimeDelta, Utc};
use crossauthz_credentials::jose::{self, CheckedJws, JoseError};
use crossauthz_credentials::keys::PublicJwk;
use serde_json::Value;

use crate::reasons::{DenyReason, codes};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2, P1).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The explicit type RFC 7523bis recommends for client assertions (P3).
pub const CLIENT_AUTHENTICATION_TYP: &str = "client-authentication+jwt";
/// The generic JWT type, accepted for compatibility with clients that predate 7523bis.
pub const GENERIC_JWT_TYP: &str = "JWT";
/// Longest `jti` accepted, in bytes.
pub const MAX_JTI_LEN: usize = 256;

/// What an assertion is checked against.
#[derive(Debug, Clone)]
pub struct AssertionPolicy {
    /// This AS's issuer identifier: the only acceptable `aud` (P3).
    pub issuer: String,
    /// Clock skew tolerated on `exp`, `nbf`, `iat`.
    pub skew: TimeDelta,
    /// How far ahead of `now` (and of `iat`) `exp` may be.
    pub max_lifetime: TimeDelta,
}

/// A verified client assertion.
#[derive(Debug, Clone)]
pub struct AuthenticatedAssertion {
    /// The document key that signed it (the holder key a credential must be bound to).
    pub key: PublicJwk,
    /// The assertion's `jti`.
    pub jti: String,
    /// Until when the `jti` must be remembered: `exp` plus the skew, so that a replay is caught
    /// for as long as the assertion could be accepted.
    pub replay_until: DateTime<Utc>,
}

/// Why a client assertion was refused. Listed in checking order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthError {
    /// No assertion, but the client is confidential (C10).
    #[error("client authentication is required: the document declares private_key_jwt (C10)")]
    Missing,
    /// `client_assertion_type` is not jwt-bearer (P1).
    #[error("client_assertion_type must be {JWT_BEARER} (P1)")]
    WrongAssertionType,
    /// Not one compact JWS with JSON header and claims (P1: exactly one JWT).
    #[error("the client assertion is not one compact JWT (P1): {0}")]
    Malformed(JoseError),
    /// `alg` is `none`, HS*, RS* or any other than EdDSA/ES256 (P5).
    #[error("client assertion algorithm {0:?} is not allowed; only EdDSA and ES256 (P5)")]
    DisallowedAlgorithm(String),
    /// `typ` is missing or not `client-authentication+jwt` / `JWT` (explicit typing, RFC 8725).
    #[error("client assertion typ {0:?} is not client-authentication+jwt or JWT (P3)")]
    WrongType(Option<String>),
    /// The header `kid` names no key of the document.
    #[error("no key of the client's document has kid {0:?} (P5)")]
    UnknownKey(String),
    /// No key of the document verifies the signature (P5).
    #[error("the client assertion signature does not verify with the client's keys (P5)")]
    BadSignature,
    /// `iss` is not the client_id (P2).
    #[error("iss must equal the client_id (P2)")]
    IssuerMismatch,
    /// `sub` is not the client_id (P2).
    #[error("sub must equal the client_id (P2)")]
    SubjectMismatch,
    /// `aud` is missing, an array, or not this AS's issuer (P3).
    #[error("aud must be this authorization server's issuer identifier as a single string (P3)")]
    WrongAudience,
    /// A required claim is missing or has the wrong type.
    #[error("claim {0} is missing or has the wrong type (P4)")]
    BadClaim(&'static str),
    /// `exp` has passed (P4).
    #[error("the client assertion has expired (P4)")]
    Expired,
    /// `nbf` or `iat` is in the future.
    #[error("the client assertion is not valid yet ({0} in the future)")]
    NotYetValid(&'static str),
    /// `exp` is further ahead than the maximum lifetime.
    #[error("the client assertion lives longer than the {0} s this server accepts (P4)")]
    LifetimeTooLong(i64),
    /// No `jti`, or an empty / oversized one (P4, OIDC Core §9).
    #[error("the client assertion has no usable jti (P4)")]
    MissingJti,
}

impl ClientAuthError {
    /// The deny reason of this error.
    pub fn deny_reason(&self) -> DenyReason {
        let code = match self {
            Self::Missing => codes::ASSERTION_MISSING,
            Self::WrongAssertionType => codes::ASSERTION_TYPE_INVALID,
            Self::Malformed(_) | Self::WrongType(_) | Self::BadClaim(_) => codes::ASSERTION_INVALID,
            Self::DisallowedAlgorithm(_) => codes::ASSERTION_ALG_DISALLOWED,
            Self::UnknownKey(_) | Self::BadSignature => codes::ASSERTION_BAD_SIGNATURE,
            Self::IssuerMismatch | Self::SubjectMismatch => codes::ASSERTION_ISSUER_MISMATCH,
            Self::WrongAudience => codes::ASSERTION_WRONG_AUDIENCE,
            Self::Expired => codes::ASSERTION_EXPIRED,
            Self::NotYetValid(_) => codes::ASSERTION_NOT_YET_VALID,
            Self::LifetimeTooLong(_) => codes::ASSERTION_LIFETIME_TOO_LONG,
            Self::MissingJti => codes::ASSERTION_JTI_MISSING,
        };
        DenyReason::new(code, self.to_string())
    }
}

/// A NumericDate claim as whole seconds; `Err` if present with a non-numeric value.
fn numeric_date(claims: &Value, name: &'static str) -> Result<Option<i64>, ClientAuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => {
            if let Some(i) = v.as_i64() {
                return Ok(Some(i));
            }
            match v.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.trunc() as i64)),
                _ => Err(ClientAuthError::BadClaim(name)),
            }
        }
    }
}

/// The header checks before any key is looked at: form, `alg` allowlist (P5), `typ`.
fn decode(assertion: &str) -> Result<CheckedJws<'_>, ClientAuthError> {
    if assertion.is_empty()
        || assertion
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b',')
    {
        return Err(ClientAuthError::Malformed(JoseError::NotCompact));
    }
    let (header, _) = jose::decode_unverified(assertion).map_err(ClientAuthError::Malformed)?;
    header
        .algorithm()
        .map_err(|_| ClientAuthError::DisallowedAlgorithm(header.alg.clone()))?;
    let typ = if header.typ_is(CLIENT_AUTHENTICATION_TYP) {
        CLIENT_AUTHENTICATION_TYP
    } else if header.typ_is(GENERIC_JWT_TYP) {
        GENERIC_JWT_TYP
    } else {
        return Err(ClientAuthError::WrongType(header.typ));
    };
    CheckedJws::decode(assertion, typ).map_err(|e| match e {
        JoseError::DisallowedAlgorithm(a) => ClientAuthError::DisallowedAlgorithm(a),
        JoseError::WrongType { found, .. } => ClientAuthError::WrongType(found),
        other => ClientAuthError::Malformed(other),
    })
}

/// Finds the document key that signed the assertion: the one with the header `kid` when there
/// is one, else any key of the header's algorithm.
fn signing_key(checked: &CheckedJws<'_>, keys: &[PublicJwk]) -> Result<PublicJwk, ClientAuthError> {
    let alg = checked.algorithm();
    match checked.header().kid.as_deref() {
        Some(kid) => {
            let key = keys
                .iter()
                .find(|k| k.kid() == Some(kid))
                .ok_or_else(|| ClientAuthError::UnknownKey(kid.to_owned()))?;
            checked
                .verify_signature(key)
                .map_err(|_| ClientAuthError::BadSignature)?;
            Ok(key.clone())
        }
        None => keys
            .iter()
            .filter(|k| k.algorithm() == alg)
            .find(|k| checked.verify_signature(k).is_ok())
            .cloned()
            .ok_or(ClientAuthError::BadSignature),
    }
}

/// Verifies a client assertion (P1–P5) for `client_id` against the document's `keys`.
///
/// In order: `client_assertion_type` (P1), one compact JWS, `alg` EdDSA/ES256 (P5), `typ`
/// `client-authentication+jwt` or `JWT`, the signing key (by `kid`, else by algorithm) and the
/// signature (P5); then `iss` = `sub` = client_id (P2), `aud` = issuer as a single string (P3;
/// the token endpoint URL or an array is refused), `exp` required, not past, not further than
/// `max_lifetime` ahead (P4), `nbf`/`iat` not in the future, `jti` present (P4). Times allow
/// `skew`.
pub fn verify_assertion(
    assertion: &str,
    assertion_type: &str,
    client_id: &str,
    keys: &[PublicJwk],
    policy: &AssertionPolicy,
    now: DateTime<Utc>,
) -> Result<AuthenticatedAssertion, ClientAuthError> {
    if assertion.is_empty() {
        return Err(ClientAuthError::Missing);
    }
    if assertion_type != JWT_BEARER {
        return Err(ClientAuthError::WrongAssertionType);
    }
    let checked = decode(assertion)?;
    let key = signing_key(&checked, keys)?;
    let claims = checked.claims();

    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == client_id => {}
        Some(_) => return Err(ClientAuthError::IssuerMismatch),
        None => return Err(ClientAuthError::BadClaim("iss")),
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if sub == client_id => {}
        Some(_) => return Err(ClientAuthError::SubjectMismatch),
        None => return Err(ClientAuthError::BadClaim("sub")),
    }
    match claims.get("aud") {
        Some(Value::String(aud)) if *aud == policy.issuer => {}
        _ => return Err(ClientAuthError::WrongAudience),
    }

    let skew = policy.skew.abs().num_seconds();
    let now_s = now.timestamp();
    let exp = numeric_date(claims, "exp")?.ok_or(ClientAuthError::BadClaim("exp"))?;
    if exp <= now_s.saturating_sub(skew) {
        return Err(ClientAuthError::Expired);
    }
    let max = policy.max_lifetime.num_seconds();
    if exp > now_s.saturating_add(max).saturating_add(skew) {
        return Err(ClientAuthError::LifetimeTooLong(max));
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now_s.saturating_add(skew)
    {
        return Err(ClientAuthError::NotYetValid("nbf"));
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if iat > now_s.saturating_add(skew) {
            return Err(ClientAuthError::NotYetValid("iat"));
        }
        if exp.saturating_sub(iat) > max.saturating_add(skew) {
            return Err(ClientAuthError::LifetimeTooLong(max));
        }
    }
    let jti = match claims.get("jti") {
        Some(Value::String(j)) if !j.is_empty() && j.len() <= MAX_JTI_LEN => j.clone(),
        _ => return Err(ClientAuthError::MissingJti),
    };
    let replay_until = DateTime::from_timestamp(exp.saturating_add(skew), 0)
        .ok_or(ClientAuthError::BadClaim("exp"))?;
    Ok(AuthenticatedAssertion {
        key,
        jti,
        replay_until,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crossauthz_credentials::jose::{JoseHeader, sign_with_header};
    use crossauthz_credentials::keys::{Algorithm, SigningKey};
    use serde_json::json;

    const CLIENT: &str = "https://alpha.test/agents/1/client-metadata.json";
    const ISSUER: &str = "https://beta.test";

    fn policy() -> AssertionPolicy {
        AssertionPolicy {
            issuer: ISSUER.into(),
            skew: TimeDelta::seconds(30),
            max_lifetime: TimeDelta::seconds(300),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": CLIENT, "sub": CLIENT, "aud": ISSUER,
            "iat": now().timestamp(), "exp": now().timestamp() + 120, "jti": "j-1",
        })
    }

    fn sign(key: &SigningKey, typ: &str, kid: Option<&str>, claims: &Value) -> String {
        let header = JoseHeader::new(key.algorithm(), typ, kid);
        sign_with_header(key, &header, claims).unwrap()
    }

    fn setup(alg: Algorithm) -> (SigningKey, Vec<PublicJwk>) {
        let key = SigningKey::generate(alg).unwrap();
        let public = key.public_jwk();
        (key, vec![public])
    }

    fn check(
        assertion: &str,
        keys: &[PublicJwk],
    ) -> Result<AuthenticatedAssertion, ClientAuthError> {
        verify_assertion(assertion, JWT_BEARER, CLIENT, keys, &policy(), now())
    }

    #[test]
    fn p5_valid_assertion_with_either_algorithm_and_either_typ_authenticates() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256] {
            let (key, keys) = setup(alg);
            let kid = key.thumbprint();
            for typ in [CLIENT_AUTHENTICATION_TYP, GENERIC_JWT_TYP] {
                let ok = check(&sign(&key, typ, Some(&kid), &claims()), &keys).unwrap();
                assert!(ok.key.same_key(&key.public_jwk()));
                assert_eq!(ok.jti, "j-1");
                assert_eq!(ok.replay_until.timestamp(), now().timestamp() + 150);
            }
            // Without kid, the key is found by algorithm.
            check(
                &sign(&key, CLIENT_AUTHENTICATION_TYP, None, &claims()),
                &keys,
            )
            .unwrap();
        }
    }

    #[test]
    fn c10_missing_assertion_and_p1_wrong_type_are_refused() {
        let (_, keys) = setup(Algorithm::EdDSA);
        assert!(matches!(
            verify_assertion("", JWT_BEARER, CLIENT, &keys, &policy(), now()),
            Err(ClientAuthError::Missing)
        ));
        assert!(matches!(
            verify_assertion("a.b.c", "urn:other", CLIENT, &keys, &policy(), now()),
            Err(ClientAuthError::WrongAssertionType)
        ));
    }

    #[test]
    fn p1_two_jwts_or_garbage_is_malformed() {
        let (key, keys) = setup(Algorithm::EdDSA);
        let one = sign(&key, GENERIC_JWT_TYP, None, &claims());
        for bad in [
            format!("{one} {one}"),
            format!("{one},{one}"),
            "x.y".into(),
            "abc".into(),
        ] {
            assert!(
                matches!(check(&bad, &keys), Err(ClientAuthError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn p5_alg_none_and_hs256_are_refused() {
        let (_, keys) = setup(Algorithm::EdDSA);
        let b64 = |v: &Value| jose::b64url_encode(v.to_string().as_bytes());
        for alg in ["none", "HS256", "RS256"] {
            let token = format!(
                "{}.{}.{}",
                b64(&json!({"alg": alg, "typ": "JWT"})),
                b64(&claims()),
                if alg == "none" { "" } else { "c2ln" }
            );
            assert!(
                matches!(check(&token, &keys), Err(ClientAuthError::DisallowedAlgorithm(a)) if a == alg),
                "{alg}"
            );
        }
    }

    #[test]
    fn p3_wrong_or_missing_typ_is_refused() {
        let (key, keys) = setup(Algorithm::EdDSA);
        for typ in ["vc+jwt", "kb+jwt", "at+jwt"] {
            assert!(matches!(
                check(&sign(&key, typ, None, &claims()), &keys),
                Err(ClientAuthError::WrongType(Some(_)))
            ));
        }
    }

    #[test]
    fn p5_signature_by_a_key_not_in_the_document_is_refused() {
        let (_, keys) = setup(Algorithm::EdDSA);
        let other = SigningKey::generate(Algorithm::EdDSA).unwrap();
        assert!(matches!(
            check(&sign(&other, GENERIC_JWT_TYP, None, &claims()), &keys),
            Err(ClientAuthError::BadSignature)
        ));
        let kid = other.thumbprint();
        assert!(matches!(
            check(&sign(&other, GENERIC_JWT_TYP, Some(&kid), &claims()), &keys),
            Err(ClientAuthError::UnknownKey(k)) if k == kid
        ));
        // A document kid with a signature from another key.
        let doc_kid = keys[0].kid().unwrap().to_owned();
        assert!(matches!(
            check(
                &sign(&other, GENERIC_JWT_TYP, Some(&doc_kid), &claims()),
                &keys
            ),
            Err(ClientAuthError::BadSignature)
        ));
        // Tampered payload.
        let (key, keys) = setup(Algorithm::ES256);
        let good = sign(&key, GENERIC_JWT_TYP, None, &claims());
        let mut parts: Vec<&str> = good.split('.').collect();
        let mut evil = claims();
        evil["sub"] = json!("https://evil.test/x");
        let payload = jose::b64url_encode(evil.to_string().as_bytes());
        parts[1] = &payload;
        assert!(matches!(
            check(&parts.join("."), &keys),
            Err(ClientAuthError::BadSignature)
        ));
    }

    #[test]
    fn p2_iss_and_sub_must_be_the_client_id() {
        let (key, keys) = setup(Algorithm::EdDSA);
        let mut c = claims();
        c["iss"] = json!("https://alpha.test/agents/2/client-metadata.json");
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::IssuerMismatch)
        ));
        let mut c = claims();
        c["sub"] = json!("https://alpha.test/agents/2/client-metadata.json");
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::SubjectMismatch)
        ));
    }

    #[test]
    fn p3_aud_must_be_the_issuer_as_its_only_value() {
        let (key, keys) = setup(Algorithm::EdDSA);
        for aud in [
            json!("https://beta.test/token"),
            json!("https://beta.test/"),
            json!([ISSUER]),
            json!([ISSUER, "https://other.test"]),
            Value::Null,
        ] {
            let mut c = claims();
            c["aud"] = aud.clone();
            assert!(
                matches!(
                    check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
                    Err(ClientAuthError::WrongAudience)
                ),
                "{aud}"
            );
        }
    }

    #[test]
    fn p4_exp_is_required_not_past_and_short() {
        let (key, keys) = setup(Algorithm::EdDSA);
        let t = now().timestamp();
        let mut c = claims();
        c.as_object_mut().unwrap().remove("exp");
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::BadClaim("exp"))
        ));
        let mut c = claims();
        c["exp"] = json!(t - 31);
        c["iat"] = json!(t - 100);
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::Expired)
        ));
        // Within the skew: still accepted.
        c["exp"] = json!(t - 29);
        check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys).unwrap();
        let mut c = claims();
        c["exp"] = json!(t + 3600);
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::LifetimeTooLong(300))
        ));
        let mut c = claims();
        c["iat"] = json!(t - 1000);
        c["exp"] = json!(t + 10);
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::LifetimeTooLong(300))
        ));
        let mut c = claims();
        c["exp"] = json!("soon");
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::BadClaim("exp"))
        ));
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused_beyond_the_skew() {
        let (key, keys) = setup(Algorithm::EdDSA);
        let t = now().timestamp();
        let mut c = claims();
        c["iat"] = json!(t + 60);
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::NotYetValid("iat"))
        ));
        let mut c = claims();
        c["nbf"] = json!(t + 60);
        assert!(matches!(
            check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
            Err(ClientAuthError::NotYetValid("nbf"))
        ));
        let mut c = claims();
        c["nbf"] = json!(t + 20);
        check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys).unwrap();
    }

    #[test]
    fn p4_jti_is_required() {
        let (key, keys) = setup(Algorithm::EdDSA);
        for jti in [
            Value::Null,
            json!(""),
            json!(7),
            json!("x".repeat(MAX_JTI_LEN + 1)),
        ] {
            let mut c = claims();
            c["jti"] = jti;
            assert!(matches!(
                check(&sign(&key, GENERIC_JWT_TYP, None, &c), &keys),
                Err(ClientAuthError::MissingJti)
            ));
        }
    }

    #[test]
    fn every_error_has_an_assertion_or_invalid_client_code() {
        let r = ClientAuthError::Expired.deny_reason();
        assert_eq!(r.code, codes::ASSERTION_EXPIRED);
        assert_eq!(r.oauth_error.as_str(), "invalid_client");
    }

    proptest::proptest! {
        #[test]
        fn assertion_parser_never_panics(s in "\\PC{0,200}") {
            let (_, keys) = setup(Algorithm::EdDSA);
            let _ = check(&s, &keys);
        }

        #[test]
        fn assertion_parser_never_panics_on_dotted_base64(a in "[A-Za-z0-9_-]{0,40}", b in "[A-Za-z0-9_-]{0,60}", c in "[A-Za-z0-9_-]{0,90}") {
            let (_, keys) = setup(Algorithm::EdDSA);
            let _ = check(&format!("{a}.{b}.{c}"), &keys);
        }
    }
}
