//! Step 4: the agent's credential — the document's `vc+jwt` member (W3C VC-JOSE-COSE, J1–J5),
//! or a `dc+sd-jwt` (SD-JWT VC, S1–S7, V1–V4) presented with a key-binding JWT in the request
//! (or carried in the document without one) — checked in this order: the issuer is on this
//! domain's trust list for the credential type BEFORE anything is fetched for it; the issuer's
//! `did:web` document is fetched with the SSRF-safe fetcher (cached) and is the key resolver;
//! signature and validity window (with skew); the claims fit the Agent Authorization
//! Credential profile; the issuer may vouch for the claimed `issuerDomain`; the subject is the
//! client_id (E2). The holder binding (`cnf.jwk` = the authenticating key) is checked by
//! [`check_holder`].

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use crossauthz_core::profile::{
    AGENT_AUTHZ_VCT, AGENT_CREDENTIAL_TYPE, AgentClaims, from_sd_jwt_vc_claims, from_vc_document,
};
use crossauthz_core::strict_json;
use crossauthz_credentials::did_web::{DidDocument, did_web_to_url};
use crossauthz_credentials::jose;
use crossauthz_credentials::keys::PublicJwk;
use crossauthz_credentials::sd_jwt::{self, KeyBindingPolicy, SdJwtError, VerifyOptions};
use crossauthz_credentials::status::{BitstringStatusListEntry, StatusListReference};
use crossauthz_credentials::vc_jwt::{self, VcJwtError};
use crossauthz_store::TrustedIssuer;
use serde_json::Value;

use crate::fetch::{FetchError, Fetcher, ResourceKind};
use crate::reasons::{DenyReason, codes};

/// The two credential formats (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialFormat {
    /// W3C VC 2.0 secured with JOSE.
    VcJwt,
    /// IETF SD-JWT VC.
    DcSdJwt,
}

impl CredentialFormat {
    /// The wire name (`vc+jwt`, `dc+sd-jwt`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VcJwt => "vc+jwt",
            Self::DcSdJwt => "dc+sd-jwt",
        }
    }
}

/// What the client presented.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// The document's `vc+jwt` member.
    VcJwt(&'a str),
    /// A `dc+sd-jwt` presentation with a KB-JWT, from the request: `aud` must be this AS's
    /// issuer and `nonce` the one the AS issued.
    SdJwtPresentation {
        /// `JWT~D1~…~Dn~KB-JWT`.
        presentation: &'a str,
        /// The nonce the AS issued for it.
        nonce: &'a str,
    },
    /// The document's `dc+sd-jwt` member (no key binding: the holder binding is checked against
    /// the authenticating key instead).
    SdJwt(&'a str),
}

/// Where the credential's status lives.
#[derive(Debug, Clone)]
pub enum StatusRefs {
    /// `credentialStatus` entries of a `vc+jwt` (W3C Bitstring Status List).
    Bitstring(Vec<BitstringStatusListEntry>),
    /// `status.status_list` of an SD-JWT VC (IETF Token Status List).
    Token(StatusListReference),
}

/// A credential that passed step 4 (status and holder binding still to check).
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    /// The credential id (`id` of the VC, `jti` of the SD-JWT), if any.
    pub id: Option<String>,
    /// The issuer DID.
    pub issuer: String,
    /// The claimed and trusted issuer domain.
    pub issuer_domain: String,
    /// Which format.
    pub format: CredentialFormat,
    /// The verified claims.
    pub claims: AgentClaims,
    /// The verified claims as JSON (the profile's camelCase form).
    pub claims_json: Value,
    /// End of validity.
    pub valid_until: DateTime<Utc>,
    /// The holder key (`cnf.jwk`), if the credential has one.
    pub holder_key: Option<PublicJwk>,
    /// The status references.
    pub status: StatusRefs,
    /// The issuer's DID document (the key resolver for the status lists too).
    pub did_document: Arc<DidDocument>,
}

