//! Validation of a fetched client metadata document: [`parse_fetched`] and the redirect URI rule.

use std::net::IpAddr;

use serde_json::{Map, Value};
use url::{Host, Url};

use super::{
    AuthMethod, CimdError, CimdLimits, ClientMetadataDocument, DC_SD_JWT_MEMBER, KeySource,
    RedirectUriError, VC_JWT_MEMBER, ValidatedDocument,
};
use crate::client_id::{ClientIdUrl, check_uri_chars, https_url, is_same_url};
use crate::jwk_policy::{SigningAlg, check_jwks};
use crate::scope::ScopeSet;
use crate::strict_json;

/// Members that reveal a shared secret (C4).
const SECRET_MEMBERS: &[&str] = &["client_secret", "client_secret_expires_at"];

/// Shared-secret authentication methods (C4).
const SYMMETRIC_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
];

/// Known members whose value must be a string.
const STRING_MEMBERS: &[&str] = &[
    "client_id",
    "client_name",
    "client_uri",
    "logo_uri",
    "token_endpoint_auth_method",
    "token_endpoint_auth_signing_alg",
    "jwks_uri",
    "scope",
    "software_id",
    "software_version",
    VC_JWT_MEMBER,
    DC_SD_JWT_MEMBER,
];

/// Known members whose value must be an array of strings.
const STRING_ARRAY_MEMBERS: &[&str] =
    &["redirect_uris", "grant_types", "response_types", "contacts"];

fn check_member_types(obj: &Map<String, Value>) -> Result<(), CimdError> {
    for member in STRING_MEMBERS {
        if let Some(v) = obj.get(*member)
            && !v.is_string()
        {
            return Err(CimdError::WrongMemberType { member });
        }
    }
    for member in STRING_ARRAY_MEMBERS {
        if let Some(v) = obj.get(*member) {
            let ok = v
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string));
            if !ok {
                return Err(CimdError::WrongMemberType { member });
            }
        }
    }
    if let Some(v) = obj.get("jwks")
        && !v.is_object()
    {
        return Err(CimdError::WrongMemberType { member: "jwks" });
    }
    Ok(())
}

/// True if the URL's host is `localhost`, an IPv4 loopback address or `::1`.
pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4).is_loopback(),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6).is_loopback(),
        None => false,
    }
}

/// M7 / RFC 6749 §3.1.2: an absolute URL without fragment or userinfo, either `https` or `http`
/// on `127.0.0.1`, `[::1]` or `localhost` (any port).
pub fn check_redirect_uri(raw: &str) -> Result<Url, RedirectUriError> {
    if check_uri_chars(raw).is_err() {
        return Err(RedirectUriError::NotAbsolute);
    }
    if raw.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    let url = Url::parse(raw).map_err(|_| RedirectUriError::NotAbsolute)?;
    if url.fragment().is_some() {
        return Err(RedirectUriError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::Userinfo);
    }
    let loopback_http = url.scheme() == "http"
        && match url.host() {
            Some(Host::Domain(d)) => d == "localhost",
            Some(Host::Ipv4(v4)) => v4 == std::net::Ipv4Addr::LOCALHOST,
            Some(Host::Ipv6(v6)) => v6 == std::net::Ipv6Addr::LOCALHOST,
            None => false,
        };
    let https = url.scheme() == "https" && url.host().is_some();
    if https || loopback_http {
        Ok(url)
    } else {
        Err(RedirectUriError::NotHttpsOrLoopback)
    }
}

