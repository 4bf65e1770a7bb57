//! Compact JWS (RFC 7515) signing and verification with explicit typing (RFC 8725 §3.11) and the
//! project's algorithm allowlist (EdDSA, ES256; J3, P5), plus the [`KeyResolver`] used by every
//! credential verifier to turn `(issuer, kid)` into a public key.
//!
//! The header, `typ`, `alg` and `crit` checks are ours; the signature primitives are `ssi`'s.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::keys::{Algorithm, KeyError, PublicJwk, SigningKey};

/// Largest compact JWS accepted by the parsers (bytes). Larger input is refused before decoding.
pub const MAX_JWS_LEN: usize = 256 * 1024;

/// Why a JWS could not be produced, decoded or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// Not three base64url parts separated by `.`, header and payload non-empty (J1: compact
    /// serialization required).
    #[error("not a compact JWS (three base64url parts), J1")]
    NotCompact,
    /// The input is larger than [`MAX_JWS_LEN`].
    #[error("JWS too large")]
    TooLarge,
    /// A part is not unpadded base64url.
    #[error("JWS {0} is not valid base64url")]
    BadBase64(&'static str),
    /// The protected header is not a JSON object, or a registered member has the wrong type.
    #[error("malformed JOSE header: {0}")]
    MalformedHeader(&'static str),
    /// The payload is not a JSON object.
    #[error("JWS payload is not a JSON object")]
    MalformedPayload,
    /// `alg` is `none`, HS*, RS*, PS* or anything but EdDSA/ES256 (J3, P5, S2, DESIGN §5).
    #[error("JWS algorithm `{0}` is not allowed (only EdDSA and ES256)")]
    DisallowedAlgorithm(String),
    /// `alg` does not match the verification key's type.
    #[error("JWS algorithm `{alg}` does not match the key ({key})")]
    AlgorithmKeyMismatch {
        /// The header's algorithm.
        alg: String,
        /// The key's algorithm.
        key: Algorithm,
    },
    /// The `typ` header is missing or differs from the expected media type (RFC 8725 §3.11).
    #[error("JWS `typ` is {found:?}, expected `{expected}`")]
    WrongType {
        /// The expected `typ`.
        expected: String,
        /// The `typ` found, if any.
        found: Option<String>,
    },
    /// The header has a `crit` member: no JWS extension is understood, so it is refused
    /// (RFC 7515 §4.1.11).
    #[error("JWS `crit` header is not supported")]
    UnsupportedCritical,
    /// The signature does not verify with the given key.
    #[error("JWS signature is invalid")]
    BadSignature,
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(KeyError),
}

/// A decoded JOSE protected header. Registered members are typed; the rest is kept in `other`.
#[derive(Debug, Clone, PartialEq)]
pub struct JoseHeader {
    /// `alg` as found (not yet checked against the allowlist in [`decode_unverified`]).
    pub alg: String,
    /// `typ`, the explicit type.
    pub typ: Option<String>,
    /// `kid`, the key id (a DID URL for credentials).
    pub kid: Option<String>,
    /// `cty`, the content type.
    pub cty: Option<String>,
    /// Every other header member, in order.
    pub other: Map<String, Value>,
}

impl JoseHeader {
    /// A header with `alg`, `typ` and optional `kid`.
    pub fn new(alg: Algorithm, typ: &str, kid: Option<&str>) -> Self {
        JoseHeader {
            alg: alg.as_str().to_owned(),
            typ: Some(typ.to_owned()),
            kid: kid.map(str::to_owned),
            cty: None,
            other: Map::new(),
        }
    }

    /// The allowlisted algorithm of this header, or [`JoseError::DisallowedAlgorithm`].
    pub fn algorithm(&self) -> Result<Algorithm, JoseError> {
        Algorithm::from_jose(&self.alg)
            .ok_or_else(|| JoseError::DisallowedAlgorithm(self.alg.clone()))
    }

    /// True when `typ` is `expected` or `application/<expected>`, compared ASCII
    /// case-insensitively as media types are (RFC 7515 §4.1.9, RFC 2045).
    pub fn typ_is(&self, expected: &str) -> bool {
        let Some(typ) = self.typ.as_deref() else {
            return false;
        };
        if typ.eq_ignore_ascii_case(expected) {
            return true;
        }
        match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => {
                typ[12..].eq_ignore_ascii_case(expected)
            }
            _ => false,
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("alg".into(), Value::String(self.alg.clone()));
        if let Some(t) = &self.typ {
            m.insert("typ".into(), Value::String(t.clone()));
        }
        if let Some(c) = &self.cty {
            m.insert("cty".into(), Value::String(c.clone()));
        }
        if let Some(k) = &self.kid {
            m.insert("kid".into(), Value::String(k.clone()));
        }
        for (k, v) in &self.other {
            if !m.contains_key(k) {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m)
    }

    fn from_json(v: Value) -> Result<Self, JoseError> {
        let Value::Object(mut m) = v else {
            return Err(JoseError::MalformedHeader("not a JSON object"));
        };
        let alg = match m.remove("alg") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(JoseError::MalformedHeader("`alg` is not a string")),
            None => return Err(JoseError::MalformedHeader("`alg` is missing")),
        };
        let mut take = |name: &'static str| -> Result<Option<String>, JoseError> {
            match m.remove(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(JoseError::MalformedHeader(match name {
                    "typ" => "`typ` is not a string",
                    "kid" => "`kid` is not a string",
                    _ => "`cty` is not a string",
                })),
            }
        };
        let typ = take("typ")?;
        let kid = take("kid")?;
        let cty = take("cty")?;
        Ok(JoseHeader {
            alg,
            typ,
            kid,
            cty,
            other: m,
        })
    }
}

