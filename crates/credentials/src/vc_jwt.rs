//! W3C Verifiable Credentials 2.0 secured with JOSE (`vc+jwt`, W3C VC-JOSE-COSE; rules J1–J5):
//! issuing a VC JSON document as a compact JWS whose claims set *is* the credential, and verifying
//! one against the issuer's published keys, with issuer binding and validity checks.
//!
//! ssi can sign and verify VC-JOSE, but writes the old `vc-ld+jwt` type and does not check that the
//! signing key belongs to the credential's issuer (STACK.md), so the checks here are ours and each
//! has its own [`VcJwtError`] variant. The VC is handled as JSON; the typed Agent Authorization
//! Credential profile lives in `crossauthz-core`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::did_web::did_of_kid;
use crate::jose::{CheckedJws, JoseError, JoseHeader, KeyResolver, ResolveError, sign_with_header};
use crate::keys::SigningKey;

/// The `typ` of a VC secured with JOSE (J1).
pub const TYP: &str = "vc+jwt";
/// The `cty` we write, and the only one accepted when present (J1).
pub const CTY: &str = "vc";
/// The first `@context` of every VC 2.0 document (J5).
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";

/// Why a `vc+jwt` was refused (or could not be issued). Variants are listed in verification order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VcJwtError {
    /// Not a compact JWS with JSON header and payload (J1).
    #[error("not a compact JWS (J1): {0}")]
    NotCompactJws(JoseError),
    /// `alg` is `none` or not EdDSA/ES256 (J3).
    #[error("algorithm `{0}` is not allowed (J3)")]
    DisallowedAlgorithm(String),
    /// The header has `crit`, which we do not support.
    #[error("unsupported `crit` header")]
    UnsupportedCritical,
    /// `typ` is not `vc+jwt` (J1).
    #[error("typ is {0:?}, expected `vc+jwt` (J1)")]
    WrongType(Option<String>),
    /// `cty` is present and is not `vc` (J1).
    #[error("cty `{0}` is not `vc` (J1)")]
    WrongContentType(String),
    /// The claims set has a `vc` or `vp` claim: the claims set must be the VC itself (J2).
    #[error("claims set contains a `{0}` claim (J2)")]
    EmbeddedVcClaim(&'static str),
    /// The claims set is not a well-formed VC 2.0 document (J5).
    #[error("malformed VC 2.0 document (J5): {0}")]
    MalformedVc(&'static str),
    /// `iss` is present and differs from `issuer` / `issuer.id` (J4).
    #[error("iss `{iss}` differs from issuer `{issuer}` (J4)")]
    IssMismatch {
        /// The `iss` claim.
        iss: String,
        /// The VC's issuer id.
        issuer: String,
    },
    /// There is no `kid` header (J4: required when the key is a DID URL).
    #[error("missing `kid` header (J4)")]
    MissingKid,
    /// The `kid` is not a key of the credential's issuer (its DID differs from `issuer`).
    #[error("kid `{kid}` is not a key of issuer `{issuer}`")]
    IssuerKeyMismatch {
        /// The header `kid`.
        kid: String,
        /// The VC's issuer id.
        issuer: String,
    },
    /// The issuer publishes no key with this `kid`.
    #[error("unknown kid `{0}`")]
    UnknownKid(String),
    /// The key exists but is not authorised to sign credentials.
    #[error("key `{0}` is not an assertion key of the issuer")]
    KeyNotAuthorized(String),
    /// The key could not be obtained; not a definite verdict on the credential.
    #[error("issuer key unavailable: {0}")]
    KeyUnavailable(String),
    /// The header `alg` does not fit the resolved key.
    #[error("algorithm does not match the issuer key")]
    AlgorithmKeyMismatch,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `validFrom` (or `nbf`) is in the future.
    #[error("credential not yet valid (`{0}`)")]
    NotYetValid(&'static str),
    /// `validUntil` (or `exp`) is in the past.
    #[error("credential expired (`{0}`)")]
    Expired(&'static str),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(JoseError),
}

impl From<ResolveError> for VcJwtError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::UnknownKid(k) => VcJwtError::UnknownKid(k),
            ResolveError::NotAuthorized(k) => VcJwtError::KeyNotAuthorized(k),
            other => VcJwtError::KeyUnavailable(other.to_string()),
        }
    }
}

