//! Issuer key publication and discovery without transport: `did:web` identifiers and DID
//! documents (did:web method spec), JWK Sets (RFC 7517 §5) and SD-JWT VC JWT VC Issuer Metadata
//! (`/.well-known/jwt-vc-issuer`, SD-JWT VC -18 §3, V5).
//!
//! ssi can resolve `did:web`, but it fetches over plain http for localhost and private addresses
//! (STACK.md), so this module never fetches: the verifier fetches with its SSRF-safe client and
//! hands the JSON to the parsers here.

use serde_json::{Map, Value, json};
use url::Url;

use crate::jose::{KeyResolver, ResolveError};
use crate::keys::{KeyError, PublicJwk};

/// Verification method type written into our DID documents (W3C Controlled Identifiers 1.0).
pub const VERIFICATION_METHOD_TYPE: &str = "JsonWebKey";
/// Older verification method type accepted when parsing foreign documents.
pub const LEGACY_VERIFICATION_METHOD_TYPE: &str = "JsonWebKey2020";
/// The DID v1 JSON-LD context.
pub const DID_CONTEXT: &str = "https://www.w3.org/ns/did/v1";
/// The Controlled Identifiers v1 context that defines `JsonWebKey` and `publicKeyJwk`.
pub const CID_CONTEXT: &str = "https://www.w3.org/ns/cid/v1";

