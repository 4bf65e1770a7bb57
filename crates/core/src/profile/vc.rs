//! The Agent Authorization Credential as a W3C VC Data Model 2.0 document — the claims set of a
//! `vc+jwt` (VC-JOSE-COSE: the JWT claims set IS this document, rule J2).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::status::{BitstringStatusEntry, BitstringStatusRef, StatusPurpose};
use super::{AgentClaims, ProfileError, check_validity_window};
use crate::client_id::ClientIdUrl;

/// `@context[0]` of every VC 2.0 document (J5).
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The credential type of this profile.
pub const AGENT_CREDENTIAL_TYPE: &str = "AgentAuthorizationCredential";

/// Everything needed to write the VC document.
#[derive(Debug, Clone, Copy)]
pub struct VcDocumentInput<'a> {
    /// Credential id; rendered `urn:uuid:<id>`.
    pub credential_id: Uuid,
    /// The issuer DID (`did:web:…`).
    pub issuer: &'a str,
    /// The agent's client_id (`credentialSubject.id`).
    pub subject: &'a ClientIdUrl,
    /// `validFrom`.
    pub valid_from: DateTime<Utc>,
    /// `validUntil` (always present in this profile).
    pub valid_until: DateTime<Utc>,
    /// The status entries to write.
    pub status: &'a BitstringStatusRef,
    /// The claims.
    pub claims: &'a AgentClaims,
}

/// A parsed Agent Authorization Credential (from a verified `vc+jwt` claims set).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentCredential {
    /// `id`, if present.
    pub id: Option<String>,
    /// The issuer DID (`issuer` or `issuer.id`).
    pub issuer: String,
    /// `credentialSubject.id`.
    pub subject: ClientIdUrl,
    /// `validFrom`.
    pub valid_from: DateTime<Utc>,
    /// `validUntil`.
    pub valid_until: DateTime<Utc>,
    /// The `BitstringStatusListEntry` items (at least one with purpose revocation).
    pub status: Vec<BitstringStatusEntry>,
    /// The claims.
    pub claims: AgentClaims,
}

impl AgentCredential {
    /// `validFrom <= now < validUntil`.
    pub fn check_validity(&self, now: DateTime<Utc>) -> Result<(), ProfileError> {
        check_validity_window(Some(self.valid_from), self.valid_until, now)
    }

