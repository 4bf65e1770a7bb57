//! Issuance: validating an issue request completely before anything is allocated or written,
//! and building the Agent Authorization Credential (DESIGN §5) in either format.
//!
//! - `vc+jwt` (VC-JOSE-COSE): the claims set is the VC 2.0 document from
//!   `crossauthz_core::profile::to_vc_document`, with two `BitstringStatusListEntry` items
//!   (revocation at `<list uri>`, suspension at `<list uri>/suspension`, same index) and the
//!   holder binding as a **top-level `cnf` claim** (`{"cnf": {"jwk": …}}`, RFC 7800 shape) beside
//!   the VC members: VC-JOSE-COSE lets the claims set carry JWT claims, and a verifier checks the
//!   agent's authenticating key against it exactly as for SD-JWT VC.
//! - `dc+sd-jwt` (SD-JWT VC): the claims set from `to_sd_jwt_vc_claims` (`iss`, `iat`, `nbf`,
//!   `exp`, `vct`, `sub`, `cnf.jwk`, `status.status_list {idx, uri}`, the claims flat) plus
//!   `jti` = `urn:uuid:<credential id>`; the caller's `disclose` JSON pointers become Disclosures.
//!
//! `validFrom`/`validUntil` (`nbf`/`exp`) are always set, in whole seconds.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use crossauthz_core::client_id::ClientIdUrl;
use crossauthz_core::jwk_policy::check_jwk;
use crossauthz_core::profile::{
    AgentClaims, BitstringStatusRef, SdJwtVcInput, TokenStatusRef, VcDocumentInput,
    to_sd_jwt_vc_claims, to_vc_document,
};
use crossauthz_credentials::keys::PublicJwk;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::IssuerError;
use crate::config::{Identity, IssuerConfig};

/// Most `disclose` entries one request may name.
pub const MAX_DISCLOSE: usize = 64;

/// Claims that are never selectively disclosable: SD-JWT VC -18 §2.2.2.3 (V3: `iss`, `nbf`,
/// `exp`, `cnf`, `vct`, `vct#integrity`, `status`), `iat` (validity), and by project policy `sub`
/// (the subject binding to the client_id) and `jti` (the credential id verifiers audit).
pub const NEVER_DISCLOSABLE: [&str; 10] = [
    "iss",
    "nbf",
    "exp",
    "iat",
    "cnf",
    "vct",
    "vct#integrity",
    "status",
    "sub",
    "jti",
];

/// The two credential formats (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// W3C VC 2.0 secured with JOSE, `typ: vc+jwt`.
    VcJwt,
    /// IETF SD-JWT VC, `typ: dc+sd-jwt`.
    DcSdJwt,
}

impl Format {
    /// The media-type name, also stored in the credential register.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VcJwt => "vc+jwt",
            Self::DcSdJwt => "dc+sd-jwt",
        }
    }

    /// Parses a stored format name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vc+jwt" => Some(Self::VcJwt),
            "dc+sd-jwt" => Some(Self::DcSdJwt),
            _ => None,
        }
    }
}

/// Who asked for an operation, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The admin principal or calling service.
    pub subject: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// An issue request as the service receives it (wire values, not yet validated).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssueRequest {
    /// The agent (UUID).
    pub agent_id: String,
    /// The agent's client_id (its CIMD URL).
    pub subject: String,
    /// The Agent Authorization Credential claims, a JSON object. `issuerDomain` may be left
    /// out (this issuer fills it in); if given, it must be this issuer's domain.
    pub claims_json: String,
    /// The agent's public key to bind the credential to (`cnf.jwk`), a JSON object.
    pub holder_jwk_json: String,
    /// The format; `None` is refused.
    pub format: Option<Format>,
    /// Lifetime in seconds; 0 means the configured default.
    pub validity_seconds: u64,
    /// JSON pointers (RFC 6901) into the SD-JWT VC claims set of claims to make selectively
    /// disclosable (`dc+sd-jwt` only).
    pub disclose: Vec<String>,
    /// Who asked.
    pub actor: Actor,
}

/// Where a credential's status lives (from the status-list service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    /// The list.
    pub list_id: Uuid,
    /// The index in the list.
    pub index: u64,
    /// The public URL of the list: the Token Status List `uri` and the revocation
    /// `statusListCredential`.
    pub uri: String,
}

impl StatusRef {
    /// The URL of the list's suspension-purpose bitstring credential.
    pub fn suspension_uri(&self) -> String {
        format!("{}/suspension", self.uri)
    }
}

