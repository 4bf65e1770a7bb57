//! Steps 1 and 2: the client_id URL rules (C1), the fetch of the client's metadata document
//! through the SSRF-safe fetcher (C2, C5, C7, C11, C12), the document rules (C3, C4, C10, C15,
//! M2, M7 via [`crossauthz_core::cimd::parse_fetched`], run inside the fetcher's validator so an
//! invalid document is never cached), and the client's keys (`jwks`, or `jwks_uri` fetched with
//! the same fetcher and checked by the JWK policy).

use std::sync::Arc;

use crossauthz_core::cimd::{CimdError, CimdLimits, KeySource, ValidatedDocument};
use crossauthz_core::client_id::{ClientIdError, ClientIdUrl};
use crossauthz_core::jwk_policy::check_jwks;
use crossauthz_core::strict_json;
use crossauthz_credentials::did_web::Jwks;
use crossauthz_credentials::keys::PublicJwk;
use serde_json::Value;

use crate::fetch::{FetchError, Fetcher, ResourceKind};
use crate::reasons::{DenyReason, codes};

/// A validated client metadata document with its inline keys already parsed.
#[derive(Debug, Clone)]
pub struct ClientDocument {
    /// The document and its typed meaning.
    pub validated: ValidatedDocument,
    /// The keys of an inline `jwks` (empty for `jwks_uri` or no keys).
    pub inline_keys: Vec<PublicJwk>,
}

/// The deny reason of a C1 violation.
pub fn client_id_reason(e: &ClientIdError) -> DenyReason {
    let code = match e {
        ClientIdError::NotHttps { .. } => codes::CLIENT_ID_NOT_HTTPS,
        ClientIdError::MissingAuthority | ClientIdError::MissingHost => codes::CLIENT_ID_NO_HOST,
        ClientIdError::Userinfo => codes::CLIENT_ID_USERINFO,
        ClientIdError::InvalidPort { .. } => codes::CLIENT_ID_PORT,
        ClientIdError::MissingPath => codes::CLIENT_ID_NO_PATH,
        ClientIdError::DotSegment { .. } => codes::CLIENT_ID_DOT_SEGMENT,
        ClientIdError::Query => codes::CLIENT_ID_QUERY,
        ClientIdError::Fragment => codes::CLIENT_ID_FRAGMENT,
        ClientIdError::TooLong { .. }
        | ClientIdError::IllegalCharacter { .. }
        | ClientIdError::BadPercentEncoding { .. }
        | ClientIdError::EncodedHost
        | ClientIdError::Malformed(_) => codes::CLIENT_ID_MALFORMED,
    };
    DenyReason::new(code, e.to_string())
}

/// The deny reason of a document rule violation.
pub fn document_reason(e: &CimdError) -> DenyReason {
    let code = match e {
        CimdError::TooLarge { .. } => codes::FETCH_TOO_LARGE,
        CimdError::ClientIdMismatch { .. } => codes::CLIENT_ID_MISMATCH,
        CimdError::SecretMember { .. } => codes::SECRET_IN_DOCUMENT,
        CimdError::SymmetricAuthMethod { .. } => codes::SECRET_AUTH_METHOD,
        CimdError::UnsupportedAuthMethod { .. } => codes::AUTH_METHOD_UNSUPPORTED,
        CimdError::AmbiguousAuthMethod => codes::AUTH_METHOD_MISSING,
        CimdError::MissingKeys => codes::KEYS_MISSING,
        CimdError::BothJwksAndJwksUri
        | CimdError::Jwks(_)
        | CimdError::JwksUri(_)
        | CimdError::SigningAlg(_) => codes::JWKS_INVALID,
        CimdError::MissingRedirectUris | CimdError::RedirectUri { .. } => {
            codes::REDIRECT_URIS_INVALID
        }
        CimdError::NotJson(_)
        | CimdError::DuplicateMember(_)
        | CimdError::NotAnObject
        | CimdError::WrongMemberType { .. }
        | CimdError::MissingMember { .. }
        | CimdError::InvalidClientId(_)
        | CimdError::DocumentUrl { .. }
        | CimdError::Scope(_)
        | CimdError::MalformedCredential { .. }
        | CimdError::Serialize(_) => codes::DOCUMENT_INVALID,
    };
    DenyReason::new(code, e.to_string())
}

