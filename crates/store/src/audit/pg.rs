//! PostgreSQL implementation of [`AuditStore`] (schema `audit`). Appends are serialised by
//! `LOCK TABLE audit.events IN EXCLUSIVE MODE` (readers are not blocked); a trigger refuses
//! UPDATE, DELETE and TRUNCATE.

use async_trait::async_trait;
use sqlx::PgPool;

use super::{
    AuditCheckpoint, AuditEvent, AuditFilter, AuditRow, AuditStore, ChainReport, ChainVerifier,
    CheckpointRow, GENESIS_HASH, NewAuditEvent, VERIFY_PAGE, check_checkpoint,
    check_checkpoint_limit, check_limit, hash32,
};
use crate::StoreError;
use crate::error::map_constraint;
use crate::time::us;
use crate::time::us_opt;

/// Audit store on PostgreSQL.
#[derive(Debug, Clone)]
pub(crate) struct PgAuditStore {
    pool: PgPool,
}

impl PgAuditStore {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl AuditStore for PgAuditStore {
    async fn append(&self, event: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("LOCK TABLE audit.events IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let last: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, hash FROM audit.events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (seq, prev) = match last {
            None => (1, GENESIS_HASH),
            Some((seq, hash)) => (seq + 1, hash32(&hash, "hash")?),
        };
        let row = AuditRow::chain(event, seq, prev)?;
        sqlx::query(
            "INSERT INTO audit.events (seq, at, service, kind, actor, client_id, credential_id,
                                       issuer, scopes, resource, decision, reason, trace_id,
                                       details, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::json, $15, $16)",
        )
        .bind(row.seq)
        .bind(row.at)
        .bind(&row.service)
        .bind(&row.kind)
        .bind(&row.actor)
        .bind(&row.client_id)
        .bind(&row.credential_id)
        .bind(&row.issuer)
        .bind(&row.scopes)
        .bind(&row.resource)
        .bind(&row.decision)
        .bind(&row.reason)
        .bind(&row.trace_id)
        .bind(&row.details)
        .bind(&row.prev_hash)
        .bind(&row.hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        row.try_into()
    }

    async fn list(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let limit = check_limit(f.limit)?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, at, service, kind, actor, client_id, credential_id, issuer, scopes,
                    resource, decision, reason, trace_id, details::text AS details, prev_hash,
                    hash
             FROM audit.events
             WHERE ($1::timestamptz IS NULL OR at >= $1)
               AND ($2::timestamptz IS NULL OR at < $2)
               AND ($3::text IS NULL OR client_id = $3)
               AND ($4::text IS NULL OR decision = $4)
               AND ($5::text IS NULL OR kind = $5)
               AND ($6::bigint IS NULL OR seq > $6)
             ORDER BY seq LIMIT $7",
        )
        .bind(us_opt(f.since))
        .bind(us_opt(f.until))
        .bind(&f.client_id)
        .bind(&f.decision)
        .bind(&f.kind)
        .bind(f.after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditEvent::try_from).collect()
    }

    async fn head(&self) -> Result<Option<(i64, [u8; 32])>, StoreError> {
        let last: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, hash FROM audit.events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        last.map(|(seq, h)| hash32(&h, "hash").map(|h| (seq, h)))
            .transpose()
    }

    async fn verify_chain_from(
        &self,
        anchor: Option<(i64, [u8; 32])>,
    ) -> Result<ChainReport, StoreError> {
        let mut v = ChainVerifier::from_anchor(anchor);
        loop {
            let rows: Vec<AuditRow> = sqlx::query_as(
                "SELECT seq, at, service, kind, actor, client_id, credential_id, issuer, scopes,
                        resource, decision, reason, trace_id, details::text AS details,
                        prev_hash, hash
                 FROM audit.events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(v.cursor())
            .bind(VERIFY_PAGE)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(v.finish());
            }
            for row in &rows {
                if let Some(broken) = v.check(row) {
                    return Ok(v.report(broken));
                }
            }
        }
    }

    async fn append_checkpoint(&self, c: &AuditCheckpoint) -> Result<(), StoreError> {
        check_checkpoint(c)?;
        sqlx::query(
            "INSERT INTO audit.checkpoints (seq, hash, event_at, signed_at, kid, jws)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.seq)
        .bind(c.hash.as_slice())
        .bind(us(c.event_at))
        .bind(us(c.signed_at))
        .bind(&c.kid)
        .bind(&c.jws)
        .execute(&self.pool)
        .await
        .map_err(|e| map_constraint(e, "a checkpoint for this seq exists", "audit event"))?;
        Ok(())
    }

    async fn checkpoints(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditCheckpoint>, StoreError> {
        let limit = check_checkpoint_limit(limit)?;
        let rows: Vec<CheckpointRow> = sqlx::query_as(
            "SELECT seq, hash, event_at, signed_at, kid, jws FROM audit.checkpoints
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AuditCheckpoint::try_from).collect()
    }

    async fn last_checkpoint(&self) -> Result<Option<AuditCheckpoint>, StoreError> {
        let row: Option<CheckpointRow> = sqlx::query_as(
            "SELECT seq, hash, event_at, signed_at, kid, jws FROM audit.checkpoints
             ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(AuditCheckpoint::try_from).transpose()
    }
}
