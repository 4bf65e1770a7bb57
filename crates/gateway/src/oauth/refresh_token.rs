//! The `refresh_token` grant (RFC 6749 §6) with rotation on every use and reuse detection (M7,
//! RFC 9700 §4.14.2): a refresh token is exchanged once; presenting a used one revokes its whole
//! family (every token descending from the same grant) and is `invalid_grant`. The token must
//! belong to the requesting client; a family started by a confidential client needs its
//! `private_key_jwt` assertion again (C10). `resource`, if sent, must be the family's
//! (`invalid_target`).
//!
//! Then the verifier decides the refresh as a grant of its own (`refresh_token`, with the
//! family's scopes as the original ones), for public and confidential clients alike: the CIMD is
//! resolved again (it may have changed, become invalid or gone: `invalid_client`), it must still
//! list `refresh_token` (`unauthorized_client`), a confidential client must authenticate, a
//! public one must not send an assertion, the requested `scope` must be among the original ones
//! (`invalid_scope`, RFC 6749 §6), and a credential revoked since the grant stops the refresh.
//! A refused refresh changes nothing: the token is not spent.

use chrono::Duration;
use crossauthz_store::RefreshRotation;

use super::OAuthState;
use super::errors::OAuthError;
use super::grant::{ClientAuth, DecisionRequest, Granted, decide, mint, random_secret};
use super::params::Params;

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
}

/// Runs the grant.
pub async fn grant(
    state: &OAuthState,
    params: &Params,
    client: &ClientAuth,
) -> Result<Granted, OAuthError> {
    let presented = params.require("refresh_token")?;
    let requested = params.scopes()?;
    let resource = params.optional_resource()?;
    let store = &state.inner.store;
    let now = state.now();
    let unknown = || {
        OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
            .with_reason("refresh_token_invalid")
    };
    let current = store
        .get_refresh_token(presented)
        .await
        .map_err(|e| OAuthError::store(&e))?
        .ok_or_else(unknown)?;
    let family = &current.family.family;
    if family.client_id != client.client_id {
        return Err(unknown().with_reason("refresh_token_client_mismatch"));
    }
    if current.family.revoked_at.is_some() {
        return Err(unknown().with_reason("refresh_family_revoked"));
    }
    if current.used_at.is_some() {
        store
            .revoke_refresh_family(family.family_id, "refresh_token_reused", now)
            .await
            .map_err(|e| OAuthError::store(&e))?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; every token of this grant is revoked (M7)",
        )
        .with_reason("refresh_token_reused"));
    }
    if !current.is_active(now) {
        return Err(unknown().with_reason("refresh_token_expired"));
    }
    if family.confidential && !client.has_assertion() {
        return Err(OAuthError::invalid_client(
            "this grant belongs to a confidential client: client authentication is required (C10)",
        )
        .with_reason("assertion_missing")
        .with_challenge("Bearer", state.issuer()));
    }
    if let Some(r) = &resource
        && r != &family.resource
    {
        return Err(OAuthError::invalid_target(
            "a refresh token only yields tokens for the resource of its grant",
        ));
    }
    // The verifier checks that `scope` only narrows (RFC 6749 §6) as part of its decision.
    let scopes = requested.unwrap_or_else(|| family.scopes.clone());
    let decided = decide(
        state,
        client,
        DecisionRequest {
            grant_type: "refresh_token",
            scopes: &scopes,
            resource: &family.resource,
            original_scopes: &family.scopes,
        },
    )
    .await?;
    let config = &state.inner.config;
    let next = random_secret();
    match store
        .rotate_refresh_token(
            presented,
            &next,
            now + seconds(config.refresh_token_lifetime_seconds),
            now,
        )
        .await
        .map_err(|e| OAuthError::store(&e))?
    {
        RefreshRotation::Rotated(_) => {}
        RefreshRotation::Reused { .. } => {
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; every token of this grant is revoked (M7)",
            )
            .with_reason("refresh_token_reused"));
        }
        RefreshRotation::Revoked | RefreshRotation::Expired | RefreshRotation::NotFound => {
            return Err(unknown());
        }
    }
    let minted = mint(
        state,
        &client.client_id,
        &family.subject,
        &family.resource,
        &decided.granted_scopes,
        decided.credential.as_ref(),
    )
    .await?;
    Ok(Granted::new(
        &client.client_id,
        &family.subject,
        &family.resource,
        decided,
        minted,
        Some((next, family.family_id)),
    ))
}