/// Why a credential was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The issuer is not on the trust list for this credential type (checked before any fetch).
    #[error("issuer {0} is not trusted for AgentAuthorizationCredential here")]
    UntrustedIssuer(String),
    /// The issuer is trusted, but not for the issuer domain the credential claims.
    #[error("issuer {issuer} is not trusted for issuer domain {domain}")]
    UntrustedDomain {
        /// The issuer.
        issuer: String,
        /// The claimed `issuerDomain`.
        domain: String,
    },
    /// The issuer's DID document could not be fetched or parsed.
    #[error("the issuer's did:web document is unavailable: {0}")]
    IssuerKeyUnavailable(String),
    /// The issuer publishes no assertion key with the credential's `kid`.
    #[error("the issuer publishes no assertion key {0}")]
    IssuerKeyUnknown(String),
    /// The credential's signature does not verify.
    #[error("the credential signature does not verify")]
    BadSignature,
    /// The credential has expired.
    #[error("the credential has expired")]
    Expired,
    /// The credential is not valid yet.
    #[error("the credential is not valid yet")]
    NotYetValid,
    /// The credential is malformed or breaks the profile.
    #[error("the credential is invalid: {0}")]
    Invalid(String),
    /// The presentation or its key binding is not acceptable (S1–S7).
    #[error("the presentation is invalid: {0}")]
    Presentation(String),
    /// `credentialSubject.id` / `sub` is not the client_id (E2).
    #[error("the credential subject is not this client_id (E2)")]
    SubjectMismatch,
    /// No holder key, or it is not the key that authenticated the client.
    #[error("the credential's holder key is not the client's authenticating key: {0}")]
    HolderKeyMismatch(&'static str),
}

impl CredentialError {
    /// The deny reason of this error.
    pub fn deny_reason(&self) -> DenyReason {
        let code = match self {
            Self::UntrustedIssuer(_) | Self::UntrustedDomain { .. } => codes::ISSUER_UNTRUSTED,
            Self::IssuerKeyUnavailable(_) => codes::ISSUER_KEY_UNAVAILABLE,
            Self::IssuerKeyUnknown(_) => codes::ISSUER_KEY_UNKNOWN,
            Self::BadSignature => codes::CREDENTIAL_BAD_SIGNATURE,
            Self::Expired => codes::CREDENTIAL_EXPIRED,
            Self::NotYetValid => codes::CREDENTIAL_NOT_YET_VALID,
            Self::Invalid(_) => codes::CREDENTIAL_INVALID,
            Self::Presentation(_) => codes::PRESENTATION_INVALID,
            Self::SubjectMismatch => codes::CREDENTIAL_SUBJECT_MISMATCH,
            Self::HolderKeyMismatch(_) => codes::HOLDER_KEY_MISMATCH,
        };
        DenyReason::new(code, self.to_string())
    }
}

/// Time and key-binding settings of credential verification.
#[derive(Debug, Clone)]
pub struct CredentialPolicy {
    /// This AS's issuer identifier (the KB-JWT `aud`).
    pub audience: String,
    /// Skew on validity windows and KB `iat`.
    pub skew: TimeDelta,
    /// Oldest acceptable KB-JWT `iat`.
    pub key_binding_max_age: TimeDelta,
}

/// The trust-list entry for `issuer` accepting `format`'s credential type, if any.
pub fn trusted_entry<'a>(
    trust: &'a [TrustedIssuer],
    issuer: &str,
    format: CredentialFormat,
) -> Option<&'a TrustedIssuer> {
    trust.iter().find(|t| {
        t.issuer == issuer
            && t.credential_types.iter().any(|ty| {
                ty == AGENT_CREDENTIAL_TYPE
                    || (format == CredentialFormat::DcSdJwt && ty == AGENT_AUTHZ_VCT)
            })
    })
}

/// The issuer a credential names, read WITHOUT verification, only to look it up in the trust
/// list (nothing is fetched for an untrusted issuer).
fn peek_issuer(presented: &Presented<'_>) -> Result<(String, CredentialFormat), CredentialError> {
    match presented {
        Presented::VcJwt(jws) => vc_jwt::peek(jws)
            .map(|(issuer, _kid)| (issuer, CredentialFormat::VcJwt))
            .map_err(|e| CredentialError::Invalid(e.to_string())),
        Presented::SdJwtPresentation {
            presentation: s, ..
        }
        | Presented::SdJwt(s) => {
            let parts = sd_jwt::parse(s).map_err(|e| map_sd_jwt(&e))?;
            let (_, claims) = jose::decode_unverified(parts.jwt)
                .map_err(|e| CredentialError::Invalid(e.to_string()))?;
            let iss = claims
                .get("iss")
                .and_then(Value::as_str)
                .ok_or_else(|| CredentialError::Invalid("the SD-JWT has no iss".into()))?;
            Ok((iss.to_owned(), CredentialFormat::DcSdJwt))
        }
    }
}

