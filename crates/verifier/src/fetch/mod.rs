//! The SSRF-safe fetcher: the ONLY way crossauthz reads anything from another domain — CIMD
//! documents, `jwks_uri`, did:web documents, status lists and client logos (DESIGN §6 step 1).
//!
//! Rules enforced (CONFORMANCE.md):
//! - C1: `https` only, refused before any connection; client_id URLs are checked against C1 in
//!   full ([`crossauthz_core::ClientIdUrl`]), other URLs against the in-document URL rules.
//! - C11: IP-literal hosts are checked before connecting; host names go through a resolver that
//!   drops every special-use address (loopback only with `allow_loopback`); the address actually
//!   connected to is checked again after the response arrives (DNS rebinding). No proxy is used.
//! - C2: redirects are never followed (a 3xx is [`FetchError::Redirect`]); only 200 succeeds.
//! - C5: the `Content-Type` must fit the [`ResourceKind`].
//! - C12: the body is read as a stream and refused past the kind's cap (never buffering more
//!   than cap + one chunk).
//! - C7: [`Fetcher::get_validated`] caches only validated documents, for their RFC 9111
//!   freshness clamped to `[cache_min, cache_max]` ([`freshness`]); errors and invalid documents
//!   are never cached; concurrent callers for one URL share one fetch (moka single-flight).

mod config;
mod error;
pub mod freshness;
mod resolve;

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use crossauthz_core::net::host_ip;
use crossauthz_core::{
    AllowLoopback, ClientIdError, ClientIdUrl, Clock, HttpsUrlError, SystemClock, https_url,
};
use moka::Expiry;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use std::net::SocketAddr;
use tracing::Instrument;
use url::Url;

pub use config::{FetcherConfig, LOGO_MEDIA_TYPES, MaxBytes, ResourceKind};
pub use error::{AddressRefusal, AddressStage, FetchError, FetcherConfigError};
pub use resolve::{AddressPolicy, check_peer};

use resolve::GuardedResolver;

/// The `User-Agent` sent on every fetch.
const USER_AGENT: &str = concat!("crossauthz/", env!("CARGO_PKG_VERSION"));

/// A successful (200, right content type, within the cap) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL fetched (parsed form).
    pub url: Url,
    /// The body, at most the kind's cap.
    pub body: Bytes,
    /// The `Content-Type` header as received.
    pub content_type: String,
    /// How long this response may be cached: RFC 9111 freshness clamped to
    /// `[cache_min, cache_max]`, zero for `no-store`/`no-cache` (C7).
    pub fresh_for: Duration,
    /// The address actually connected to (already checked against C11).
    pub peer: SocketAddr,
}

/// Cache key: one entry per URL (raw string, C3), kind and validated type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    url: String,
    kind: ResourceKind,
    type_id: TypeId,
}

/// A validated, cached value and how long it stays fresh.
#[derive(Clone)]
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    fresh_for: Duration,
}

/// Per-entry expiry: each entry lives for its own freshness lifetime.
struct PerEntryExpiry;

impl Expiry<Key, Entry> for PerEntryExpiry {
    fn expire_after_create(
        &self,
        _key: &Key,
        value: &Entry,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.fresh_for)
    }

    fn expire_after_update(
        &self,
        _key: &Key,
        value: &Entry,
        _updated_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.fresh_for)
    }
}

struct Inner {
    client: reqwest::Client,
    config: FetcherConfig,
    /// Policy for the address actually connected to (the same as the resolver's in production;
    /// tests split them to prove the post-connect check runs).
    peer_policy: AddressPolicy,
    clock: Arc<dyn Clock>,
    cache: moka::future::Cache<Key, Entry>,
}

/// The SSRF-safe fetcher with its cache. Cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("allow_loopback", &self.inner.config.allow_loopback)
            .field("cached_entries", &self.inner.cache.entry_count())
            .finish_non_exhaustive()
    }
}

fn address_policy(config: &FetcherConfig) -> AddressPolicy {
    AddressPolicy {
        loopback: if config.allow_loopback {
            AllowLoopback::Yes
        } else {
            AllowLoopback::No
        },
        private_networks: config.allow_private_networks.clone().into(),
    }
}

impl Fetcher {
    /// Builds a fetcher (validating `config`) that reads the system clock for `Expires`.
    pub fn new(config: FetcherConfig) -> Result<Self, FetchError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// Builds a fetcher with an injected clock (used as the receipt time for `Expires` when a
    /// response has no `Date`).
    pub fn with_clock(config: FetcherConfig, clock: Arc<dyn Clock>) -> Result<Self, FetchError> {
        let policy = address_policy(&config);
        Self::build(config, clock, policy.clone(), policy)
    }

