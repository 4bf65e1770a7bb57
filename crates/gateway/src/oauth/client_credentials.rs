//! The `client_credentials` grant (RFC 6749 §4.4) for agents from any domain: a CIMD client_id,
//! a `private_key_jwt` assertion (C10, P1–P5: checked by the verifier), `scope`, and `resource`
//! (RFC 8707, M5: required, one absolute URI without fragment, A3). The verifier decides
//! (DESIGN §6); the issuer signs an access token for the resource with `sub` = the client. No
//! refresh token (RFC 6749 §4.4.3). A public client is refused by the verifier (only the code
//! flow is open to it).

use super::OAuthState;
use super::errors::OAuthError;
use super::grant::{ClientAuth, DecisionRequest, Granted, decide, mint};
use super::params::Params;

/// Runs the grant.
pub async fn grant(
    state: &OAuthState,
    params: &Params,
    client: &ClientAuth,
) -> Result<Granted, OAuthError> {
    let resource = params.resource()?;
    let scopes = params.scopes()?.unwrap_or_default();
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope(
            "scope is required: this authorization server has no default scope for client_credentials",
        ));
    }
    let decided = decide(
        state,
        client,
        DecisionRequest {
            grant_type: "client_credentials",
            scopes: &scopes,
            resource: &resource,
            original_scopes: &[],
        },
    )
    .await?;
    let minted = mint(
        state,
        &client.client_id,
        "",
        &resource,
        &decided.granted_scopes,
        decided.credential.as_ref(),
    )
    .await?;
    Ok(Granted::new(
        &client.client_id,
        &client.client_id,
        &resource,
        decided,
        minted,
        None,
    ))
}