/// The deny reason of a failed fetch of `what` (`"client metadata"`, `"jwks_uri"`, …).
/// `Invalid` carries the validator's own reason; the others name the transport rule.
pub fn fetch_reason(e: &FetchError, what: &str, invalid_fallback: &'static str) -> DenyReason {
    let code = match e {
        FetchError::Invalid(message) => {
            return DenyReason::from_validator_message(message, invalid_fallback);
        }
        FetchError::InvalidClientId(c) => return client_id_reason(c),
        FetchError::NotHttps => codes::CLIENT_ID_NOT_HTTPS,
        FetchError::ForbiddenAddress { .. } => codes::SSRF_BLOCKED,
        FetchError::Redirect { .. } => codes::FETCH_REDIRECT,
        FetchError::Status { .. } => codes::FETCH_STATUS,
        FetchError::ContentType { .. } => codes::FETCH_CONTENT_TYPE,
        FetchError::TooLarge { .. } => codes::FETCH_TOO_LARGE,
        FetchError::Timeout => codes::FETCH_TIMEOUT,
        FetchError::Config(_)
        | FetchError::InvalidUrl(_)
        | FetchError::Dns(_)
        | FetchError::Connect(_)
        | FetchError::Tls(_)
        | FetchError::Protocol(_) => codes::FETCH_FAILED,
    };
    // The description names the rule, never internal addresses or resolver output.
    let description = match e {
        FetchError::ForbiddenAddress { .. } => {
            format!("{what}: the URL resolves to a forbidden address (C11)")
        }
        FetchError::Dns(_)
        | FetchError::Connect(_)
        | FetchError::Tls(_)
        | FetchError::Protocol(_) => {
            format!("{what}: the document could not be retrieved")
        }
        other => format!("{what}: {other}"),
    };
    DenyReason::new(code, description)
}

/// Parses `raw` as a CIMD client_id (C1).
pub fn parse_client_id(raw: &str) -> Result<ClientIdUrl, DenyReason> {
    ClientIdUrl::parse(raw).map_err(|e| client_id_reason(&e))
}

/// Validates a fetched client metadata document (the fetcher's validator).
fn validate_document(
    body: &[u8],
    client_id: &str,
    limits: &CimdLimits,
) -> Result<ClientDocument, DenyReason> {
    let validated = crossauthz_core::cimd::parse_fetched(body, client_id, limits)
        .map_err(|e| document_reason(&e))?;
    let inline_keys = match &validated.keys {
        Some(KeySource::Jwks { jwks, .. }) => parse_keys(jwks)?,
        _ => Vec::new(),
    };
    Ok(ClientDocument {
        validated,
        inline_keys,
    })
}

/// A JWK Set through the JWK policy (EdDSA/ES256 public keys only) and the key parser.
fn parse_keys(jwks: &Value) -> Result<Vec<PublicJwk>, DenyReason> {
    check_jwks(jwks)
        .map_err(|e| DenyReason::new(codes::JWKS_INVALID, format!("jwks refused: {e}")))?;
    let set = Jwks::from_json(jwks)
        .map_err(|e| DenyReason::new(codes::JWKS_INVALID, format!("jwks refused: {e}")))?;
    if set.keys().is_empty() {
        return Err(DenyReason::new(
            codes::JWKS_INVALID,
            "the JWK Set has no usable key",
        ));
    }
    Ok(set.keys().to_vec())
}

/// Fetches (or takes from the cache) and validates the document of `client_id`.
pub async fn load_client(
    fetcher: &Fetcher,
    client_id: &ClientIdUrl,
    limits: CimdLimits,
) -> Result<Arc<ClientDocument>, DenyReason> {
    let raw = client_id.as_str().to_owned();
    let validator_id = raw.clone();
    fetcher
        .get_validated(&raw, ResourceKind::ClientMetadata, move |fetched| {
            validate_document(&fetched.body, &validator_id, &limits)
                .map(|doc| (doc, None))
                .map_err(|r| r.to_validator_message())
        })
        .await
        .map_err(|e| fetch_reason(&e, "client metadata", codes::DOCUMENT_INVALID))
}

