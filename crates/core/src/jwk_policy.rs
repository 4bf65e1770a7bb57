//! Structural acceptance policy for client public keys (JWK, RFC 7517) found in a CIMD `jwks`
//! member or fetched from `jwks_uri`, and for holder keys (`cnf.jwk`).
//!
//! The project accepts EdDSA (Ed25519, `kty` OKP) and ES256 (P-256, `kty` EC) only (DESIGN §5):
//! RSA and symmetric (`oct`) keys are refused, as are private members, `alg: none`, HS* and any
//! `use` other than `sig`. This is a structural check; signature verification and curve-point
//! validation are done by the credentials crate (ssi).

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// JWK members that carry private or secret key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2).
pub const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A JWS algorithm this project signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// EdDSA with Ed25519 (RFC 8037).
    EdDSA,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    ES256,
}

impl SigningAlg {
    /// The JOSE `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
        }
    }

    /// Parses a JOSE `alg` value, with the policy's reason for a refusal.
    pub fn parse(alg: &str) -> Result<Self, JwkPolicyError> {
        match alg {
            "EdDSA" => Ok(Self::EdDSA),
            "ES256" => Ok(Self::ES256),
            "none" => Err(JwkPolicyError::AlgNone),
            a if a.starts_with("HS") => Err(JwkPolicyError::SymmetricAlg { alg: a.to_owned() }),
            a => Err(JwkPolicyError::DisallowedAlg { alg: a.to_owned() }),
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key types the policy accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `kty: OKP`, `crv: Ed25519`.
    Ed25519,
    /// `kty: EC`, `crv: P-256`.
    P256,
}

impl KeyType {
    /// The only algorithm usable with this key type.
    pub fn signing_alg(self) -> SigningAlg {
        match self {
            Self::Ed25519 => SigningAlg::EdDSA,
            Self::P256 => SigningAlg::ES256,
        }
    }
}

/// Summary of a JWK that passed the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedJwk {
    /// Key type and curve.
    pub key_type: KeyType,
    /// `kid`, if present.
    pub kid: Option<String>,
    /// `alg`, if present (always consistent with `key_type`).
    pub alg: Option<SigningAlg>,
}

/// Why a JWK was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkPolicyError {
    /// The JWK is not a JSON object.
    #[error("JWK is not a JSON object")]
    NotAnObject,
    /// `kty` missing or not a string.
    #[error("JWK has no string `kty`")]
    MissingKty,
    /// A private or secret member is present (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`).
    #[error("JWK contains the private member `{name}`; publish public keys only")]
    PrivateMember {
        /// The member name.
        name: String,
    },
    /// `kty: oct`: symmetric keys cannot be published (C4).
    #[error("symmetric (`oct`) keys are refused (C4)")]
    SymmetricKey,
    /// `kty: RSA`: this project accepts EdDSA/ES256 only.
    #[error("RSA keys are refused: only Ed25519 (EdDSA) and P-256 (ES256) are accepted")]
    RsaKey,
    /// Any other `kty`.
    #[error("unsupported key type `{kty}`")]
    UnsupportedKeyType {
        /// The `kty` value.
        kty: String,
    },
    /// OKP with a curve other than Ed25519, or EC with a curve other than P-256.
    #[error("unsupported curve {crv:?} for key type {kty}")]
    UnsupportedCurve {
        /// The `kty` value.
        kty: String,
        /// The `crv` value (empty if missing).
        crv: String,
    },
    /// A coordinate (`x`, `y`) is missing, not base64url, or not 32 bytes.
    #[error("JWK coordinate `{name}` is missing or not a 32-byte base64url value")]
    BadCoordinate {
        /// `x` or `y`.
        name: &'static str,
    },
    /// `alg: none`.
    #[error("`alg: none` is refused")]
    AlgNone,
    /// `alg` HS256/HS384/HS512: symmetric MACs are refused.
    #[error("symmetric algorithm `{alg}` is refused")]
    SymmetricAlg {
        /// The `alg` value.
        alg: String,
    },
    /// Any `alg` other than EdDSA/ES256.
    #[error("algorithm `{alg}` is not allowed: only EdDSA and ES256 are")]
    DisallowedAlg {
        /// The `alg` value.
        alg: String,
    },
    /// `alg` does not fit the key type (e.g. ES256 on an Ed25519 key).
    #[error("algorithm {alg} does not fit a {key_type:?} key")]
    AlgKeyMismatch {
        /// The `alg`.
        alg: SigningAlg,
        /// The key type.
        key_type: KeyType,
    },
    /// `use` present and not `sig`.
    #[error("JWK `use` is {value:?}, must be \"sig\"")]
    WrongUse {
        /// The `use` value.
        value: String,
    },
    /// `key_ops` present with an operation other than `verify`.
    #[error("JWK `key_ops` contains {op:?}; a published public key may only `verify`")]
    DisallowedKeyOp {
        /// The operation.
        op: String,
    },
    /// `kid` present but empty or not a string.
    #[error("JWK `kid` must be a non-empty string")]
    InvalidKid,
    /// A member has the wrong JSON type (`alg`, `use`, `key_ops`, `crv`).
    #[error("JWK member `{name}` has the wrong JSON type")]
    WrongMemberType {
        /// The member.
        name: &'static str,
    },
}

