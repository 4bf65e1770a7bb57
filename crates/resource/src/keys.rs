//! The authorization servers' signing keys: discovery of `jwks_uri` from RFC 8414 metadata
//! (`/.well-known/oauth-authorization-server[/<issuer path>]`), fetching the JWK Set, and a cache
//! with a rate-limited refresh when a token names an unknown `kid`.
//!
//! Policy:
//! - A JWKS is used for `jwks_cache_seconds`, then fetched again on the next request.
//! - An unknown `kid` triggers a refresh, but one AS is asked at most once per
//!   `jwks_refresh_min_interval_seconds`, whatever the reason (unknown `kid`, failed fetch): a
//!   flood of tokens with made-up `kid`s cannot make the resource server hammer the AS.
//! - Concurrent requests that need a refresh wait for ONE fetch (single flight per AS).
//! - A failed fetch is not cached as keys; once the cached set has expired and the AS cannot be
//!   reached, requests fail closed ([`KeyError::Unavailable`], HTTP 503).
//! - `jwks_uri` is re-discovered after a failed JWKS fetch.
//!
//! Ages are measured on the injected [`crossauthz_core::Clock`] instant passed in as `now`.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};
use crossauthz_credentials::did_web::Jwks;
use url::Url;

use crate::config::{ResourceConfig, issuer_matches};
use crate::fetch::{FetchError, get_json};

/// Why no key could be found for a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The AS's current JWKS (refreshed, or refreshed too recently to ask again) has no key with
    /// this `kid`: a definite answer, the token is invalid.
    #[error("the authorization server publishes no key `{0}`")]
    UnknownKid(String),
    /// The keys could not be obtained (AS unreachable, bad metadata or JWKS, or no keys yet and
    /// a retry is rate-limited): not a definite answer.
    #[error("authorization server keys unavailable: {0}")]
    Unavailable(FetchError),
    /// Internal: the issuer is not one of the configured authorization servers.
    #[error("not a configured authorization server")]
    NotConfigured,
}

#[derive(Debug)]
struct Cached {
    jwks: Arc<Jwks>,
    fetched_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct RefreshState {
    last_attempt: Option<DateTime<Utc>>,
    last_error: Option<FetchError>,
    jwks_uri: Option<Url>,
}

#[derive(Debug)]
struct Server {
    issuer: Url,
    metadata_url: Url,
    keys: RwLock<Option<Cached>>,
    refresh: tokio::sync::Mutex<RefreshState>,
}

/// The keys of the configured authorization servers, fetched on demand and cached.
#[derive(Debug)]
pub struct KeyCache {
    client: reqwest::Client,
    servers: Vec<Server>,
    ttl: Duration,
    min_refresh: Duration,
}

/// RFC 8414 §3.1: `/.well-known/oauth-authorization-server` inserted between the host and the
/// issuer's path, a terminating `/` removed.
pub fn as_metadata_url(issuer: &Url) -> Url {
    let mut u = issuer.clone();
    let path = issuer.path().trim_end_matches('/').to_owned();
    u.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    u.set_query(None);
    u.set_fragment(None);
    u
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(
        i64::try_from(s)
            .unwrap_or(i64::MAX / 1000)
            .min(i64::MAX / 1000),
    )
}

impl KeyCache {
    /// A cache for `config.authorization_servers`, fetching with `client` (see
    /// [`crate::fetch::client_builder`]). Nothing is fetched until a token needs a key.
    pub fn new(config: &ResourceConfig, client: reqwest::Client) -> Self {
        let servers = config
            .authorization_servers
            .iter()
            .map(|issuer| Server {
                issuer: issuer.clone(),
                metadata_url: as_metadata_url(issuer),
                keys: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(RefreshState::default()),
            })
            .collect();
        Self {
            client,
            servers,
            ttl: seconds(config.jwks_cache_seconds),
            min_refresh: seconds(config.jwks_refresh_min_interval_seconds),
        }
    }

    /// The configured issuer URL that `iss` names, if any.
    pub fn issuer_for(&self, iss: &str) -> Option<&Url> {
        self.servers
            .iter()
            .find(|s| issuer_matches(iss, &s.issuer))
            .map(|s| &s.issuer)
    }

