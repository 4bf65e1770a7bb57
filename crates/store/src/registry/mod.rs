//! Registry store: agents with versioned metadata documents (optimistic concurrency, soft delete,
//! full history), the credentials issued to each agent, and RFC 7591 dynamically registered
//! clients.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::StoreError;

pub(crate) mod pg;
pub(crate) mod sqlite;

/// A live (not deleted) agent at its current version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Agent id (assigned by the registry service).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Agent type (`tool-agent`, `orchestrator-agent`, …).
    pub agent_type: String,
    /// The current metadata document.
    pub document: Value,
    /// Current version, 1 on creation, +1 on every update.
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the latest version.
    pub updated_at: DateTime<Utc>,
}

/// What `create_agent` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAgent {
    /// Agent id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Agent type.
    pub agent_type: String,
    /// The first metadata document.
    pub document: Value,
}

/// A new version of an agent: the document always, name and type when they change.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentUpdate {
    /// New display name (unchanged when `None`).
    pub name: Option<String>,
    /// New agent type (unchanged when `None`).
    pub agent_type: Option<String>,
    /// The new metadata document.
    pub document: Value,
}

/// One historical version of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentVersion {
    /// Agent id.
    pub agent_id: Uuid,
    /// Version number (1, 2, …).
    pub version: i64,
    /// Display name at that version.
    pub name: String,
    /// Agent type at that version.
    pub agent_type: String,
    /// The document of that version.
    pub document: Value,
    /// When that version was written.
    pub created_at: DateTime<Utc>,
}

/// One page of agents, ordered by `(created_at, id)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentPage {
    /// The agents of this page.
    pub agents: Vec<Agent>,
    /// Cursor for the next page (`after`), `None` on the last page.
    pub next: Option<Uuid>,
}

/// Lifecycle state of a credential as the registry records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentCredentialState {
    /// Usable (within its validity window).
    Active,
    /// Temporarily not usable.
    Suspended,
    /// Permanently not usable (final).
    Revoked,
}

impl AgentCredentialState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }

    /// Whether a change from `self` to `to` is allowed: anything except leaving `revoked`.
    pub fn can_become(self, to: Self) -> bool {
        self != Self::Revoked || to == Self::Revoked
    }
}

/// A credential issued to an agent, as hosted in its metadata document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCredential {
    /// Credential id.
    pub id: Uuid,
    /// The agent it was issued to.
    pub agent_id: Uuid,
    /// `vc+jwt` or `dc+sd-jwt`.
    pub format: String,
    /// The compact serialisation.
    pub compact: String,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity (exclusive).
    pub valid_until: DateTime<Utc>,
    /// Lifecycle state.
    pub state: AgentCredentialState,
}

/// A client registered through RFC 7591 dynamic client registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DcrClient {
    /// The issued `client_id`.
    pub client_id: String,
    /// Hash of the RFC 7592 registration access token (never the token itself).
    pub registration_token_hash: Vec<u8>,
    /// The registered client metadata.
    pub metadata: Value,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Time of the last replace.
    pub updated_at: DateTime<Utc>,
}

/// Storage of the registry service.
#[async_trait]
pub trait RegistryStore: Send + Sync + std::fmt::Debug {
    /// Creates an agent at version 1 (history row included). A used id, even of a deleted agent,
    /// is a `Conflict`.
    async fn create_agent(&self, agent: NewAgent, at: DateTime<Utc>) -> Result<Agent, StoreError>;

    /// The live agent, `None` when absent or deleted.
    async fn get_agent(&self, id: Uuid) -> Result<Option<Agent>, StoreError>;

    /// Live agents ordered by `(created_at, id)`, `page_size` (≥ 1) at a time, starting after the
    /// agent `after` (an unknown cursor is `NotFound`).
    async fn list_agents(
        &self,
        page_size: u32,
        after: Option<Uuid>,
    ) -> Result<AgentPage, StoreError>;

    /// Writes a new version. With `expected_version`, a different current version is a
    /// `Conflict` (optimistic concurrency). Absent or deleted agent: `NotFound`.
    async fn update_agent(
        &self,
        id: Uuid,
        update: AgentUpdate,
        expected_version: Option<i64>,
        at: DateTime<Utc>,
    ) -> Result<Agent, StoreError>;

    /// Every version of the agent, oldest first, also after deletion. Never created: `NotFound`.
    async fn agent_history(&self, id: Uuid) -> Result<Vec<AgentVersion>, StoreError>;

    /// Soft-deletes the agent (history and credentials kept). Absent or already deleted:
    /// `NotFound`.
    async fn delete_agent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a credential of a live agent (`NotFound` otherwise; a used id is a `Conflict`).
    async fn put_agent_credential(&self, credential: &AgentCredential) -> Result<(), StoreError>;

    /// Changes a credential's state; leaving `revoked` is an `InvalidTransition`.
    async fn set_agent_credential_state(
        &self,
        id: Uuid,
        state: AgentCredentialState,
    ) -> Result<AgentCredential, StoreError>;

    /// One credential by id.
    async fn get_agent_credential(&self, id: Uuid) -> Result<Option<AgentCredential>, StoreError>;