/// Why a JWK Set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// The set is not a JSON object.
    #[error("JWK Set is not a JSON object")]
    NotAnObject,
    /// `keys` missing or not an array.
    #[error("JWK Set has no `keys` array")]
    MissingKeys,
    /// `keys` is empty.
    #[error("JWK Set is empty")]
    EmptyKeySet,
    /// Two keys share a `kid`: key selection would be ambiguous.
    #[error("JWK Set has the kid {kid:?} more than once")]
    DuplicateKid {
        /// The repeated kid.
        kid: String,
    },
    /// One key failed the JWK policy.
    #[error("key {index} of the JWK Set: {source}")]
    Key {
        /// Position in `keys`.
        index: usize,
        /// The reason.
        #[source]
        source: JwkPolicyError,
    },
}

fn check_coordinate(
    jwk: &serde_json::Map<String, Value>,
    name: &'static str,
) -> Result<(), JwkPolicyError> {
    let ok = jwk
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .is_some_and(|bytes| bytes.len() == 32);
    if ok {
        Ok(())
    } else {
        Err(JwkPolicyError::BadCoordinate { name })
    }
}

fn optional_str<'a>(
    jwk: &'a serde_json::Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, JwkPolicyError> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwkPolicyError::WrongMemberType { name }),
    }
}

/// Checks one public JWK against the policy (see the module doc).
pub fn check_jwk(jwk: &Value) -> Result<AcceptedJwk, JwkPolicyError> {
    let obj = jwk.as_object().ok_or(JwkPolicyError::NotAnObject)?;
    if let Some(name) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
        return Err(JwkPolicyError::PrivateMember {
            name: (*name).to_owned(),
        });
    }
    let kty = obj
        .get("kty")
        .and_then(Value::as_str)
        .ok_or(JwkPolicyError::MissingKty)?;
    let crv = optional_str(obj, "crv")?.unwrap_or_default();
    let key_type = match (kty, crv) {
        ("OKP", "Ed25519") => KeyType::Ed25519,
        ("EC", "P-256") => KeyType::P256,
        ("OKP" | "EC", _) => {
            return Err(JwkPolicyError::UnsupportedCurve {
                kty: kty.to_owned(),
                crv: crv.to_owned(),
            });
        }
        ("oct", _) => return Err(JwkPolicyError::SymmetricKey),
        ("RSA", _) => return Err(JwkPolicyError::RsaKey),
        (other, _) => {
            return Err(JwkPolicyError::UnsupportedKeyType {
                kty: other.to_owned(),
            });
        }
    };
    check_coordinate(obj, "x")?;
    if key_type == KeyType::P256 {
        check_coordinate(obj, "y")?;
    }
    let alg = match optional_str(obj, "alg")? {
        None => None,
        Some(a) => {
            let alg = SigningAlg::parse(a)?;
            if alg != key_type.signing_alg() {
                return Err(JwkPolicyError::AlgKeyMismatch { alg, key_type });
            }
            Some(alg)
        }
    };
    if let Some(value) = optional_str(obj, "use")?
        && value != "sig"
    {
        return Err(JwkPolicyError::WrongUse {
            value: value.to_owned(),
        });
    }
    if let Some(ops) = obj.get("key_ops") {
        let ops = ops
            .as_array()
            .ok_or(JwkPolicyError::WrongMemberType { name: "key_ops" })?;
        for op in ops {
            match op.as_str() {
                Some("verify") => {}
                Some(other) => {
                    return Err(JwkPolicyError::DisallowedKeyOp {
                        op: other.to_owned(),
                    });
                }
                None => return Err(JwkPolicyError::WrongMemberType { name: "key_ops" }),
            }
        }
    }
    let kid = match obj.get("kid") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return Err(JwkPolicyError::InvalidKid),
    };
    Ok(AcceptedJwk { key_type, kid, alg })
}

/// Checks a JWK Set (`{"keys": [...]}`): non-empty, every key passes [`check_jwk`], no kid twice.
pub fn check_jwks(jwks: &Value) -> Result<Vec<AcceptedJwk>, JwksError> {
    let obj = jwks.as_object().ok_or(JwksError::NotAnObject)?;
    let keys = obj
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JwksError::MissingKeys)?;
    if keys.is_empty() {
        return Err(JwksError::EmptyKeySet);
    }
    let mut seen = HashSet::new();
    let mut accepted = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let summary = check_jwk(key).map_err(|source| JwksError::Key { index, source })?;
        if let Some(kid) = &summary.kid
            && !seen.insert(kid.clone())
        {
            return Err(JwksError::DuplicateKid { kid: kid.clone() });
        }
        accepted.push(summary);
    }
    Ok(accepted)
}
