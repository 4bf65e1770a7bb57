//! PostgreSQL implementation of [`VerifierStore`] (schema `verifier`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::types::Json;

use super::{
    PolicySet, PolicySetRow, Resource, ResourceRow, TrustedIssuer, TrustedIssuerRow, VerifierStore,
    check_jti, position,
};
use crate::StoreError;
use crate::error::map_constraint;
use crate::time::us;

/// Verifier store on PostgreSQL.
#[derive(Debug, Clone)]
pub(crate) struct PgVerifierStore {
    pool: PgPool,
}

impl PgVerifierStore {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl VerifierStore for PgVerifierStore {
    async fn replace_trust_list(&self, issuers: &[TrustedIssuer]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM verifier.trusted_issuers")
            .execute(&mut *tx)
            .await?;
        for (i, t) in issuers.iter().enumerate() {
            sqlx::query(
                "INSERT INTO verifier.trusted_issuers
                     (issuer, position, credential_types, issuer_domains)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&t.issuer)
            .bind(position(i)?)
            .bind(Json(&t.credential_types))
            .bind(Json(&t.issuer_domains))
            .execute(&mut *tx)
            .await
            .map_err(|e| map_constraint(e, "issuer listed twice", "trusted issuer"))?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn trust_list(&self) -> Result<Vec<TrustedIssuer>, StoreError> {
        let rows: Vec<TrustedIssuerRow> = sqlx::query_as(
            "SELECT issuer, credential_types, issuer_domains
             FROM verifier.trusted_issuers ORDER BY position",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(TrustedIssuer::from).collect())
    }

    async fn put_policy_set(
        &self,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<PolicySet, StoreError> {
        let row: PolicySetRow = sqlx::query_as(
            "INSERT INTO verifier.policy_sets (source, created_at) VALUES ($1, $2)
             RETURNING version, source, created_at",
        )
        .bind(source)
        .bind(us(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.into())
    }

    async fn active_policy_set(&self) -> Result<Option<PolicySet>, StoreError> {
        let row: Option<PolicySetRow> = sqlx::query_as(
            "SELECT version, source, created_at FROM verifier.policy_sets
             ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(PolicySet::from))
    }

    async fn policy_history(&self) -> Result<Vec<PolicySet>, StoreError> {
        let rows: Vec<PolicySetRow> = sqlx::query_as(
            "SELECT version, source, created_at FROM verifier.policy_sets ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(PolicySet::from).collect())
    }

    async fn replace_resources(&self, resources: &[Resource]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM verifier.resources")
            .execute(&mut *tx)
            .await?;
        for (i, r) in resources.iter().enumerate() {
            sqlx::query(
                "INSERT INTO verifier.resources (resource, position, scopes, attributes)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&r.resource)
            .bind(position(i)?)
            .bind(Json(&r.scopes))
            .bind(&r.attributes)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_constraint(e, "resource listed twice", "resource"))?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn resources(&self) -> Result<Vec<Resource>, StoreError> {
        let rows: Vec<ResourceRow> = sqlx::query_as(
            "SELECT resource, scopes, attributes FROM verifier.resources ORDER BY position",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Resource::from).collect())
    }

    async fn get_resource(&self, resource: &str) -> Result<Option<Resource>, StoreError> {
        let row: Option<ResourceRow> = sqlx::query_as(
            "SELECT resource, scopes, attributes FROM verifier.resources WHERE resource = $1",
        )
        .bind(resource)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Resource::from))
    }

    async fn record_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        check_jti(expires_at, now)?;
        // Inserted, or an expired earlier use taken over: one row affected. A live earlier use
        // leaves the row untouched: a replay. A concurrent insert of the same key waits on the
        // unique index and then sees the committed row.
        let done = sqlx::query(
            "INSERT INTO verifier.assertion_jtis AS j (client_id, jti, expires_at)
             VALUES ($1, $2, $3)
             ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at
             WHERE j.expires_at <= $4",
        )
        .bind(client_id)
        .bind(jti)
        .bind(us(expires_at))
        .bind(us(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_expired_jtis(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM verifier.assertion_jtis WHERE expires_at <= $1")
            .bind(us(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
