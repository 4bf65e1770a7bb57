//! The crossauthz status-list service (gRPC): allocates status entries at random indexes (never
//! twice), records revocation (final) and suspension (reversible) durably, and publishes every
//! list signed by the issuer in both formats — the IETF Token Status List (`statuslist+jwt`,
//! 2 bits) and the W3C Bitstring Status List credentials (`vc+jwt`, one per purpose) — rendered
//! from one source of truth, the store's entries (DESIGN §3, §5, §7).
//!
//! - [`config`]: [`StatusListConfig`] and its validation.
//! - [`model`]: domain types (references, entries, formats, published lists).
//! - `allocator`: random allocation and list rollover ([`StatusListService::allocate`]).
//! - `lifecycle`: [`StatusListService::set_status`] / [`StatusListService::get_status`].
//! - [`publish`]: rendering, caching ([`StatusListService::published_list`]); `signer`: the
//!   call to `Issuer/SignStatusList`.
//! - [`grpc`]: the tonic boundary and the error → status table.
#![forbid(unsafe_code)]

mod allocator;
pub mod config;
mod error;
pub mod grpc;
mod lifecycle;
pub mod model;
pub mod publish;
mod signer;

use crossauthz_telemetry::TracedServer;
use std::sync::Arc;

use crossauthz_core::clock::Clock;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::status_list::status_list_server::StatusListServer;
use crossauthz_store::{AuditStore, StatusStore};
use crossauthz_telemetry::TracedChannel;

pub use allocator::LIST_BITS;
pub use config::{ConfigError, StatusListConfig};
pub use error::StatusListError;
pub use model::{
    Actor, BitstringPurpose, EntryStatus, PublishedFormat, PublishedList, StatusReference,
};

/// The `service` name of this service's audit events.
pub const AUDIT_SERVICE: &str = "status";

/// The status-list service. Cheap to clone (shared state behind an `Arc`); every instance on the
/// same database sees the same lists.
#[derive(Clone)]
pub struct StatusListService {
    inner: Arc<Inner>,
}

struct Inner {
    config: StatusListConfig,
    /// `config.public_url` without a trailing `/`.
    base_url: String,
    store: Arc<dyn StatusStore>,
    audit: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    /// Signs the rendered lists (`Issuer/SignStatusList`).
    issuer: IssuerClient<TracedChannel>,
    /// The list allocations go to; its lock serialises rollovers.
    open: tokio::sync::Mutex<Option<Arc<allocator::OpenList>>>,
    cache: publish::PublishCache,
}

impl std::fmt::Debug for StatusListService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusListService")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl StatusListService {
    /// A service over its stores, after checking `config`. `issuer` is a client of the issuer
    /// service, which signs the published lists.
    pub fn new(
        config: StatusListConfig,
        store: Arc<dyn StatusStore>,
        audit: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        issuer: IssuerClient<TracedChannel>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let base_url = config.base_url()?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                base_url,
                store,
                audit,
                clock,
                issuer,
                open: tokio::sync::Mutex::new(None),
                cache: publish::PublishCache::default(),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &StatusListConfig {
        &self.inner.config
    }

    /// The tonic server of `crossauthz.status_list.v1.StatusList`, each request in a server span
    /// whose parent is the caller's trace context (`service` = `status-list`, `domain` = the
    /// public URL).
    pub fn grpc_server(self) -> TracedServer<StatusListServer<Self>> {
        let domain = self.inner.base_url.clone();
        TracedServer::new(StatusListServer::new(self), "status-list", &domain)
    }
}