fn map_decode(e: JoseError) -> VcJwtError {
    match e {
        JoseError::DisallowedAlgorithm(a) => VcJwtError::DisallowedAlgorithm(a),
        JoseError::UnsupportedCritical => VcJwtError::UnsupportedCritical,
        JoseError::WrongType { found, .. } => VcJwtError::WrongType(found),
        other => VcJwtError::NotCompactJws(other),
    }
}

/// The issuer id of a VC: `issuer` when it is a string, else `issuer.id`.
pub fn issuer_id(vc: &Value) -> Option<&str> {
    match vc.get("issuer")? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id")?.as_str(),
        _ => None,
    }
}

/// The validity window of a well-formed VC.
struct Window {
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    nbf: Option<f64>,
    exp: Option<f64>,
}

fn date(vc: &Value, name: &str) -> Result<Option<DateTime<Utc>>, VcJwtError> {
    match vc.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| {
                VcJwtError::MalformedVc("validFrom/validUntil is not an RFC 3339 date-time")
            }),
        Some(_) => Err(VcJwtError::MalformedVc(
            "validFrom/validUntil is not a string",
        )),
    }
}

fn numeric_date(vc: &Value, name: &str) -> Result<Option<f64>, VcJwtError> {
    match vc.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or(VcJwtError::MalformedVc("exp/nbf/iat is not a NumericDate")),
    }
}

fn has_type(v: &Value, wanted: &str) -> bool {
    match v {
        Value::String(s) => s == wanted,
        Value::Array(a) => a.iter().any(|t| t.as_str() == Some(wanted)),
        _ => false,
    }
}

/// Checks J2, J5 (and the parts of the VC 2.0 data model we rely on) and J4's `iss` rule; returns
/// the issuer id and validity window.
fn check_vc(vc: &Value) -> Result<(String, Window), VcJwtError> {
    let obj = vc
        .as_object()
        .ok_or(VcJwtError::MalformedVc("claims set is not a JSON object"))?;
    for claim in ["vc", "vp"] {
        if obj.contains_key(claim) {
            return Err(VcJwtError::EmbeddedVcClaim(if claim == "vc" {
                "vc"
            } else {
                "vp"
            }));
        }
    }
    match obj.get("@context").and_then(Value::as_array) {
        Some(ctx) if ctx.first().and_then(Value::as_str) == Some(VC_V2_CONTEXT) => {}
        _ => {
            return Err(VcJwtError::MalformedVc(
                "`@context` must be an array starting with https://www.w3.org/ns/credentials/v2",
            ));
        }
    }
    if !obj
        .get("type")
        .is_some_and(|t| has_type(t, "VerifiableCredential"))
    {
        return Err(VcJwtError::MalformedVc(
            "`type` must include VerifiableCredential",
        ));
    }
    let issuer = issuer_id(vc)
        .filter(|i| !i.is_empty() && i.contains(':'))
        .ok_or(VcJwtError::MalformedVc(
            "`issuer` must be a URL or an object with a URL `id`",
        ))?;
    match obj.get("credentialSubject") {
        Some(Value::Object(_)) => {}
        Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_object) => {}
        _ => {
            return Err(VcJwtError::MalformedVc(
                "`credentialSubject` must be an object or a non-empty array of objects",
            ));
        }
    }
    if let Some(iss) = obj.get("iss") {
        let iss = iss
            .as_str()
            .ok_or(VcJwtError::MalformedVc("`iss` is not a string"))?;
        if iss != issuer {
            return Err(VcJwtError::IssMismatch {
                iss: iss.to_owned(),
                issuer: issuer.to_owned(),
            });
        }
    }
    numeric_date(vc, "iat")?;
    let window = Window {
        valid_from: date(vc, "validFrom")?,
        valid_until: date(vc, "validUntil")?,
        nbf: numeric_date(vc, "nbf")?,
        exp: numeric_date(vc, "exp")?,
    };
    Ok((issuer.to_owned(), window))
}

fn check_binding(kid: &str, issuer: &str) -> Result<(), VcJwtError> {
    if kid.contains('#') && did_of_kid(kid) == issuer {
        Ok(())
    } else {
        Err(VcJwtError::IssuerKeyMismatch {
            kid: kid.to_owned(),
            issuer: issuer.to_owned(),
        })
    }
}