    /// Every credential of an agent, newest `valid_from` first.
    async fn agent_credentials(&self, agent_id: Uuid) -> Result<Vec<AgentCredential>, StoreError>;

    /// The active credential of `format` whose window contains `now`
    /// (`valid_from <= now < valid_until`), newest `valid_from` first.
    async fn newest_valid_credential(
        &self,
        agent_id: Uuid,
        format: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AgentCredential>, StoreError>;

    /// Registers a DCR client (a used `client_id` is a `Conflict`).
    async fn create_dcr_client(&self, client: &DcrClient) -> Result<(), StoreError>;

    /// One DCR client.
    async fn get_dcr_client(&self, client_id: &str) -> Result<Option<DcrClient>, StoreError>;

    /// Replaces a DCR client's metadata (RFC 7592 PUT); absent: `NotFound`.
    async fn replace_dcr_client(
        &self,
        client_id: &str,
        metadata: Value,
        at: DateTime<Utc>,
    ) -> Result<DcrClient, StoreError>;

    /// Deletes a DCR client (RFC 7592 DELETE); absent: `NotFound`.
    async fn delete_dcr_client(&self, client_id: &str) -> Result<(), StoreError>;
}

/// Row of `agents` (without `deleted_at`).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AgentRow {
    id: Uuid,
    name: String,
    agent_type: String,
    document: Value,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<AgentRow> for Agent {
    fn from(r: AgentRow) -> Self {
        Agent {
            id: r.id,
            name: r.name,
            agent_type: r.agent_type,
            document: r.document,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Row of `agent_versions`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AgentVersionRow {
    agent_id: Uuid,
    version: i64,
    name: String,
    agent_type: String,
    document: Value,
    created_at: DateTime<Utc>,
}

impl From<AgentVersionRow> for AgentVersion {
    fn from(r: AgentVersionRow) -> Self {
        AgentVersion {
            agent_id: r.agent_id,
            version: r.version,
            name: r.name,
            agent_type: r.agent_type,
            document: r.document,
            created_at: r.created_at,
        }
    }
}

/// Row of `agent_credentials`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AgentCredentialRow {
    id: Uuid,
    agent_id: Uuid,
    format: String,
    compact: String,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    state: String,
}

impl TryFrom<AgentCredentialRow> for AgentCredential {
    type Error = StoreError;
    fn try_from(r: AgentCredentialRow) -> Result<Self, StoreError> {
        let state = AgentCredentialState::parse(&r.state)
            .ok_or_else(|| StoreError::corrupt("agent credential state"))?;
        Ok(AgentCredential {
            id: r.id,
            agent_id: r.agent_id,
            format: r.format,
            compact: r.compact,
            valid_from: r.valid_from,
            valid_until: r.valid_until,
            state,
        })
    }
}

/// Row of `dcr_clients`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DcrClientRow {
    client_id: String,
    registration_token_hash: Vec<u8>,
    metadata: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<DcrClientRow> for DcrClient {
    fn from(r: DcrClientRow) -> Self {
        DcrClient {
            client_id: r.client_id,
            registration_token_hash: r.registration_token_hash,
            metadata: r.metadata,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Checks a credential's validity window before it is written.
pub(crate) fn check_window(c: &AgentCredential) -> Result<(), StoreError> {
    if c.valid_until <= c.valid_from {
        return Err(StoreError::invalid("valid_until must be after valid_from"));
    }
    Ok(())
}

/// Checks a page size.
pub(crate) fn check_page_size(page_size: u32) -> Result<i64, StoreError> {
    if page_size == 0 {
        return Err(StoreError::invalid("page_size must be at least 1"));
    }
    Ok(i64::from(page_size))
}

/// Turns `page_size + 1` fetched rows into a page and its cursor.
pub(crate) fn into_page(mut rows: Vec<AgentRow>, page_size: i64) -> AgentPage {
    let limit = usize::try_from(page_size).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let agents: Vec<Agent> = rows.into_iter().map(Agent::from).collect();
    let next = if more {
        agents.last().map(|a| a.id)
    } else {
        None
    };
    AgentPage { agents, next }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn revoked_credential_state_is_final() {
        use AgentCredentialState::*;
        assert!(!Revoked.can_become(Active));
        assert!(!Revoked.can_become(Suspended));
        assert!(Revoked.can_become(Revoked));
        assert!(Suspended.can_become(Active));
    }

    proptest! {
        // Any stored state text parses to a state with that name, or is `Corrupt`.
        #[test]
        fn parsing_any_credential_state_never_panics(s in ".*") {
            let row = AgentCredentialRow {
                id: Uuid::nil(),
                agent_id: Uuid::nil(),
                format: "vc+jwt".into(),
                compact: String::new(),
                valid_from: DateTime::<Utc>::default(),
                valid_until: DateTime::<Utc>::default(),
                state: s.clone(),
            };
            match AgentCredential::try_from(row) {
                Ok(c) => prop_assert_eq!(c.state.as_str(), s.as_str()),
                Err(e) => prop_assert!(matches!(e, StoreError::Corrupt { .. }), "{:?}", e),
            }
        }
    }
}
