//! The Agent Authorization Credential as an SD-JWT VC claims set (`dc+sd-jwt`, SD-JWT VC draft
//! -18): registered claims first, then the profile's claims flat at the top level.
//!
//! The builder writes the full claims set; the credentials crate decides which claims become
//! selectively disclosable (never `iss`, `nbf`, `exp`, `cnf`, `vct`, `status` — V3). The parser
//! expects the PROCESSED claims (disclosures already restored).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::claims::RESERVED_NAMES;
use super::status::TokenStatusRef;
use super::vc::check_did_web;
use super::{AgentClaims, ProfileError, check_validity_window};
use crate::client_id::{ClientIdUrl, https_url};
use crate::jwk_policy::check_jwk;

/// The `vct` of the Agent Authorization Credential (V2: case-sensitive, collision-resistant).
///
/// A versioned URN rather than an https URL so no verifier is tempted to fetch type metadata from
/// it (no SSRF surface); a breaking change of the profile bumps the final number.
pub const AGENT_AUTHZ_VCT: &str = "urn:crossauthz:vct:agent-authorization:1";

/// Everything needed to write the SD-JWT VC claims set.
#[derive(Debug, Clone, Copy)]
pub struct SdJwtVcInput<'a> {
    /// `iss`: the issuer (a did:web DID or an https URL with `/.well-known/jwt-vc-issuer`).
    pub issuer: &'a str,
    /// `sub`: the agent's client_id.
    pub subject: &'a ClientIdUrl,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `nbf`.
    pub valid_from: DateTime<Utc>,
    /// `exp` (always present in this profile).
    pub valid_until: DateTime<Utc>,
    /// `cnf.jwk`: the holder's PUBLIC key (checked by the JWK policy).
    pub holder_jwk: &'a Value,
    /// `status.status_list`.
    pub status: &'a TokenStatusRef,
    /// The claims.
    pub claims: &'a AgentClaims,
}

/// A parsed SD-JWT VC Agent Authorization Credential.
#[derive(Debug, Clone, PartialEq)]
pub struct SdJwtVcAgentCredential {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: ClientIdUrl,
    /// `iat`, if present.
    pub issued_at: Option<DateTime<Utc>>,
    /// `nbf`, if present.
    pub not_before: Option<DateTime<Utc>>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
    /// `cnf.jwk`.
    pub holder_jwk: Value,
    /// `status.status_list`.
    pub status: TokenStatusRef,
    /// The claims.
    pub claims: AgentClaims,
}

impl SdJwtVcAgentCredential {
    /// `nbf <= now < exp`.
    pub fn check_validity(&self, now: DateTime<Utc>) -> Result<(), ProfileError> {
        check_validity_window(self.not_before, self.expires_at, now)
    }
}

fn check_issuer(issuer: &str) -> Result<(), ProfileError> {
    if issuer.starts_with("did:") {
        return check_did_web(issuer);
    }
    https_url(issuer)
        .map(|_| ())
        .map_err(|_| ProfileError::InvalidIssuer {
            issuer: issuer.to_owned(),
            reason: "must be a did:web DID or an https URL",
        })
}

/// Writes the SD-JWT VC claims set (before selective disclosure is applied).
pub fn to_sd_jwt_vc_claims(input: &SdJwtVcInput<'_>) -> Result<Value, ProfileError> {
    check_issuer(input.issuer)?;
    if input.valid_until <= input.valid_from {
        return Err(ProfileError::EmptyValidity);
    }
    check_jwk(input.holder_jwk).map_err(ProfileError::InvalidHolderKey)?;
    let mut out = Map::new();
    out.insert("iss".to_owned(), json!(input.issuer));
    out.insert("iat".to_owned(), json!(input.issued_at.timestamp()));
    out.insert("nbf".to_owned(), json!(input.valid_from.timestamp()));
    out.insert("exp".to_owned(), json!(input.valid_until.timestamp()));
    out.insert("vct".to_owned(), json!(AGENT_AUTHZ_VCT));
    out.insert("sub".to_owned(), json!(input.subject.as_str()));
    out.insert("cnf".to_owned(), json!({ "jwk": input.holder_jwk }));
    out.insert("status".to_owned(), input.status.to_status_claim());
    out.extend(input.claims.to_claims_object()?);
    Ok(Value::Object(out))
}