/// Why a `did:web` identifier, DID document, JWKS or issuer metadata was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DidWebError {
    /// The URL is not absolute `https` with a host, or has a query, fragment or user info.
    #[error("not a did:web-able https URL: {0}")]
    InvalidUrl(&'static str),
    /// The identifier is not `did:web:<host>[:path…]`.
    #[error("not a did:web identifier: {0}")]
    InvalidDid(&'static str),
    /// The document is not a JSON object or a member has the wrong shape.
    #[error("malformed document: {0}")]
    Malformed(&'static str),
    /// The DID document's `id` is not the DID it was fetched for (did:web §3.2.2 Read).
    #[error("DID document id `{found}` does not match `{expected}`")]
    DidMismatch {
        /// The DID the caller resolved.
        expected: String,
        /// The `id` in the document.
        found: String,
    },
    /// A verification method's `controller` is not the document's DID.
    #[error("verification method `{0}` has a foreign controller")]
    ControllerMismatch(String),
    /// A verification method's public key is invalid or of a refused type.
    #[error("verification method `{id}` has an invalid key: {source}")]
    InvalidKey {
        /// The method (or JWK) id.
        id: String,
        /// The key error.
        source: KeyError,
    },
    /// Two verification methods or JWKs share one id.
    #[error("duplicate key id `{0}`")]
    DuplicateKeyId(String),
    /// No key with this `kid` / DID URL.
    #[error("unknown kid `{0}`")]
    UnknownKid(String),
    /// The DID URL's DID part is not this document's DID.
    #[error("kid `{kid}` does not belong to `{did}`")]
    KidOfAnotherDid {
        /// The requested DID URL.
        kid: String,
        /// The document's DID.
        did: String,
    },
    /// The method exists but is not listed under `assertionMethod`.
    #[error("verification method `{0}` is not an assertionMethod")]
    NotAssertionMethod(String),
    /// JWT VC issuer metadata `issuer` differs from the expected `iss` (V5).
    #[error("issuer metadata is for `{found}`, expected `{expected}` (V5)")]
    IssuerMismatch {
        /// The `iss` of the credential.
        expected: String,
        /// The metadata's `issuer`.
        found: String,
    },
    /// JWT VC issuer metadata has both or neither of `jwks` and `jwks_uri` (V5).
    #[error("issuer metadata must have exactly one of `jwks` and `jwks_uri` (V5)")]
    JwksSourceAmbiguous,
}

impl From<DidWebError> for ResolveError {
    fn from(e: DidWebError) -> Self {
        match e {
            DidWebError::UnknownKid(k) => ResolveError::UnknownKid(k),
            DidWebError::NotAssertionMethod(k) => ResolveError::NotAuthorized(k),
            DidWebError::KidOfAnotherDid { kid, did } => ResolveError::WrongIssuer {
                expected: kid,
                found: did,
            },
            other => ResolveError::Unavailable(other.to_string()),
        }
    }
}

/// Parses an https URL usable as an identifier base: absolute, https, no query, fragment or
/// user info.
fn https_base_url(url: &str) -> Result<Url, DidWebError> {
    let u = Url::parse(url).map_err(|_| DidWebError::InvalidUrl("not an absolute URL"))?;
    if u.scheme() != "https" {
        return Err(DidWebError::InvalidUrl("scheme must be https"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(DidWebError::InvalidUrl(
            "query and fragment are not allowed",
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(DidWebError::InvalidUrl("user info is not allowed"));
    }
    Ok(u)
}

/// The `did:web` identifier of a public https URL: host, port as `%3A`, path segments as `:`.
/// `https://example.com/` → `did:web:example.com`; `https://example.com:8443/a/b` →
/// `did:web:example.com%3A8443:a:b`.
pub fn did_web_from_url(url: &str) -> Result<String, DidWebError> {
    let u = https_base_url(url)?;
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(DidWebError::InvalidUrl("no host"))?;
    let mut did = format!("did:web:{host}");
    if let Some(port) = u.port() {
        did.push_str(&format!("%3A{port}"));
    }
    let path = u.path().trim_end_matches('/');
    if !path.is_empty() {
        for seg in path.trim_start_matches('/').split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return Err(DidWebError::InvalidUrl("empty or dot path segment"));
            }
            did.push(':');
            did.push_str(&seg.replace(':', "%3A"));
        }
    }
    Ok(did)
}

/// The https URL a `did:web` document is fetched from (did:web §3.2.2): `did:web:example.com` →
/// `https://example.com/.well-known/did.json`; with a path, `…/path/did.json`.
pub fn did_web_to_url(did: &str) -> Result<Url, DidWebError> {
    let rest = did
        .strip_prefix("did:web:")
        .ok_or(DidWebError::InvalidDid("must start with did:web:"))?;
    if rest.contains(['#', '?', '/']) {
        return Err(DidWebError::InvalidDid("DID URL parts are not allowed"));
    }
    let mut segs = rest.split(':');
    let host = segs
        .next()
        .filter(|h| !h.is_empty())
        .ok_or(DidWebError::InvalidDid("no host"))?;
    let host = host.replace("%3A", ":").replace("%3a", ":");
    let mut path = String::new();
    let mut any = false;
    for seg in segs {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(DidWebError::InvalidDid("empty or dot path segment"));
        }
        path.push('/');
        path.push_str(seg);
        any = true;
    }
    if !any {
        path.push_str("/.well-known");
    }
    path.push_str("/did.json");
    let u = Url::parse(&format!("https://{host}{path}"))
        .map_err(|_| DidWebError::InvalidDid("not a valid host"))?;
    if u.host_str().is_none() || u.query().is_some() || u.fragment().is_some() {
        return Err(DidWebError::InvalidDid("not a valid host"));
    }
    Ok(u)
}

/// The DID part of a DID URL (`did:web:h#k` → `did:web:h`).
pub fn did_of_kid(kid: &str) -> &str {
    kid.split_once('#').map_or(kid, |(d, _)| d)
}

/// The method id we give a key: `<did>#<RFC 7638 thumbprint>`.
pub fn method_id(did: &str, key: &PublicJwk) -> String {
    format!("{did}#{}", key.thumbprint())
}

/// Builds the DID document for `did` publishing `keys` (the current key first, then older keys
/// still needed to verify credentials they signed). Each key becomes a `JsonWebKey` verification
/// method `did#<thumbprint>` listed under `assertionMethod` and `authentication`.
pub fn did_document(did: &str, keys: &[PublicJwk]) -> Value {
    let mut vms = Vec::with_capacity(keys.len());
    let mut refs = Vec::with_capacity(keys.len());
    for k in keys {
        let id = method_id(did, k);
        let mut jwk = k.to_json();
        if let Some(o) = jwk.as_object_mut() {
            // The method id identifies the key; a `kid` inside publicKeyJwk would be redundant.
            o.remove("kid");
        }
        vms.push(json!({
            "id": id,
            "type": VERIFICATION_METHOD_TYPE,
            "controller": did,
            "publicKeyJwk": jwk,
        }));
        refs.push(Value::String(id));
    }
    json!({
        "@context": [DID_CONTEXT, CID_CONTEXT],
        "id": did,
        "verificationMethod": vms,
        "assertionMethod": refs.clone(),
        "authentication": refs,
    })
}

/// A parsed, validated DID document: its DID, its JWK verification methods and which of them may
/// sign credentials (`assertionMethod`).
#[derive(Debug, Clone)]
pub struct DidDocument {
    id: String,
    methods: Vec<(String, PublicJwk)>,
    assertion: Vec<String>,
}

fn absolute_id(did: &str, id: &str) -> String {
    if id.starts_with('#') {
        format!("{did}{id}")
    } else {
        id.to_owned()
    }
}

impl DidDocument {
    /// Parses a fetched DID document and checks that its `id` equals `expected_did`. Verification
    /// methods of type `JsonWebKey`/`JsonWebKey2020` with a valid `publicKeyJwk` are kept; methods
    /// of other types (e.g. Multikey) are ignored; a JWK method with an invalid or refused key is an
    /// error, as is a foreign `controller` or a duplicate id.
    pub fn parse(doc: &Value, expected_did: &str) -> Result<Self, DidWebError> {
        let obj = doc
            .as_object()
            .ok_or(DidWebError::Malformed("DID document is not a JSON object"))?;
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .ok_or(DidWebError::Malformed("DID document has no string `id`"))?;
        if id != expected_did {
            return Err(DidWebError::DidMismatch {
                expected: expected_did.to_owned(),
                found: id.to_owned(),
            });
        }
        let mut methods: Vec<(String, PublicJwk)> = Vec::new();
        let mut push = |vm: &Map<String, Value>| -> Result<(), DidWebError> {
            let vm_id = vm
                .get("id")
                .and_then(Value::as_str)
                .ok_or(DidWebError::Malformed(
                    "verification method without string `id`",
                ))?;
            let vm_id = absolute_id(id, vm_id);
            let ty = vm.get("type").and_then(Value::as_str).unwrap_or_default();
            if ty != VERIFICATION_METHOD_TYPE && ty != LEGACY_VERIFICATION_METHOD_TYPE {
                return Ok(());
            }
            match vm.get("controller").and_then(Value::as_str) {
                Some(c) if c == id => {}
                _ => return Err(DidWebError::ControllerMismatch(vm_id)),
            }
            let jwk = vm.get("publicKeyJwk").ok_or(DidWebError::Malformed(
                "JsonWebKey method without publicKeyJwk",
            ))?;
            let key = PublicJwk::from_json(jwk).map_err(|source| DidWebError::InvalidKey {
                id: vm_id.clone(),
                source,
            })?;
            if methods.iter().any(|(i, _)| *i == vm_id) {
                return Err(DidWebError::DuplicateKeyId(vm_id));
            }
            methods.push((vm_id.clone(), key.with_kid(vm_id)));
            Ok(())
        };
        if let Some(vms) = obj.get("verificationMethod") {
            let vms = vms.as_array().ok_or(DidWebError::Malformed(
                "`verificationMethod` is not an array",
            ))?;
            for vm in vms {
                let vm = vm.as_object().ok_or(DidWebError::Malformed(
                    "verification method is not an object",
                ))?;
                push(vm)?;
            }
        }
        let mut assertion = Vec::new();
        if let Some(am) = obj.get("assertionMethod") {
            let am = am
                .as_array()
                .ok_or(DidWebError::Malformed("`assertionMethod` is not an array"))?;
            for entry in am {
                match entry {
                    Value::String(r) => assertion.push(absolute_id(id, r)),
                    Value::Object(vm) => {
                        push(vm)?;
                        if let Some(r) = vm.get("id").and_then(Value::as_str) {
                            assertion.push(absolute_id(id, r));
                        }
                    }
                    _ => return Err(DidWebError::Malformed("bad `assertionMethod` entry")),
                }
            }
        }
        Ok(DidDocument {
            id: id.to_owned(),
            methods,
            assertion,
        })
    }

    /// The document's DID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// All JWK verification methods as `(method id, key)`; each key's `kid` is its method id.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &PublicJwk)> {
        self.methods.iter().map(|(i, k)| (i.as_str(), k))
    }

    /// The key with DID URL `kid`, whatever its relationships.
    pub fn find_key(&self, kid: &str) -> Result<&PublicJwk, DidWebError> {
        if did_of_kid(kid) != self.id {
            return Err(DidWebError::KidOfAnotherDid {
                kid: kid.to_owned(),
                did: self.id.clone(),
            });
        }
        self.methods
            .iter()
            .find(|(i, _)| i == kid)
            .map(|(_, k)| k)
            .ok_or_else(|| DidWebError::UnknownKid(kid.to_owned()))
    }

    /// The key with DID URL `kid`, which must be listed under `assertionMethod` (it signs
    /// credentials).
    pub fn assertion_key(&self, kid: &str) -> Result<&PublicJwk, DidWebError> {
        let key = self.find_key(kid)?;
        if self.assertion.iter().any(|a| a == kid) {
            Ok(key)
        } else {
            Err(DidWebError::NotAssertionMethod(kid.to_owned()))
        }
    }
}

impl KeyResolver for DidDocument {
    fn resolve(&self, issuer: &str, kid: &str) -> Result<PublicJwk, ResolveError> {
        if issuer != self.id {
            return Err(ResolveError::WrongIssuer {
                expected: issuer.to_owned(),
                found: self.id.clone(),
            });
        }
        Ok(self.assertion_key(kid)?.clone())
    }
}

/// A JWK Set (`{"keys": […]}`, RFC 7517 §5) of accepted public keys.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: Vec<PublicJwk>,
}

impl Jwks {
    /// A set of the given keys.
    pub fn new(keys: Vec<PublicJwk>) -> Self {
        Jwks { keys }
    }

    /// Parses a JWK Set. Keys of a type or curve we do not accept are skipped (RFC 7517 §5:
    /// "SHOULD ignore JWKs … that use kty values that are not understood"); a key carrying private
    /// material, a malformed key, or two keys with the same `kid` reject the whole set.
    pub fn from_json(v: &Value) -> Result<Self, DidWebError> {
        let arr = v
            .as_object()
            .and_then(|o| o.get("keys"))
            .and_then(Value::as_array)
            .ok_or(DidWebError::Malformed("JWKS has no `keys` array"))?;
        let mut keys: Vec<PublicJwk> = Vec::new();
        for (i, k) in arr.iter().enumerate() {
            match PublicJwk::from_json(k) {
                Ok(key) => {
                    if let Some(kid) = key.kid()
                        && keys.iter().any(|o| o.kid() == Some(kid))
                    {
                        return Err(DidWebError::DuplicateKeyId(kid.to_owned()));
                    }
                    keys.push(key);
                }
                Err(KeyError::UnsupportedKeyType(_) | KeyError::UnsupportedCurve(_)) => {}
                Err(source) => {
                    let id = k
                        .get("kid")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("keys[{i}]"), str::to_owned);
                    return Err(DidWebError::InvalidKey { id, source });
                }
            }
        }
        Ok(Jwks { keys })
    }

    /// The set as JSON.
    pub fn to_json(&self) -> Value {
        json!({ "keys": self.keys.iter().map(PublicJwk::to_json).collect::<Vec<_>>() })
    }

    /// The accepted keys.
    pub fn keys(&self) -> &[PublicJwk] {
        &self.keys
    }

    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Result<&PublicJwk, DidWebError> {
        self.keys
            .iter()
            .find(|k| k.kid() == Some(kid))
            .ok_or_else(|| DidWebError::UnknownKid(kid.to_owned()))
    }
}

