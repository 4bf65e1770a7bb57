//! Offline validation of JWT access tokens (RFC 9068 §4) for this resource: explicit type
//! `at+jwt`, EdDSA/ES256 only, an issuer that is one of the configured authorization servers,
//! a signature by a key of that AS's JWKS, an audience that names this resource (M5: audience
//! bound, no token passthrough), a validity window checked against an injected `now` with
//! bounded skew, and the `client_id`, `scope` and `jti` claims.

use chrono::{DateTime, Duration, Utc};
use crossauthz_core::scope::ScopeSet;
use crossauthz_credentials::jose::{CheckedJws, JoseError};
use serde_json::{Map, Value};
use url::Url;

use crate::config::{ResourceConfig, audience_matches, identifier};
use crate::fetch::FetchError;
use crate::keys::{KeyCache, KeyError};

/// The JOSE `typ` of a JWT access token (RFC 9068 §2.1); `application/at+jwt` is accepted too.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Why an access token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Shape, `alg` (only EdDSA and ES256: `none`, HS*, RS* are refused, J3), `crit`, `typ`
    /// (must be `at+jwt`, RFC 9068 §4) or signature.
    #[error("{0}")]
    Jose(#[from] JoseError),
    /// The header has no `kid`; keys are looked up by `kid` in the AS's JWKS.
    #[error("access token header has no `kid`")]
    MissingKid,
    /// `iss` is not one of this resource's authorization servers (RFC 9068 §4).
    #[error("issuer `{0}` is not an authorization server of this resource (RFC 9068 §4)")]
    UntrustedIssuer(String),
    /// The AS's JWKS has no key with this `kid`, even after a refresh.
    #[error("unknown kid `{0}`")]
    UnknownKid(String),
    /// The AS's keys could not be obtained: not a definite answer (HTTP 503).
    #[error("authorization server keys unavailable: {0}")]
    KeysUnavailable(FetchError),
    /// A required claim is absent (RFC 9068 §2.2).
    #[error("access token has no `{0}` claim (RFC 9068 §2.2)")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an invalid value.
    #[error("access token claim `{0}` is invalid")]
    InvalidClaim(&'static str),
    /// `exp` is in the past (beyond the allowed skew).
    #[error("access token expired at {expired_at} (now {now})")]
    Expired {
        /// `exp`, unix seconds.
        expired_at: i64,
        /// The validation instant, unix seconds.
        now: i64,
    },
    /// `nbf` is in the future (beyond the allowed skew).
    #[error("access token not valid before {not_before}")]
    NotYetValid {
        /// `nbf`, unix seconds.
        not_before: i64,
    },
    /// `iat` is in the future (beyond the allowed skew).
    #[error("access token issued in the future ({issued_at})")]
    IssuedInTheFuture {
        /// `iat`, unix seconds.
        issued_at: i64,
    },
    /// `iat` is older than `max_token_age_seconds`.
    #[error("access token issued too long ago ({issued_at})")]
    TooOld {
        /// `iat`, unix seconds.
        issued_at: i64,
    },
    /// No `aud` value names this resource: a token for another resource (M5, RFC 8707 §2,
    /// RFC 9068 §4).
    #[error("access token audience is not this resource (M5)")]
    WrongAudience,
}

/// The validated claims of an access token, handed to the protected handler.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenClaims {
    /// `iss`, one of the configured authorization servers.
    pub issuer: String,
    /// `sub`, when present (for client_credentials grants usually the client_id).
    pub subject: Option<String>,
    /// `aud`, every value (one of them names this resource).
    pub audience: Vec<String>,
    /// `client_id`: the client (for crossauthz agents, the CIMD URL).
    pub client_id: String,
    /// `scope`: the granted scopes.
    pub scope: ScopeSet,
    /// `jti`.
    pub jwt_id: String,
    /// `iat`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
    /// `nbf`, when present.
    pub not_before: Option<DateTime<Utc>>,
    /// Every claim as received (extension claims such as the agent's issuer domain and
    /// credential id included).
    pub claims: Map<String, Value>,
}

/// NumericDate (RFC 7519 §2): an integer or a finite non-negative number of seconds.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, TokenError> {
    let Some(v) = claims.get(name) else {
        return Ok(None);
    };
    if let Some(i) = v.as_i64() {
        return Ok(Some(i));
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
        _ => Err(TokenError::InvalidClaim(name)),
    }
}

fn required_date(claims: &Map<String, Value>, name: &'static str) -> Result<i64, TokenError> {
    numeric_date(claims, name)?.ok_or(TokenError::MissingClaim(name))
}

fn to_datetime(secs: i64, name: &'static str) -> Result<DateTime<Utc>, TokenError> {
    DateTime::from_timestamp(secs, 0).ok_or(TokenError::InvalidClaim(name))
}