/// The client's public keys: the inline `jwks`, or the JWK Set at `jwks_uri` (fetched with the
/// same fetcher, validated by the JWK policy inside the fetch so an invalid set is never
/// cached). Empty for a document without keys.
pub async fn client_keys(
    fetcher: &Fetcher,
    client: &ClientDocument,
) -> Result<Arc<Vec<PublicJwk>>, DenyReason> {
    match &client.validated.keys {
        Some(KeySource::JwksUri(url)) => fetcher
            .get_validated(url.as_str(), ResourceKind::Jwks, |fetched| {
                let value = strict_json::from_slice(&fetched.body).map_err(|e| {
                    DenyReason::new(codes::JWKS_INVALID, format!("jwks_uri: not JSON: {e}"))
                        .to_validator_message()
                })?;
                parse_keys(&value)
                    .map(|keys| (keys, None))
                    .map_err(|r| r.to_validator_message())
            })
            .await
            .map_err(|e| match e {
                FetchError::Invalid(_) => fetch_reason(&e, "jwks_uri", codes::JWKS_INVALID),
                FetchError::ForbiddenAddress { .. } => {
                    fetch_reason(&e, "jwks_uri", codes::JWKS_INVALID)
                }
                other => {
                    let inner = fetch_reason(&other, "jwks_uri", codes::JWKS_INVALID);
                    DenyReason::new(
                        codes::JWKS_UNAVAILABLE,
                        format!("{} [{}]", inner.description, inner.code),
                    )
                }
            }),
        Some(KeySource::Jwks { .. }) => Ok(Arc::new(client.inline_keys.clone())),
        None => Ok(Arc::new(Vec::new())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn c1_every_violation_has_its_own_code() {
        let cases = [
            ("http://a.test/x", codes::CLIENT_ID_NOT_HTTPS),
            ("https:///x", codes::CLIENT_ID_NO_HOST),
            ("https://u:p@a.test/x", codes::CLIENT_ID_USERINFO),
            ("https://a.test:0/x", codes::CLIENT_ID_PORT),
            ("https://a.test", codes::CLIENT_ID_NO_PATH),
            ("https://a.test/a/../x", codes::CLIENT_ID_DOT_SEGMENT),
            ("https://a.test/x?q=1", codes::CLIENT_ID_QUERY),
            ("https://a.test/x#f", codes::CLIENT_ID_FRAGMENT),
            ("https://a.test/x y", codes::CLIENT_ID_MALFORMED),
        ];
        for (raw, code) in cases {
            assert_eq!(parse_client_id(raw).unwrap_err().code, code, "{raw}");
        }
    }

    #[test]
    fn c3_c4_c15_document_errors_map_to_their_codes() {
        let limits = CimdLimits::default();
        let id = "https://a.test/c.json";
        let doc = |v: Value| serde_json::to_vec(&v).unwrap();
        let cases = [
            (
                doc(
                    serde_json::json!({"client_id": "https://a.test/C.json", "client_name": "x", "redirect_uris": ["https://a.test/cb"]}),
                ),
                codes::CLIENT_ID_MISMATCH,
            ),
            (
                doc(
                    serde_json::json!({"client_id": id, "client_name": "x", "redirect_uris": ["https://a.test/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
                ),
                codes::SECRET_AUTH_METHOD,
            ),
            (
                doc(serde_json::json!({"client_id": id, "client_name": "x", "client_secret": "s"})),
                codes::SECRET_IN_DOCUMENT,
            ),
            (
                doc(
                    serde_json::json!({"client_id": id, "client_name": "x", "token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"]}),
                ),
                codes::KEYS_MISSING,
            ),
            (b"not json".to_vec(), codes::DOCUMENT_INVALID),
            (vec![b' '; 6000], codes::FETCH_TOO_LARGE),
        ];
        for (body, code) in cases {
            let r = validate_document(&body, id, &limits).unwrap_err();
            assert_eq!(r.code, code, "{}", r.description);
        }
    }

    #[test]
    fn fetch_errors_map_to_codes_without_leaking_addresses() {
        let e = FetchError::ForbiddenAddress {
            addr: "10.1.2.3".parse().unwrap(),
            reason: crate::fetch::AddressRefusal::UnknownPeer,
            stage: crate::fetch::AddressStage::Resolved,
        };
        let r = fetch_reason(&e, "client metadata", codes::DOCUMENT_INVALID);
        assert_eq!(r.code, codes::SSRF_BLOCKED);
        assert!(!r.description.contains("10.1.2.3"));
        let r = fetch_reason(
            &FetchError::Redirect { status: 302 },
            "x",
            codes::DOCUMENT_INVALID,
        );
        assert_eq!(r.code, codes::FETCH_REDIRECT);
        let r = fetch_reason(
            &FetchError::Invalid(
                DenyReason::new(codes::CLIENT_ID_MISMATCH, "m").to_validator_message(),
            ),
            "x",
            codes::DOCUMENT_INVALID,
        );
        assert_eq!(r.code, codes::CLIENT_ID_MISMATCH);
    }
}
