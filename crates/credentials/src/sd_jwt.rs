//! SD-JWT VC (`dc+sd-jwt`): issuance with selectively disclosable claims (RFC 9901 §4, SD-JWT VC
//! -18 §2), holder presentation with a Key Binding JWT (RFC 9901 §4.3, §7.2), and verification
//! (RFC 9901 §7.1 and §7.3, SD-JWT VC §2.4). Rules S1–S7 and V1–V4 of CONFORMANCE.md.
//!
//! ssi has an SD-JWT implementation, but it writes no `typ`, does not check the KB-JWT (STACK.md)
//! and folds several distinct failures into one; verification is written here so that each
//! failure of RFC 9901 §7 has its own [`SdJwtError`] variant. Signatures use [`crate::jose`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::did_web::did_of_kid;
use crate::jose::{
    CheckedJws, JoseError, JoseHeader, KeyResolver, ResolveError, b64url_decode, b64url_encode,
    decode_unverified, sign_compact, sign_with_header,
};
use crate::keys::{KeyError, PublicJwk, SigningKey};

/// The `typ` of the Issuer-signed JWT of an SD-JWT VC (V1).
pub const TYP: &str = "dc+sd-jwt";
/// The `typ` of a Key Binding JWT (S5).
pub const KB_TYP: &str = "kb+jwt";
/// The only `_sd_alg` we write and accept (S3).
pub const SD_ALG: &str = "sha-256";
/// Claims the issuer never makes selectively disclosable: SD-JWT VC -18 §2.2.2.3 (V3) plus `iat`
/// by project policy.
pub const NEVER_DISCLOSABLE: [&str; 8] = [
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "status",
    "iat",
];
/// Top-level claims that a verifier refuses to receive through a Disclosure (V3).
const MUST_BE_PLAIN: [&str; 7] = ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"];
/// Salt length in bytes (128 bits, S4).
pub const SALT_BYTES: usize = 16;
/// Maximum nesting of objects/arrays/disclosures processed.
pub const MAX_DEPTH: usize = 64;
/// Largest SD-JWT (+KB) accepted (bytes).
pub const MAX_LEN: usize = 256 * 1024;

