//! Signed checkpoints of a domain's audit log: a compact JWS (`typ: audit-checkpoint+jwt`) by
//! the domain's issuer key over one event's position and chain hash, so that a rewrite of the
//! log up to that event, or the removal of events after the last one an auditor saw, is
//! detectable by whoever holds the domain's public key.
//!
//! Claims (all required, nothing else accepted):
//! `iss` (the domain's DID), `iat` (signing time, Unix seconds), `audit_seq` (the event's `seq`,
//! ≥ 1), `audit_hash` (its 32-byte chain hash, base64url) and `audit_event_at` (its time, Unix
//! microseconds).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::jose::{self, JoseError, b64url_decode, b64url_encode};
use crate::keys::{PublicJwk, SigningKey};

/// The JOSE `typ` of a checkpoint.
pub const CHECKPOINT_TYP: &str = "audit-checkpoint+jwt";

/// What a checkpoint asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointClaims {
    /// The signing domain's DID (`iss`).
    pub issuer: String,
    /// When it was signed (`iat`, whole seconds).
    pub signed_at: DateTime<Utc>,
    /// The event's `seq`.
    pub seq: i64,
    /// The event's chain hash.
    pub hash: [u8; 32],
    /// The event's time (microsecond precision).
    pub event_at: DateTime<Utc>,
}

/// Why a checkpoint does not verify.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The JWS itself is refused (form, algorithm, `typ`, signature).
    #[error("checkpoint JWS: {0}")]
    Jose(#[from] JoseError),
    /// A claim is missing, has the wrong type or an unknown claim is present.
    #[error("checkpoint claim `{0}` is missing or invalid")]
    Claim(&'static str),
}

impl CheckpointClaims {
    /// The claims as a JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "iss": self.issuer,
            "iat": self.signed_at.timestamp(),
            "audit_seq": self.seq,
            "audit_hash": b64url_encode(&self.hash),
            "audit_event_at": self.event_at.timestamp_micros(),
        })
    }

    /// Parses the claims of a verified checkpoint (exactly the five members).
    pub fn from_json(v: &Value) -> Result<Self, CheckpointError> {
        const MEMBERS: [&str; 5] = ["iss", "iat", "audit_seq", "audit_hash", "audit_event_at"];
        let obj = v.as_object().ok_or(CheckpointError::Claim("payload"))?;
        if obj.keys().any(|k| !MEMBERS.contains(&k.as_str())) {
            return Err(CheckpointError::Claim("unknown member"));
        }
        let issuer = obj
            .get("iss")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(CheckpointError::Claim("iss"))?
            .to_owned();
        let signed_at = obj
            .get("iat")
            .and_then(Value::as_i64)
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or(CheckpointError::Claim("iat"))?;
        let seq = obj
            .get("audit_seq")
            .and_then(Value::as_i64)
            .filter(|s| *s >= 1)
            .ok_or(CheckpointError::Claim("audit_seq"))?;
        let hash = obj
            .get("audit_hash")
            .and_then(Value::as_str)
            .and_then(b64url_decode)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .ok_or(CheckpointError::Claim("audit_hash"))?;
        let event_at = obj
            .get("audit_event_at")
            .and_then(Value::as_i64)
            .and_then(DateTime::from_timestamp_micros)
            .ok_or(CheckpointError::Claim("audit_event_at"))?;
        Ok(Self {
            issuer,
            signed_at,
            seq,
            hash,
            event_at,
        })
    }
}

/// Signs `claims` with `key`, header `kid` = `kid` (the key's DID URL).
pub fn sign(
    key: &SigningKey,
    kid: &str,
    claims: &CheckpointClaims,
) -> Result<String, CheckpointError> {
    Ok(jose::sign_compact(
        key,
        CHECKPOINT_TYP,
        Some(kid),
        &claims.to_json(),
    )?)
}

/// The `kid` header of a checkpoint, unverified (to look up the key).
pub fn kid_of(jws: &str) -> Result<Option<String>, CheckpointError> {
    let (header, _) = jose::decode_unverified(jws)?;
    Ok(header.kid)
}

/// Verifies a checkpoint with `key` (algorithm allowlist, `typ`, signature) and returns its
/// claims.
pub fn verify(jws: &str, key: &PublicJwk) -> Result<CheckpointClaims, CheckpointError> {
    let (_, claims) = jose::verify_compact(jws, CHECKPOINT_TYP, key)?;
    CheckpointClaims::from_json(&claims)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

    fn claims() -> CheckpointClaims {
        CheckpointClaims {
            issuer: "did:web:a.example".into(),
            signed_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            seq: 42,
            hash: [7; 32],
            event_at: DateTime::from_timestamp_micros(1_799_999_999_123_456).unwrap(),
        }
    }

    #[test]
    fn round_trip_and_wrong_key_or_type_refused() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256] {
            let key = SigningKey::generate(alg).unwrap();
            let jws = sign(&key, "did:web:a.example#k", &claims()).unwrap();
            assert_eq!(verify(&jws, &key.public_jwk()).unwrap(), claims());
            assert_eq!(
                kid_of(&jws).unwrap().as_deref(),
                Some("did:web:a.example#k")
            );
            let other = SigningKey::generate(alg).unwrap();
            assert!(matches!(
                verify(&jws, &other.public_jwk()),
                Err(CheckpointError::Jose(JoseError::BadSignature))
            ));
            // Same key, another typ: an access token or credential is never a checkpoint.
            let token = jose::sign_compact(&key, "at+jwt", None, &claims().to_json()).unwrap();
            assert!(matches!(
                verify(&token, &key.public_jwk()),
                Err(CheckpointError::Jose(JoseError::WrongType { .. }))
            ));
        }
    }

    proptest::proptest! {
        // Any payload and any JWS text: parsing and verification fail cleanly, never panic.
        #[test]
        fn parsing_any_input_never_panics(text in ".{0,200}", n in proptest::num::i64::ANY) {
            let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
            let _ = verify(&text, &key.public_jwk());
            let _ = kid_of(&text);
            let _ = CheckpointClaims::from_json(&json!({"iss": text, "iat": n, "audit_seq": n,
                "audit_hash": text, "audit_event_at": n}));
        }
    }

    #[test]
    fn claims_are_exact() {
        let mut v = claims().to_json();
        v["extra"] = json!(1);
        assert!(matches!(
            CheckpointClaims::from_json(&v),
            Err(CheckpointError::Claim("unknown member"))
        ));
        for (member, bad) in [
            ("audit_seq", json!(0)),
            ("audit_hash", json!("AAAA")),
            ("iss", json!("")),
            ("audit_event_at", json!("x")),
        ] {
            let mut v = claims().to_json();
            v[member] = bad;
            assert!(CheckpointClaims::from_json(&v).is_err(), "{member}");
        }
    }
}