/// True if `token` has the shape of a compact JWS: three non-empty base64url parts
/// (the payload may be empty only in detached form, which we do not accept).
fn is_compact_jws(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// True if `token` has the shape `JWS~[disclosure~]*[KB-JWT]` (RFC 9901 §4).
fn is_sd_jwt(token: &str) -> bool {
    let mut parts = token.split('~');
    let Some(first) = parts.next() else {
        return false;
    };
    token.contains('~') && is_compact_jws(first)
}

fn auth_method(
    doc: &ClientMetadataDocument,
    has_keys: bool,
) -> Result<(AuthMethod, bool), CimdError> {
    match doc.token_endpoint_auth_method.as_deref() {
        None if has_keys => Err(CimdError::AmbiguousAuthMethod),
        None => Ok((AuthMethod::None, true)),
        Some("none") => Ok((AuthMethod::None, false)),
        Some("private_key_jwt") => Ok((AuthMethod::PrivateKeyJwt, false)),
        Some(m) if SYMMETRIC_METHODS.contains(&m) => Err(CimdError::SymmetricAuthMethod {
            method: m.to_owned(),
        }),
        Some(m) => Err(CimdError::UnsupportedAuthMethod {
            method: m.to_owned(),
        }),
    }
}

/// Validates the body of a CIMD fetch (a 200 response from `fetched_url`).
///
/// In order: size cap (C12), strict JSON without duplicate members, a JSON object (C3/C5), no
/// secret members (C4), member types, `client_id` present and equal to `fetched_url` by simple
/// string comparison (C3), `client_id` valid (C1), auth method (C4, C15), keys (D1, C10, JWK
/// policy), signing alg, `client_name` (M2), redirect URIs (M2, M7), `client_uri`/`logo_uri`,
/// `scope`, and the shape of the `vc+jwt`/`dc+sd-jwt` members. Unknown members are kept (C5).
pub fn parse_fetched(
    bytes: &[u8],
    fetched_url: &str,
    limits: &CimdLimits,
) -> Result<ValidatedDocument, CimdError> {
    if bytes.len() > limits.max_bytes {
        return Err(CimdError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let value = strict_json::from_slice(bytes).map_err(|e| {
        if e.is_duplicate_member() {
            CimdError::DuplicateMember(e.to_string())
        } else {
            CimdError::NotJson(e.to_string())
        }
    })?;
    let Value::Object(obj) = &value else {
        return Err(CimdError::NotAnObject);
    };
    if let Some(member) = SECRET_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
        return Err(CimdError::SecretMember { member });
    }
    check_member_types(obj)?;
    if !obj.contains_key("client_id") {
        return Err(CimdError::MissingMember {
            member: "client_id",
        });
    }
    let document: ClientMetadataDocument =
        serde_json::from_value(value).map_err(|e| CimdError::NotJson(e.to_string()))?;

    if !is_same_url(&document.client_id, fetched_url) {
        return Err(CimdError::ClientIdMismatch {
            fetched: fetched_url.to_owned(),
            found: document.client_id.clone(),
        });
    }
    let client_id = ClientIdUrl::parse(&document.client_id)?;

    if document.jwks.is_some() && document.jwks_uri.is_some() {
        return Err(CimdError::BothJwksAndJwksUri);
    }
    let has_keys = document.jwks.is_some() || document.jwks_uri.is_some();
    let (auth_method, auth_method_defaulted) = auth_method(&document, has_keys)?;
    let keys = match (&document.jwks, &document.jwks_uri) {
        (Some(jwks), _) => Some(KeySource::Jwks {
            keys: check_jwks(jwks)?,
            jwks: jwks.clone(),
        }),
        (None, Some(uri)) => Some(KeySource::JwksUri(
            https_url(uri).map_err(CimdError::JwksUri)?,
        )),
        (None, None) => None,
    };
    if auth_method == AuthMethod::PrivateKeyJwt && keys.is_none() {
        return Err(CimdError::MissingKeys);
    }
    if let Some(alg) = &document.token_endpoint_auth_signing_alg {
        SigningAlg::parse(alg).map_err(CimdError::SigningAlg)?;
    }

    if document.client_name.as_deref().is_none_or(str::is_empty) {
        return Err(CimdError::MissingMember {
            member: "client_name",
        });
    }
    let grant_types = document.effective_grant_types();
    if grant_types.iter().any(|g| g == "authorization_code") && document.redirect_uris.is_empty() {
        return Err(CimdError::MissingRedirectUris);
    }
    for uri in &document.redirect_uris {
        check_redirect_uri(uri).map_err(|reason| CimdError::RedirectUri {
            uri: uri.clone(),
            reason,
        })?;
    }
    for (member, value) in [
        ("client_uri", &document.client_uri),
        ("logo_uri", &document.logo_uri),
    ] {
        if let Some(raw) = value {
            https_url(raw).map_err(|reason| CimdError::DocumentUrl { member, reason })?;
        }
    }
    let scope = document.scope.as_deref().map(ScopeSet::parse).transpose()?;
    if document
        .vc_jwt
        .as_deref()
        .is_some_and(|t| !is_compact_jws(t))
    {
        return Err(CimdError::MalformedCredential {
            member: VC_JWT_MEMBER,
        });
    }
    if document.dc_sd_jwt.as_deref().is_some_and(|t| !is_sd_jwt(t)) {
        return Err(CimdError::MalformedCredential {
            member: DC_SD_JWT_MEMBER,
        });
    }
    let localhost_only_redirects = super::all_redirects_are_localhost(&document);
    Ok(ValidatedDocument {
        document,
        client_id,
        auth_method,
        auth_method_defaulted,
        keys,
        grant_types,
        scope,
        localhost_only_redirects,
    })
}
