//! The IETF Status List Token in JWT format (draft-ietf-oauth-status-list-20 §5.1): building and
//! signing the claims `{iss?, sub, iat, exp?, ttl?, status_list}` with header
//! `typ: statuslist+jwt`, and verifying one against the referenced token's
//! `status.status_list {idx, uri}` (§8.3).
//!
//! Conformance: T2 (typ, required claims, ttl in seconds, signed), T5 (`sub` == `uri`, `exp`,
//! out-of-range `idx` rejected).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::token_status_list::{
    StatusList, StatusListJson, StatusListReference, StatusType, TslError,
};
use crate::jose::{self, CheckedJws, JoseError, JoseHeader, KeyResolver, ResolveError};
use crate::keys::{PublicJwk, SigningKey};

/// JOSE `typ` of a Status List Token (§5.1, T2).
pub const STATUS_LIST_JWT_TYP: &str = "statuslist+jwt";

/// HTTP media type of a Status List Token in JWT format (§8.1, T4).
pub const STATUS_LIST_JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";

/// Why a Status List Token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusListTokenError {
    /// The JWS is malformed, has the wrong `typ` (T2), a disallowed `alg`, or a bad signature.
    #[error("status list token: {0}")]
    Jose(#[from] JoseError),
    /// The header has no `kid`, so no key can be resolved.
    #[error("status list token has no kid")]
    MissingKid,
    /// The signing key could not be resolved.
    #[error("status list token key: {0}")]
    KeyResolution(#[from] ResolveError),
    /// A REQUIRED claim (`sub`, `iat`, `status_list`) is absent (T2, §5.1).
    #[error("T2: required claim `{0}` is missing")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an invalid value.
    #[error("T2: claim `{claim}` is invalid: {reason}")]
    InvalidClaim {
        /// The claim name.
        claim: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `sub` differs from the `uri` the referenced token named (T5, §8.3 step 4a).
    #[error("T5: status list token sub {found:?} is not the referenced uri {expected:?}")]
    SubjectMismatch {
        /// The referenced token's `status_list.uri`.
        expected: String,
        /// The token's `sub`.
        found: String,
    },
    /// `exp` has passed (T5, §8.3 step 4c).
    #[error("T5: status list token expired at {exp} (now {now})")]
    Expired {
        /// `exp`, unix seconds.
        exp: i64,
        /// The time of the check, unix seconds.
        now: i64,
    },
    /// `nbf` is in the future (RFC 7519 §4.1.5).
    #[error("status list token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// `nbf`, unix seconds.
        nbf: i64,
        /// The time of the check, unix seconds.
        now: i64,
    },
    /// The status list itself is invalid, or `idx` is out of range (T1, T5).
    #[error(transparent)]
    List(#[from] TslError),
}

/// The claims set of a Status List Token (§5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListTokenClaims {
    /// `iss`: the Status Issuer (optional in §5.1, set by our issuer).
    pub iss: Option<String>,
    /// `sub`: the URI of this Status List Token.
    pub sub: String,
    /// `iat`: issued at, unix seconds.
    pub iat: i64,
    /// `exp`: expiry, unix seconds (RECOMMENDED).
    pub exp: Option<i64>,
    /// `nbf`: not before, unix seconds (optional, RFC 7519 §4.1.5).
    pub nbf: Option<i64>,
    /// `ttl`: maximum cache time in seconds, positive (RECOMMENDED).
    pub ttl: Option<u64>,
    /// `status_list`: `{bits, lst}`.
    pub status_list: StatusListJson,
}

impl StatusListTokenClaims {
    /// Claims for `list` published at `sub`, issued at `issued_at`, without `iss`, `exp`, `ttl`.
    pub fn new(sub: impl Into<String>, list: &StatusList, issued_at: DateTime<Utc>) -> Self {
        Self {
            iss: None,
            sub: sub.into(),
            iat: issued_at.timestamp(),
            exp: None,
            nbf: None,
            ttl: None,
            status_list: list.to_json(),
        }
    }

    /// Sets `iss`.
    pub fn with_issuer(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }

    /// Sets `exp`.
    pub fn with_expiry(mut self, exp: DateTime<Utc>) -> Self {
        self.exp = Some(exp.timestamp());
        self
    }

    /// Sets `ttl` in seconds (a `ttl` of 0 is not positive and is left out).
    pub fn with_ttl_seconds(mut self, ttl: u64) -> Self {
        self.ttl = (ttl > 0).then_some(ttl);
        self
    }

    /// The JSON claims set.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(iss) = &self.iss {
            m.insert("iss".into(), json!(iss));
        }
        m.insert("sub".into(), json!(self.sub));
        m.insert("iat".into(), json!(self.iat));
        if let Some(exp) = self.exp {
            m.insert("exp".into(), json!(exp));
        }
        if let Some(nbf) = self.nbf {
            m.insert("nbf".into(), json!(nbf));
        }
        if let Some(ttl) = self.ttl {
            m.insert("ttl".into(), json!(ttl));
        }
        m.insert(
            "status_list".into(),
            serde_json::to_value(&self.status_list).unwrap_or(Value::Null),
        );
        Value::Object(m)
    }

    /// Reads the claims from a JSON claims set, checking presence and types (§5.1).
    pub fn from_json(claims: &Value) -> Result<Self, StatusListTokenError> {
        let obj = claims
            .as_object()
            .ok_or(StatusListTokenError::InvalidClaim {
                claim: "claims",
                reason: "not a JSON object",
            })?;
        let iss = match obj.get("iss") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid("iss", "must be a string")),
        };
        let sub = match obj.get("sub") {
            None => return Err(StatusListTokenError::MissingClaim("sub")),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("sub", "must be a string")),
        };
        let iat = numeric_date(obj, "iat")?.ok_or(StatusListTokenError::MissingClaim("iat"))?;
        let exp = numeric_date(obj, "exp")?;
        let nbf = numeric_date(obj, "nbf")?;
        let ttl = match obj.get("ttl") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Some(n),
                _ => {
                    return Err(invalid(
                        "ttl",
                        "must be a positive integer number of seconds",
                    ));
                }
            },
        };
        let status_list = obj
            .get("status_list")
            .ok_or(StatusListTokenError::MissingClaim("status_list"))?;
        let status_list = parse_status_list(status_list)?;
        Ok(Self {
            iss,
            sub,
            iat,
            exp,
            nbf,
            ttl,
            status_list,
        })
    }

    /// Checks `exp` (must be after `now`, RFC 7519 §4.1.4) and `nbf` (must not be after `now`).
    pub fn check_time(&self, now: DateTime<Utc>) -> Result<(), StatusListTokenError> {
        let now = now.timestamp();
        if let Some(exp) = self.exp
            && now >= exp
        {
            return Err(StatusListTokenError::Expired { exp, now });
        }
        if let Some(nbf) = self.nbf
            && now < nbf
        {
            return Err(StatusListTokenError::NotYetValid { nbf, now });
        }
        Ok(())
    }
}

