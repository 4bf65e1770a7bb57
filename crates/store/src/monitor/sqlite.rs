//! SQLite implementation of [`MonitorStore`] (tables `monitor_*`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::SqlitePool;
use sqlx::types::Json;
use uuid::Uuid;

use super::{
    Alert, AlertFilter, AlertRow, AlertState, CredentialRow, KnownCredential, MonitorStore,
    NewAlert, alert_limit, check_alert, check_transition,
};
use crate::StoreError;
use crate::db::sqlite_write_tx;
use crate::time::us;

const ALERT_COLUMNS: &str = "id, rule, category, severity, score, subject, client_id, \
    credential_id, summary, evidence, recommended_action, state, first_seen, last_seen, \
    occurrences, acknowledged_by, acknowledged_at, resolved_by, resolved_at, note, action";

/// Monitor store on SQLite.
#[derive(Debug, Clone)]
pub(crate) struct SqliteMonitorStore {
    pool: SqlitePool,
}

impl SqliteMonitorStore {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    async fn transition(
        &self,
        id: Uuid,
        to: AlertState,
        by: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Alert, StoreError> {
        let mut tx = sqlite_write_tx(&self.pool).await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM monitor_alerts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let state = state.ok_or(StoreError::NotFound { what: "alert" })?;
        let from = AlertState::parse(&state).ok_or_else(|| StoreError::corrupt("alert state"))?;
        check_transition(from, to)?;
        let sql = match to {
            AlertState::Acknowledged => {
                "UPDATE monitor_alerts SET state = 'acknowledged', acknowledged_by = $2, \
                 acknowledged_at = $3, note = COALESCE($4, note) WHERE id = $1"
            }
            _ => {
                "UPDATE monitor_alerts SET state = 'resolved', resolved_by = $2, resolved_at = $3, \
                 note = COALESCE($4, note) WHERE id = $1"
            }
        };
        sqlx::query(sql)
            .bind(id)
            .bind(by)
            .bind(us(at))
            .bind(note)
            .execute(&mut *tx)
            .await?;
        let row: AlertRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM monitor_alerts WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        row.try_into()
    }
}

#[async_trait]
impl MonitorStore for SqliteMonitorStore {
    async fn raise_alert(&self, a: &NewAlert) -> Result<(Alert, bool), StoreError> {
        check_alert(a)?;
        let id = Uuid::new_v4();
        let row: AlertRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO monitor_alerts (id, rule, category, severity, score, subject, client_id,
                 credential_id, summary, evidence, recommended_action, state, first_seen,
                 last_seen, occurrences)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $12, 1)
             ON CONFLICT (rule, subject) WHERE state <> 'resolved' DO UPDATE SET
                 last_seen = excluded.last_seen,
                 occurrences = monitor_alerts.occurrences + 1,
                 summary = excluded.summary,
                 evidence = excluded.evidence,
                 severity = excluded.severity,
                 credential_id = excluded.credential_id,
                 score = CASE WHEN excluded.score > monitor_alerts.score THEN excluded.score
                              ELSE monitor_alerts.score END
             RETURNING {ALERT_COLUMNS}"
        )))
        .bind(id)
        .bind(&a.rule)
        .bind(a.category.as_str())
        .bind(a.severity.as_str())
        .bind(a.score)
        .bind(&a.subject)
        .bind(&a.client_id)
        .bind(&a.credential_id)
        .bind(&a.summary)
        .bind(Json(&a.evidence))
        .bind(&a.recommended_action)
        .bind(us(a.at))
        .fetch_one(&self.pool)
        .await?;
        let alert = Alert::try_from(row)?;
        let new = alert.id == id;
        Ok((alert, new))
    }

    async fn get_alert(&self, id: Uuid) -> Result<Option<Alert>, StoreError> {
        let row: Option<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM monitor_alerts WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Alert::try_from).transpose()
    }

    async fn list_alerts(&self, f: &AlertFilter) -> Result<Vec<Alert>, StoreError> {
        let limit = alert_limit(f.limit)?;
        let rows: Vec<AlertRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM monitor_alerts
             WHERE ($1 IS NULL OR state = $1)
               AND ($2 IS NULL OR category = $2)
               AND ($3 IS NULL OR client_id = $3)
             ORDER BY last_seen DESC, id LIMIT $4"
        )))
        .bind(f.state.map(AlertState::as_str))
        .bind(f.category.map(|c| c.as_str()))
        .bind(&f.client_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Alert::try_from).collect()
    }

    async fn acknowledge_alert(
        &self,
        id: Uuid,
        by: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Alert, StoreError> {
        self.transition(id, AlertState::Acknowledged, by, note, at)
            .await
    }

    async fn resolve_alert(
        &self,
        id: Uuid,
        by: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Alert, StoreError> {
        self.transition(id, AlertState::Resolved, by, note, at)
            .await
    }

    async fn set_alert_action(&self, id: Uuid, action: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE monitor_alerts SET action = $2 WHERE id = $1")
            .bind(id)
            .bind(action)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "alert" });
        }
        Ok(())
    }

    async fn put_baseline(
        &self,
        client_id: &str,
        baseline: &Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO monitor_baselines (client_id, baseline, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (client_id) DO UPDATE SET baseline = excluded.baseline,
                 updated_at = excluded.updated_at",
        )
        .bind(client_id)
        .bind(Json(baseline))
        .bind(us(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn baselines(&self) -> Result<Vec<(String, Value)>, StoreError> {
        let rows: Vec<(String, Json<Value>)> =
            sqlx::query_as("SELECT client_id, baseline FROM monitor_baselines ORDER BY client_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(c, b)| (c, b.0)).collect())
    }

    async fn put_credential(&self, c: &KnownCredential) -> Result<(), StoreError> {
        if c.client_id.is_empty() || c.issuer.is_empty() {
            return Err(StoreError::invalid(
                "credential client_id and issuer are required",
            ));
        }
        sqlx::query(
            "INSERT INTO monitor_credentials (client_id, credential_id, issuer, issuer_domain, format,
                 claims, valid_until, holder_key, origin, observed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (client_id) DO UPDATE SET credential_id = excluded.credential_id,
                 issuer = excluded.issuer, issuer_domain = excluded.issuer_domain,
                 format = excluded.format, claims = excluded.claims,
                 valid_until = excluded.valid_until, holder_key = excluded.holder_key,
                 origin = excluded.origin, observed_at = excluded.observed_at",
        )
        .bind(&c.client_id)
        .bind(&c.credential_id)
        .bind(&c.issuer)
        .bind(&c.issuer_domain)
        .bind(&c.format)
        .bind(Json(&c.claims))
        .bind(us(c.valid_until))
        .bind(&c.holder_key)
        .bind(if c.local { "local" } else { "foreign" })
        .bind(us(c.observed_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn credentials(&self) -> Result<Vec<KnownCredential>, StoreError> {
        let rows: Vec<CredentialRow> = sqlx::query_as(
            "SELECT client_id, credential_id, issuer, issuer_domain, format, claims, valid_until,
                    holder_key, origin, observed_at
             FROM monitor_credentials ORDER BY client_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(KnownCredential::try_from).collect()
    }

    async fn cursor(&self, name: &str) -> Result<i64, StoreError> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM monitor_cursors WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(seq.unwrap_or(0))
    }

    async fn set_cursor(&self, name: &str, seq: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        if seq < 0 {
            return Err(StoreError::invalid("cursor seq must not be negative"));
        }
        sqlx::query(
            "INSERT INTO monitor_cursors (name, seq, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
             WHERE monitor_cursors.seq <= excluded.seq",
        )
        .bind(name)
        .bind(seq)
        .bind(us(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
