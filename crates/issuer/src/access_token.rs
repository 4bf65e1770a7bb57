//! `SignAccessToken`: what the issuer accepts to sign as an RFC 9068 JWT access token, and the
//! claims it builds. Only the access-token shape is accepted — one audience (an absolute https
//! resource URL without query or fragment, RFC 8707 §2), a `client_id`, at least one RFC 6749
//! scope token, an optional subject, credential id and issuer domain, a lifetime within the
//! configured bound. The issuer sets `iss` (its public URL = the AS issuer), `iat`, `exp`, `jti`
//! and the header (`typ: at+jwt`, `kid` = the active key's DID URL); the caller cannot add any
//! other claim, so the RPC cannot be used to sign a credential or a status list.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use crossauthz_core::scope::Scope;
use serde_json::{Map, Value, json};

use crate::IssuerError;

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Longest `client_id`, `sub` or `audience` accepted.
pub const MAX_IDENTIFIER_LEN: usize = 2048;
/// Most scopes one token may carry.
pub const MAX_SCOPES: usize = 64;

/// A `SignAccessToken` request in domain form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessTokenRequest {
    /// The resource the token is bound to (`aud`).
    pub audience: String,
    /// The client (`client_id`).
    pub client_id: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The resource owner (`sub`); empty = the client.
    pub subject: String,
    /// The agent credential behind the grant (`credential_id`); empty = none.
    pub credential_id: String,
    /// The agent's issuer domain (`issuer_domain`); empty = none.
    pub issuer_domain: String,
    /// Lifetime in seconds; 0 = the configured default.
    pub lifetime_seconds: u64,
}

/// A signed access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAccessToken {
    /// The compact JWS.
    pub access_token: String,
    /// Its `jti`.
    pub jti: String,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
    /// The signing key's DID URL (the header and JWKS `kid`).
    pub kid: String,
}

/// A request that passed [`check_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckedRequest {
    audience: String,
    client_id: String,
    scope: String,
    subject: String,
    credential_id: Option<String>,
    issuer_domain: Option<String>,
    pub(crate) lifetime: Duration,
}

/// A string claim value: 1..=`max` characters, none of them a control character.
fn identifier(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && !value.chars().any(char::is_control)
}

fn optional(value: &str, name: &'static str) -> Result<Option<String>, IssuerError> {
    if value.is_empty() {
        return Ok(None);
    }
    if !identifier(value, MAX_IDENTIFIER_LEN) {
        return Err(IssuerError::AccessTokenClaim(name));
    }
    Ok(Some(value.to_owned()))
}

fn check_audience(audience: &str) -> Result<(), IssuerError> {
    let bad = || IssuerError::AccessTokenAudience(audience.chars().take(200).collect());
    if !identifier(audience, MAX_IDENTIFIER_LEN)
        || audience.contains('#')
        || audience.chars().any(char::is_whitespace)
    {
        return Err(bad());
    }
    let url = url::Url::parse(audience).map_err(|_| bad())?;
    if url.scheme() != "https"
        || url.host_str().is_none_or(str::is_empty)
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad());
    }
    Ok(())
}

/// Validates a request; nothing is signed unless this passes.
pub(crate) fn check_request(
    req: &AccessTokenRequest,
    default_lifetime: u64,
    max_lifetime: u64,
) -> Result<CheckedRequest, IssuerError> {
    check_audience(&req.audience)?;
    if !identifier(&req.client_id, MAX_IDENTIFIER_LEN) {
        return Err(IssuerError::AccessTokenClaim("client_id"));
    }
    if req.scopes.is_empty() || req.scopes.len() > MAX_SCOPES {
        return Err(IssuerError::AccessTokenScope(format!(
            "between 1 and {MAX_SCOPES} scopes are required"
        )));
    }
    let mut seen = HashSet::new();
    let mut scopes = Vec::new();
    for s in &req.scopes {
        Scope::parse(s).map_err(|e| IssuerError::AccessTokenScope(e.to_string()))?;
        if seen.insert(s.as_str()) {
            scopes.push(s.as_str());
        }
    }
    let subject = optional(&req.subject, "sub")?.unwrap_or_else(|| req.client_id.clone());
    let seconds = match req.lifetime_seconds {
        0 => default_lifetime.min(max_lifetime),
        r if r > max_lifetime => {
            return Err(IssuerError::AccessTokenLifetimeTooLong {
                requested: r,
                max: max_lifetime,
            });
        }
        r => r,
    };
    Ok(CheckedRequest {
        audience: req.audience.clone(),
        client_id: req.client_id.clone(),
        scope: scopes.join(" "),
        subject,
        credential_id: optional(&req.credential_id, "credential_id")?,
        issuer_domain: optional(&req.issuer_domain, "issuer_domain")?,
        lifetime: Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1000)),
    })
}

