//! Domain types of the registry's operations (requests and answers), free of wire types; the gRPC
//! boundary (`grpc.rs`) converts to and from them.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::agent::AgentMetadata;

/// Who asked for a change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The principal (empty when unknown).
    pub subject: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// How a credential is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialFormat {
    /// `vc+jwt` (VC-JOSE-COSE).
    VcJwt,
    /// `dc+sd-jwt` (SD-JWT VC).
    DcSdJwt,
}

impl CredentialFormat {
    /// The media-type name, as stored (`vc+jwt`, `dc+sd-jwt`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VcJwt => "vc+jwt",
            Self::DcSdJwt => "dc+sd-jwt",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vc+jwt" => Some(Self::VcJwt),
            "dc+sd-jwt" => Some(Self::DcSdJwt),
            _ => None,
        }
    }
}

/// Options of a credential issued to an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialOptions {
    /// Format.
    pub format: CredentialFormat,
    /// Requested validity in seconds (0: the issuer's default; bounded by the issuer).
    pub validity_seconds: u64,
    /// JSON pointers of selectively disclosable claims (`dc+sd-jwt` only).
    pub disclose: Vec<String>,
    /// The `kid` of the agent key to bind the credential to (default: the first key).
    pub holder_kid: Option<String>,
}

/// Where a credential's status lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    /// Status list id.
    pub list_id: String,
    /// Index in the list.
    pub index: u64,
    /// Public URL of the list.
    pub uri: String,
}

/// A new agent.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAgent {
    /// Display name.
    pub name: String,
    /// Agent type.
    pub agent_type: String,
    /// Inline keys (JSON text).
    pub jwks_json: Option<String>,
    /// Keys URL.
    pub jwks_uri: Option<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// Claims (JSON object text).
    pub claims_json: String,
    /// Issue the first credential in the same call.
    pub issue_credential: Option<CredentialOptions>,
    /// Who asks.
    pub actor: Actor,
}

/// Changes to an agent; `None` keeps the current value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateAgent {
    /// New name.
    pub name: Option<String>,
    /// New inline keys (replaces `jwks_uri`).
    pub jwks_json: Option<String>,
    /// New keys URL (replaces `jwks`).
    pub jwks_uri: Option<String>,
    /// New redirect URIs (whole list).
    pub redirect_uris: Option<Vec<String>>,
    /// New grant types (whole list).
    pub grant_types: Option<Vec<String>>,
    /// New claims (whole object).
    pub claims_json: Option<String>,
    /// Refuse when the current version differs.
    pub expected_version: Option<u32>,
    /// Who asks.
    pub actor: Actor,
}

/// An agent at its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    /// Id.
    pub id: Uuid,
    /// Its metadata.
    pub metadata: AgentMetadata,
    /// Current version.
    pub version: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the current version.
    pub updated_at: DateTime<Utc>,
}

/// One version of an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionView {
    /// Version number.
    pub version: u32,
    /// The metadata of that version, as stored.
    pub document: Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A credential issued to an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialView {
    /// Id.
    pub id: Uuid,
    /// Format.
    pub format: CredentialFormat,
    /// Compact serialisation.
    pub compact: String,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity.
    pub valid_until: DateTime<Utc>,
    /// Status reference.
    pub status: Option<StatusRef>,
}

/// The result of creating an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The agent.
    pub agent: AgentView,
    /// Its first credential, if asked for.
    pub credential: Option<CredentialView>,
}

/// A page of agents.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentList {
    /// The agents.
    pub agents: Vec<AgentView>,
    /// Token of the next page, if any.
    pub next_page_token: Option<String>,
}

/// The hosted document as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedDocument {
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// Strong ETag (quoted).
    pub etag: String,
    /// Agent version.
    pub version: u32,
    /// Latest change of the agent or of the credential it carries.
    pub last_modified: DateTime<Utc>,
    /// `Cache-Control: max-age`, seconds.
    pub max_age_seconds: u32,
}

/// A DCR client as answered.
#[derive(Debug, Clone, PartialEq)]
pub struct DcrClientView {
    /// The client_id.
    pub client_id: String,
    /// The registered metadata.
    pub metadata: Map<String, Value>,
    /// The registration access token (only on registration).
    pub registration_access_token: Option<String>,
    /// RFC 7592 registration client URI.
    pub registration_client_uri: String,
    /// Registration time.
    pub issued_at: DateTime<Utc>,
}