/// Why an SD-JWT could not be issued, presented or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdJwtError {
    // --- issuance ---
    /// The claims to issue are not a JSON object.
    #[error("claims are not a JSON object")]
    ClaimsNotObject,
    /// The JSON pointer is not valid (RFC 6901) or points at the root.
    #[error("invalid JSON pointer `{0}`")]
    InvalidPointer(String),
    /// The JSON pointer does not point at an existing claim.
    #[error("JSON pointer `{0}` points at nothing")]
    PointerNotFound(String),
    /// The same pointer was given twice.
    #[error("JSON pointer `{0}` given twice")]
    DuplicatePointer(String),
    /// The claim may not be selectively disclosable (V3).
    #[error("claim `{0}` must not be selectively disclosable (V3)")]
    NotDisclosable(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(JoseError),

    // --- format (S1) ---
    /// Not `JWT~D1~…~Dn~[KB-JWT]` (S1).
    #[error("malformed SD-JWT (S1): {0}")]
    MalformedFormat(&'static str),
    /// The input is larger than [`MAX_LEN`].
    #[error("SD-JWT too large")]
    TooLarge,
    /// An SD-JWT+KB was given where an SD-JWT (ending in `~`) was expected (RFC 9901 §7.2).
    #[error("unexpected Key Binding JWT")]
    UnexpectedKeyBinding,

    // --- Issuer-signed JWT (S2, V1) ---
    /// The Issuer-signed JWT is not a compact JWS with JSON header and payload.
    #[error("malformed Issuer-signed JWT: {0}")]
    MalformedJwt(JoseError),
    /// `alg` is `none` or not EdDSA/ES256 (S2).
    #[error("algorithm `{0}` is not allowed (S2)")]
    DisallowedAlgorithm(String),
    /// The header has `crit`.
    #[error("unsupported `crit` header")]
    UnsupportedCritical,
    /// `typ` is not `dc+sd-jwt` (V1).
    #[error("typ is {0:?}, expected `dc+sd-jwt` (V1)")]
    WrongType(Option<String>),
    /// No `iss` claim: the issuer key cannot be discovered (V4).
    #[error("missing `iss` claim")]
    MissingIssuer,
    /// No `kid` header.
    #[error("missing `kid` header")]
    MissingKid,
    /// The `kid` is a DID URL of another DID than `iss`.
    #[error("kid `{kid}` is not a key of issuer `{issuer}`")]
    IssuerKeyMismatch {
        /// The header `kid`.
        kid: String,
        /// The `iss` claim.
        issuer: String,
    },
    /// The issuer publishes no key with this `kid`.
    #[error("unknown kid `{0}`")]
    UnknownKid(String),
    /// The key exists but may not sign credentials.
    #[error("key `{0}` is not an assertion key of the issuer")]
    KeyNotAuthorized(String),
    /// The key could not be obtained; not a definite verdict.
    #[error("issuer key unavailable: {0}")]
    KeyUnavailable(String),
    /// The header `alg` does not fit the issuer key.
    #[error("algorithm does not match the issuer key")]
    AlgorithmKeyMismatch,
    /// The Issuer-signed JWT's signature does not verify.
    #[error("bad issuer signature")]
    BadSignature,
    /// `vct` is missing or not a non-empty string (V2).
    #[error("missing `vct` (V2)")]
    MissingVct,
    /// `_sd_alg` is not `sha-256` (S3).
    #[error("unsupported `_sd_alg` {0:?} (S3)")]
    UnsupportedSdAlg(String),
    /// `_sd_alg` appears below the top level (S3).
    #[error("`_sd_alg` is only allowed at the top level (S3)")]
    SdAlgNotTopLevel,
    /// `cnf` is present but is not `{"jwk": <valid public JWK>}`.
    #[error("invalid `cnf`: {0}")]
    InvalidCnf(KeyError),

    // --- Disclosures (S2, S6) ---
    /// A Disclosure is not base64url of a JSON array `[salt, name, value]` / `[salt, value]`.
    #[error("malformed disclosure #{index} (S6): {reason}")]
    MalformedDisclosure {
        /// Position among the Disclosures (0-based).
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The same Disclosure was sent twice (RFC 9901 §4).
    #[error("disclosure #{0} sent twice")]
    RepeatedDisclosure(usize),
    /// `_sd` is not an array of strings, or a `{"...": d}` array element has other keys.
    #[error("malformed digest container: {0}")]
    MalformedDigests(&'static str),
    /// A claim is named `_sd` or `...` (S2, S6).
    #[error("reserved claim name `{0}` (S2)")]
    ReservedClaimName(String),
    /// A disclosed claim name already exists at its level (S6).
    #[error("disclosed claim `{0}` collides with an existing claim (S6)")]
    ClaimNameCollision(String),
    /// A digest appears more than once (S2, S6).
    #[error("digest `{0}` appears more than once (S2)")]
    DuplicateDigest(String),
    /// An object-property Disclosure is referenced from an array, or an array-element Disclosure
    /// from `_sd` (RFC 9901 §7.1 step 3.3).
    #[error("disclosure #{index} is an {found}, used where an {expected} is required")]
    WrongDisclosureKind {
        /// Position among the Disclosures.
        index: usize,
        /// What the position requires.
        expected: &'static str,
        /// What the Disclosure is.
        found: &'static str,
    },
    /// A Disclosure is not referenced by any digest (S6).
    #[error("disclosure #{0} is not referenced by any digest (S6)")]
    UnreferencedDisclosure(usize),
    /// A claim that must be plain (iss, nbf, exp, cnf, vct, vct#integrity, status) came from a
    /// Disclosure (V3).
    #[error("claim `{0}` must not be selectively disclosed (V3)")]
    DisclosedReservedClaim(String),
    /// The payload nests deeper than [`MAX_DEPTH`].
    #[error("claims nest too deeply")]
    TooDeep,

    // --- validity (S6) ---
    /// `exp`, `nbf` or `iat` is not a NumericDate.
    #[error("`{0}` is not a NumericDate")]
    MalformedTimeClaim(&'static str),
    /// `nbf` is in the future (S6).
    #[error("SD-JWT not yet valid (`nbf`, S6)")]
    NotYetValid,
    /// `exp` is past (S6).
    #[error("SD-JWT expired (`exp`, S6)")]
    Expired,

    // --- key binding (S5, S7) ---
    /// Policy requires key binding and the presentation has no KB-JWT (S7).
    #[error("key binding required but no KB-JWT (S7)")]
    KeyBindingRequired,
    /// Key binding is required and the credential has no `cnf` (V3).
    #[error("key binding required but the credential has no `cnf.jwk`")]
    MissingCnf,
    /// The KB-JWT is not a compact JWS with JSON header and payload.
    #[error("malformed KB-JWT: {0}")]
    MalformedKbJwt(JoseError),
    /// The KB-JWT `alg` is `none` or not allowed (S5).
    #[error("KB-JWT algorithm `{0}` is not allowed (S5)")]
    KbDisallowedAlgorithm(String),
    /// The KB-JWT `typ` is not `kb+jwt` (S5, S7).
    #[error("KB-JWT typ is {0:?}, expected `kb+jwt` (S7)")]
    KbWrongType(Option<String>),
    /// The KB-JWT is not signed by the `cnf.jwk` key (S7).
    #[error("KB-JWT is not signed by the holder key in `cnf` (S7)")]
    KbBadSignature,
    /// The KB-JWT lacks `iat`, `aud`, `nonce` or `sd_hash`, or has the wrong type for it (S5).
    #[error("KB-JWT claim `{0}` is missing or has the wrong type (S5)")]
    KbMissingClaim(&'static str),
    /// The KB-JWT `iat` is in the future (S7).
    #[error("KB-JWT `iat` is in the future (S7)")]
    KbIatInFuture,
    /// The KB-JWT `iat` is older than the accepted window (S7).
    #[error("KB-JWT `iat` is too old (S7)")]
    KbTooOld,
    /// The KB-JWT `nonce` is not the expected one (S7).
    #[error("KB-JWT nonce mismatch (S7)")]
    KbNonceMismatch,
    /// The KB-JWT `aud` is not the expected single string (S5, S7).
    #[error("KB-JWT audience mismatch (S7)")]
    KbAudienceMismatch,
    /// The KB-JWT `sd_hash` does not match the presented SD-JWT (S5, S7).
    #[error("KB-JWT sd_hash mismatch (S7)")]
    KbSdHashMismatch,
}

impl From<ResolveError> for SdJwtError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::UnknownKid(k) => SdJwtError::UnknownKid(k),
            ResolveError::NotAuthorized(k) => SdJwtError::KeyNotAuthorized(k),
            other => SdJwtError::KeyUnavailable(other.to_string()),
        }
    }
}

/// Base64url SHA-256 over the ASCII of `s` — the digest of a Disclosure (RFC 9901 §4.2.3) and the
/// `sd_hash` of a presentation (§4.3.1).
pub fn sha256_b64(s: &str) -> String {
    b64url_encode(&Sha256::digest(s.as_bytes()))
}

/// The digest of an encoded Disclosure (RFC 9901 §4.2.3: over the base64url string itself).
pub fn disclosure_digest(encoded: &str) -> String {
    sha256_b64(encoded)
}

fn random_b64(n: usize) -> String {
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    b64url_encode(&buf)
}

// ---------------------------------------------------------------------------------------------
// Format (S1)
// ---------------------------------------------------------------------------------------------

/// The parts of a compact SD-JWT or SD-JWT+KB, borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwtParts<'a> {
    /// The Issuer-signed JWT.
    pub jwt: &'a str,
    /// The encoded Disclosures, in order.
    pub disclosures: Vec<&'a str>,
    /// The KB-JWT, if the last component is not empty.
    pub kb_jwt: Option<&'a str>,
    /// `JWT~D1~…~Dn~`: the input without the KB-JWT (what `sd_hash` is taken over).
    pub without_kb: &'a str,
}

fn is_b64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Three `.`-separated base64url parts; the signature part may be empty so that an unsecured JWT
/// is refused for its `alg: none` (S2) by the JWS layer rather than as a shape error.
fn is_jwt_shape(s: &str) -> bool {
    let mut it = s.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(h), Some(p), Some(sig), None) => {
            is_b64url(h) && is_b64url(p) && (sig.is_empty() || is_b64url(sig))
        }
        _ => false,
    }
}

