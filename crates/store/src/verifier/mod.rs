//! Verifier store: the trust list, Cedar policy set versions, the resource servers this domain
//! issues tokens for, and the client-assertion `jti` replay cache.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

use crate::StoreError;

pub(crate) mod pg;
pub(crate) mod sqlite;

/// An issuer this domain trusts, for some credential types and issuer domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedIssuer {
    /// Issuer identifier (`did:web:…`).
    pub issuer: String,
    /// Credential types accepted from it.
    pub credential_types: Vec<String>,
    /// Issuer domains it may vouch for.
    pub issuer_domains: Vec<String>,
}

/// One stored version of the Cedar policy set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySet {
    /// Version number, increasing with every put.
    pub version: i64,
    /// Cedar source text.
    pub source: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// A resource server this domain issues tokens for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Resource indicator (RFC 8707), e.g. `https://…/mcp`.
    pub resource: String,
    /// Scopes it accepts.
    pub scopes: Vec<String>,
    /// Attributes policies may read.
    pub attributes: Value,
}

/// Storage of the verifier service.
#[async_trait]
pub trait VerifierStore: Send + Sync + std::fmt::Debug {
    /// Replaces the whole trust list atomically (order kept; a repeated issuer is a `Conflict`).
    async fn replace_trust_list(&self, issuers: &[TrustedIssuer]) -> Result<(), StoreError>;

    /// The trust list, in the order it was put.
    async fn trust_list(&self) -> Result<Vec<TrustedIssuer>, StoreError>;

    /// Stores a new policy set version (the caller validated it).
    async fn put_policy_set(
        &self,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<PolicySet, StoreError>;

    /// The active policy set: the newest version.
    async fn active_policy_set(&self) -> Result<Option<PolicySet>, StoreError>;

    /// Every policy set version, oldest first.
    async fn policy_history(&self) -> Result<Vec<PolicySet>, StoreError>;

    /// Replaces all resources atomically (order kept; a repeated resource is a `Conflict`).
    async fn replace_resources(&self, resources: &[Resource]) -> Result<(), StoreError>;

    /// Every resource, in the order it was put.
    async fn resources(&self) -> Result<Vec<Resource>, StoreError>;

    /// One resource by its indicator.
    async fn get_resource(&self, resource: &str) -> Result<Option<Resource>, StoreError>;

    /// Records a client assertion `jti` until `expires_at`: `true` on first use (or when the
    /// earlier use has expired), `false` when it is a replay within its lifetime. Race-safe:
    /// one statement, insert on conflict. `expires_at <= now` is `InvalidInput`.
    async fn record_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes every expired `jti`; answers how many.
    async fn purge_expired_jtis(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Row of `trusted_issuers`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TrustedIssuerRow {
    issuer: String,
    credential_types: Json<Vec<String>>,
    issuer_domains: Json<Vec<String>>,
}

impl From<TrustedIssuerRow> for TrustedIssuer {
    fn from(r: TrustedIssuerRow) -> Self {
        TrustedIssuer {
            issuer: r.issuer,
            credential_types: r.credential_types.0,
            issuer_domains: r.issuer_domains.0,
        }
    }
}

/// Row of `policy_sets`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PolicySetRow {
    version: i64,
    source: String,
    created_at: DateTime<Utc>,
}

impl From<PolicySetRow> for PolicySet {
    fn from(r: PolicySetRow) -> Self {
        PolicySet {
            version: r.version,
            source: r.source,
            created_at: r.created_at,
        }
    }
}

/// Row of `resources`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ResourceRow {
    resource: String,
    scopes: Json<Vec<String>>,
    attributes: Value,
}

impl From<ResourceRow> for Resource {
    fn from(r: ResourceRow) -> Self {
        Resource {
            resource: r.resource,
            scopes: r.scopes.0,
            attributes: r.attributes,
        }
    }
}

/// Refuses a `jti` that is already expired when recorded: it would be replayable at once.
pub(crate) fn check_jti(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), StoreError> {
    if expires_at <= now {
        return Err(StoreError::invalid("jti expires_at must be after now"));
    }
    Ok(())
}

/// Position of an item in a replaced list.
pub(crate) fn position(i: usize) -> Result<i32, StoreError> {
    i32::try_from(i).map_err(|_| StoreError::invalid("list too long"))
}