fn required_string(claims: &Map<String, Value>, name: &'static str) -> Result<String, TokenError> {
    match claims.get(name) {
        None => Err(TokenError::MissingClaim(name)),
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

/// What [`check_claims`] compares against.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// This resource's identifier (the required audience).
    pub resource: Url,
    /// Allowed clock skew.
    pub skew: Duration,
    /// Oldest accepted `iat`.
    pub max_age: Duration,
}

impl ClaimRules {
    /// The rules of a configuration.
    pub fn from_config(config: &ResourceConfig) -> Self {
        let secs = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX).min(1 << 40));
        Self {
            resource: config.resource.clone(),
            skew: secs(config.clock_skew_seconds),
            max_age: secs(config.max_token_age_seconds),
        }
    }
}

/// Checks the claims of an authenticated token (the issuer was checked before the key lookup)
/// at `now`: `exp` (required), `nbf`, `iat` (required), `aud` (required, names this resource),
/// `client_id`, `scope` and `jti` (required), `sub` (a string when present).
pub fn check_claims(
    claims: Map<String, Value>,
    rules: &ClaimRules,
    now: DateTime<Utc>,
) -> Result<AccessTokenClaims, TokenError> {
    let now_s = now.timestamp();
    let skew = rules.skew.num_seconds();
    let issuer = required_string(&claims, "iss")?;

    let exp = required_date(&claims, "exp")?;
    if now_s >= exp.saturating_add(skew) {
        return Err(TokenError::Expired {
            expired_at: exp,
            now: now_s,
        });
    }
    let nbf = numeric_date(&claims, "nbf")?;
    if let Some(nbf) = nbf
        && nbf > now_s.saturating_add(skew)
    {
        return Err(TokenError::NotYetValid { not_before: nbf });
    }
    let iat = required_date(&claims, "iat")?;
    if iat > now_s.saturating_add(skew) {
        return Err(TokenError::IssuedInTheFuture { issued_at: iat });
    }
    if now_s.saturating_sub(iat) > rules.max_age.num_seconds() {
        return Err(TokenError::TooOld { issued_at: iat });
    }

    let audience: Vec<String> = match claims.get("aud") {
        None => return Err(TokenError::MissingClaim("aud")),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(TokenError::InvalidClaim("aud"))?,
        Some(_) => return Err(TokenError::InvalidClaim("aud")),
    };
    if !audience
        .iter()
        .any(|a| audience_matches(a, &rules.resource))
    {
        return Err(TokenError::WrongAudience);
    }

    let client_id = required_string(&claims, "client_id")?;
    let jwt_id = required_string(&claims, "jti")?;
    let scope = match claims.get("scope") {
        None => return Err(TokenError::MissingClaim("scope")),
        Some(Value::String(s)) => {
            ScopeSet::parse(s).map_err(|_| TokenError::InvalidClaim("scope"))?
        }
        Some(_) => return Err(TokenError::InvalidClaim("scope")),
    };
    let subject = match claims.get("sub") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(TokenError::InvalidClaim("sub")),
    };
    Ok(AccessTokenClaims {
        issuer,
        subject,
        audience,
        client_id,
        scope,
        jwt_id,
        issued_at: to_datetime(iat, "iat")?,
        expires_at: to_datetime(exp, "exp")?,
        not_before: nbf.map(|n| to_datetime(n, "nbf")).transpose()?,
        claims,
    })
}

/// Validates access tokens for one resource against the keys of its authorization servers.
#[derive(Debug)]
pub struct TokenValidator {
    rules: ClaimRules,
    keys: KeyCache,
}

impl TokenValidator {
    /// A validator for `config` whose keys come from `keys`.
    pub fn new(config: &ResourceConfig, keys: KeyCache) -> Self {
        Self {
            rules: ClaimRules::from_config(config),
            keys,
        }
    }

    /// The resource identifier tokens must be bound to.
    pub fn resource_identifier(&self) -> String {
        identifier(&self.rules.resource)
    }

