//! Issuer store: signing keys (public JWK, encrypted private half, activation and retirement,
//! publication window) and the register of issued credentials.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::StoreError;

pub(crate) mod pg;
pub(crate) mod sqlite;

/// A key to be stored, not yet active.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSigningKey {
    /// Key id (`kid` header).
    pub kid: String,
    /// JOSE algorithm (`EdDSA`, `ES256`).
    pub alg: String,
    /// The public JWK.
    pub public_jwk: Value,
    /// The private key, encrypted by the issuer under the master key (never plaintext).
    pub encrypted_private: Vec<u8>,
    /// Generation time.
    pub created_at: DateTime<Utc>,
}

/// A stored signing key.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKey {
    /// Key id.
    pub kid: String,
    /// JOSE algorithm.
    pub alg: String,
    /// The public JWK.
    pub public_jwk: Value,
    /// The encrypted private key.
    pub encrypted_private: Vec<u8>,
    /// Generation time.
    pub created_at: DateTime<Utc>,
    /// When it became the active key.
    pub activated_at: Option<DateTime<Utc>>,
    /// When another key replaced it.
    pub retired_at: Option<DateTime<Utc>>,
    /// The public key stays published until then (covers the credentials it signed).
    pub publish_until: Option<DateTime<Utc>>,
}

impl SigningKey {
    /// Activated and not retired.
    pub fn is_active(&self) -> bool {
        self.activated_at.is_some() && self.retired_at.is_none()
    }
}

/// A credential the issuer signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedCredential {
    /// Credential id.
    pub id: Uuid,
    /// The agent it was issued to.
    pub agent_id: Uuid,
    /// The subject (the agent's client_id URL).
    pub subject: String,
    /// `vc+jwt` or `dc+sd-jwt`.
    pub format: String,
    /// The signing key (must be stored).
    pub kid: String,
    /// The status list holding its entry.
    pub status_list_id: Uuid,
    /// Its index in that list (unique per list).
    pub status_index: i64,
    /// Issuance time.
    pub issued_at: DateTime<Utc>,
    /// End of validity.
    pub valid_until: DateTime<Utc>,
}

/// Storage of the issuer service.
#[async_trait]
pub trait IssuerStore: Send + Sync + std::fmt::Debug {
    /// Stores a new, inactive key (a used kid is a `Conflict`).
    async fn insert_key(&self, key: &NewSigningKey) -> Result<(), StoreError>;

    /// One key by kid.
    async fn get_key(&self, kid: &str) -> Result<Option<SigningKey>, StoreError>;

    /// Every key, oldest first.
    async fn list_keys(&self) -> Result<Vec<SigningKey>, StoreError>;

    /// Makes `kid` the only active key, atomically: the previously active key gets
    /// `retired_at = now`. Activating the active key is a no-op; a retired key cannot come back
    /// (`InvalidTransition`); unknown kid: `NotFound`.
    async fn activate_key(&self, kid: &str, now: DateTime<Utc>) -> Result<SigningKey, StoreError>;

    /// The active key, if any.
    async fn active_key(&self) -> Result<Option<SigningKey>, StoreError>;

    /// Keys to publish at `now`: the active one and every key with `publish_until > now`.
    async fn published_keys(&self, now: DateTime<Utc>) -> Result<Vec<SigningKey>, StoreError>;

    /// Sets how long a key stays published; unknown kid: `NotFound`.
    async fn set_publish_until(&self, kid: &str, until: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records an issued credential (a used id or status entry is a `Conflict`; an unknown kid
    /// is `NotFound`).
    async fn record_credential(&self, credential: &IssuedCredential) -> Result<(), StoreError>;

    /// One issued credential.
    async fn get_credential(&self, id: Uuid) -> Result<Option<IssuedCredential>, StoreError>;

    /// Every credential of an agent, oldest first.
    async fn credentials_for_agent(
        &self,
        agent_id: Uuid,
    ) -> Result<Vec<IssuedCredential>, StoreError>;

    /// The latest `valid_until` among credentials signed by `kid` (how long to keep it
    /// published), `None` if it signed none.
    async fn latest_valid_until_for_kid(
        &self,
        kid: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// Row of `signing_keys`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SigningKeyRow {
    kid: String,
    alg: String,
    public_jwk: Value,
    encrypted_private: Vec<u8>,
    created_at: DateTime<Utc>,
    activated_at: Option<DateTime<Utc>>,
    retired_at: Option<DateTime<Utc>>,
    publish_until: Option<DateTime<Utc>>,
}

impl From<SigningKeyRow> for SigningKey {
    fn from(r: SigningKeyRow) -> Self {
        SigningKey {
            kid: r.kid,
            alg: r.alg,
            public_jwk: r.public_jwk,
            encrypted_private: r.encrypted_private,
            created_at: r.created_at,
            activated_at: r.activated_at,
            retired_at: r.retired_at,
            publish_until: r.publish_until,
        }
    }
}

/// Row of `credentials`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IssuedCredentialRow {
    id: Uuid,
    agent_id: Uuid,
    subject: String,
    format: String,
    kid: String,
    status_list_id: Uuid,
    status_index: i64,
    issued_at: DateTime<Utc>,
    valid_until: DateTime<Utc>,
}

impl From<IssuedCredentialRow> for IssuedCredential {
    fn from(r: IssuedCredentialRow) -> Self {
        IssuedCredential {
            id: r.id,
            agent_id: r.agent_id,
            subject: r.subject,
            format: r.format,
            kid: r.kid,
            status_list_id: r.status_list_id,
            status_index: r.status_index,
            issued_at: r.issued_at,
            valid_until: r.valid_until,
        }
    }
}

/// Refuses a negative status index before it reaches the database.
pub(crate) fn check_credential(c: &IssuedCredential) -> Result<(), StoreError> {
    if c.status_index < 0 {
        return Err(StoreError::invalid("status_index must be non-negative"));
    }
    Ok(())
}