/// Splits `JWT~D1~…~Dn~[KB-JWT]` (S1). The JWT and KB-JWT must have the JWS compact shape, each
/// Disclosure must be non-empty base64url, and the input must contain at least one `~`.
pub fn parse(s: &str) -> Result<SdJwtParts<'_>, SdJwtError> {
    if s.len() > MAX_LEN {
        return Err(SdJwtError::TooLarge);
    }
    let last_tilde = s
        .rfind('~')
        .ok_or(SdJwtError::MalformedFormat("no `~` separator"))?;
    let without_kb = &s[..=last_tilde];
    let tail = &s[last_tilde + 1..];
    let mut comps = without_kb[..last_tilde].split('~');
    let jwt = comps
        .next()
        .ok_or(SdJwtError::MalformedFormat("no Issuer-signed JWT"))?;
    if !is_jwt_shape(jwt) {
        return Err(SdJwtError::MalformedFormat(
            "Issuer-signed JWT is not a compact JWS",
        ));
    }
    let mut disclosures = Vec::new();
    for d in comps {
        if !is_b64url(d) {
            return Err(SdJwtError::MalformedFormat(
                "empty or non-base64url Disclosure",
            ));
        }
        disclosures.push(d);
    }
    let kb_jwt = if tail.is_empty() {
        None
    } else if is_jwt_shape(tail) {
        Some(tail)
    } else {
        return Err(SdJwtError::MalformedFormat(
            "last component is neither empty nor a KB-JWT",
        ));
    };
    Ok(SdJwtParts {
        jwt,
        disclosures,
        kb_jwt,
        without_kb,
    })
}

// ---------------------------------------------------------------------------------------------
// Disclosures and digest processing (RFC 9901 §7.1 step 3)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum DisclosureKind {
    Property { name: String, value: Value },
    Element { value: Value },
}

impl DisclosureKind {
    fn label(&self) -> &'static str {
        match self {
            DisclosureKind::Property { .. } => "object property",
            DisclosureKind::Element { .. } => "array element",
        }
    }
}

#[derive(Debug, Clone)]
struct Disclosure {
    kind: DisclosureKind,
}

fn decode_disclosure(index: usize, encoded: &str) -> Result<Disclosure, SdJwtError> {
    let bad = |reason| SdJwtError::MalformedDisclosure { index, reason };
    let bytes = b64url_decode(encoded).ok_or(bad("not base64url"))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad("not JSON"))?;
    let Value::Array(mut a) = v else {
        return Err(bad("not a JSON array"));
    };
    if !a.first().is_some_and(Value::is_string) {
        return Err(bad("salt is not a string"));
    }
    let kind = match a.len() {
        3 => {
            let value = a.pop().unwrap_or(Value::Null);
            let Some(Value::String(name)) = a.pop() else {
                return Err(bad("claim name is not a string"));
            };
            DisclosureKind::Property { name, value }
        }
        2 => DisclosureKind::Element {
            value: a.pop().unwrap_or(Value::Null),
        },
        _ => return Err(bad("array must have 2 or 3 elements")),
    };
    Ok(Disclosure { kind })
}

