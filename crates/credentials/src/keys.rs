//! Signing keys and public JWKs: the two accepted algorithms (EdDSA over Ed25519, ES256 over
//! P-256, DESIGN §5), key generation, private-JWK import/export for encrypted storage, public JWK
//! validation and RFC 7638 thumbprints.
//!
//! Key generation, thumbprints and the signature primitives come from `ssi` (`ssi::JWK`,
//! `ssi::claims::jws::{sign_bytes, verify_bytes}`); the validation of untrusted JWKs is ours so that
//! each way a key can be wrong has its own [`KeyError`] variant.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};
use ssi::JWK;
use ssi::jwk::{Base64urlUInt, ECParams, OctetParams, Params};

/// JWK members that carry private key material (RFC 7517/7518): never accepted in a public key.
pub const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// A signature algorithm accepted anywhere in crossauthz. Only these two exist (DESIGN §5):
/// `none`, HMAC (`HS*`), RSA (`RS*`, `PS*`) and every other JOSE algorithm are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// EdDSA with Ed25519 keys (`kty: OKP`, `crv: Ed25519`), RFC 8037.
    EdDSA,
    /// ECDSA with P-256 and SHA-256 (`kty: EC`, `crv: P-256`), RFC 7518 §3.4.
    ES256,
}

impl Algorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
        }
    }

    /// Parses a JOSE `alg` name; `None` for every algorithm that is not accepted (including `none`).
    /// The comparison is case-sensitive, as JOSE algorithm names are (RFC 7515 §4.1.1).
    pub fn from_jose(alg: &str) -> Option<Self> {
        match alg {
            "EdDSA" => Some(Algorithm::EdDSA),
            "ES256" => Some(Algorithm::ES256),
            _ => None,
        }
    }

    fn to_ssi(self) -> ssi::jwk::Algorithm {
        match self {
            Algorithm::EdDSA => ssi::jwk::Algorithm::EdDSA,
            Algorithm::ES256 => ssi::jwk::Algorithm::ES256,
        }
    }

    fn kty(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "OKP",
            Algorithm::ES256 => "EC",
        }
    }

    fn crv(self) -> &'static str {
        match self {
            Algorithm::EdDSA => "Ed25519",
            Algorithm::ES256 => "P-256",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key could not be generated, imported, validated or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not JSON.
    #[error("JWK is not valid JSON")]
    InvalidJson,
    /// The JSON value is not an object.
    #[error("JWK is not a JSON object")]
    NotAnObject,
    /// A required member is missing or is not a string.
    #[error("JWK member `{0}` is missing or not a string")]
    MissingMember(&'static str),
    /// `kty` is not `OKP` or `EC` (e.g. `oct` or `RSA`): only EdDSA and ES256 keys are accepted.
    #[error("JWK key type `{0}` is not accepted (only OKP/Ed25519 and EC/P-256, DESIGN §5)")]
    UnsupportedKeyType(String),
    /// `crv` is not `Ed25519` (for OKP) or `P-256` (for EC).
    #[error("JWK curve `{0}` is not accepted (only Ed25519 and P-256, DESIGN §5)")]
    UnsupportedCurve(String),
    /// A public JWK carries private key material.
    #[error("public JWK contains the private member `{0}`")]
    PrivateMemberInPublicKey(&'static str),
    /// A coordinate or private scalar is not unpadded base64url.
    #[error("JWK member `{0}` is not valid unpadded base64url")]
    BadEncoding(&'static str),
    /// The key material has the wrong length or is not a valid point / scalar.
    #[error("JWK key material is invalid: {0}")]
    InvalidKeyMaterial(&'static str),
    /// The JWK's `alg` member names an algorithm that is refused or that does not fit its key type.
    #[error("JWK `alg` `{0}` is not accepted for this key type")]
    AlgorithmMismatch(String),
    /// The JWK's `use` member is present and is not `sig`.
    #[error("JWK `use` is `{0}`, expected `sig`")]
    WrongUse(String),
    /// A member that must be a string (`kid`, `alg`, `use`) has another JSON type.
    #[error("JWK member `{0}` must be a string")]
    WrongMemberType(&'static str),
    /// A private JWK has no `d`.
    #[error("private JWK has no `d` member")]
    MissingPrivateKey,
    /// The private scalar `d` does not belong to the public key in `x`/`y`.
    #[error("private key does not match the public key in the JWK")]
    KeyPairMismatch,
    /// Key generation failed in the underlying library.
    #[error("key generation failed")]
    Generation,
    /// Signing failed in the underlying library.
    #[error("signing failed")]
    Signing,
}

/// A validated public JWK of one of the two accepted key types.
///
/// Parsing ([`PublicJwk::from_json`], or serde `Deserialize`) rejects private members, key types
/// other than OKP/Ed25519 and EC/P-256, invalid points, and an `alg` or `use` member that does not
/// fit. Serialises as a JWK JSON object with `kty`, `crv`, `x`, (`y`), and `kid`, `alg`, `use` when set.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    alg: Algorithm,
    x: String,
    y: Option<String>,
    kid: Option<String>,
    alg_member: bool,
    use_member: Option<String>,
    thumbprint: String,
    ssi: JWK,
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

fn b64_member(obj: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let s = obj
        .get(name)
        .and_then(Value::as_str)
        .ok_or(KeyError::MissingMember(name))?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| KeyError::BadEncoding(name))
}

fn opt_string(obj: &Map<String, Value>, name: &'static str) -> Result<Option<String>, KeyError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(KeyError::WrongMemberType(name)),
    }
}

/// Checks `kty`/`crv` and returns the algorithm the key type implies.
fn key_algorithm(obj: &Map<String, Value>) -> Result<Algorithm, KeyError> {
    let kty = obj
        .get("kty")
        .and_then(Value::as_str)
        .ok_or(KeyError::MissingMember("kty"))?;
    let alg = match kty {
        "OKP" => Algorithm::EdDSA,
        "EC" => Algorithm::ES256,
        other => return Err(KeyError::UnsupportedKeyType(other.to_owned())),
    };
    let crv = obj
        .get("crv")
        .and_then(Value::as_str)
        .ok_or(KeyError::MissingMember("crv"))?;
    if crv != alg.crv() {
        return Err(KeyError::UnsupportedCurve(crv.to_owned()));
    }
    Ok(alg)
}

/// Builds the ssi public JWK from raw coordinates, checking length and that the point is valid.
fn ssi_public(alg: Algorithm, x: &[u8], y: Option<&[u8]>) -> Result<JWK, KeyError> {
    match alg {
        Algorithm::EdDSA => {
            if x.len() != 32 {
                return Err(KeyError::InvalidKeyMaterial("Ed25519 `x` must be 32 bytes"));
            }
            ssi::jwk::ed25519_parse(x)
                .map_err(|_| KeyError::InvalidKeyMaterial("`x` is not an Ed25519 point"))
        }
        Algorithm::ES256 => {
            let y = y.ok_or(KeyError::MissingMember("y"))?;
            if x.len() != 32 || y.len() != 32 {
                return Err(KeyError::InvalidKeyMaterial(
                    "P-256 `x` and `y` must be 32 bytes each",
                ));
            }
            let mut sec1 = Vec::with_capacity(65);
            sec1.push(0x04);
            sec1.extend_from_slice(x);
            sec1.extend_from_slice(y);
            ssi::jwk::p256_parse(&sec1)
                .map_err(|_| KeyError::InvalidKeyMaterial("`x`/`y` is not a P-256 point"))
        }
    }
}

impl PublicJwk {
    /// Parses and validates an untrusted public JWK (from a JWKS, DID document, `cnf` claim…).
    pub fn from_json(v: &Value) -> Result<Self, KeyError> {
        let obj = v.as_object().ok_or(KeyError::NotAnObject)?;
        // Key type first, so that an RSA or `oct` key is named as such rather than as "private".
        let alg = key_algorithm(obj)?;
        for m in PRIVATE_MEMBERS {
            if obj.contains_key(m) {
                return Err(KeyError::PrivateMemberInPublicKey(m));
            }
        }
        Self::from_checked_object(obj, alg)
    }

    fn from_checked_object(obj: &Map<String, Value>, alg: Algorithm) -> Result<Self, KeyError> {
        let x = b64_member(obj, "x")?;
        let y = match alg {
            Algorithm::ES256 => Some(b64_member(obj, "y")?),
            Algorithm::EdDSA => None,
        };
        let mut ssi = ssi_public(alg, &x, y.as_deref())?;
        let kid = opt_string(obj, "kid")?;
        let alg_member = match opt_string(obj, "alg")? {
            None => false,
            Some(a) if a == alg.as_str() => true,
            Some(a) => return Err(KeyError::AlgorithmMismatch(a)),
        };
        let use_member = opt_string(obj, "use")?;
        if let Some(u) = &use_member
            && u != "sig"
        {
            return Err(KeyError::WrongUse(u.clone()));
        }
        ssi.algorithm = Some(alg.to_ssi());
        let thumbprint = ssi
            .thumbprint()
            .map_err(|_| KeyError::InvalidKeyMaterial("thumbprint"))?;
        Ok(PublicJwk {
            alg,
            x: URL_SAFE_NO_PAD.encode(&x),
            y: y.map(|y| URL_SAFE_NO_PAD.encode(y)),
            kid,
            alg_member,
            use_member,
            thumbprint,
            ssi,
        })
    }

    /// RFC 7638 JWK thumbprint (SHA-256, base64url without padding).
    pub fn thumbprint(&self) -> String {
        self.thumbprint.clone()
    }

    /// The `kid` member, if the JWK has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm this key is used with (implied by its key type).
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Returns a copy with `kid` set (or replaced).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// True when both JWKs hold the same public key (same thumbprint), whatever their `kid`.
    pub fn same_key(&self, other: &PublicJwk) -> bool {
        self.thumbprint == other.thumbprint
    }

    /// The JWK as a JSON object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("kty".into(), json!(self.alg.kty()));
        m.insert("crv".into(), json!(self.alg.crv()));
        m.insert("x".into(), json!(self.x));
        if let Some(y) = &self.y {
            m.insert("y".into(), json!(y));
        }
        if let Some(kid) = &self.kid {
            m.insert("kid".into(), json!(kid));
        }
        if self.alg_member {
            m.insert("alg".into(), json!(self.alg.as_str()));
        }
        if let Some(u) = &self.use_member {
            m.insert("use".into(), json!(u));
        }
        Value::Object(m)
    }

    /// Verifies a raw JWS signature (`r||s` for ES256) over `data` with this key and `alg`.
    /// The caller has already checked that `alg` is the key's algorithm.
    pub(crate) fn verify_signature(&self, data: &[u8], signature: &[u8]) -> bool {
        ssi::claims::jws::verify_bytes(self.alg.to_ssi(), data, &self.ssi, signature).is_ok()
    }
}

impl Serialize for PublicJwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PublicJwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(deserializer)?;
        PublicJwk::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// A private signing key (Ed25519 or P-256).
///
/// `Debug` prints the algorithm and thumbprint only, never secret material. The secret is zeroed
/// on drop by `ssi`'s key type.
#[derive(Clone)]
pub struct SigningKey {
    jwk: JWK,
    public: PublicJwk,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.public.alg)
            .field("thumbprint", &self.public.thumbprint)
            .finish_non_exhaustive()
    }
}