/// Fetches (or takes from the cache) the issuer's `did:web` document.
pub async fn resolve_did(
    fetcher: &Fetcher,
    did: &str,
) -> Result<Arc<DidDocument>, CredentialError> {
    let url =
        did_web_to_url(did).map_err(|e| CredentialError::IssuerKeyUnavailable(e.to_string()))?;
    let expected = did.to_owned();
    fetcher
        .get_validated(url.as_str(), ResourceKind::DidDocument, move |fetched| {
            let value = strict_json::from_slice(&fetched.body)
                .map_err(|e| format!("DID document is not JSON: {e}"))?;
            DidDocument::parse(&value, &expected)
                .map(|doc| (doc, None))
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| match e {
            FetchError::Invalid(reason) => CredentialError::IssuerKeyUnavailable(reason),
            FetchError::ForbiddenAddress { .. } => CredentialError::IssuerKeyUnavailable(
                "the did:web host resolves to a forbidden address (C11)".into(),
            ),
            other => CredentialError::IssuerKeyUnavailable(format!("{} ({})", other.code(), other)),
        })
}

/// The URL of the issuer's DID document (to invalidate it after a key rotation).
fn did_url(did: &str) -> Option<String> {
    did_web_to_url(did).ok().map(|u| u.to_string())
}

fn map_vc_jwt(e: &VcJwtError) -> CredentialError {
    match e {
        VcJwtError::BadSignature | VcJwtError::AlgorithmKeyMismatch => {
            CredentialError::BadSignature
        }
        VcJwtError::UnknownKid(k) | VcJwtError::KeyNotAuthorized(k) => {
            CredentialError::IssuerKeyUnknown(k.clone())
        }
        VcJwtError::IssuerKeyMismatch { kid, .. } => CredentialError::IssuerKeyUnknown(kid.clone()),
        VcJwtError::KeyUnavailable(r) => CredentialError::IssuerKeyUnavailable(r.clone()),
        VcJwtError::Expired(_) => CredentialError::Expired,
        VcJwtError::NotYetValid(_) => CredentialError::NotYetValid,
        other => CredentialError::Invalid(other.to_string()),
    }
}

fn map_sd_jwt(e: &SdJwtError) -> CredentialError {
    match e {
        SdJwtError::BadSignature | SdJwtError::AlgorithmKeyMismatch => {
            CredentialError::BadSignature
        }
        SdJwtError::UnknownKid(k) | SdJwtError::KeyNotAuthorized(k) => {
            CredentialError::IssuerKeyUnknown(k.clone())
        }
        SdJwtError::IssuerKeyMismatch { kid, .. } => CredentialError::IssuerKeyUnknown(kid.clone()),
        SdJwtError::KeyUnavailable(r) => CredentialError::IssuerKeyUnavailable(r.clone()),
        SdJwtError::Expired => CredentialError::Expired,
        SdJwtError::NotYetValid => CredentialError::NotYetValid,
        SdJwtError::UnexpectedKeyBinding
        | SdJwtError::KeyBindingRequired
        | SdJwtError::MissingCnf
        | SdJwtError::MalformedKbJwt(_)
        | SdJwtError::KbDisallowedAlgorithm(_)
        | SdJwtError::KbWrongType(_)
        | SdJwtError::KbBadSignature
        | SdJwtError::KbMissingClaim(_)
        | SdJwtError::KbIatInFuture
        | SdJwtError::KbTooOld
        | SdJwtError::KbNonceMismatch
        | SdJwtError::KbAudienceMismatch
        | SdJwtError::KbSdHashMismatch => CredentialError::Presentation(e.to_string()),
        other => CredentialError::Invalid(other.to_string()),
    }
}

/// The W3C status entries of a verified VC (`credentialStatus`, B1), typed.
fn bitstring_entries(vc: &Value) -> Result<Vec<BitstringStatusListEntry>, CredentialError> {
    let items: Vec<&Value> = match vc.get("credentialStatus") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => {
            return Err(CredentialError::Invalid(
                "credentialStatus is missing".into(),
            ));
        }
    };
    items
        .into_iter()
        .filter(|e| e.get("type").and_then(Value::as_str) == Some("BitstringStatusListEntry"))
        .map(|e| {
            BitstringStatusListEntry::from_json(e)
                .map_err(|err| CredentialError::Invalid(format!("credentialStatus: {err}")))
        })
        .collect()
}