fn escape_pointer(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

struct Processor<'a> {
    discs: &'a [Disclosure],
    by_digest: HashMap<String, usize>,
    seen: HashSet<String>,
    paths: Vec<Option<String>>,
}

impl<'a> Processor<'a> {
    fn new(encoded: &[&str], discs: &'a [Disclosure]) -> Result<Self, SdJwtError> {
        let mut by_digest = HashMap::with_capacity(encoded.len());
        for (i, e) in encoded.iter().enumerate() {
            if by_digest.insert(disclosure_digest(e), i).is_some() {
                return Err(SdJwtError::RepeatedDisclosure(i));
            }
        }
        Ok(Processor {
            discs,
            by_digest,
            seen: HashSet::new(),
            paths: vec![None; encoded.len()],
        })
    }

    fn note_digest(&mut self, d: &str) -> Result<Option<usize>, SdJwtError> {
        if !self.seen.insert(d.to_owned()) {
            return Err(SdJwtError::DuplicateDigest(d.to_owned()));
        }
        Ok(self.by_digest.get(d).copied())
    }

    fn process(
        &mut self,
        v: Value,
        path: &str,
        depth: usize,
        top: bool,
    ) -> Result<Value, SdJwtError> {
        if depth > MAX_DEPTH {
            return Err(SdJwtError::TooDeep);
        }
        match v {
            Value::Object(m) => self.process_object(m, path, depth, top).map(Value::Object),
            Value::Array(a) => self.process_array(a, path, depth).map(Value::Array),
            other => Ok(other),
        }
    }

    fn process_object(
        &mut self,
        mut m: Map<String, Value>,
        path: &str,
        depth: usize,
        top: bool,
    ) -> Result<Map<String, Value>, SdJwtError> {
        if !top && m.contains_key("_sd_alg") {
            return Err(SdJwtError::SdAlgNotTopLevel);
        }
        if m.contains_key("...") {
            return Err(SdJwtError::ReservedClaimName("...".into()));
        }
        let digests = match m.remove("_sd") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|d| match d {
                    Value::String(s) => Ok(s),
                    _ => Err(SdJwtError::MalformedDigests("`_sd` holds a non-string")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(SdJwtError::MalformedDigests("`_sd` is not an array")),
        };
        let mut out = Map::with_capacity(m.len() + digests.len());
        for (k, v) in m {
            let p = format!("{path}/{}", escape_pointer(&k));
            let v = self.process(v, &p, depth + 1, false)?;
            out.insert(k, v);
        }
        for d in digests {
            let Some(idx) = self.note_digest(&d)? else {
                continue; // a decoy, or a claim the holder did not disclose
            };
            let disc = self
                .discs
                .get(idx)
                .cloned()
                .ok_or(SdJwtError::UnreferencedDisclosure(idx))?;
            let DisclosureKind::Property { name, value } = disc.kind else {
                return Err(SdJwtError::WrongDisclosureKind {
                    index: idx,
                    expected: "object property",
                    found: disc.kind.label(),
                });
            };
            if name == "_sd" || name == "..." || name == "_sd_alg" {
                return Err(SdJwtError::ReservedClaimName(name));
            }
            if out.contains_key(&name) {
                return Err(SdJwtError::ClaimNameCollision(name));
            }
            if top && MUST_BE_PLAIN.contains(&name.as_str()) {
                return Err(SdJwtError::DisclosedReservedClaim(name));
            }
            let p = format!("{path}/{}", escape_pointer(&name));
            let value = self.process(value, &p, depth + 1, false)?;
            if let Some(slot) = self.paths.get_mut(idx) {
                *slot = Some(p);
            }
            out.insert(name, value);
        }
        Ok(out)
    }

    fn process_array(
        &mut self,
        a: Vec<Value>,
        path: &str,
        depth: usize,
    ) -> Result<Vec<Value>, SdJwtError> {
        let mut out = Vec::with_capacity(a.len());
        for (i, elem) in a.into_iter().enumerate() {
            let p = format!("{path}/{i}");
            let digest = match &elem {
                Value::Object(o) if o.contains_key("...") => {
                    if o.len() != 1 {
                        return Err(SdJwtError::MalformedDigests(
                            "`{\"...\": digest}` element has other keys",
                        ));
                    }
                    match o.get("...") {
                        Some(Value::String(d)) => Some(d.clone()),
                        _ => {
                            return Err(SdJwtError::MalformedDigests(
                                "`...` digest is not a string",
                            ));
                        }
                    }
                }
                _ => None,
            };
            match digest {
                None => out.push(self.process(elem, &p, depth + 1, false)?),
                Some(d) => {
                    let Some(idx) = self.note_digest(&d)? else {
                        continue; // undisclosed element or decoy: removed (§7.1 step 3.4)
                    };
                    let disc = self
                        .discs
                        .get(idx)
                        .cloned()
                        .ok_or(SdJwtError::UnreferencedDisclosure(idx))?;
                    let DisclosureKind::Element { value } = disc.kind else {
                        return Err(SdJwtError::WrongDisclosureKind {
                            index: idx,
                            expected: "array element",
                            found: disc.kind.label(),
                        });
                    };
                    let value = self.process(value, &p, depth + 1, false)?;
                    if let Some(slot) = self.paths.get_mut(idx) {
                        *slot = Some(p);
                    }
                    out.push(value);
                }
            }
        }
        Ok(out)
    }
}

/// Checks `_sd_alg` (S3) and runs the §7.1 step 3–5 processing over `payload`. Returns the
/// processed claims and, per Disclosure, the JSON pointer where it was inserted.
fn process_payload(
    mut payload: Map<String, Value>,
    encoded: &[&str],
) -> Result<(Map<String, Value>, Vec<String>), SdJwtError> {
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(a)) if a == SD_ALG => {}
        Some(Value::String(a)) => return Err(SdJwtError::UnsupportedSdAlg(a)),
        Some(other) => return Err(SdJwtError::UnsupportedSdAlg(other.to_string())),
    }
    let discs = encoded
        .iter()
        .enumerate()
        .map(|(i, e)| decode_disclosure(i, e))
        .collect::<Result<Vec<_>, _>>()?;
    let mut p = Processor::new(encoded, &discs)?;
    let out = p.process_object(payload, "", 0, true)?;
    let mut paths = Vec::with_capacity(encoded.len());
    for (i, path) in p.paths.into_iter().enumerate() {
        paths.push(path.ok_or(SdJwtError::UnreferencedDisclosure(i))?);
    }
    Ok((out, paths))
}