/// Secures a VC 2.0 JSON document as `vc+jwt`: header `{alg, typ: "vc+jwt", cty: "vc", kid}`, the
/// claims set is the VC unchanged. Refuses a document that would not verify: malformed (J5), with
/// a `vc`/`vp` claim (J2), an `iss` different from the issuer (J4), or a `kid` that is not a DID
/// URL of the issuer.
pub fn issue(vc: &Value, key: &SigningKey, kid: &str) -> Result<String, VcJwtError> {
    let (issuer, _) = check_vc(vc)?;
    check_binding(kid, &issuer)?;
    let mut header = JoseHeader::new(key.algorithm(), TYP, Some(kid));
    header.cty = Some(CTY.to_owned());
    sign_with_header(key, &header, vc).map_err(VcJwtError::Signing)
}

/// The issuer and `kid` of a `vc+jwt`, read without verifying anything, so the caller knows which
/// DID document to fetch before calling [`verify`].
pub fn peek(jws: &str) -> Result<(String, String), VcJwtError> {
    let (header, claims) = crate::jose::decode_unverified(jws).map_err(map_decode)?;
    let issuer = issuer_id(&claims)
        .ok_or(VcJwtError::MalformedVc("no issuer"))?
        .to_owned();
    let kid = header.kid.ok_or(VcJwtError::MissingKid)?;
    Ok((issuer, kid))
}

/// A verified `vc+jwt`.
#[derive(Debug, Clone)]
pub struct VerifiedVc {
    /// The VC JSON (the JWS claims set).
    pub vc: Value,
    /// The issuer id (`issuer` or `issuer.id`), bound to the signing key.
    pub issuer: String,
    /// The DID URL of the key that signed it.
    pub kid: String,
    /// The protected header.
    pub header: JoseHeader,
}

/// Verifies a `vc+jwt`. Checks, in order, each with its own error: compact JWS, `alg` allowlist
/// (J3), `typ` (J1), `cty`, no `vc`/`vp` claim (J2), well-formed VC 2.0 (J5), `iss` = issuer (J4),
/// `kid` present, issuer binding (the `kid`'s DID is the issuer), key lookup, signature,
/// `validFrom`/`nbf` not in the future and `validUntil`/`exp` not past (each with `skew` of slack).
pub fn verify(
    jws: &str,
    resolver: &dyn KeyResolver,
    now: DateTime<Utc>,
    skew: TimeDelta,
) -> Result<VerifiedVc, VcJwtError> {
    let checked = CheckedJws::decode(jws, TYP).map_err(map_decode)?;
    if let Some(cty) = &checked.header().cty
        && !(cty.eq_ignore_ascii_case(CTY) || cty.eq_ignore_ascii_case("application/vc"))
    {
        return Err(VcJwtError::WrongContentType(cty.clone()));
    }
    let (issuer, window) = check_vc(checked.claims())?;
    let kid = checked.header().kid.clone().ok_or(VcJwtError::MissingKid)?;
    check_binding(&kid, &issuer)?;
    let key = resolver.resolve(&issuer, &kid)?;
    checked.verify_signature(&key).map_err(|e| match e {
        JoseError::AlgorithmKeyMismatch { .. } => VcJwtError::AlgorithmKeyMismatch,
        _ => VcJwtError::BadSignature,
    })?;
    check_window(&window, now, skew)?;
    let (header, vc) = checked.into_parts();
    Ok(VerifiedVc {
        vc,
        issuer,
        kid,
        header,
    })
}

fn check_window(w: &Window, now: DateTime<Utc>, skew: TimeDelta) -> Result<(), VcJwtError> {
    let skew = skew.abs();
    let late = now
        .checked_add_signed(skew)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let early = now
        .checked_sub_signed(skew)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if w.valid_from.is_some_and(|f| f > late) {
        return Err(VcJwtError::NotYetValid("validFrom"));
    }
    if w.nbf.is_some_and(|n| n > late.timestamp() as f64) {
        return Err(VcJwtError::NotYetValid("nbf"));
    }
    if w.valid_until.is_some_and(|u| u < early) {
        return Err(VcJwtError::Expired("validUntil"));
    }
    if w.exp.is_some_and(|e| e <= early.timestamp() as f64) {
        return Err(VcJwtError::Expired("exp"));
    }
    Ok(())
}
