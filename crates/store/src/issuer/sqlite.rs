//! SQLite implementation of [`IssuerStore`] (tables `issuer_*`). Write transactions start with
//! `BEGIN IMMEDIATE`, which serialises writers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use uuid::Uuid;

use super::{
    IssuedCredential, IssuedCredentialRow, IssuerStore, NewSigningKey, SigningKey, SigningKeyRow,
    check_credential,
};
use crate::StoreError;
use crate::db::sqlite_write_tx;
use crate::error::map_constraint;
use crate::time::us;

/// Issuer store on SQLite.
#[derive(Debug, Clone)]
pub(crate) struct SqliteIssuerStore {
    pool: SqlitePool,
}

impl SqliteIssuerStore {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl IssuerStore for SqliteIssuerStore {
    async fn insert_key(&self, key: &NewSigningKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO issuer_signing_keys (kid, alg, public_jwk, encrypted_private, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.public_jwk)
        .bind(&key.encrypted_private)
        .bind(us(key.created_at))
        .execute(&self.pool)
        .await
        .map_err(|e| map_constraint(e, "kid already used", "signing key"))?;
        Ok(())
    }

    async fn get_key(&self, kid: &str) -> Result<Option<SigningKey>, StoreError> {
        let row: Option<SigningKeyRow> = sqlx::query_as(
            "SELECT kid, alg, public_jwk, encrypted_private, created_at, activated_at, retired_at,
                    publish_until
             FROM issuer_signing_keys WHERE kid = $1",
        )
        .bind(kid)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(SigningKey::from))
    }

    async fn list_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let rows: Vec<SigningKeyRow> = sqlx::query_as(
            "SELECT kid, alg, public_jwk, encrypted_private, created_at, activated_at, retired_at,
                    publish_until
             FROM issuer_signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(SigningKey::from).collect())
    }

    async fn activate_key(&self, kid: &str, now: DateTime<Utc>) -> Result<SigningKey, StoreError> {
        let now = us(now);
        let mut tx = sqlite_write_tx(&self.pool).await?;
        let key: Option<SigningKeyRow> = sqlx::query_as(
            "SELECT kid, alg, public_jwk, encrypted_private, created_at, activated_at, retired_at,
                    publish_until
             FROM issuer_signing_keys WHERE kid = $1",
        )
        .bind(kid)
        .fetch_optional(&mut *tx)
        .await?;
        let key = SigningKey::from(key.ok_or(StoreError::not_found("signing key"))?);
        if key.retired_at.is_some() {
            return Err(StoreError::InvalidTransition {
                from: "retired",
                to: "active",
            });
        }
        if key.is_active() {
            tx.commit().await?;
            return Ok(key);
        }
        // Retire the previous key; keep it published until its last credential expires.
        sqlx::query(
            "UPDATE issuer_signing_keys
             SET retired_at = $1,
                 publish_until = MAX(
                     COALESCE(publish_until, $1),
                     COALESCE((SELECT max(c.valid_until) FROM issuer_credentials c
                               WHERE c.kid = issuer_signing_keys.kid), $1))
             WHERE activated_at IS NOT NULL AND retired_at IS NULL",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let row: SigningKeyRow = sqlx::query_as(
            "UPDATE issuer_signing_keys SET activated_at = $2 WHERE kid = $1
             RETURNING kid, alg, public_jwk, encrypted_private, created_at, activated_at,
                       retired_at, publish_until",
        )
        .bind(kid)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn active_key(&self) -> Result<Option<SigningKey>, StoreError> {
        let row: Option<SigningKeyRow> = sqlx::query_as(
            "SELECT kid, alg, public_jwk, encrypted_private, created_at, activated_at, retired_at,
                    publish_until
             FROM issuer_signing_keys WHERE activated_at IS NOT NULL AND retired_at IS NULL",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(SigningKey::from))
    }

    async fn published_keys(&self, now: DateTime<Utc>) -> Result<Vec<SigningKey>, StoreError> {
        let rows: Vec<SigningKeyRow> = sqlx::query_as(
            "SELECT kid, alg, public_jwk, encrypted_private, created_at, activated_at, retired_at,
                    publish_until
             FROM issuer_signing_keys
             WHERE (activated_at IS NOT NULL AND retired_at IS NULL) OR publish_until > $1
             ORDER BY created_at, kid",
        )
        .bind(us(now))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(SigningKey::from).collect())
    }

    async fn set_publish_until(&self, kid: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE issuer_signing_keys SET publish_until = $2 WHERE kid = $1")
            .bind(kid)
            .bind(us(until))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("signing key"));
        }
        Ok(())
    }

    async fn record_credential(&self, c: &IssuedCredential) -> Result<(), StoreError> {
        check_credential(c)?;
        sqlx::query(
            "INSERT INTO issuer_credentials (id, agent_id, subject, format, kid, status_list_id,
                                            status_index, issued_at, valid_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(c.id)
        .bind(c.agent_id)
        .bind(&c.subject)
        .bind(&c.format)
        .bind(&c.kid)
        .bind(c.status_list_id)
        .bind(c.status_index)
        .bind(us(c.issued_at))
        .bind(us(c.valid_until))
        .execute(&self.pool)
        .await
        .map_err(|e| {
            map_constraint(
                e,
                "credential id or status entry already used",
                "signing key",
            )
        })?;
        Ok(())
    }

    async fn get_credential(&self, id: Uuid) -> Result<Option<IssuedCredential>, StoreError> {
        let row: Option<IssuedCredentialRow> = sqlx::query_as(
            "SELECT id, agent_id, subject, format, kid, status_list_id, status_index, issued_at,
                    valid_until
             FROM issuer_credentials WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(IssuedCredential::from))
    }

    async fn credentials_for_agent(
        &self,
        agent_id: Uuid,
    ) -> Result<Vec<IssuedCredential>, StoreError> {
        let rows: Vec<IssuedCredentialRow> = sqlx::query_as(
            "SELECT id, agent_id, subject, format, kid, status_list_id, status_index, issued_at,
                    valid_until
             FROM issuer_credentials WHERE agent_id = $1 ORDER BY issued_at, id",
        )
        .bind(agent_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(IssuedCredential::from).collect())
    }

    async fn latest_valid_until_for_kid(
        &self,
        kid: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let latest: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT max(valid_until) FROM issuer_credentials WHERE kid = $1")
                .bind(kid)
                .fetch_one(&self.pool)
                .await?;
        Ok(latest)
    }
}