impl KeyResolver for Jwks {
    fn resolve(&self, _issuer: &str, kid: &str) -> Result<PublicJwk, ResolveError> {
        Ok(self.find(kid)?.clone())
    }
}

/// Where JWT VC issuer metadata says the keys are.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// Keys given by value (`jwks`).
    Inline(Jwks),
    /// Keys to fetch from this URL (`jwks_uri`); fetching is the caller's job.
    Uri(String),
}

/// SD-JWT VC JWT VC Issuer Metadata (`/.well-known/jwt-vc-issuer`, SD-JWT VC -18 §3, V5).
#[derive(Debug, Clone)]
pub struct JwtVcIssuerMetadata {
    /// The issuer identifier, identical to the credentials' `iss`.
    pub issuer: String,
    /// The issuer's keys.
    pub jwks: JwksSource,
}

impl JwtVcIssuerMetadata {
    /// Metadata with inline keys.
    pub fn new(issuer: impl Into<String>, keys: Vec<PublicJwk>) -> Self {
        JwtVcIssuerMetadata {
            issuer: issuer.into(),
            jwks: JwksSource::Inline(Jwks::new(keys)),
        }
    }

    /// The metadata document as JSON.
    pub fn to_json(&self) -> Value {
        match &self.jwks {
            JwksSource::Inline(j) => json!({ "issuer": self.issuer, "jwks": j.to_json() }),
            JwksSource::Uri(u) => json!({ "issuer": self.issuer, "jwks_uri": u }),
        }
    }