fn numeric_date(
    obj: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<DateTime<Utc>>, ProfileError> {
    let Some(v) = obj.get(claim) else {
        return Ok(None);
    };
    let seconds = match (v.as_i64(), v.as_f64()) {
        (Some(i), _) => Some(i),
        (None, Some(f)) if f.is_finite() && f.abs() < 1e15 => Some(f.trunc() as i64),
        _ => None,
    };
    seconds
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .map(Some)
        .ok_or(ProfileError::InvalidTimestamp { claim })
}

/// Reads the processed claims of a verified SD-JWT VC Agent Authorization Credential.
///
/// Requires `vct` = [`AGENT_AUTHZ_VCT`] (V2), `iss`, `sub` (a valid client_id), `exp`, `cnf.jwk`
/// (a public key passing the JWK policy) and `status.status_list` (T3); refuses leftover `_sd`
/// / `...` digests. Every claim that is not registered goes to the profile claims.
pub fn from_sd_jwt_vc_claims(claims: &Value) -> Result<SdJwtVcAgentCredential, ProfileError> {
    let obj = claims.as_object().ok_or(ProfileError::NotAnObject {
        what: "SD-JWT VC claims",
    })?;
    if let Some(name) = sd_digest_member(claims) {
        return Err(ProfileError::UnprocessedSdJwt(name));
    }
    let vct = obj
        .get("vct")
        .ok_or(ProfileError::MissingClaim { claim: "vct" })?
        .as_str()
        .ok_or(ProfileError::WrongClaimType { claim: "vct" })?;
    if vct != AGENT_AUTHZ_VCT {
        return Err(ProfileError::WrongVct {
            found: vct.to_owned(),
        });
    }
    let issuer = obj
        .get("iss")
        .ok_or(ProfileError::MissingClaim { claim: "iss" })?
        .as_str()
        .ok_or(ProfileError::WrongClaimType { claim: "iss" })?;
    check_issuer(issuer)?;
    let subject = obj
        .get("sub")
        .ok_or(ProfileError::MissingClaim { claim: "sub" })?
        .as_str()
        .ok_or(ProfileError::WrongClaimType { claim: "sub" })?;
    let subject = ClientIdUrl::parse(subject).map_err(ProfileError::InvalidSubject)?;
    let issued_at = numeric_date(obj, "iat")?;
    let not_before = numeric_date(obj, "nbf")?;
    let expires_at =
        numeric_date(obj, "exp")?.ok_or(ProfileError::MissingClaim { claim: "exp" })?;
    if let Some(start) = not_before
        && expires_at <= start
    {
        return Err(ProfileError::EmptyValidity);
    }
    let holder_jwk = obj
        .get("cnf")
        .ok_or(ProfileError::MissingClaim { claim: "cnf" })?
        .get("jwk")
        .ok_or(ProfileError::MissingClaim { claim: "cnf.jwk" })?;
    check_jwk(holder_jwk).map_err(ProfileError::InvalidHolderKey)?;
    let status = TokenStatusRef::from_status_claim(
        obj.get("status")
            .ok_or(ProfileError::MissingClaim { claim: "status" })?,
    )?;
    let profile_claims: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !RESERVED_NAMES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let claims = AgentClaims::from_claims_object(profile_claims)?;
    Ok(SdJwtVcAgentCredential {
        issuer: issuer.to_owned(),
        subject,
        issued_at,
        not_before,
        expires_at,
        holder_jwk: holder_jwk.clone(),
        status,
        claims,
    })
}

/// The first SD-JWT structural member (`_sd`, `_sd_alg`, `...`) left anywhere in `v`.
fn sd_digest_member(v: &Value) -> Option<&'static str> {
    match v {
        Value::Object(o) => ["_sd", "_sd_alg", "..."]
            .into_iter()
            .find(|name| o.contains_key(*name))
            .or_else(|| o.values().find_map(sd_digest_member)),
        Value::Array(items) => items.iter().find_map(sd_digest_member),
        _ => None,
    }
}
