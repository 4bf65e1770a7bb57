//! SQLite implementation of [`StatusStore`] (tables `status_*`). Write transactions start with
//! `BEGIN IMMEDIATE`, which serialises writers; a read transaction in WAL mode is a snapshot.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use uuid::Uuid;

use super::{
    EntryState, ListSnapshot, StatusEntry, StatusEntryRow, StatusList, StatusListRow, StatusStore,
    check_index, check_new_list, check_state_fits, decode_state,
};
use crate::StoreError;
use crate::db::sqlite_write_tx;
use crate::time::us;

/// Status store on SQLite.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStatusStore {
    pool: SqlitePool,
}

impl SqliteStatusStore {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    async fn require_list(&self, id: Uuid) -> Result<StatusList, StoreError> {
        self.get_list(id)
            .await?
            .ok_or(StoreError::not_found("status list"))
    }
}

#[async_trait]
impl StatusStore for SqliteStatusStore {
    async fn create_list(
        &self,
        capacity: i64,
        bits: u8,
        now: DateTime<Utc>,
    ) -> Result<StatusList, StoreError> {
        check_new_list(capacity, bits)?;
        let row: StatusListRow = sqlx::query_as(
            "INSERT INTO status_lists (id, bits, capacity, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             RETURNING id, bits, capacity, created_at, updated_at, version, is_full",
        )
        .bind(Uuid::new_v4())
        .bind(i16::from(bits))
        .bind(capacity)
        .bind(us(now))
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    async fn get_list(&self, id: Uuid) -> Result<Option<StatusList>, StoreError> {
        let row: Option<StatusListRow> = sqlx::query_as(
            "SELECT id, bits, capacity, created_at, updated_at, version, is_full
             FROM status_lists WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(StatusList::try_from).transpose()
    }

    async fn lists(&self) -> Result<Vec<StatusList>, StoreError> {
        let rows: Vec<StatusListRow> = sqlx::query_as(
            "SELECT id, bits, capacity, created_at, updated_at, version, is_full
             FROM status_lists ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(StatusList::try_from).collect()
    }

    async fn open_list(&self) -> Result<Option<StatusList>, StoreError> {
        let row: Option<StatusListRow> = sqlx::query_as(
            "SELECT id, bits, capacity, created_at, updated_at, version, is_full
             FROM status_lists WHERE is_full = 0
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(StatusList::try_from).transpose()
    }

    async fn mark_full(&self, id: Uuid) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE status_lists SET is_full = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("status list"));
        }
        Ok(())
    }

    async fn try_allocate(
        &self,
        list_id: Uuid,
        idx: i64,
        credential_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let list = self.require_list(list_id).await?;
        check_index(&list, idx)?;
        let now = us(now);
        let done = sqlx::query(
            "INSERT INTO status_entries (list_id, idx, credential_id, state, allocated_at,
                                         updated_at)
             VALUES ($1, $2, $3, 0, $4, $4)
             ON CONFLICT (list_id, idx) DO NOTHING",
        )
        .bind(list_id)
        .bind(idx)
        .bind(credential_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn allocated_count(&self, list_id: Uuid) -> Result<i64, StoreError> {
        self.require_list(list_id).await?;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM status_entries WHERE list_id = $1")
            .bind(list_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    async fn set_state(
        &self,
        list_id: Uuid,
        idx: i64,
        new: EntryState,
        now: DateTime<Utc>,
    ) -> Result<StatusEntry, StoreError> {
        let list = self.require_list(list_id).await?;
        check_index(&list, idx)?;
        check_state_fits(&list, new)?;
        let now = us(now);
        let mut tx = sqlite_write_tx(&self.pool).await?;
        // The transition rule lives in the WHERE clause; BEGIN IMMEDIATE serialises writers.
        let row: Option<StatusEntryRow> = sqlx::query_as(
            "UPDATE status_entries SET state = $3, updated_at = $4
             WHERE list_id = $1 AND idx = $2
               AND ((state = 0 AND $3 IN (1, 2)) OR (state = 2 AND $3 IN (0, 1)))
             RETURNING list_id, idx, credential_id, state, allocated_at, updated_at",
        )
        .bind(list_id)
        .bind(idx)
        .bind(new.value())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let current: Option<i16> = sqlx::query_scalar(
                "SELECT state FROM status_entries WHERE list_id = $1 AND idx = $2",
            )
            .bind(list_id)
            .bind(idx)
            .fetch_optional(&mut *tx)
            .await?;
            let current = current.ok_or(StoreError::not_found("status entry"))?;
            return Err(StoreError::InvalidTransition {
                from: decode_state(current)?.as_str(),
                to: new.as_str(),
            });
        };
        sqlx::query("UPDATE status_lists SET version = version + 1, updated_at = $2 WHERE id = $1")
            .bind(list_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        row.try_into()
    }

    async fn get_entry(&self, list_id: Uuid, idx: i64) -> Result<Option<StatusEntry>, StoreError> {
        let row: Option<StatusEntryRow> = sqlx::query_as(
            "SELECT list_id, idx, credential_id, state, allocated_at, updated_at
             FROM status_entries WHERE list_id = $1 AND idx = $2",
        )
        .bind(list_id)
        .bind(idx)
        .fetch_optional(&self.pool)
        .await?;
        row.map(StatusEntry::try_from).transpose()
    }

    async fn non_valid_entries(&self, list_id: Uuid) -> Result<ListSnapshot, StoreError> {
        // One snapshot for the version and the entries, so an ETag never labels other content.
        let mut tx = self.pool.begin().await?;
        let list: Option<StatusListRow> = sqlx::query_as(
            "SELECT id, bits, capacity, created_at, updated_at, version, is_full
             FROM status_lists WHERE id = $1",
        )
        .bind(list_id)
        .fetch_optional(&mut *tx)
        .await?;
        let list = StatusList::try_from(list.ok_or(StoreError::not_found("status list"))?)?;
        let rows: Vec<(i64, i16)> = sqlx::query_as(
            "SELECT idx, state FROM status_entries WHERE list_id = $1 AND state <> 0 ORDER BY idx",
        )
        .bind(list_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let entries = rows
            .into_iter()
            .map(|(idx, s)| decode_state(s).map(|s| (idx, s)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ListSnapshot { list, entries })
    }
}
