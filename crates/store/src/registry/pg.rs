//! PostgreSQL implementation of [`RegistryStore`] (schema `registry`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    Agent, AgentCredential, AgentCredentialRow, AgentCredentialState, AgentPage, AgentRow,
    AgentUpdate, AgentVersion, AgentVersionRow, DcrClient, DcrClientRow, NewAgent, RegistryStore,
    check_page_size, check_window, into_page,
};
use crate::StoreError;
use crate::error::map_constraint;
use crate::time::us;

/// Registry store on PostgreSQL.
#[derive(Debug, Clone)]
pub(crate) struct PgRegistryStore {
    pool: PgPool,
}

impl PgRegistryStore {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl RegistryStore for PgRegistryStore {
    async fn create_agent(&self, agent: NewAgent, at: DateTime<Utc>) -> Result<Agent, StoreError> {
        let at = us(at);
        let mut tx = self.pool.begin().await?;
        let row: AgentRow = sqlx::query_as(
            "INSERT INTO registry.agents
                 (id, name, agent_type, document, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 1, $5, $5)
             RETURNING id, name, agent_type, document, version, created_at, updated_at",
        )
        .bind(agent.id)
        .bind(&agent.name)
        .bind(&agent.agent_type)
        .bind(&agent.document)
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_constraint(e, "agent id already used", "agent"))?;
        sqlx::query(
            "INSERT INTO registry.agent_versions
                 (agent_id, version, name, agent_type, document, created_at)
             VALUES ($1, 1, $2, $3, $4, $5)",
        )
        .bind(agent.id)
        .bind(&agent.name)
        .bind(&agent.agent_type)
        .bind(&agent.document)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn get_agent(&self, id: Uuid) -> Result<Option<Agent>, StoreError> {
        let row: Option<AgentRow> = sqlx::query_as(
            "SELECT id, name, agent_type, document, version, created_at, updated_at
             FROM registry.agents WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Agent::from))
    }