    /// Parses fetched metadata and checks that `issuer` is identical to `expected_iss` and that
    /// exactly one of `jwks`/`jwks_uri` is present (V5).
    pub fn from_json(v: &Value, expected_iss: &str) -> Result<Self, DidWebError> {
        let obj = v.as_object().ok_or(DidWebError::Malformed(
            "issuer metadata is not a JSON object",
        ))?;
        let issuer = obj
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or(DidWebError::Malformed(
                "issuer metadata has no string `issuer`",
            ))?;
        if issuer != expected_iss {
            return Err(DidWebError::IssuerMismatch {
                expected: expected_iss.to_owned(),
                found: issuer.to_owned(),
            });
        }
        let jwks = match (obj.get("jwks"), obj.get("jwks_uri")) {
            (Some(j), None) => JwksSource::Inline(Jwks::from_json(j)?),
            (None, Some(Value::String(u))) => JwksSource::Uri(u.clone()),
            (None, Some(_)) => return Err(DidWebError::Malformed("`jwks_uri` is not a string")),
            _ => return Err(DidWebError::JwksSourceAmbiguous),
        };
        Ok(JwtVcIssuerMetadata {
            issuer: issuer.to_owned(),
            jwks,
        })
    }

    /// The metadata URL for `iss`: `/.well-known/jwt-vc-issuer` inserted between host and path,
    /// a trailing `/` removed (V5). `iss` must be https without query or fragment.
    pub fn well_known_url(iss: &str) -> Result<Url, DidWebError> {
        let u = https_base_url(iss)?;
        let path = u.path().trim_end_matches('/');
        let mut out = u.clone();
        out.set_path(&format!("/.well-known/jwt-vc-issuer{path}"));
        Ok(out)
    }
}

impl KeyResolver for JwtVcIssuerMetadata {
    fn resolve(&self, issuer: &str, kid: &str) -> Result<PublicJwk, ResolveError> {
        if issuer != self.issuer {
            return Err(ResolveError::WrongIssuer {
                expected: issuer.to_owned(),
                found: self.issuer.clone(),
            });
        }
        match &self.jwks {
            JwksSource::Inline(j) => j.resolve(issuer, kid),
            JwksSource::Uri(u) => Err(ResolveError::Unavailable(format!(
                "keys are at `{u}`; fetch them and resolve with a Jwks"
            ))),
        }
    }
}