    fn build(
        config: FetcherConfig,
        clock: Arc<dyn Clock>,
        resolve_policy: AddressPolicy,
        peer_policy: AddressPolicy,
    ) -> Result<Self, FetchError> {
        config.validate()?;
        let resolver = GuardedResolver {
            overrides: config
                .resolve_overrides
                .iter()
                .map(|(host, addrs)| (GuardedResolver::normalise(host), addrs.clone()))
                .collect(),
            localhost_names: config.resolve_localhost_names,
            system: config.system_resolver,
            policy: resolve_policy,
        };
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .no_proxy()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.total_timeout)
            .dns_resolver(resolver);
        let pem = config.extra_roots()?;
        let extra = if pem.trim().is_empty() {
            Vec::new()
        } else {
            reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| FetcherConfigError::ExtraRoots(e.to_string()))?
        };
        builder = if config.system_roots {
            if extra.is_empty() {
                builder
            } else {
                builder.tls_certs_merge(extra)
            }
        } else {
            builder.tls_certs_only(extra)
        };
        let client = builder
            .build()
            .map_err(|e| FetcherConfigError::Client(e.to_string()))?;
        let cache = moka::future::Cache::builder()
            .max_capacity(config.cache_capacity)
            .expire_after(PerEntryExpiry)
            .support_invalidation_closures()
            .build();
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                config,
                peer_policy,
                clock,
                cache,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &FetcherConfig {
        &self.inner.config
    }

    /// Checks `url` for `kind` before any connection: C1 for client_id URLs, the in-document URL
    /// rules otherwise; `https` only; an IP-literal host must pass the address policy (C11).
    pub fn check_url(&self, url: &str, kind: ResourceKind) -> Result<Url, FetchError> {
        let parsed = match kind {
            ResourceKind::ClientMetadata => match ClientIdUrl::parse(url) {
                Ok(id) => id.url().clone(),
                Err(ClientIdError::NotHttps { .. }) => return Err(FetchError::NotHttps),
                Err(e) => return Err(FetchError::InvalidClientId(e)),
            },
            _ => match https_url(url) {
                Ok(u) => u,
                Err(HttpsUrlError::NotHttps) => return Err(FetchError::NotHttps),
                Err(e) => return Err(FetchError::InvalidUrl(e)),
            },
        };
        if parsed.scheme() != "https" {
            return Err(FetchError::NotHttps);
        }
        if let Some(ip) = host_ip(&parsed) {
            resolve::check(
                ip,
                &address_policy(&self.inner.config),
                AddressStage::Literal,
            )?;
        }
        Ok(parsed)
    }

    /// Fetches `url` as `kind`, uncached, with every rule of the module doc enforced. The fetch
    /// runs in a client span whose context goes out as `traceparent` (so the other domain's
    /// spans join the grant's trace) and is timed in `crossauthz_fetch_duration_seconds`.
    pub async fn fetch(&self, url: &str, kind: ResourceKind) -> Result<Fetched, FetchError> {
        let span = tracing::info_span!(
            "fetch",
            otel.name = %format_args!("GET {}", kind.name()),
            otel.kind = "client",
            http.request.method = "GET",
            url.full = %url,
            fetch.kind = kind.name(),
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let result = self.fetch_in_span(url, kind).instrument(span.clone()).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => {
                span.record("error.type", e.code());
                e.code()
            }
        };
        crossauthz_telemetry::metrics::fetch_completed(kind.name(), outcome, started.elapsed());
        result
    }

    async fn fetch_in_span(&self, url: &str, kind: ResourceKind) -> Result<Fetched, FetchError> {
        let parsed = self.check_url(url, kind)?;
        let total = self.inner.config.total_timeout;
        let result = match tokio::time::timeout(total, self.fetch_checked(parsed, kind)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout),
        };
        if let Err(e) = &result {
            tracing::info!(%url, %kind, code = e.code(), error = %e, "fetch refused");
        }
        result
    }

    async fn fetch_checked(&self, url: Url, kind: ResourceKind) -> Result<Fetched, FetchError> {
        let inner = &self.inner;
        let response = inner
            .client
            .get(url.clone())
            .header(ACCEPT, kind.accept())
            .headers(crossauthz_telemetry::propagation::current_headers())
            .send()
            .await
            .map_err(classify)?;
        // C11: the address actually connected to, before anything of the response is used.
        let peer = check_peer(response.remote_addr(), &inner.peer_policy)?;
        let status = response.status();
        tracing::Span::current().record("http.response.status_code", status.as_u16());
        if status.is_redirection() {
            return Err(FetchError::Redirect {
                status: status.as_u16(),
            });
        }
        if status != reqwest::StatusCode::OK {
            return Err(FetchError::Status {
                status: status.as_u16(),
            });
        }
        let content_type = match response
            .headers()
            .get_all(CONTENT_TYPE)
            .iter()
            .collect::<Vec<_>>()
            .as_slice()
        {
            [one] => one.to_str().unwrap_or("").to_owned(),
            [] => String::new(),
            // Several Content-Type lines: ambiguous, refused.
            many => many
                .iter()
                .map(|v| v.to_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(", "),
        };
        if !kind.accepts_content_type(&content_type) {
            return Err(FetchError::ContentType { got: content_type });
        }
        let limit = inner.config.max_bytes.for_kind(kind);
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(FetchError::TooLarge { limit });
        }
        let freshness = freshness::freshness(response.headers(), inner.clock.now().into());
        let fresh_for = freshness::clamp(freshness, inner.config.cache_min, inner.config.cache_max);
        let body = read_capped(response, limit).await?;
        Ok(Fetched {
            url,
            body,
            content_type,
            fresh_for,
            peer,
        })
    }

    /// Cached fetch-and-validate (C7). `validate` runs inside the load and returns the value to
    /// cache and optionally a caller's freshness limit (e.g. a status list's `ttl`/`exp`), which
    /// can only shorten the HTTP freshness. Concurrent callers for one URL, kind and `T` share
    /// one fetch; an error from the fetch or from `validate` goes to every waiter and is not
    /// cached, nor is a value whose freshness is zero (`no-store`).
    pub async fn get_validated<T, F>(
        &self,
        url: &str,
        kind: ResourceKind,
        validate: F,
    ) -> Result<Arc<T>, FetchError>
    where
        T: Send + Sync + 'static,
        F: FnOnce(&Fetched) -> Result<(T, Option<Duration>), String> + Send,
    {
        let key = Key {
            url: url.to_owned(),
            kind,
            type_id: TypeId::of::<T>(),
        };
        // A miss is a lookup that ran the load; a hit is answered from the cache (or by another
        // caller's load of the same key).
        let mut loaded = false;
        let load = async {
            loaded = true;
            let fetched = self.fetch(url, kind).await?;
            let (value, limit) = validate(&fetched).map_err(|reason| {
                tracing::info!(%url, %kind, %reason, "fetched document refused by its validator");
                FetchError::Invalid(reason)
            })?;
            let fresh_for = match limit {
                Some(limit) => fetched.fresh_for.min(limit),
                None => fetched.fresh_for,
            };
            Ok::<_, FetchError>(Entry {
                value: Arc::new(value),
                fresh_for,
            })
        };
        let entry = self.inner.cache.try_get_with(key, load).await;
        if loaded || entry.is_ok() {
            crossauthz_telemetry::metrics::fetch_cache(kind.name(), !loaded);
        }
        let entry = entry.map_err(|e: Arc<FetchError>| (*e).clone())?;
        entry
            .value
            .downcast::<T>()
            .map_err(|_| FetchError::Invalid("cache entry has an unexpected type".into()))
    }

    /// The validated value cached for `url`, `kind` and `T`, if it is still fresh. Never fetches.
    pub async fn cached<T>(&self, url: &str, kind: ResourceKind) -> Option<Arc<T>>
    where
        T: Send + Sync + 'static,
    {
        let key = Key {
            url: url.to_owned(),
            kind,
            type_id: TypeId::of::<T>(),
        };
        let entry = self.inner.cache.get(&key).await?;
        entry.value.downcast::<T>().ok()
    }

    /// Drops every cached entry for `url` (all kinds and types).
    pub fn invalidate(&self, url: &str) {
        let url = url.to_owned();
        if let Err(e) = self
            .inner
            .cache
            .invalidate_entries_if(move |key, _| key.url == url)
        {
            // Only possible if invalidation closures were not enabled; fall back to everything.
            tracing::warn!(error = %e, "targeted invalidation failed; clearing the cache");
            self.inner.cache.invalidate_all();
        }
    }

    /// Drops every cached entry.
    pub fn invalidate_all(&self) {
        self.inner.cache.invalidate_all();
    }
}

/// Reads the body chunk by chunk, failing as soon as it exceeds `limit` (C12).
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Bytes, FetchError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Maps a reqwest error to a typed [`FetchError`].
fn classify(error: reqwest::Error) -> FetchError {
    if let Some(refused) = resolve::from_error_chain(&error) {
        return refused;
    }
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    let detail = error_chain_text(&error);
    if is_tls_error(&error) {
        return FetchError::Tls(detail);
    }
    if error.is_connect() {
        return FetchError::Connect(detail);
    }
    FetchError::Protocol(detail)
}

/// True if a rustls error is anywhere in the chain. `std::io::Error::source` skips the error it
/// wraps, so io errors are unwrapped through `get_ref` (rustls errors arrive wrapped twice).
fn is_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => None,
            },
            None => e.source(),
        };
    }
    false
}

/// The messages of an error and its sources, joined (for diagnostics; no secrets are involved).
fn error_chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