fn public_of(jwk: &JWK, alg: Algorithm) -> Result<PublicJwk, KeyError> {
    let v = serde_json::to_value(jwk.to_public()).map_err(|_| KeyError::Generation)?;
    let obj = v.as_object().ok_or(KeyError::Generation)?;
    PublicJwk::from_checked_object(obj, alg)
}

impl SigningKey {
    /// Generates a fresh key from the operating system's CSPRNG.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        let jwk = match alg {
            Algorithm::EdDSA => JWK::generate_ed25519().map_err(|_| KeyError::Generation)?,
            Algorithm::ES256 => JWK::generate_p256(),
        };
        let public = public_of(&jwk, alg)?;
        Ok(SigningKey { jwk, public })
    }

    /// Imports a private JWK (as produced by [`SigningKey::to_private_jwk_json`]). Checks key type,
    /// curve, encodings, and that `d` belongs to the public key.
    pub fn from_private_jwk_json(s: &str) -> Result<Self, KeyError> {
        let v: Value = serde_json::from_str(s).map_err(|_| KeyError::InvalidJson)?;
        let obj = v.as_object().ok_or(KeyError::NotAnObject)?;
        let alg = key_algorithm(obj)?;
        let d = match obj.get("d") {
            None => return Err(KeyError::MissingPrivateKey),
            Some(_) => b64_member(obj, "d")?,
        };
        if d.len() != 32 {
            return Err(KeyError::InvalidKeyMaterial(
                "private scalar `d` must be 32 bytes",
            ));
        }
        let public = PublicJwk::from_checked_object(obj, alg)?;
        let params = match alg {
            Algorithm::EdDSA => Params::OKP(OctetParams {
                curve: "Ed25519".into(),
                public_key: Base64urlUInt(
                    URL_SAFE_NO_PAD
                        .decode(&public.x)
                        .map_err(|_| KeyError::BadEncoding("x"))?,
                ),
                private_key: Some(Base64urlUInt(d)),
            }),
            Algorithm::ES256 => {
                let y = public.y.as_deref().ok_or(KeyError::MissingMember("y"))?;
                Params::EC(ECParams {
                    curve: Some("P-256".into()),
                    x_coordinate: Some(Base64urlUInt(
                        URL_SAFE_NO_PAD
                            .decode(&public.x)
                            .map_err(|_| KeyError::BadEncoding("x"))?,
                    )),
                    y_coordinate: Some(Base64urlUInt(
                        URL_SAFE_NO_PAD
                            .decode(y)
                            .map_err(|_| KeyError::BadEncoding("y"))?,
                    )),
                    ecc_private_key: Some(Base64urlUInt(d)),
                })
            }
        };
        let key = SigningKey {
            jwk: JWK::from(params),
            public: public.clone(),
        };
        // Prove that `d` belongs to `x`/`y`: sign with the private part, verify with the public one.
        const PROBE: &[u8] = b"crossauthz key pair check";
        let sig = key.sign(PROBE).map_err(|_| KeyError::KeyPairMismatch)?;
        if !public.verify_signature(PROBE, &sig) {
            return Err(KeyError::KeyPairMismatch);
        }
        Ok(key)
    }

    /// Exports the private key as a JWK JSON string (`kty`, `crv`, `x`, `y`, `d`, `kid`, `alg`).
    /// The caller must encrypt it before storing it and must never log it.
    pub fn to_private_jwk_json(&self) -> String {
        let mut v = self.public_jwk().to_json();
        let d = match &self.jwk.params {
            Params::OKP(p) => p.private_key.as_ref(),
            Params::EC(p) => p.ecc_private_key.as_ref(),
            _ => None,
        };
        if let (Some(d), Some(obj)) = (d, v.as_object_mut()) {
            obj.insert("d".into(), json!(URL_SAFE_NO_PAD.encode(&d.0)));
        }
        v.to_string()
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.public.alg
    }

    /// The public JWK with `kid` = RFC 7638 thumbprint, `alg` and `use: sig`.
    pub fn public_jwk(&self) -> PublicJwk {
        let mut p = self.public.clone();
        p.kid = Some(p.thumbprint.clone());
        p.alg_member = true;
        p.use_member = Some("sig".into());
        p
    }

    /// RFC 7638 thumbprint of the public key (SHA-256, base64url).
    pub fn thumbprint(&self) -> String {
        self.public.thumbprint.clone()
    }

    /// Signs `data` and returns the raw JWS signature (64 bytes: Ed25519, or `r||s` for ES256).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        ssi::claims::jws::sign_bytes(self.public.alg.to_ssi(), data, &self.jwk)
            .map_err(|_| KeyError::Signing)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_signing_key_hides_the_secret() {
        let k = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let private: Value = serde_json::from_str(&k.to_private_jwk_json()).unwrap();
        let d = private["d"].as_str().unwrap().to_owned();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&d));
        assert!(dbg.contains(&k.thumbprint()));
    }
}