fn invalid(claim: &'static str, reason: &'static str) -> StatusListTokenError {
    StatusListTokenError::InvalidClaim { claim, reason }
}

/// A NumericDate claim (RFC 7519 §2): a JSON number of seconds; fractions are truncated.
fn numeric_date(
    obj: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<i64>, StatusListTokenError> {
    match obj.get(claim) {
        None => Ok(None),
        Some(v) => {
            if let Some(i) = v.as_i64() {
                return Ok(Some(i));
            }
            match v.as_f64() {
                // Bounds keep the cast exact enough and well inside i64.
                Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.trunc() as i64)),
                _ => Err(invalid(claim, "must be a NumericDate (number of seconds)")),
            }
        }
    }
}

fn parse_status_list(v: &Value) -> Result<StatusListJson, StatusListTokenError> {
    let obj = v
        .as_object()
        .ok_or(invalid("status_list", "must be a JSON object"))?;
    let bits = obj
        .get("bits")
        .ok_or(StatusListTokenError::MissingClaim("status_list.bits"))?
        .as_u64()
        .ok_or(invalid("status_list.bits", "must be an integer"))?;
    let bits = super::token_status_list::StatusBits::try_from(bits)?;
    let lst = obj
        .get("lst")
        .ok_or(StatusListTokenError::MissingClaim("status_list.lst"))?
        .as_str()
        .ok_or(invalid("status_list.lst", "must be a string"))?
        .to_owned();
    let aggregation_uri = match obj.get("aggregation_uri") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("status_list.aggregation_uri", "must be a string")),
    };
    Ok(StatusListJson {
        bits,
        lst,
        aggregation_uri,
    })
}