/// Base64url (no padding) encoding, as JOSE uses it.
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding: no padding, no non-alphabet characters, canonical trailing bits.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Signs `claims` as a compact JWS with header `{alg, typ, kid?}`; `alg` is the key's.
pub fn sign_compact(
    key: &SigningKey,
    typ: &str,
    kid: Option<&str>,
    claims: &Value,
) -> Result<String, JoseError> {
    sign_with_header(key, &JoseHeader::new(key.algorithm(), typ, kid), claims)
}

/// Signs `claims` with a caller-built header (e.g. with `cty`). The header's `alg` is overwritten
/// with the key's algorithm.
pub fn sign_with_header(
    key: &SigningKey,
    header: &JoseHeader,
    claims: &Value,
) -> Result<String, JoseError> {
    if !claims.is_object() {
        return Err(JoseError::MalformedPayload);
    }
    let mut header = header.clone();
    header.alg = key.algorithm().as_str().to_owned();
    let h = b64url_encode(header.to_json().to_string().as_bytes());
    let p = b64url_encode(claims.to_string().as_bytes());
    let signing_input = format!("{h}.{p}");
    let sig = key
        .sign(signing_input.as_bytes())
        .map_err(JoseError::Signing)?;
    Ok(format!("{signing_input}.{}", b64url_encode(&sig)))
}

/// The three decoded parts of a compact JWS, with the signing input kept as received.
struct Parts<'a> {
    header: JoseHeader,
    claims: Value,
    signing_input: &'a str,
    signature: Vec<u8>,
}

fn split(jws: &str) -> Result<Parts<'_>, JoseError> {
    if jws.len() > MAX_JWS_LEN {
        return Err(JoseError::TooLarge);
    }
    let mut it = jws.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(JoseError::NotCompact);
    };
    // An empty signature is let through parsing so that an unsecured JWS (`alg: none`, empty
    // third part) is refused as such (J3) rather than as a shape error; it can never verify.
    if h.is_empty() || p.is_empty() {
        return Err(JoseError::NotCompact);
    }
    let header_bytes = b64url_decode(h).ok_or(JoseError::BadBase64("header"))?;
    let header_json: Value = serde_json::from_slice(&header_bytes)
        .map_err(|_| JoseError::MalformedHeader("not JSON"))?;
    let header = JoseHeader::from_json(header_json)?;
    let payload_bytes = b64url_decode(p).ok_or(JoseError::BadBase64("payload"))?;
    let claims: Value =
        serde_json::from_slice(&payload_bytes).map_err(|_| JoseError::MalformedPayload)?;
    if !claims.is_object() {
        return Err(JoseError::MalformedPayload);
    }
    let signature = if s.is_empty() {
        Vec::new()
    } else {
        b64url_decode(s).ok_or(JoseError::BadBase64("signature"))?
    };
    Ok(Parts {
        header,
        claims,
        signing_input: &jws[..h.len() + 1 + p.len()],
        signature,
    })
}

/// Decodes a compact JWS without checking anything but its shape: three base64url parts, a JSON
/// object header with a string `alg`, a JSON object payload. Use it only to find the issuer and
/// `kid` before fetching keys; never trust what it returns.
pub fn decode_unverified(jws: &str) -> Result<(JoseHeader, Value), JoseError> {
    let parts = split(jws)?;
    Ok((parts.header, parts.claims))
}