    /// Validates `token` at `now` (RFC 9068 §4), in this order: compact form, `alg` allowlist,
    /// no `crit`, `typ` = `at+jwt`; `kid` present; `iss` a configured AS (checked BEFORE any key
    /// fetch, so a token cannot make this server fetch from anywhere else); the AS key (cache, or
    /// one rate-limited refresh); the signature; then the claims ([`check_claims`]).
    pub async fn validate(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessTokenClaims, TokenError> {
        let jws = CheckedJws::decode(token, ACCESS_TOKEN_TYP)?;
        let kid = jws.header().kid.clone().ok_or(TokenError::MissingKid)?;
        let iss = match jws.claims().get("iss") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(TokenError::InvalidClaim("iss")),
            None => return Err(TokenError::MissingClaim("iss")),
        };
        if self.keys.issuer_for(&iss).is_none() {
            return Err(TokenError::UntrustedIssuer(iss.chars().take(200).collect()));
        }
        let jwks = self
            .keys
            .keys_with(&iss, &kid, now)
            .await
            .map_err(|e| match e {
                KeyError::UnknownKid(k) => TokenError::UnknownKid(k),
                KeyError::Unavailable(f) => TokenError::KeysUnavailable(f),
                KeyError::NotConfigured => TokenError::UntrustedIssuer(iss.clone()),
            })?;
        let key = jwks
            .find(&kid)
            .map_err(|_| TokenError::UnknownKid(kid.clone()))?;
        jws.verify_signature(key)?;
        let (_, claims) = jws.into_parts();
        let Value::Object(claims) = claims else {
            return Err(TokenError::Jose(JoseError::MalformedPayload));
        };
        check_claims(claims, &self.rules, now)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_750_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            resource: Url::parse("https://mcp.beta.test/mcp").unwrap(),
            skew: Duration::seconds(60),
            max_age: Duration::seconds(3600),
        }
    }

    fn claims() -> Value {
        json!({
            "iss": "https://beta.test",
            "sub": "https://alpha.test/agents/1/client-metadata.json",
            "aud": "https://mcp.beta.test/mcp",
            "client_id": "https://alpha.test/agents/1/client-metadata.json",
            "scope": "logs:read",
            "jti": "j-1",
            "iat": NOW - 10,
            "exp": NOW + 300,
        })
    }

    fn check(v: Value) -> Result<AccessTokenClaims, TokenError> {
        let m = v.as_object().unwrap().clone();
        check_claims(m, &rules(), DateTime::from_timestamp(NOW, 0).unwrap())
    }

    fn with(k: &str, v: Value) -> Value {
        let mut c = claims();
        c[k] = v;
        c
    }

    fn without(k: &str) -> Value {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(k);
        c
    }

    #[test]
    fn rfc9068_valid_claims_are_returned_typed() {
        let c = check(claims()).unwrap();
        assert_eq!(
            c.client_id,
            "https://alpha.test/agents/1/client-metadata.json"
        );
        assert!(c.scope.contains_str("logs:read"));
        assert_eq!(c.expires_at.timestamp(), NOW + 300);
        assert_eq!(c.audience, vec!["https://mcp.beta.test/mcp".to_owned()]);
    }

    // RFC 9068 §4: exp, nbf, iat with bounded skew.
    #[test]
    fn rfc9068_validity_window_with_bounded_skew() {
        assert!(matches!(
            check(with("exp", json!(NOW - 61))),
            Err(TokenError::Expired { .. })
        ));
        assert!(matches!(
            check(with("exp", json!(NOW - 60))),
            Err(TokenError::Expired { .. })
        ));
        assert!(check(with("exp", json!(NOW - 59))).is_ok(), "within skew");
        assert!(matches!(
            check(with("nbf", json!(NOW + 61))),
            Err(TokenError::NotYetValid { .. })
        ));
        assert!(check(with("nbf", json!(NOW + 60))).is_ok());
        assert!(matches!(
            check(with("iat", json!(NOW + 61))),
            Err(TokenError::IssuedInTheFuture { .. })
        ));
        assert!(matches!(
            check(with("iat", json!(NOW - 3601))),
            Err(TokenError::TooOld { .. })
        ));
        assert!(check(with("exp", json!((NOW + 10) as f64 + 0.5))).is_ok());
        assert_eq!(
            check(with("exp", json!("soon"))),
            Err(TokenError::InvalidClaim("exp"))
        );
    }

    // M5 / RFC 8707: the audience must name this resource; arrays allowed.
    #[test]
    fn m5_audience_bound_token_for_another_resource_is_refused() {
        assert_eq!(
            check(with("aud", json!("https://mcp.other.test/mcp"))),
            Err(TokenError::WrongAudience)
        );
        assert!(
            check(with(
                "aud",
                json!(["https://x.test", "HTTPS://MCP.BETA.TEST/mcp"])
            ))
            .is_ok()
        );
        assert_eq!(
            check(with("aud", json!([1]))),
            Err(TokenError::InvalidClaim("aud"))
        );
        assert_eq!(check(without("aud")), Err(TokenError::MissingClaim("aud")));
    }

    #[test]
    fn rfc9068_required_claims_are_required() {
        for name in ["client_id", "scope", "jti", "exp", "iat", "iss"] {
            assert_eq!(
                check(without(name)),
                Err(TokenError::MissingClaim(name)),
                "{name}"
            );
        }
        assert_eq!(
            check(with("client_id", json!(""))),
            Err(TokenError::InvalidClaim("client_id"))
        );
        assert_eq!(
            check(with("scope", json!("a  b"))),
            Err(TokenError::InvalidClaim("scope"))
        );
        assert_eq!(
            check(with("sub", json!(5))),
            Err(TokenError::InvalidClaim("sub"))
        );
        assert!(check(without("sub")).is_ok());
    }
}