    fn fresh(&self, cached: &Cached, now: DateTime<Utc>) -> bool {
        // A clock that went backwards makes the entry stale rather than fresh forever.
        now >= cached.fetched_at && now - cached.fetched_at < self.ttl
    }

    fn lookup(&self, server: &Server, kid: &str, now: DateTime<Utc>) -> Lookup {
        let guard = server.keys.read().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            None => Lookup::Empty,
            Some(c) if !self.fresh(c, now) => Lookup::Stale,
            Some(c) if c.jwks.find(kid).is_ok() => Lookup::Found(c.jwks.clone()),
            Some(_) => Lookup::Missing,
        }
    }

    /// The current key set of the authorization server `iss` (which must be configured), holding
    /// a key `kid`: from the cache, or after one (rate-limited, single-flight) refresh.
    pub async fn keys_with(
        &self,
        iss: &str,
        kid: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Jwks>, KeyError> {
        let server = self
            .servers
            .iter()
            .find(|s| issuer_matches(iss, &s.issuer))
            .ok_or(KeyError::NotConfigured)?;
        if let Lookup::Found(k) = self.lookup(server, kid, now) {
            return Ok(k);
        }
        let mut state = server.refresh.lock().await;
        // Another request may have refreshed while this one waited.
        let before = self.lookup(server, kid, now);
        if let Lookup::Found(k) = before {
            return Ok(k);
        }
        let may_refresh = match state.last_attempt {
            None => true,
            Some(t) => now < t || now - t >= self.min_refresh,
        };
        if !may_refresh {
            return Err(match before {
                Lookup::Missing => KeyError::UnknownKid(kid.to_owned()),
                _ => KeyError::Unavailable(
                    state
                        .last_error
                        .clone()
                        .unwrap_or(FetchError::Transport("refresh rate-limited".into())),
                ),
            });
        }
        state.last_attempt = Some(now);
        match self.refresh(server, &mut state).await {
            Ok(jwks) => {
                state.last_error = None;
                let jwks = Arc::new(jwks);
                *server.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
                    jwks: jwks.clone(),
                    fetched_at: now,
                });
                if jwks.find(kid).is_ok() {
                    Ok(jwks)
                } else {
                    Err(KeyError::UnknownKid(kid.to_owned()))
                }
            }
            Err(e) => {
                tracing::warn!(issuer = %server.issuer, error = %e, "fetching the authorization server's keys failed");
                state.last_error = Some(e.clone());
                Err(KeyError::Unavailable(e))
            }
        }
    }

    async fn refresh(&self, server: &Server, state: &mut RefreshState) -> Result<Jwks, FetchError> {
        let jwks_uri = match &state.jwks_uri {
            Some(u) => u.clone(),
            None => {
                let u = self.discover(server).await?;
                state.jwks_uri = Some(u.clone());
                u
            }
        };
        let result = async {
            let v = get_json(&self.client, &jwks_uri).await?;
            Jwks::from_json(&v).map_err(|e| FetchError::BadJwks(e.to_string()))
        }
        .await;
        if result.is_err() {
            state.jwks_uri = None;
        }
        result
    }

    async fn discover(&self, server: &Server) -> Result<Url, FetchError> {
        let metadata = get_json(&self.client, &server.metadata_url).await?;
        let issuer = metadata
            .get("issuer")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if !issuer_matches(issuer, &server.issuer) {
            return Err(FetchError::IssuerMismatch {
                expected: crate::config::identifier(&server.issuer),
                found: issuer.chars().take(200).collect(),
            });
        }
        metadata
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .and_then(|s| Url::parse(s).ok())
            .filter(|u| u.scheme() == "https" && u.host_str().is_some())
            .ok_or(FetchError::NoJwksUri)
    }
}

enum Lookup {
    Empty,
    Stale,
    Missing,
    Found(Arc<Jwks>),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // RFC 8414 §3.1 well-known URI construction.
    #[test]
    fn as_metadata_url_inserts_the_well_known_segment() {
        let u = |s| Url::parse(s).unwrap();
        assert_eq!(
            as_metadata_url(&u("https://beta.test")).as_str(),
            "https://beta.test/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            as_metadata_url(&u("https://beta.test:8443/tenant/")).as_str(),
            "https://beta.test:8443/.well-known/oauth-authorization-server/tenant"
        );
    }
}