    async fn list_agents(
        &self,
        page_size: u32,
        after: Option<Uuid>,
    ) -> Result<AgentPage, StoreError> {
        let limit = check_page_size(page_size)?;
        let rows: Vec<AgentRow> = match after {
            None => {
                sqlx::query_as(
                    "SELECT id, name, agent_type, document, version, created_at, updated_at
                     FROM registry.agents WHERE deleted_at IS NULL
                     ORDER BY created_at, id LIMIT $1",
                )
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?
            }
            Some(cursor) => {
                let created: Option<DateTime<Utc>> =
                    sqlx::query_scalar("SELECT created_at FROM registry.agents WHERE id = $1")
                        .bind(cursor)
                        .fetch_optional(&self.pool)
                        .await?;
                let created = created.ok_or(StoreError::not_found("agent (page cursor)"))?;
                sqlx::query_as(
                    "SELECT id, name, agent_type, document, version, created_at, updated_at
                     FROM registry.agents
                     WHERE deleted_at IS NULL AND (created_at, id) > ($1, $2)
                     ORDER BY created_at, id LIMIT $3",
                )
                .bind(created)
                .bind(cursor)
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(into_page(rows, limit))
    }

    async fn update_agent(
        &self,
        id: Uuid,
        update: AgentUpdate,
        expected_version: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<Agent, StoreError> {
        let at = us(at);
        let mut tx = self.pool.begin().await?;
        // The row lock taken by UPDATE serialises concurrent updates of one agent; the version
        // check is re-evaluated against the committed row.
        let row: Option<AgentRow> = sqlx::query_as(
            "UPDATE registry.agents
             SET name = COALESCE($2, name), agent_type = COALESCE($3, agent_type),
                 document = $4, version = version + 1, updated_at = $5
             WHERE id = $1 AND deleted_at IS NULL AND ($6::BIGINT IS NULL OR version = $6)
             RETURNING id, name, agent_type, document, version, created_at, updated_at",
        )
        .bind(id)
        .bind(&update.name)
        .bind(&update.agent_type)
        .bind(&update.document)
        .bind(at)
        .bind(expected_version)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let current: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM registry.agents WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            return Err(match (current, expected_version) {
                (Some(v), Some(e)) => {
                    StoreError::conflict(format!("agent is at version {v}, expected {e}"))
                }
                _ => StoreError::not_found("agent"),
            });
        };
        sqlx::query(
            "INSERT INTO registry.agent_versions
                 (agent_id, version, name, agent_type, document, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(row.id)
        .bind(row.version)
        .bind(&row.name)
        .bind(&row.agent_type)
        .bind(&row.document)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn agent_history(&self, id: Uuid) -> Result<Vec<AgentVersion>, StoreError> {
        let rows: Vec<AgentVersionRow> = sqlx::query_as(
            "SELECT agent_id, version, name, agent_type, document, created_at
             FROM registry.agent_versions WHERE agent_id = $1 ORDER BY version",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(StoreError::not_found("agent"));
        }
        Ok(rows.into_iter().map(AgentVersion::from).collect())
    }

    async fn delete_agent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE registry.agents SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(us(at))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("agent"));
        }
        Ok(())
    }

    async fn put_agent_credential(&self, c: &AgentCredential) -> Result<(), StoreError> {
        check_window(c)?;
        let mut tx = self.pool.begin().await?;
        // FOR SHARE: a concurrent delete waits until this credential is recorded.
        let live: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM registry.agents WHERE id = $1 AND deleted_at IS NULL FOR SHARE",
        )
        .bind(c.agent_id)
        .fetch_optional(&mut *tx)
        .await?;
        if live.is_none() {
            return Err(StoreError::not_found("agent"));
        }
        sqlx::query(
            "INSERT INTO registry.agent_credentials
                 (id, agent_id, format, compact, valid_from, valid_until, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id)
        .bind(c.agent_id)
        .bind(&c.format)
        .bind(&c.compact)
        .bind(us(c.valid_from))
        .bind(us(c.valid_until))
        .bind(c.state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| map_constraint(e, "credential id already used", "agent"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_agent_credential_state(
        &self,
        id: Uuid,
        state: AgentCredentialState,
    ) -> Result<AgentCredential, StoreError> {
        let mut tx = self.pool.begin().await?;
        let current: Option<String> = sqlx::query_scalar(
            "SELECT state FROM registry.agent_credentials WHERE id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let current = current.ok_or(StoreError::not_found("agent credential"))?;
        let from = AgentCredentialState::parse(&current)
            .ok_or_else(|| StoreError::corrupt("agent credential state"))?;
        if !from.can_become(state) {
            return Err(StoreError::InvalidTransition {
                from: from.as_str(),
                to: state.as_str(),
            });
        }
        let row: AgentCredentialRow = sqlx::query_as(
            "UPDATE registry.agent_credentials SET state = $2 WHERE id = $1
             RETURNING id, agent_id, format, compact, valid_from, valid_until, state",
        )
        .bind(id)
        .bind(state.as_str())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        row.try_into()
    }

    async fn get_agent_credential(&self, id: Uuid) -> Result<Option<AgentCredential>, StoreError> {
        let row: Option<AgentCredentialRow> = sqlx::query_as(
            "SELECT id, agent_id, format, compact, valid_from, valid_until, state
             FROM registry.agent_credentials WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(AgentCredential::try_from).transpose()
    }

    async fn agent_credentials(&self, agent_id: Uuid) -> Result<Vec<AgentCredential>, StoreError> {
        let rows: Vec<AgentCredentialRow> = sqlx::query_as(
            "SELECT id, agent_id, format, compact, valid_from, valid_until, state
             FROM registry.agent_credentials WHERE agent_id = $1
             ORDER BY valid_from DESC, id DESC",
        )
        .bind(agent_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AgentCredential::try_from).collect()
    }

    async fn newest_valid_credential(
        &self,
        agent_id: Uuid,
        format: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AgentCredential>, StoreError> {
        let row: Option<AgentCredentialRow> = sqlx::query_as(
            "SELECT id, agent_id, format, compact, valid_from, valid_until, state
             FROM registry.agent_credentials
             WHERE agent_id = $1 AND format = $2 AND state = 'active'
               AND valid_from <= $3 AND valid_until > $3
             ORDER BY valid_from DESC, id DESC LIMIT 1",
        )
        .bind(agent_id)
        .bind(format)
        .bind(us(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(AgentCredential::try_from).transpose()
    }

    async fn create_dcr_client(&self, c: &DcrClient) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO registry.dcr_clients
                 (client_id, registration_token_hash, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.client_id)
        .bind(&c.registration_token_hash)
        .bind(&c.metadata)
        .bind(us(c.created_at))
        .bind(us(c.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|e| map_constraint(e, "client_id already registered", "dcr client"))?;
        Ok(())
    }

    async fn get_dcr_client(&self, client_id: &str) -> Result<Option<DcrClient>, StoreError> {
        let row: Option<DcrClientRow> = sqlx::query_as(
            "SELECT client_id, registration_token_hash, metadata, created_at, updated_at
             FROM registry.dcr_clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(DcrClient::from))
    }

    async fn replace_dcr_client(
        &self,
        client_id: &str,
        metadata: Value,
        at: DateTime<Utc>,
    ) -> Result<DcrClient, StoreError> {
        let row: Option<DcrClientRow> = sqlx::query_as(
            "UPDATE registry.dcr_clients SET metadata = $2, updated_at = $3 WHERE client_id = $1
             RETURNING client_id, registration_token_hash, metadata, created_at, updated_at",
        )
        .bind(client_id)
        .bind(&metadata)
        .bind(us(at))
        .fetch_optional(&self.pool)
        .await?;
        row.map(DcrClient::from)
            .ok_or(StoreError::not_found("dcr client"))
    }

    async fn delete_dcr_client(&self, client_id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM registry.dcr_clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("dcr client"));
        }
        Ok(())
    }
}