/// Verifies a compact JWS. Checks, in order: compact form (3 parts), header JSON, `alg` in
/// {EdDSA, ES256} (J3/P5: `none`, HS*, RS*, PS* refused with [`JoseError::DisallowedAlgorithm`]),
/// no `crit`, `typ` == `expected_typ` (or `application/` + it), `alg` matches the key type, and
/// the signature. Returns header and claims.
pub fn verify_compact(
    jws: &str,
    expected_typ: &str,
    key: &PublicJwk,
) -> Result<(JoseHeader, Value), JoseError> {
    let parts = split(jws)?;
    let alg = parts.header.algorithm()?;
    check_header(&parts.header, expected_typ)?;
    verify_parts(&parts, alg, key)?;
    Ok((parts.header, parts.claims))
}

/// A JWS decoded and checked up to (not including) its signature: the caller now knows the
/// algorithm, `typ`, `kid` and claims, resolves the key from them, then calls
/// [`CheckedJws::verify_signature`].
pub struct CheckedJws<'a> {
    parts: Parts<'a>,
    alg: Algorithm,
}

impl<'a> CheckedJws<'a> {
    /// Decodes `jws` and checks form, `alg` allowlist, `crit` and `typ` (in that order).
    pub fn decode(jws: &'a str, expected_typ: &str) -> Result<Self, JoseError> {
        let parts = split(jws)?;
        let alg = parts.header.algorithm()?;
        check_header(&parts.header, expected_typ)?;
        Ok(CheckedJws { parts, alg })
    }

    /// The protected header.
    pub fn header(&self) -> &JoseHeader {
        &self.parts.header
    }

    /// The (not yet authenticated) claims.
    pub fn claims(&self) -> &Value {
        &self.parts.claims
    }

    /// The allowlisted algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Checks that the algorithm fits `key` and that the signature verifies.
    pub fn verify_signature(&self, key: &PublicJwk) -> Result<(), JoseError> {
        verify_parts(&self.parts, self.alg, key)
    }

    /// Consumes self, returning header and claims.
    pub fn into_parts(self) -> (JoseHeader, Value) {
        (self.parts.header, self.parts.claims)
    }
}

fn check_header(header: &JoseHeader, expected_typ: &str) -> Result<(), JoseError> {
    if header.other.contains_key("crit") {
        return Err(JoseError::UnsupportedCritical);
    }
    if !header.typ_is(expected_typ) {
        return Err(JoseError::WrongType {
            expected: expected_typ.to_owned(),
            found: header.typ.clone(),
        });
    }
    Ok(())
}

fn verify_parts(parts: &Parts<'_>, alg: Algorithm, key: &PublicJwk) -> Result<(), JoseError> {
    if key.algorithm() != alg {
        return Err(JoseError::AlgorithmKeyMismatch {
            alg: alg.as_str().to_owned(),
            key: key.algorithm(),
        });
    }
    if parts.signature.len() != 64 {
        return Err(JoseError::BadSignature);
    }
    if key.verify_signature(parts.signing_input.as_bytes(), &parts.signature) {
        Ok(())
    } else {
        Err(JoseError::BadSignature)
    }
}

/// Why a key could not be found for `(issuer, kid)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No key with this `kid` is published for the issuer.
    #[error("unknown kid `{0}`")]
    UnknownKid(String),
    /// The key exists but may not be used to sign credentials (e.g. not an `assertionMethod`).
    #[error("key `{0}` is not authorised for assertions")]
    NotAuthorized(String),
    /// The key document belongs to another issuer.
    #[error("key document is for `{found}`, not `{expected}`")]
    WrongIssuer {
        /// The issuer the credential names.
        expected: String,
        /// The issuer the key document names.
        found: String,
    },
    /// The key could not be obtained (network, parse error…); not a definite answer.
    #[error("key unavailable: {0}")]
    Unavailable(String),
}

/// Finds the public key for a credential's issuer and `kid`. The verifier service fetches the
/// issuer's `did:web` document (or JWKS / JWT VC issuer metadata) itself, over its SSRF-safe
/// client, and passes the parsed document — [`crate::did_web::DidDocument`],
/// [`crate::did_web::Jwks`] and [`crate::did_web::JwtVcIssuerMetadata`] implement this trait, as
/// does any `Fn(&str, &str) -> Result<PublicJwk, ResolveError>`.
pub trait KeyResolver {
    /// Returns the key that `issuer` publishes under `kid`.
    fn resolve(&self, issuer: &str, kid: &str) -> Result<PublicJwk, ResolveError>;
}

impl<F> KeyResolver for F
where
    F: Fn(&str, &str) -> Result<PublicJwk, ResolveError>,
{
    fn resolve(&self, issuer: &str, kid: &str) -> Result<PublicJwk, ResolveError> {
        self(issuer, kid)
    }
}