fn holder_key(cnf: Option<&Value>) -> Result<Option<PublicJwk>, CredentialError> {
    match cnf.and_then(|c| c.get("jwk")) {
        None => Ok(None),
        Some(jwk) => PublicJwk::from_json(jwk)
            .map(Some)
            .map_err(|e| CredentialError::Invalid(format!("cnf.jwk: {e}"))),
    }
}

/// Runs `f` against the issuer's DID document; when the key is unknown, the cached document
/// may predate a key rotation: drop it, fetch again, retry once.
async fn with_did<T>(
    fetcher: &Fetcher,
    issuer: &str,
    f: impl Fn(&DidDocument) -> Result<T, CredentialError>,
) -> Result<(T, Arc<DidDocument>), CredentialError> {
    let did = resolve_did(fetcher, issuer).await?;
    match f(&did) {
        Err(CredentialError::IssuerKeyUnknown(_)) => {
            if let Some(url) = did_url(issuer) {
                fetcher.invalidate(&url);
            }
            let fresh = resolve_did(fetcher, issuer).await?;
            f(&fresh).map(|v| (v, fresh))
        }
        other => other.map(|v| (v, did)),
    }
}

/// Verifies a credential for `client_id` (step 4 without the holder binding).
pub async fn verify_credential(
    fetcher: &Fetcher,
    trust: &[TrustedIssuer],
    presented: Presented<'_>,
    client_id: &str,
    policy: &CredentialPolicy,
    now: DateTime<Utc>,
) -> Result<VerifiedCredential, CredentialError> {
    let (issuer, format) = peek_issuer(&presented)?;
    let entry = trusted_entry(trust, &issuer, format)
        .ok_or_else(|| CredentialError::UntrustedIssuer(issuer.clone()))?;
    let verified = match presented {
        Presented::VcJwt(jws) => {
            let (vc, did) = with_did(fetcher, &issuer, |doc| {
                vc_jwt::verify(jws, doc, now, policy.skew).map_err(|e| map_vc_jwt(&e))
            })
            .await?;
            let parsed =
                from_vc_document(&vc.vc).map_err(|e| CredentialError::Invalid(e.to_string()))?;
            if parsed.issuer != issuer {
                return Err(CredentialError::Invalid(
                    "issuer changed after verification".into(),
                ));
            }
            let claims_json = serde_json::to_value(&parsed.claims)
                .map_err(|e| CredentialError::Invalid(e.to_string()))?;
            VerifiedCredential {
                id: parsed.id.clone(),
                issuer: parsed.issuer.clone(),
                issuer_domain: parsed.claims.issuer_domain.clone(),
                format,
                claims_json,
                valid_until: parsed.valid_until,
                holder_key: holder_key(vc.vc.get("cnf"))?,
                status: StatusRefs::Bitstring(bitstring_entries(&vc.vc)?),
                did_document: did,
                claims: parsed.claims,
            }
            .with_subject_check(parsed.subject.as_str(), client_id)?
        }
        Presented::SdJwtPresentation { presentation, .. } | Presented::SdJwt(presentation) => {
            let key_binding = match presented {
                Presented::SdJwtPresentation { nonce: "", .. } => {
                    return Err(CredentialError::Presentation(
                        "no nonce was issued for this presentation".into(),
                    ));
                }
                Presented::SdJwtPresentation { nonce, .. } => KeyBindingPolicy::Required {
                    aud: policy.audience.clone(),
                    nonce: nonce.to_owned(),
                    max_age: policy.key_binding_max_age,
                },
                _ => KeyBindingPolicy::NotRequired,
            };
            let options = VerifyOptions {
                now,
                skew: policy.skew,
                key_binding,
            };
            let (sd, did) = with_did(fetcher, &issuer, |doc| {
                sd_jwt::verify(presentation, doc, &options).map_err(|e| map_sd_jwt(&e))
            })
            .await?;
            let parsed = from_sd_jwt_vc_claims(&sd.claims)
                .map_err(|e| CredentialError::Invalid(e.to_string()))?;
            let claims_json = serde_json::to_value(&parsed.claims)
                .map_err(|e| CredentialError::Invalid(e.to_string()))?;
            let holder = PublicJwk::from_json(&parsed.holder_jwk)
                .map_err(|e| CredentialError::Invalid(format!("cnf.jwk: {e}")))?;
            VerifiedCredential {
                id: sd
                    .claims
                    .get("jti")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                issuer: parsed.issuer.clone(),
                issuer_domain: parsed.claims.issuer_domain.clone(),
                format,
                claims_json,
                valid_until: parsed.expires_at,
                holder_key: Some(holder),
                status: StatusRefs::Token(StatusListReference {
                    idx: parsed.status.idx,
                    uri: parsed.status.uri.clone(),
                }),
                did_document: did,
                claims: parsed.claims,
            }
            .with_subject_check(parsed.subject.as_str(), client_id)?
        }
    };
    if !entry.issuer_domains.contains(&verified.issuer_domain) {
        return Err(CredentialError::UntrustedDomain {
            issuer,
            domain: verified.issuer_domain,
        });
    }
    Ok(verified)
}