    /// The entry with the given purpose, if any.
    pub fn status_entry(&self, purpose: &StatusPurpose) -> Option<&BitstringStatusEntry> {
        self.status.iter().find(|e| &e.purpose == purpose)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `did:web:<method-specific-id>` with a non-empty id of DID characters.
pub(crate) fn check_did_web(issuer: &str) -> Result<(), ProfileError> {
    let invalid = |reason| ProfileError::InvalidIssuer {
        issuer: issuer.to_owned(),
        reason,
    };
    let rest = issuer
        .strip_prefix("did:web:")
        .ok_or(invalid("must be a did:web DID"))?;
    let ok = !rest.is_empty()
        && !rest.starts_with(':')
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%'));
    if ok {
        Ok(())
    } else {
        Err(invalid("malformed did:web method-specific id"))
    }
}

/// Writes the VC 2.0 document (validating the claims first).
pub fn to_vc_document(input: &VcDocumentInput<'_>) -> Result<Value, ProfileError> {
    check_did_web(input.issuer)?;
    if input.valid_until <= input.valid_from {
        return Err(ProfileError::EmptyValidity);
    }
    let mut subject = Map::new();
    subject.insert("id".to_owned(), Value::String(input.subject.to_string()));
    subject.extend(input.claims.to_claims_object()?);
    Ok(json!({
        "@context": [VC_V2_CONTEXT],
        "id": input.credential_id.urn().to_string(),
        "type": ["VerifiableCredential", AGENT_CREDENTIAL_TYPE],
        "issuer": input.issuer,
        "validFrom": rfc3339(input.valid_from),
        "validUntil": rfc3339(input.valid_until),
        "credentialSubject": Value::Object(subject),
        "credentialStatus": input.status.to_entries(),
    }))
}

fn timestamp(obj: &Map<String, Value>, claim: &'static str) -> Result<DateTime<Utc>, ProfileError> {
    let raw = obj
        .get(claim)
        .ok_or(ProfileError::MissingClaim { claim })?
        .as_str()
        .ok_or(ProfileError::WrongClaimType { claim })?;
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ProfileError::InvalidTimestamp { claim })
}

/// Reads a VC 2.0 Agent Authorization Credential (the verified claims set of a `vc+jwt`).
///
/// Checks `@context[0]` (J5), `type`, `issuer` (a did:web, string or `{id}`), `validFrom` and
/// `validUntil` (both required, RFC 3339, non-empty window), one `credentialSubject` whose `id`
/// is a valid client_id, the claims, and a revocation `BitstringStatusListEntry` (B1). It does
/// NOT check time against a clock: call [`AgentCredential::check_validity`].
pub fn from_vc_document(doc: &Value) -> Result<AgentCredential, ProfileError> {
    let obj = doc
        .as_object()
        .ok_or(ProfileError::NotAnObject { what: "credential" })?;
    let first_context = obj
        .get("@context")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str);
    if first_context != Some(VC_V2_CONTEXT) {
        return Err(ProfileError::WrongContext);
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    };
    if !types.contains(&"VerifiableCredential") || !types.contains(&AGENT_CREDENTIAL_TYPE) {
        return Err(ProfileError::WrongType);
    }
    let id = match obj.get("id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ProfileError::WrongClaimType { claim: "id" }),
    };
    let issuer = match obj.get("issuer") {
        None => return Err(ProfileError::MissingClaim { claim: "issuer" }),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("id")
            .and_then(Value::as_str)
            .ok_or(ProfileError::WrongClaimType { claim: "issuer" })?
            .to_owned(),
        Some(_) => return Err(ProfileError::WrongClaimType { claim: "issuer" }),
    };
    check_did_web(&issuer)?;
    let valid_from = timestamp(obj, "validFrom")?;
    let valid_until = timestamp(obj, "validUntil")?;
    if valid_until <= valid_from {
        return Err(ProfileError::EmptyValidity);
    }
    let mut subject = match obj.get("credentialSubject") {
        None => {
            return Err(ProfileError::MissingClaim {
                claim: "credentialSubject",
            });
        }
        Some(Value::Object(o)) => o.clone(),
        Some(Value::Array(_)) => return Err(ProfileError::MultipleSubjects),
        Some(_) => {
            return Err(ProfileError::WrongClaimType {
                claim: "credentialSubject",
            });
        }
    };
    let subject_id = match subject.shift_remove("id") {
        None => {
            return Err(ProfileError::MissingClaim {
                claim: "credentialSubject.id",
            });
        }
        Some(Value::String(s)) => ClientIdUrl::parse(&s).map_err(ProfileError::InvalidSubject)?,
        Some(_) => {
            return Err(ProfileError::WrongClaimType {
                claim: "credentialSubject.id",
            });
        }
    };
    let claims = AgentClaims::from_claims_object(subject)?;
    let entries: Vec<Value> = match obj.get("credentialStatus") {
        None => return Err(ProfileError::MissingRevocationStatus),
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        Some(_) => {
            return Err(ProfileError::WrongClaimType {
                claim: "credentialStatus",
            });
        }
    };
    let mut status = Vec::new();
    for (position, entry) in entries.iter().enumerate() {
        if let Some(parsed) = BitstringStatusEntry::parse(position, entry)? {
            status.push(parsed);
        }
    }
    if !status
        .iter()
        .any(|e| e.purpose == StatusPurpose::Revocation)
    {
        return Err(ProfileError::MissingRevocationStatus);
    }
    Ok(AgentCredential {
        id,
        issuer,
        subject: subject_id,
        valid_from,
        valid_until,
        status,
        claims,
    })
}