/// Signs a Status List Token: header `{alg, typ: statuslist+jwt, kid?}` (T2).
pub fn sign_status_list_token(
    key: &SigningKey,
    kid: Option<&str>,
    claims: &StatusListTokenClaims,
) -> Result<String, StatusListTokenError> {
    Ok(jose::sign_compact(
        key,
        STATUS_LIST_JWT_TYP,
        kid,
        &claims.to_json(),
    )?)
}

/// A Status List Token whose signature, claims and list have been checked.
#[derive(Debug, Clone)]
pub struct VerifiedStatusListToken {
    /// The protected header.
    pub header: JoseHeader,
    /// The checked claims.
    pub claims: StatusListTokenClaims,
    /// The decompressed list.
    pub list: StatusList,
}

impl VerifiedStatusListToken {
    /// The status at `idx`; an out-of-range index is [`TslError::IndexOutOfRange`] (T5).
    pub fn status(&self, idx: u64) -> Result<StatusType, StatusListTokenError> {
        Ok(self.list.status(idx)?)
    }
}

/// Verifies a Status List Token for a referenced token's `status_list` reference (§8.3):
/// reference `uri` is a URI; JWS form, `alg` allowlist, `typ` == `statuslist+jwt`, signature by
/// `key`; `sub`, `iat`, `status_list` present; `ttl` positive; `sub` == `reference.uri`; `exp`
/// not passed and `nbf` reached at `now`; `lst` decodes (bounded). The index is checked by
/// [`VerifiedStatusListToken::status`] or [`check_token_status`].
pub fn verify_status_list_token(
    jws: &str,
    key: &PublicJwk,
    reference: &StatusListReference,
    now: DateTime<Utc>,
) -> Result<VerifiedStatusListToken, StatusListTokenError> {
    reference.validate()?;
    let (header, claims) = jose::verify_compact(jws, STATUS_LIST_JWT_TYP, key)?;
    finish(header, &claims, reference, now)
}

/// Like [`verify_status_list_token`], resolving the key from the header's `kid` through
/// `resolver` for `issuer` (the issuer the verifier trusts for this list).
pub fn verify_status_list_token_with_resolver<R: KeyResolver + ?Sized>(
    jws: &str,
    issuer: &str,
    resolver: &R,
    reference: &StatusListReference,
    now: DateTime<Utc>,
) -> Result<VerifiedStatusListToken, StatusListTokenError> {
    reference.validate()?;
    let checked = CheckedJws::decode(jws, STATUS_LIST_JWT_TYP)?;
    let kid = checked
        .header()
        .kid
        .clone()
        .ok_or(StatusListTokenError::MissingKid)?;
    let key = resolver.resolve(issuer, &kid)?;
    checked.verify_signature(&key)?;
    let (header, claims) = checked.into_parts();
    finish(header, &claims, reference, now)
}

fn finish(
    header: JoseHeader,
    claims: &Value,
    reference: &StatusListReference,
    now: DateTime<Utc>,
) -> Result<VerifiedStatusListToken, StatusListTokenError> {
    let parsed = StatusListTokenClaims::from_json(claims)?;
    if parsed.sub != reference.uri {
        return Err(StatusListTokenError::SubjectMismatch {
            expected: reference.uri.clone(),
            found: parsed.sub,
        });
    }
    parsed.check_time(now)?;
    let list = parsed.status_list.decode()?;
    Ok(VerifiedStatusListToken {
        header,
        claims: parsed,
        list,
    })
}

/// Verifies the token (as [`verify_status_list_token`]) and returns the status at
/// `reference.idx`. Callers must treat anything but [`StatusType::Valid`] as a deny.
pub fn check_token_status(
    jws: &str,
    key: &PublicJwk,
    reference: &StatusListReference,
    now: DateTime<Utc>,
) -> Result<StatusType, StatusListTokenError> {
    verify_status_list_token(jws, key, reference, now)?.status(reference.idx)
}
