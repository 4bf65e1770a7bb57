//! [`VerifierService`]: the service value (configuration, stores, clock, fetcher, settings
//! cache) and the admin operations on the trust list, policies and resources. Decisions are in
//! [`crate::decide`].
//!
//! Admin changes are validated completely before anything is written; the change is written
//! first (durable), then its audit event (the verifier and audit stores are separate, so the two
//! cannot share a transaction).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossauthz_core::clock::Clock;
use crossauthz_store::{
    AuditStore, NewAuditEvent, PolicySet, Resource, TrustedIssuer, VerifierStore,
};
use serde_json::json;

use crate::config::VerifierConfig;
use crate::error::VerifierError;
use crate::fetch::Fetcher;
use crate::settings::{SettingsCache, validate_policies, validate_resources, validate_trust_list};

/// The audit `service` name of every event this service writes.
pub const AUDIT_SERVICE: &str = "verifier";

pub(crate) struct Inner {
    pub(crate) config: VerifierConfig,
    pub(crate) store: Arc<dyn VerifierStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) fetcher: Fetcher,
    pub(crate) settings: SettingsCache,
}

/// The verifier service: decides whether a client from another domain may act here
/// (DESIGN §6 steps 1–6) and keeps this domain's trust list, policies and resources.
/// Cheap to clone.
#[derive(Clone)]
pub struct VerifierService {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for VerifierService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierService")
            .field("issuer", &self.inner.config.issuer)
            .field("fetcher", &self.inner.fetcher)
            .finish_non_exhaustive()
    }
}

impl VerifierService {
    /// Builds the service (validating `config`) with a fetcher made from `config.fetcher`.
    pub fn new(
        config: VerifierConfig,
        store: Arc<dyn VerifierStore>,
        audit: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, VerifierError> {
        config.validate()?;
        let fetcher = Fetcher::with_clock(config.fetcher.clone(), Arc::clone(&clock))
            .map_err(VerifierError::Fetcher)?;
        Self::with_fetcher(config, store, audit, clock, fetcher)
    }

    /// Builds the service around an existing fetcher (shared cache, tests).
    pub fn with_fetcher(
        config: VerifierConfig,
        store: Arc<dyn VerifierStore>,
        audit: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        fetcher: Fetcher,
    ) -> Result<Self, VerifierError> {
        config.validate()?;
        let settings = SettingsCache::new(config.settings_refresh_seconds);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                audit,
                clock,
                fetcher,
                settings,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// The fetcher (and its cache).
    pub fn fetcher(&self) -> &Fetcher {
        &self.inner.fetcher
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    async fn audit_change(&self, kind: &str, actor: Option<&str>, details: serde_json::Value) {
        let mut event = NewAuditEvent::new(self.now(), AUDIT_SERVICE, kind);
        event.actor = actor.map(str::to_owned);
        event.decision = Some("applied".to_owned());
        event.details = details;
        if let Err(e) = self.inner.audit.append(event).await {
            // The change itself is durable; the missing record is reported loudly.
            tracing::error!(%kind, error = %e, "audit append failed after a settings change");
        }
    }

    /// The trust list.
    pub async fn trust_list(&self) -> Result<Vec<TrustedIssuer>, VerifierError> {
        Ok(self.inner.store.trust_list().await?)
    }

    /// Replaces the trust list (validated first; a bad list changes nothing).
    pub async fn put_trust_list(
        &self,
        issuers: Vec<TrustedIssuer>,
        actor: Option<&str>,
    ) -> Result<Vec<TrustedIssuer>, VerifierError> {
        validate_trust_list(&issuers)?;
        self.inner.store.replace_trust_list(&issuers).await?;
        self.inner.settings.invalidate().await;
        self.audit_change(
            "trust_list.updated",
            actor,
            json!({ "issuers": issuers.iter().map(|i| &i.issuer).collect::<Vec<_>>() }),
        )
        .await;
        self.trust_list().await
    }

    /// The active policy set, if one was ever stored.
    pub async fn policies(&self) -> Result<Option<PolicySet>, VerifierError> {
        Ok(self.inner.store.active_policy_set().await?)
    }

    /// Stores a new policy set version. A set that does not parse is refused with Cedar's error
    /// and the old set stays active.
    pub async fn put_policies(
        &self,
        source: &str,
        actor: Option<&str>,
    ) -> Result<PolicySet, VerifierError> {
        let compiled = validate_policies(source)?;
        let stored = self.inner.store.put_policy_set(source, self.now()).await?;
        self.inner.settings.invalidate().await;
        self.audit_change(
            "policies.updated",
            actor,
            json!({ "version": stored.version, "policy_ids": compiled.ids() }),
        )
        .await;
        Ok(stored)
    }

    /// The resources.
    pub async fn resources(&self) -> Result<Vec<Resource>, VerifierError> {
        Ok(self.inner.store.resources().await?)
    }

    /// Replaces the resources (validated first; a bad list changes nothing).
    pub async fn put_resources(
        &self,
        resources: Vec<Resource>,
        actor: Option<&str>,
    ) -> Result<Vec<Resource>, VerifierError> {
        validate_resources(&resources)?;
        self.inner.store.replace_resources(&resources).await?;
        self.inner.settings.invalidate().await;
        self.audit_change(
            "resources.updated",
            actor,
            json!({ "resources": resources.iter().map(|r| &r.resource).collect::<Vec<_>>() }),
        )
        .await;
        self.resources().await
    }
}
