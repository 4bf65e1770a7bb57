//! Request parameters of the OAuth endpoints: `application/x-www-form-urlencoded` bodies and
//! query strings, with RFC 6749 §3.1/§3.2's rules — a parameter sent without a value is treated
//! as omitted, and no parameter may be repeated (`invalid_request`), except `resource`, which
//! RFC 8707 lets a client repeat and which this AS refuses as `invalid_target` because a token
//! here has exactly one audience. Also the `resource` rules (A3, M5) and scope parsing.

use axum::http::{HeaderMap, header};
use crossauthz_core::scope::Scope;

use super::errors::{ErrorCode, OAuthError};

/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;
/// Longest `resource` accepted.
pub const MAX_RESOURCE_LEN: usize = 2048;
/// Most scopes one request may ask for.
pub const MAX_SCOPES: usize = 64;

/// Parsed parameters, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.len() > MAX_PARAMS {
            return Err(OAuthError::invalid_request("too many parameters"));
        }
        Ok(Self { pairs })
    }

    /// Parses a POST body after checking that it is a form (RFC 6749 §3.2).
    pub fn form(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let media = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        if media.as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        Self::parse(body)
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of `name`: `None` when absent or empty; `invalid_request` when repeated.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        match self.all(name).as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(OAuthError::invalid_request(format!(
                "the parameter {name} is repeated (RFC 6749 §3.1)"
            ))),
        }
    }

    /// The value of `name`, which is required (`invalid_request` when absent).
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("the parameter {name} is missing")))
    }

    /// The single `resource` (RFC 8707): absent, repeated or invalid is `invalid_target`.
    pub fn resource(&self) -> Result<String, OAuthError> {
        match self.all("resource").as_slice() {
            [] => Err(OAuthError::invalid_target(
                "the resource parameter is required (RFC 8707, M5)",
            )),
            [one] => canonical_resource(one),
            _ => Err(OAuthError::invalid_target(
                "this authorization server issues tokens for exactly one resource per request",
            )),
        }
    }

    /// The optional `resource`: as [`Params::resource`] but absent is `None`.
    pub fn optional_resource(&self) -> Result<Option<String>, OAuthError> {
        if self.all("resource").is_empty() {
            Ok(None)
        } else {
            self.resource().map(Some)
        }
    }

    /// `scope` as a list of RFC 6749 scope tokens in request order, duplicates dropped;
    /// `None` when absent; `invalid_scope` when malformed.
    pub fn scopes(&self) -> Result<Option<Vec<String>>, OAuthError> {
        let Some(raw) = self.get("scope")? else {
            return Ok(None);
        };
        parse_scopes(raw).map(Some)
    }
}

/// Splits a `scope` value (RFC 6749 §3.3: space-delimited scope tokens).
pub fn parse_scopes(raw: &str) -> Result<Vec<String>, OAuthError> {
    let mut out: Vec<String> = Vec::new();
    for token in raw.split(' ') {
        let scope = Scope::parse(token)
            .map_err(|e| OAuthError::invalid_scope(format!("scope {token:?}: {e}")))?;
        if !out.iter().any(|s| s == scope.as_str()) {
            out.push(scope.as_str().to_owned());
        }
    }
    if out.len() > MAX_SCOPES {
        return Err(OAuthError::invalid_scope(format!(
            "more than {MAX_SCOPES} scopes"
        )));
    }
    Ok(out)
}

/// The canonical form of a `resource` (A3, M5): an absolute `https` URI without fragment (RFC
/// 8707 §2), without query or userinfo (tokens here are bound to a resource server, not to a
/// query), with the scheme and host lower-cased (MCP servers SHOULD accept an upper-case
/// scheme/host) and everything else exactly as sent. Anything else is `invalid_target`.
pub fn canonical_resource(raw: &str) -> Result<String, OAuthError> {
    let bad = |why: &str| {
        OAuthError::new(
            ErrorCode::InvalidTarget,
            format!(
                "the resource must be an absolute https URI without fragment ({why}; RFC 8707 §2)"
            ),
        )
    };
    if raw.len() > MAX_RESOURCE_LEN || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("malformed"));
    }
    if raw.contains('#') {
        return Err(bad("it has a fragment"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("not an absolute URI"))?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(bad("not https"));
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it has a query or userinfo"));
    }
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Err(bad("not an absolute URI"));
    };
    let split = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    Ok(format!(
        "{}://{}{path}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> Params {
        Params::parse(s.as_bytes()).unwrap()
    }

    // RFC 6749 §3.1: empty = omitted; repeated = invalid_request.
    #[test]
    fn rfc6749_repeated_parameters_are_refused_and_empty_ones_omitted() {
        let q = p("grant_type=client_credentials&scope=&x=1&x=2");
        assert_eq!(q.get("grant_type").unwrap(), Some("client_credentials"));
        assert_eq!(q.get("scope").unwrap(), None);
        assert_eq!(q.get("x").unwrap_err().code, ErrorCode::InvalidRequest);
        assert_eq!(
            q.require("code").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let mut h = HeaderMap::new();
        assert_eq!(
            Params::form(&h, b"a=b").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert!(Params::form(&h, b"a=b").is_ok());
    }

    // A3 / RFC 8707 §2, M5.
    #[test]
    fn a3_resource_must_be_absolute_without_fragment() {
        assert_eq!(
            canonical_resource("https://mcp.beta.example/mcp").unwrap(),
            "https://mcp.beta.example/mcp"
        );
        // M5: upper-case scheme and host accepted, path kept exactly.
        assert_eq!(
            canonical_resource("HTTPS://MCP.Beta.Example:8443/Mcp").unwrap(),
            "https://mcp.beta.example:8443/Mcp"
        );
        for bad in [
            "",
            "/mcp",
            "mcp.beta.example/mcp",
            "https://mcp.beta.example/mcp#frag",
            "https://mcp.beta.example/mcp?x=1",
            "http://mcp.beta.example/mcp",
            "https://u:p@mcp.beta.example/mcp",
            "https://mcp.beta.example/a b",
            "urn:example:resource",
        ] {
            assert_eq!(
                canonical_resource(bad).unwrap_err().code,
                ErrorCode::InvalidTarget,
                "{bad}"
            );
        }
        assert_eq!(
            p("resource=https%3A%2F%2Fa.example%2Fm&resource=https%3A%2F%2Fb.example%2Fm")
                .resource()
                .unwrap_err()
                .code,
            ErrorCode::InvalidTarget
        );
        assert_eq!(
            p("x=1").resource().unwrap_err().code,
            ErrorCode::InvalidTarget
        );
        assert_eq!(p("x=1").optional_resource().unwrap(), None);
    }

    #[test]
    fn scopes_are_tokens_in_request_order() {
        assert_eq!(
            p("scope=b+a+b").scopes().unwrap().unwrap(),
            vec!["b".to_owned(), "a".to_owned()]
        );
        assert_eq!(p("").scopes().unwrap(), None);
        assert_eq!(
            p("scope=a++b").scopes().unwrap_err().code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            p("scope=a%22").scopes().unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }

    proptest::proptest! {
        // Any body or resource is parsed or refused without panicking.
        #[test]
        fn parsing_any_form_never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512), r in ".*") {
            if let Ok(q) = Params::parse(&body) {
                let _ = q.resource();
                let _ = q.scopes();
                let _ = q.get("grant_type");
            }
            let _ = canonical_resource(&r);
        }
    }
}