// ---------------------------------------------------------------------------------------------
// Issuance
// ---------------------------------------------------------------------------------------------

/// Issuance options.
#[derive(Debug, Clone, Default)]
pub struct IssueOptions {
    /// Number of decoy digests added to the top-level `_sd` (RFC 9901 §4.2.5).
    pub decoys: usize,
}

fn parse_pointer(p: &str) -> Result<Vec<String>, SdJwtError> {
    let rest = p
        .strip_prefix('/')
        .ok_or_else(|| SdJwtError::InvalidPointer(p.to_owned()))?;
    let mut segs = Vec::new();
    for raw in rest.split('/') {
        let mut seg = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '~' {
                match chars.next() {
                    Some('0') => seg.push('~'),
                    Some('1') => seg.push('/'),
                    _ => return Err(SdJwtError::InvalidPointer(p.to_owned())),
                }
            } else {
                seg.push(c);
            }
        }
        segs.push(seg);
    }
    Ok(segs)
}

fn array_index(seg: &str, p: &str) -> Result<usize, SdJwtError> {
    if seg.is_empty()
        || (seg.len() > 1 && seg.starts_with('0'))
        || !seg.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SdJwtError::InvalidPointer(p.to_owned()));
    }
    seg.parse()
        .map_err(|_| SdJwtError::InvalidPointer(p.to_owned()))
}

fn check_no_reserved(v: &Value) -> Result<(), SdJwtError> {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "_sd" || k == "..." || k == "_sd_alg" {
                    return Err(SdJwtError::ReservedClaimName(k.clone()));
                }
                check_no_reserved(v)?;
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(check_no_reserved),
        _ => Ok(()),
    }
}

fn conceal(root: &mut Value, pointer: &str, segs: &[String]) -> Result<String, SdJwtError> {
    let not_found = || SdJwtError::PointerNotFound(pointer.to_owned());
    let (last, parents) = segs
        .split_last()
        .ok_or_else(|| SdJwtError::InvalidPointer(pointer.to_owned()))?;
    let mut cur = root;
    for seg in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(seg).ok_or_else(not_found)?,
            Value::Array(a) => a
                .get_mut(array_index(seg, pointer)?)
                .ok_or_else(not_found)?,
            _ => return Err(not_found()),
        };
    }
    let salt = random_b64(SALT_BYTES);
    match cur {
        Value::Object(m) => {
            let value = m.shift_remove(last).ok_or_else(not_found)?;
            let encoded = b64url_encode(json!([salt, last, value]).to_string().as_bytes());
            let digest = disclosure_digest(&encoded);
            match m.entry("_sd").or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(a) => a.push(Value::String(digest)),
                _ => return Err(SdJwtError::ReservedClaimName("_sd".into())),
            }
            Ok(encoded)
        }
        Value::Array(a) => {
            let slot = a
                .get_mut(array_index(last, pointer)?)
                .ok_or_else(not_found)?;
            let value = slot.take();
            let encoded = b64url_encode(json!([salt, value]).to_string().as_bytes());
            *slot = json!({ "...": disclosure_digest(&encoded) });
            Ok(encoded)
        }
        _ => Err(not_found()),
    }
}