impl VerifiedCredential {
    fn with_subject_check(self, subject: &str, client_id: &str) -> Result<Self, CredentialError> {
        if subject == client_id {
            Ok(self)
        } else {
            Err(CredentialError::SubjectMismatch)
        }
    }
}

/// What the holder key must match.
#[derive(Debug, Clone, Copy)]
pub enum HolderProof<'a> {
    /// The key that signed the client assertion (token endpoint, DESIGN §6 step 4).
    Authenticated(&'a PublicJwk),
    /// One of the document's keys (GET /authorize, before client authentication).
    OneOf(&'a [PublicJwk]),
    /// A public client: it has no key, so it cannot prove possession of the holder key.
    PublicClient,
}

/// The holder binding: the credential's `cnf.jwk` is the authenticating key (same RFC 7638
/// thumbprint), so a copied credential is useless without the agent's private key.
pub fn check_holder(
    credential: &VerifiedCredential,
    proof: HolderProof<'_>,
) -> Result<(), CredentialError> {
    let holder = credential
        .holder_key
        .as_ref()
        .ok_or(CredentialError::HolderKeyMismatch(
            "the credential has no cnf.jwk",
        ))?;
    let ok = match proof {
        HolderProof::Authenticated(key) => holder.same_key(key),
        HolderProof::OneOf(keys) => keys.iter().any(|k| holder.same_key(k)),
        HolderProof::PublicClient => {
            return Err(CredentialError::HolderKeyMismatch(
                "a public client cannot prove possession of the holder key",
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(CredentialError::HolderKeyMismatch("different key"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn entry(issuer: &str, types: &[&str], domains: &[&str]) -> TrustedIssuer {
        TrustedIssuer {
            issuer: issuer.into(),
            credential_types: types.iter().map(|s| (*s).into()).collect(),
            issuer_domains: domains.iter().map(|s| (*s).into()).collect(),
        }
    }

    #[test]
    fn trust_list_matches_issuer_and_credential_type() {
        let trust = vec![
            entry("did:web:a.test", &["OtherCredential"], &["a.test"]),
            entry("did:web:b.test", &[AGENT_CREDENTIAL_TYPE], &["b.test"]),
            entry("did:web:c.test", &[AGENT_AUTHZ_VCT], &["c.test"]),
        ];
        assert!(trusted_entry(&trust, "did:web:a.test", CredentialFormat::VcJwt).is_none());
        assert!(trusted_entry(&trust, "did:web:b.test", CredentialFormat::VcJwt).is_some());
        assert!(trusted_entry(&trust, "did:web:b.test", CredentialFormat::DcSdJwt).is_some());
        assert!(trusted_entry(&trust, "did:web:c.test", CredentialFormat::VcJwt).is_none());
        assert!(trusted_entry(&trust, "did:web:c.test", CredentialFormat::DcSdJwt).is_some());
        assert!(trusted_entry(&trust, "did:web:z.test", CredentialFormat::VcJwt).is_none());
    }

    #[test]
    fn peek_refuses_garbage_without_panicking() {
        for s in ["", "a.b.c", "~", "x~y~"] {
            assert!(matches!(
                peek_issuer(&Presented::VcJwt(s)),
                Err(CredentialError::Invalid(_))
            ));
            assert!(peek_issuer(&Presented::SdJwt(s)).is_err());
        }
    }

    proptest::proptest! {
        #[test]
        fn credential_peek_never_panics(s in "\\PC{0,200}") {
            let _ = peek_issuer(&Presented::VcJwt(&s));
            let _ = peek_issuer(&Presented::SdJwt(&s));
        }
    }
}