/// A signed credential, as handed back to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredential {
    /// The credential id.
    pub id: Uuid,
    /// Its format.
    pub format: Format,
    /// The compact `vc+jwt`, or the SD-JWT `JWT~D1~…~Dn~`.
    pub credential: String,
    /// `validFrom` / `nbf`.
    pub valid_from: DateTime<Utc>,
    /// `validUntil` / `exp`.
    pub valid_until: DateTime<Utc>,
    /// Its status entry.
    pub status: StatusRef,
    /// The DID URL of the signing key.
    pub kid: String,
}

/// A fully validated request: everything needed to build the credential once a status entry
/// is allocated.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) id: Uuid,
    pub(crate) agent_id: Uuid,
    pub(crate) subject: ClientIdUrl,
    pub(crate) claims: AgentClaims,
    pub(crate) holder_jwk: Value,
    pub(crate) format: Format,
    pub(crate) valid_from: DateTime<Utc>,
    pub(crate) valid_until: DateTime<Utc>,
    pub(crate) disclose: Vec<String>,
}

/// Parses a UUID field.
pub(crate) fn parse_uuid(s: &str, what: &'static str) -> Result<Uuid, IssuerError> {
    Uuid::parse_str(s.trim()).map_err(|_| IssuerError::MalformedId { what })
}