fn sort_sd_arrays(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if k == "_sd" {
                    if let Value::Array(a) = v {
                        a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
                    }
                } else {
                    sort_sd_arrays(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(sort_sd_arrays),
        _ => {}
    }
}

fn check_cnf(claims: &Map<String, Value>) -> Result<Option<PublicJwk>, SdJwtError> {
    match claims.get("cnf") {
        None => Ok(None),
        Some(cnf) => {
            let jwk = cnf
                .get("jwk")
                .ok_or(SdJwtError::InvalidCnf(KeyError::MissingMember("jwk")))?;
            PublicJwk::from_json(jwk)
                .map(Some)
                .map_err(SdJwtError::InvalidCnf)
        }
    }
}

/// Issues an SD-JWT VC: `claims` (with `iss`, `vct` and usually `cnf.jwk`, `exp`, `status`) are
/// signed with header `{alg, typ: "dc+sd-jwt", kid}` after making each claim named by a JSON
/// pointer in `disclosable` selectively disclosable (object members go to `_sd`, array elements
/// become `{"...": digest}`; a pointer inside another disclosable claim gives a recursive
/// Disclosure). Salts are 128 random bits from the OS CSPRNG (S4); `_sd` arrays are sorted.
/// Returns `JWT~D1~…~Dn~`.
pub fn issue(
    claims: &Value,
    disclosable: &[&str],
    key: &SigningKey,
    kid: &str,
    options: &IssueOptions,
) -> Result<String, SdJwtError> {
    let obj = claims.as_object().ok_or(SdJwtError::ClaimsNotObject)?;
    check_no_reserved(claims)?;
    if obj
        .get("vct")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(SdJwtError::MissingVct);
    }
    let iss = obj
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(SdJwtError::MissingIssuer)?;
    check_binding(kid, iss)?;
    check_cnf(obj)?;
    let mut pointers: Vec<(Vec<String>, &str)> = Vec::with_capacity(disclosable.len());
    for p in disclosable {
        let segs = parse_pointer(p)?;
        if let Some(first) = segs.first()
            && NEVER_DISCLOSABLE.contains(&first.as_str())
        {
            return Err(SdJwtError::NotDisclosable(first.clone()));
        }
        if pointers.iter().any(|(_, q)| q == p) {
            return Err(SdJwtError::DuplicatePointer((*p).to_owned()));
        }
        pointers.push((segs, p));
    }
    // Deepest first, so that a parent made disclosable after its children carries their digests
    // (recursive disclosure, RFC 9901 §4.2.6).
    pointers.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    let mut payload = claims.clone();
    let mut disclosures = Vec::with_capacity(pointers.len());
    for (segs, p) in &pointers {
        disclosures.push(conceal(&mut payload, p, segs)?);
    }
    if let Value::Object(m) = &mut payload {
        if options.decoys > 0 {
            let sd = m.entry("_sd").or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = sd {
                for _ in 0..options.decoys {
                    a.push(Value::String(sha256_b64(&random_b64(SALT_BYTES))));
                }
            }
        }
        if !disclosures.is_empty() || options.decoys > 0 {
            m.insert("_sd_alg".into(), json!(SD_ALG));
        }
    }
    sort_sd_arrays(&mut payload);
    let jwt = sign_compact(key, TYP, Some(kid), &payload).map_err(SdJwtError::Signing)?;
    let mut out = jwt;
    out.push('~');
    for d in &disclosures {
        out.push_str(d);
        out.push('~');
    }
    Ok(out)
}