/// The claims set (RFC 9068 §2.2) of a checked request issued by `iss` at `now` (whole
/// seconds) with `jti`.
pub(crate) fn claims(c: &CheckedRequest, iss: &str, now: DateTime<Utc>, jti: &str) -> Value {
    let mut m = Map::new();
    m.insert("iss".into(), json!(iss));
    m.insert("sub".into(), json!(c.subject));
    m.insert("aud".into(), json!(c.audience));
    m.insert("client_id".into(), json!(c.client_id));
    m.insert("scope".into(), json!(c.scope));
    m.insert("iat".into(), json!(now.timestamp()));
    m.insert("exp".into(), json!((now + c.lifetime).timestamp()));
    m.insert("jti".into(), json!(jti));
    if let Some(id) = &c.credential_id {
        m.insert("credential_id".into(), json!(id));
    }
    if let Some(d) = &c.issuer_domain {
        m.insert("issuer_domain".into(), json!(d));
    }
    Value::Object(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn request() -> AccessTokenRequest {
        AccessTokenRequest {
            audience: "https://mcp.beta.example/mcp".into(),
            client_id: "https://alpha.example/agents/1/client-metadata.json".into(),
            scopes: vec!["logs:read".into(), "status:read".into(), "logs:read".into()],
            subject: String::new(),
            credential_id: "urn:uuid:5a1e".into(),
            issuer_domain: "alpha.example".into(),
            lifetime_seconds: 0,
        }
    }

    fn check(r: &AccessTokenRequest) -> Result<CheckedRequest, IssuerError> {
        check_request(r, 300, 300)
    }

    // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti; scope when requested.
    #[test]
    fn rfc9068_claims_of_an_accepted_request() {
        let c = check(&request()).unwrap();
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let v = claims(&c, "https://beta.example", now, "j-1");
        assert_eq!(v["iss"], "https://beta.example");
        assert_eq!(v["aud"], "https://mcp.beta.example/mcp");
        assert_eq!(v["sub"], v["client_id"], "client_credentials: sub = client");
        assert_eq!(
            v["scope"], "logs:read status:read",
            "deduplicated, in order"
        );
        assert_eq!(v["exp"].as_i64().unwrap() - v["iat"].as_i64().unwrap(), 300);
        assert_eq!(v["credential_id"], "urn:uuid:5a1e");
        assert_eq!(v["issuer_domain"], "alpha.example");
        let mut r = request();
        r.subject = "user-7".into();
        r.credential_id.clear();
        let v = claims(&check(&r).unwrap(), "https://b", now, "j");
        assert_eq!(v["sub"], "user-7");
        assert!(v.get("credential_id").is_none());
    }

    // A3 / RFC 8707 §2: one absolute resource URL without fragment.
    #[test]
    fn a3_audience_must_be_one_absolute_https_url_without_fragment() {
        for aud in [
            "",
            "mcp.beta.example/mcp",
            "/mcp",
            "http://mcp.beta.example/mcp",
            "https://mcp.beta.example/mcp#frag",
            "https://mcp.beta.example/mcp?x=1",
            "https://u@mcp.beta.example/mcp",
            "https://mcp.beta.example/mcp https://other.example",
        ] {
            let mut r = request();
            r.audience = aud.into();
            assert!(
                matches!(check(&r), Err(IssuerError::AccessTokenAudience(_))),
                "{aud}"
            );
        }
    }

    #[test]
    fn scopes_client_id_and_claims_are_checked() {
        let mut r = request();
        r.scopes.clear();
        assert!(matches!(check(&r), Err(IssuerError::AccessTokenScope(_))));
        r.scopes = vec!["a b".into()];
        assert!(matches!(check(&r), Err(IssuerError::AccessTokenScope(_))));
        r.scopes = vec!["a\"".into()];
        assert!(matches!(check(&r), Err(IssuerError::AccessTokenScope(_))));
        let mut r = request();
        r.client_id.clear();
        assert!(matches!(
            check(&r),
            Err(IssuerError::AccessTokenClaim("client_id"))
        ));
        let mut r = request();
        r.subject = "a\nb".into();
        assert!(matches!(
            check(&r),
            Err(IssuerError::AccessTokenClaim("sub"))
        ));
        let mut r = request();
        r.issuer_domain = "x".repeat(MAX_IDENTIFIER_LEN + 1);
        assert!(matches!(
            check(&r),
            Err(IssuerError::AccessTokenClaim("issuer_domain"))
        ));
    }

    #[test]
    fn lifetime_is_bounded_by_configuration() {
        let mut r = request();
        r.lifetime_seconds = 301;
        assert!(matches!(
            check(&r),
            Err(IssuerError::AccessTokenLifetimeTooLong {
                requested: 301,
                max: 300
            })
        ));
        r.lifetime_seconds = 60;
        assert_eq!(check(&r).unwrap().lifetime, Duration::seconds(60));
        r.lifetime_seconds = 0;
        assert_eq!(
            check_request(&r, 900, 120).unwrap().lifetime,
            Duration::seconds(120)
        );
    }

    proptest::proptest! {
        // Any strings are accepted or refused without panicking.
        #[test]
        fn checking_any_request_never_panics(
            aud in ".*", client in ".*", scope in ".*", sub in ".*", life in 0u64..10_000
        ) {
            let r = AccessTokenRequest {
                audience: aud,
                client_id: client,
                scopes: vec![scope],
                subject: sub,
                credential_id: String::new(),
                issuer_domain: String::new(),
                lifetime_seconds: life,
            };
            let _ = check_request(&r, 300, 300);
        }
    }
}