/// `now` truncated to whole seconds (VC dates and JWT NumericDates are seconds).
pub(crate) fn whole_seconds(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

/// Validates the whole request; nothing is allocated or written before this passes.
pub(crate) fn prepare(
    req: &IssueRequest,
    config: &IssuerConfig,
    identity: &Identity,
    sd_jwt_iss: &str,
    now: DateTime<Utc>,
) -> Result<Prepared, IssuerError> {
    let format = req.format.ok_or(IssuerError::FormatUnspecified)?;
    let agent_id = parse_uuid(&req.agent_id, "agent_id")?;
    let subject = ClientIdUrl::parse(&req.subject).map_err(IssuerError::InvalidSubject)?;
    let claims = parse_claims(&req.claims_json, &identity.domain)?;
    let holder_jwk = parse_holder_jwk(&req.holder_jwk_json)?;
    let validity = match req.validity_seconds {
        0 => config.default_validity_seconds,
        v if v > config.max_validity_seconds => {
            return Err(IssuerError::ValidityTooLong {
                requested: v,
                max: config.max_validity_seconds,
            });
        }
        v => v,
    };
    let valid_from = whole_seconds(now);
    // Bounded by the configuration (≤ 10 years): the addition cannot overflow.
    let valid_until = valid_from + Duration::seconds(i64::try_from(validity).unwrap_or(i64::MAX));
    let prepared = Prepared {
        id: Uuid::new_v4(),
        agent_id,
        subject,
        claims,
        holder_jwk,
        format,
        valid_from,
        valid_until,
        disclose: req.disclose.clone(),
    };
    match format {
        Format::VcJwt => {
            if !req.disclose.is_empty() {
                return Err(IssuerError::DisclosureNotSupported);
            }
            // Build once with a placeholder entry so that every profile rule is checked now.
            vc_document(&prepared, &identity.did, &placeholder_status(identity))?;
        }
        Format::DcSdJwt => {
            let claims = sd_jwt_claims(&prepared, sd_jwt_iss, &placeholder_status(identity))?;
            check_disclose(&claims, &req.disclose)?;
        }
    }
    Ok(prepared)
}

fn placeholder_status(identity: &Identity) -> StatusRef {
    StatusRef {
        list_id: Uuid::nil(),
        index: 0,
        uri: format!("{}{}", identity.status_prefix, Uuid::nil()),
    }
}

fn parse_claims(claims_json: &str, domain: &str) -> Result<AgentClaims, IssuerError> {
    let mut obj = match serde_json::from_str::<Value>(claims_json) {
        Ok(Value::Object(o)) => o,
        _ => return Err(IssuerError::ClaimsNotAnObject),
    };
    match obj.get("issuerDomain") {
        None => {
            obj.insert("issuerDomain".to_owned(), json!(domain));
        }
        Some(Value::String(d)) if d != domain => {
            return Err(IssuerError::IssuerDomainMismatch {
                found: d.clone(),
                expected: domain.to_owned(),
            });
        }
        Some(_) => {}
    }
    AgentClaims::from_claims_object(obj).map_err(IssuerError::InvalidClaims)
}

fn parse_holder_jwk(holder_jwk_json: &str) -> Result<Value, IssuerError> {
    let v: Value = serde_json::from_str(holder_jwk_json)
        .map_err(|_| IssuerError::InvalidHolderKey("not JSON".to_owned()))?;
    check_jwk(&v).map_err(|e| IssuerError::InvalidHolderKey(e.to_string()))?;
    let key = PublicJwk::from_json(&v).map_err(|e| IssuerError::InvalidHolderKey(e.to_string()))?;
    Ok(key.to_json())
}

/// The VC 2.0 document of a `vc+jwt`, with `cnf` at the top level.
pub(crate) fn vc_document(
    p: &Prepared,
    did: &str,
    status: &StatusRef,
) -> Result<Value, IssuerError> {
    let entries = BitstringStatusRef {
        revocation_list: status.uri.clone(),
        suspension_list: status.suspension_uri(),
        index: status.index,
    };
    let mut vc = to_vc_document(&VcDocumentInput {
        credential_id: p.id,
        issuer: did,
        subject: &p.subject,
        valid_from: p.valid_from,
        valid_until: p.valid_until,
        status: &entries,
        claims: &p.claims,
    })
    .map_err(IssuerError::InvalidClaims)?;
    if let Value::Object(m) = &mut vc {
        m.insert("cnf".to_owned(), json!({ "jwk": p.holder_jwk }));
    }
    Ok(vc)
}

/// The SD-JWT VC claims set of a `dc+sd-jwt` (before selective disclosure).
pub(crate) fn sd_jwt_claims(
    p: &Prepared,
    iss: &str,
    status: &StatusRef,
) -> Result<Value, IssuerError> {
    let status = TokenStatusRef {
        idx: status.index,
        uri: status.uri.clone(),
    };
    let mut claims = to_sd_jwt_vc_claims(&SdJwtVcInput {
        issuer: iss,
        subject: &p.subject,
        issued_at: p.valid_from,
        valid_from: p.valid_from,
        valid_until: p.valid_until,
        holder_jwk: &p.holder_jwk,
        status: &status,
        claims: &p.claims,
    })
    .map_err(IssuerError::InvalidClaims)?;
    if let Value::Object(m) = &mut claims {
        m.insert("jti".to_owned(), json!(p.id.urn().to_string()));
    }
    Ok(claims)
}

/// Checks the `disclose` pointers against the claims set: RFC 6901 syntax, not a never
/// disclosable claim (V3), no duplicates, each names an existing claim; and that no claim uses
/// a name SD-JWT reserves (S2).
pub(crate) fn check_disclose(claims: &Value, pointers: &[String]) -> Result<(), IssuerError> {
    check_no_reserved(claims)?;
    if pointers.len() > MAX_DISCLOSE {
        return Err(IssuerError::InvalidPointer(format!(
            "more than {MAX_DISCLOSE} entries"
        )));
    }
    let mut seen = HashSet::with_capacity(pointers.len());
    for p in pointers {
        let segments = parse_pointer(p)?;
        let Some(first) = segments.first() else {
            return Err(IssuerError::InvalidPointer(p.clone()));
        };
        if NEVER_DISCLOSABLE.contains(&first.as_str()) {
            return Err(IssuerError::NotDisclosable(first.clone()));
        }
        if !seen.insert(p.as_str()) {
            return Err(IssuerError::DuplicatePointer(p.clone()));
        }
        resolve(claims, &segments, p)?;
    }
    Ok(())
}

/// RFC 6901: `/`-separated segments with `~0` = `~`, `~1` = `/`. The root pointer `""` is
/// refused (the whole credential cannot be a Disclosure).
fn parse_pointer(p: &str) -> Result<Vec<String>, IssuerError> {
    let invalid = || IssuerError::InvalidPointer(p.to_owned());
    let rest = p.strip_prefix('/').ok_or_else(invalid)?;
    let mut out = Vec::new();
    for raw in rest.split('/') {
        let mut seg = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '~' {
                match chars.next() {
                    Some('0') => seg.push('~'),
                    Some('1') => seg.push('/'),
                    _ => return Err(invalid()),
                }
            } else {
                seg.push(c);
            }
        }
        out.push(seg);
    }
    Ok(out)
}