fn check_binding(kid: &str, iss: &str) -> Result<(), SdJwtError> {
    // For a DID issuer the key must be one of its DID URLs. For an https issuer the key comes from
    // its JWT VC issuer metadata, whose `issuer` the resolver checks (V5).
    if iss.starts_with("did:") && !(kid.contains('#') && did_of_kid(kid) == iss) {
        return Err(SdJwtError::IssuerKeyMismatch {
            kid: kid.to_owned(),
            issuer: iss.to_owned(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Presentation (holder)
// ---------------------------------------------------------------------------------------------

/// One Disclosure of an issued SD-JWT, as the holder sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct DisclosureInfo {
    /// JSON pointer of the claim in the fully disclosed payload (array indexes as issued).
    pub path: String,
    /// The claim name, for an object property.
    pub name: Option<String>,
    /// The disclosed value (with nested digests still in place).
    pub value: Value,
    /// The encoded Disclosure.
    pub encoded: String,
}

/// Lists the Disclosures of an issued SD-JWT with the path each one reveals. Checks structure
/// (§7.1 step 3–5) but not the issuer signature.
pub fn disclosures(issued: &str) -> Result<Vec<DisclosureInfo>, SdJwtError> {
    let parts = parse(issued)?;
    let (_, payload) = decode_unverified(parts.jwt).map_err(SdJwtError::MalformedJwt)?;
    let Value::Object(payload) = payload else {
        return Err(SdJwtError::MalformedJwt(JoseError::MalformedPayload));
    };
    let (_, paths) = process_payload(payload, &parts.disclosures)?;
    let mut out = Vec::with_capacity(paths.len());
    for (i, (path, enc)) in paths.into_iter().zip(&parts.disclosures).enumerate() {
        let d = decode_disclosure(i, enc)?;
        let (name, value) = match d.kind {
            DisclosureKind::Property { name, value } => (Some(name), value),
            DisclosureKind::Element { value } => (None, value),
        };
        out.push(DisclosureInfo {
            path,
            name,
            value,
            encoded: (*enc).to_owned(),
        });
    }
    Ok(out)
}

/// What the holder signs into the Key Binding JWT (S5).
#[derive(Debug, Clone, Copy)]
pub struct KeyBindingInput<'a> {
    /// The holder's private key (its public part is the credential's `cnf.jwk`).
    pub holder_key: &'a SigningKey,
    /// The verifier, as a single string.
    pub aud: &'a str,
    /// The verifier's nonce.
    pub nonce: &'a str,
    /// Issuance time of the KB-JWT.
    pub iat: DateTime<Utc>,
}

fn is_prefix_path(ancestor: &str, path: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Builds a presentation from an issued SD-JWT: keeps the Disclosures needed to reveal each JSON
/// pointer in `reveal` (the Disclosure at that path, those of its ancestors, and those inside it),
/// drops the rest, and appends a KB-JWT (`typ: kb+jwt`, `iat`, `aud`, `nonce`, `sd_hash` over
/// `JWT~D1~…~Dn~`) when `key_binding` is given (S5).
pub fn present(
    issued: &str,
    reveal: &[&str],
    key_binding: Option<&KeyBindingInput<'_>>,
) -> Result<String, SdJwtError> {
    let parts = parse(issued)?;
    if parts.kb_jwt.is_some() {
        return Err(SdJwtError::UnexpectedKeyBinding);
    }
    let infos = disclosures(issued)?;
    let mut out = String::with_capacity(issued.len());
    out.push_str(parts.jwt);
    out.push('~');
    for info in &infos {
        let keep = reveal.iter().any(|r| {
            *r == info.path || is_prefix_path(&info.path, r) || is_prefix_path(r, &info.path)
        });
        if keep {
            out.push_str(&info.encoded);
            out.push('~');
        }
    }
    if let Some(kb) = key_binding {
        let claims = json!({
            "iat": kb.iat.timestamp(),
            "aud": kb.aud,
            "nonce": kb.nonce,
            "sd_hash": sha256_b64(&out),
        });
        let header = JoseHeader::new(kb.holder_key.algorithm(), KB_TYP, None);
        let kb_jwt =
            sign_with_header(kb.holder_key, &header, &claims).map_err(SdJwtError::Signing)?;
        out.push_str(&kb_jwt);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Verification (verifier)
// ---------------------------------------------------------------------------------------------

/// Whether the verifier requires key binding. Decided by policy, never by the presence of a KB-JWT
/// (S7, RFC 9901 §7.3 step 1).
#[derive(Debug, Clone)]
pub enum KeyBindingPolicy {
    /// No key binding is checked; a KB-JWT, if present, is ignored.
    NotRequired,
    /// A KB-JWT signed by `cnf.jwk` with this audience and nonce, issued within `max_age`.
    Required {
        /// The expected `aud` (this verifier).
        aud: String,
        /// The expected `nonce`.
        nonce: String,
        /// How old the KB-JWT `iat` may be.
        max_age: TimeDelta,
    },
}

/// Verification inputs besides the presentation and the key resolver.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The current time.
    pub now: DateTime<Utc>,
    /// Allowed clock skew for `exp`, `nbf` and KB `iat`.
    pub skew: TimeDelta,
    /// Key binding policy.
    pub key_binding: KeyBindingPolicy,
}

/// The checked key binding of a presentation.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyBinding {
    /// The holder key (`cnf.jwk`) that signed the KB-JWT.
    pub holder_key: PublicJwk,
    /// KB-JWT `aud`.
    pub aud: String,
    /// KB-JWT `nonce`.
    pub nonce: String,
    /// KB-JWT `iat` (seconds).
    pub iat: i64,
}

/// A verified SD-JWT VC presentation.
#[derive(Debug, Clone)]
pub struct VerifiedSdJwt {
    /// The Processed SD-JWT Payload: disclosed claims restored, `_sd`/`_sd_alg` removed.
    pub claims: Value,
    /// The `iss` claim, bound to the signing key.
    pub issuer: String,
    /// The `kid` of the issuer key.
    pub kid: String,
    /// `vct`.
    pub vct: String,
    /// The key binding, when the policy required it.
    pub key_binding: Option<KeyBinding>,
}

fn time_claim(m: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, SdJwtError> {
    match m.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or(SdJwtError::MalformedTimeClaim(name)),
    }
}

fn map_issuer_jose(e: JoseError) -> SdJwtError {
    match e {
        JoseError::DisallowedAlgorithm(a) => SdJwtError::DisallowedAlgorithm(a),
        JoseError::UnsupportedCritical => SdJwtError::UnsupportedCritical,
        JoseError::WrongType { found, .. } => SdJwtError::WrongType(found),
        other => SdJwtError::MalformedJwt(other),
    }
}

fn map_kb_jose(e: JoseError) -> SdJwtError {
    match e {
        JoseError::DisallowedAlgorithm(a) => SdJwtError::KbDisallowedAlgorithm(a),
        JoseError::WrongType { found, .. } => SdJwtError::KbWrongType(found),
        other => SdJwtError::MalformedKbJwt(other),
    }
}

/// Verifies an SD-JWT VC presentation per RFC 9901 §7.1/§7.3 and SD-JWT VC §2.4. In order:
/// format (S1); key binding required but absent (S7); Issuer-signed JWT form, `alg` allowlist
/// (S2), `typ: dc+sd-jwt` (V1); `iss` and `kid` present and bound; key lookup; issuer signature;
/// `vct` (V2); `_sd_alg` (S3); Disclosures (malformed, repeated, reserved names, collisions,
/// duplicate digests, wrong kind, unreferenced, reserved claims disclosed: S2, S6, V3); `exp`/`nbf`
/// (S6); then, when required, the KB-JWT: `cnf.jwk`, form, `alg`, `typ: kb+jwt`, signature by
/// `cnf.jwk`, `iat` window, `nonce`, `aud`, `sd_hash` (S5, S7).
pub fn verify(
    presentation: &str,
    resolver: &dyn KeyResolver,
    options: &VerifyOptions,
) -> Result<VerifiedSdJwt, SdJwtError> {
    let parts = parse(presentation)?;
    if matches!(options.key_binding, KeyBindingPolicy::Required { .. }) && parts.kb_jwt.is_none() {
        return Err(SdJwtError::KeyBindingRequired);
    }
    let checked = CheckedJws::decode(parts.jwt, TYP).map_err(map_issuer_jose)?;
    let payload = checked
        .claims()
        .as_object()
        .cloned()
        .ok_or(SdJwtError::MalformedJwt(JoseError::MalformedPayload))?;
    let issuer = payload
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(SdJwtError::MissingIssuer)?
        .to_owned();
    let kid = checked.header().kid.clone().ok_or(SdJwtError::MissingKid)?;
    check_binding(&kid, &issuer)?;
    let key = resolver.resolve(&issuer, &kid)?;
    checked.verify_signature(&key).map_err(|e| match e {
        JoseError::AlgorithmKeyMismatch { .. } => SdJwtError::AlgorithmKeyMismatch,
        _ => SdJwtError::BadSignature,
    })?;
    let vct = payload
        .get("vct")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or(SdJwtError::MissingVct)?
        .to_owned();
    let (claims, _) = process_payload(payload, &parts.disclosures)?;

    // Validity (S6): the processed payload's exp / nbf / iat.
    let now = options.now.timestamp() as f64;
    let skew = options.skew.abs().num_seconds() as f64;
    time_claim(&claims, "iat")?;
    if time_claim(&claims, "nbf")?.is_some_and(|nbf| nbf > now + skew) {
        return Err(SdJwtError::NotYetValid);
    }
    if time_claim(&claims, "exp")?.is_some_and(|exp| exp <= now - skew) {
        return Err(SdJwtError::Expired);
    }

    let key_binding = match &options.key_binding {
        KeyBindingPolicy::NotRequired => None,
        KeyBindingPolicy::Required {
            aud,
            nonce,
            max_age,
        } => {
            let kb_jwt = parts.kb_jwt.ok_or(SdJwtError::KeyBindingRequired)?;
            let holder_key = match check_cnf(&claims)? {
                Some(k) => k,
                None => return Err(SdJwtError::MissingCnf),
            };
            let kb = CheckedJws::decode(kb_jwt, KB_TYP).map_err(map_kb_jose)?;
            kb.verify_signature(&holder_key)
                .map_err(|_| SdJwtError::KbBadSignature)?;
            let c = kb.claims();
            let iat = c
                .get("iat")
                .and_then(Value::as_f64)
                .filter(|f| f.is_finite())
                .ok_or(SdJwtError::KbMissingClaim("iat"))?;
            if iat > now + skew {
                return Err(SdJwtError::KbIatInFuture);
            }
            if iat < now - skew - max_age.abs().num_seconds() as f64 {
                return Err(SdJwtError::KbTooOld);
            }
            let got_nonce = c
                .get("nonce")
                .and_then(Value::as_str)
                .ok_or(SdJwtError::KbMissingClaim("nonce"))?;
            if got_nonce != nonce {
                return Err(SdJwtError::KbNonceMismatch);
            }
            match c.get("aud") {
                Some(Value::String(a)) if a == aud => {}
                Some(_) => return Err(SdJwtError::KbAudienceMismatch),
                None => return Err(SdJwtError::KbMissingClaim("aud")),
            }
            let sd_hash = c
                .get("sd_hash")
                .and_then(Value::as_str)
                .ok_or(SdJwtError::KbMissingClaim("sd_hash"))?;
            if sd_hash != sha256_b64(parts.without_kb) {
                return Err(SdJwtError::KbSdHashMismatch);
            }
            Some(KeyBinding {
                holder_key,
                aud: aud.clone(),
                nonce: nonce.clone(),
                iat: iat as i64,
            })
        }
    };
    Ok(VerifiedSdJwt {
        claims: Value::Object(claims),
        issuer,
        kid,
        vct,
        key_binding,
    })
}