fn resolve<'a>(root: &'a Value, segments: &[String], p: &str) -> Result<&'a Value, IssuerError> {
    let not_found = || IssuerError::PointerNotFound(p.to_owned());
    let mut cur = root;
    for seg in segments {
        cur = match cur {
            Value::Object(m) => m.get(seg).ok_or_else(not_found)?,
            Value::Array(a) => {
                let canonical = !seg.is_empty()
                    && seg.bytes().all(|b| b.is_ascii_digit())
                    && (seg == "0" || !seg.starts_with('0'));
                if !canonical {
                    return Err(IssuerError::InvalidPointer(p.to_owned()));
                }
                let i: usize = seg.parse().map_err(|_| not_found())?;
                a.get(i).ok_or_else(not_found)?
            }
            _ => return Err(not_found()),
        };
    }
    Ok(cur)
}

fn check_no_reserved(v: &Value) -> Result<(), IssuerError> {
    match v {
        Value::Object(m) => check_map(m),
        Value::Array(a) => a.iter().try_for_each(check_no_reserved),
        _ => Ok(()),
    }
}

fn check_map(m: &Map<String, Value>) -> Result<(), IssuerError> {
    for (k, v) in m {
        if k == "_sd" || k == "..." || k == "_sd_alg" {
            return Err(IssuerError::ReservedClaimName(k.clone()));
        }
        check_no_reserved(v)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn claims() -> Value {
        json!({
            "iss": "did:web:a.example", "vct": "x", "sub": "https://a.example/agents/1",
            "cnf": {"jwk": {}}, "status": {}, "exp": 1, "nbf": 0, "iat": 0, "jti": "urn:uuid:x",
            "agentType": "tool-agent",
            "provenance": {"repo": "r", "commit": "c"},
            "complianceAttestations": [{"standard": "SOC2"}, {"standard": "ISO27001"}],
            "a/b": 1, "m~n": 2
        })
    }

    fn check(p: &[&str]) -> Result<(), IssuerError> {
        check_disclose(
            &claims(),
            &p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        )
    }

    // V3 (SD-JWT VC -18 §2.2.2.3): iss, nbf, exp, cnf, vct, status never disclosable; plus iat,
    // sub, jti by policy.
    #[test]
    fn v3_registered_claims_are_never_disclosable() {
        for c in NEVER_DISCLOSABLE {
            let p = format!("/{}", c.replace('~', "~0").replace('/', "~1"));
            assert!(
                matches!(check(&[&p]), Err(IssuerError::NotDisclosable(ref n)) if n == c),
                "{c}"
            );
        }
        assert!(matches!(
            check(&["/cnf/jwk"]),
            Err(IssuerError::NotDisclosable(_))
        ));
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        check(&[
            "/provenance",
            "/provenance/commit",
            "/complianceAttestations/1",
            "/a~1b",
            "/m~0n",
        ])
        .unwrap();
        for bad in [
            "",
            "provenance",
            "/a~2b",
            "/complianceAttestations/01",
            "/complianceAttestations/-",
        ] {
            assert!(
                matches!(check(&[bad]), Err(IssuerError::InvalidPointer(_))),
                "{bad}"
            );
        }
        for missing in [
            "/nope",
            "/provenance/nope",
            "/complianceAttestations/5",
            "/agentType/x",
        ] {
            assert!(
                matches!(check(&[missing]), Err(IssuerError::PointerNotFound(_))),
                "{missing}"
            );
        }
        assert!(matches!(
            check(&["/provenance", "/provenance"]),
            Err(IssuerError::DuplicatePointer(_))
        ));
    }

    // S2 (RFC 9901 §4.1): `_sd` and `...` are reserved claim names, anywhere.
    #[test]
    fn s2_reserved_names_inside_claims_are_refused() {
        let c = json!({"x": {"deep": [{"_sd": 1}]}});
        assert!(matches!(
            check_disclose(&c, &[]),
            Err(IssuerError::ReservedClaimName(n)) if n == "_sd"
        ));
        let c = json!({"...": 1});
        assert!(matches!(
            check_disclose(&c, &[]),
            Err(IssuerError::ReservedClaimName(_))
        ));
    }

    #[test]
    fn formats_round_trip() {
        for f in [Format::VcJwt, Format::DcSdJwt] {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Format::parse("vc+sd-jwt"), None);
    }

    proptest::proptest! {
        // Any pointer text is accepted or refused without panicking.
        #[test]
        fn checking_any_pointer_never_panics(p in ".*") {
            let _ = check_disclose(&claims(), &[p]);
        }

        // Any claims text is accepted or refused without panicking.
        #[test]
        fn parsing_any_claims_text_never_panics(s in ".*") {
            let _ = parse_claims(&s, "a.example");
            let _ = parse_holder_jwk(&s);
        }
    }
}
