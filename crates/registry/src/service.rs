//! The registry's operations on domain types: agents (create, read, list, update, delete,
//! history), their credentials (issued through the issuer, attached here), their hosted
//! documents, and RFC 7591/7592 clients.
//!
//! Every change is validated completely before the first write, and recorded in the audit log
//! after it. The registry's store and the audit store are separate services' tables with no
//! shared transaction, so the change is written first (durable) and the audit event second; if
//! the audit append fails the call fails with [`RegistryError::Audit`] (the change stays).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crossauthz_core::cimd::CimdLimits;
use crossauthz_core::clock::Clock;
use crossauthz_store::{
    Agent, AgentCredential, AgentCredentialState, AgentUpdate, AuditStore, DcrClient, NewAgent,
    NewAuditEvent, RegistryStore, StoreError,
};
use crossauthz_telemetry::TracedChannel;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::agent::{AgentDraft, AgentMetadata, holder_key};
use crate::config::{ConfigError, RegistryConfig};
use crate::dcr;
use crate::error::RegistryError;
use crate::hosted::{self, HostedError};
use crate::model::{
    Actor, AgentList, AgentView, CreateAgent, Created, CredentialFormat, CredentialOptions,
    CredentialView, DcrClientView, HostedDocument, UpdateAgent, VersionView,
};
use crate::upstream::{IssueRequest, IssuerApi, IssuerError, IssuerStatus};

/// The `service` of this service's audit events.
pub const AUDIT_SERVICE: &str = "registry";

/// Version byte of page tokens.
const PAGE_TOKEN_V1: u8 = 1;

/// The registry service: agents, hosted documents, agent credentials, DCR clients.
#[derive(Clone)]
pub struct RegistryService {
    config: Arc<RegistryConfig>,
    store: Arc<dyn RegistryStore>,
    audit: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    issuer: IssuerApi,
}

impl std::fmt::Debug for RegistryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryService")
            .field("public_url", &self.config.public_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Encodes an agent id as an opaque page token.
fn encode_page_token(after: Uuid) -> String {
    let mut bytes = Vec::with_capacity(17);
    bytes.push(PAGE_TOKEN_V1);
    bytes.extend_from_slice(after.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a page token from [`encode_page_token`].
fn decode_page_token(token: &str) -> Result<Uuid, RegistryError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| RegistryError::InvalidPageToken)?;
    match bytes.split_first() {
        Some((&PAGE_TOKEN_V1, rest)) => {
            Uuid::from_slice(rest).map_err(|_| RegistryError::InvalidPageToken)
        }
        _ => Err(RegistryError::InvalidPageToken),
    }
}

/// Parses an agent id.
pub fn parse_agent_id(value: &str) -> Result<Uuid, RegistryError> {
    Uuid::parse_str(value).map_err(|_| RegistryError::InvalidId {
        what: "agent id",
        value: value.chars().take(64).collect(),
    })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The DID of a key's DID URL (`did:web:x#k` → `did:web:x`).
fn did_of(kid: &str) -> Option<String> {
    let did = kid.split('#').next().unwrap_or_default();
    did.starts_with("did:").then(|| did.to_owned())
}

/// A stored credential that may be served now: not revoked here, `vc+jwt`, within its window.
fn servable(c: &AgentCredential, now: DateTime<Utc>) -> bool {
    c.format == CredentialFormat::VcJwt.as_str()
        && c.state != AgentCredentialState::Revoked
        && c.valid_from <= now
        && now < c.valid_until
}

impl RegistryService {
    /// A registry over its store, the domain's audit log, a clock and a channel to the issuer.
    pub fn new(
        config: RegistryConfig,
        store: Arc<dyn RegistryStore>,
        audit: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        issuer: TracedChannel,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config: Arc::new(config),
            store,
            audit,
            clock,
            issuer: IssuerApi::new(issuer),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    fn limits(&self) -> CimdLimits {
        CimdLimits {
            max_bytes: self.config.max_document_bytes,
        }
    }

    fn view(&self, agent: Agent) -> Result<AgentView, RegistryError> {
        let metadata = AgentMetadata::from_document(&agent.document)
            .map_err(|e| RegistryError::Corrupt(format!("agent {} document: {e}", agent.id)))?;
        let version = u32::try_from(agent.version)
            .map_err(|_| RegistryError::Corrupt(format!("agent {} version", agent.id)))?;
        Ok(AgentView {
            id: agent.id,
            metadata,
            version,
            created_at: agent.created_at,
            updated_at: agent.updated_at,
        })
    }

    /// Appends an audit event; see the module doc for the ordering.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        kind: &str,
        actor: &Actor,
        client_id: Option<&str>,
        credential_id: Option<Uuid>,
        issuer: Option<String>,
        details: Value,
    ) -> Result<(), RegistryError> {
        let mut event = NewAuditEvent::new(self.clock.now(), AUDIT_SERVICE, kind);
        event.actor = Some(actor.subject.clone()).filter(|s| !s.is_empty());
        event.client_id = client_id.map(str::to_owned);
        event.credential_id = credential_id.map(|id| id.hyphenated().to_string());
        event.issuer = issuer;
        event.reason = actor.reason.clone();
        event.details = details;
        self.audit.append(event).await.map(|_| ()).map_err(|e| {
            tracing::error!(kind, error = %e, "audit append failed after a change was applied");
            RegistryError::Audit(e)
        })
    }

    // ----- agents -----

    /// Creates an agent (version 1), and issues its first credential when asked.
    ///
    /// Everything — metadata, claims, hosted document size, credential options and holder key —
    /// is checked before the agent is written. If the credential then cannot be issued or
    /// attached, the agent is deleted again (audited) and the error returned, so a retry does
    /// not leave a half-onboarded duplicate.
    pub async fn create_agent(&self, req: CreateAgent) -> Result<Created, RegistryError> {
        let id = Uuid::new_v4();
        let client_id = self.config.agent_client_id(id);
        let draft = AgentDraft {
            name: req.name,
            agent_type: req.agent_type,
            jwks_json: non_empty(req.jwks_json),
            jwks_uri: non_empty(req.jwks_uri),
            redirect_uris: req.redirect_uris,
            grant_types: req.grant_types,
            claims_json: req.claims_json,
        };
        let valid = draft.validate(&client_id, &self.config.issuer_domain(), &self.limits())?;
        if let Some(options) = &req.issue_credential {
            check_options(options, &valid.metadata)?;
        }
        let metadata = valid.metadata;
        let agent = self
            .store
            .create_agent(
                NewAgent {
                    id,
                    name: metadata.name.clone(),
                    agent_type: metadata.agent_type.clone(),
                    document: metadata.to_document(),
                },
                self.clock.now(),
            )
            .await?;
        let view = self.view(agent)?;
        self.record(
            "agent.created",
            &req.actor,
            Some(&client_id),
            None,
            None,
            json!({"agent_id": id, "version": view.version, "name": metadata.name}),
        )
        .await?;
        let credential = match &req.issue_credential {
            None => None,
            Some(options) => match self.issue_for(&view, options, &req.actor).await {
                Ok(c) => Some(c),
                Err(e) => {
                    self.undo_create(&view, &req.actor, &e).await;
                    return Err(e);
                }
            },
        };
        Ok(Created {
            agent: view,
            credential,
        })
    }

    /// Compensation of a failed onboarding: the agent created a moment ago is deleted again.
    async fn undo_create(&self, view: &AgentView, actor: &Actor, cause: &RegistryError) {
        tracing::warn!(agent = %view.id, error = %cause, "onboarding failed; deleting the new agent");
        if let Err(e) = self.store.delete_agent(view.id, self.clock.now()).await {
            tracing::error!(agent = %view.id, error = %e, "could not delete the half-onboarded agent");
            return;
        }
        let undo = Actor {
            subject: actor.subject.clone(),
            reason: Some("onboarding failed: the first credential was not issued".to_owned()),
        };
        if let Err(e) = self
            .record(
                "agent.deleted",
                &undo,
                Some(&view.metadata.client_id),
                None,
                None,
                json!({"agent_id": view.id, "revoked_credential_ids": []}),
            )
            .await
        {
            tracing::error!(agent = %view.id, error = %e, "could not audit the compensation");
        }
    }

    /// The live agent.
    pub async fn get_agent(&self, id: Uuid) -> Result<AgentView, RegistryError> {
        let agent = self
            .store
            .get_agent(id)
            .await?
            .ok_or(RegistryError::AgentNotFound(id))?;
        self.view(agent)
    }

    /// One page of live agents, oldest first. `page_size` 0 means the default; larger than the
    /// maximum is clamped.
    pub async fn list_agents(
        &self,
        page_size: u32,
        page_token: &str,
    ) -> Result<AgentList, RegistryError> {
        let size = match page_size {
            0 => self.config.default_page_size,
            n => n.min(self.config.max_page_size),
        };
        let after = if page_token.is_empty() {
            None
        } else {
            Some(decode_page_token(page_token)?)
        };
        let page = self
            .store
            .list_agents(size, after)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => RegistryError::InvalidPageToken,
                e => e.into(),
            })?;
        let agents = page
            .agents
            .into_iter()
            .map(|a| self.view(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AgentList {
            agents,
            next_page_token: page.next.map(encode_page_token),
        })
    }

    /// Writes a new version of an agent (validated whole, like a creation). With
    /// `expected_version` (non-zero), a different current version is a conflict.
    pub async fn update_agent(
        &self,
        id: Uuid,
        changes: UpdateAgent,
    ) -> Result<AgentView, RegistryError> {
        let current = self.get_agent(id).await?;
        let expected = changes.expected_version.filter(|v| *v != 0);
        if let Some(expected) = expected
            && expected != current.version
        {
            return Err(RegistryError::VersionConflict { id, expected });
        }
        let mut draft = AgentDraft::from_metadata(&current.metadata);
        let mut changed = Vec::new();
        if let Some(name) = changes.name {
            draft.name = name;
            changed.push("name");
        }
        match (non_empty(changes.jwks_json), non_empty(changes.jwks_uri)) {
            (Some(_), Some(_)) => {
                return Err(crate::agent::AgentInputError::BothJwksAndJwksUri.into());
            }
            (Some(jwks), None) => {
                draft.jwks_json = Some(jwks);
                draft.jwks_uri = None;
                changed.push("jwks");
            }
            (None, Some(uri)) => {
                draft.jwks_uri = Some(uri);
                draft.jwks_json = None;
                changed.push("jwks_uri");
            }
            (None, None) => {}
        }
        if let Some(uris) = changes.redirect_uris {
            draft.redirect_uris = uris;
            changed.push("redirect_uris");
        }
        if let Some(grants) = changes.grant_types {
            draft.grant_types = grants;
            changed.push("grant_types");
        }
        if let Some(claims) = changes.claims_json {
            // The claims' agentType, when given, is the agent's new type.
            if let Some(t) = serde_json::from_str::<Value>(&claims)
                .ok()
                .as_ref()
                .and_then(|v| v.get("agentType"))
                .and_then(Value::as_str)
            {
                draft.agent_type = t.to_owned();
            }
            draft.claims_json = claims;
            changed.push("claims");
        }
        let valid = draft.validate(
            &current.metadata.client_id,
            &self.config.issuer_domain(),
            &self.limits(),
        )?;
        // E3: the new document must still fit with the longest credential it may carry.
        let now = self.clock.now();
        if let Some(longest) = self
            .store
            .agent_credentials(id)
            .await?
            .into_iter()
            .filter(|c| servable(c, now))
            .max_by_key(|c| c.compact.len())
        {
            hosted::render(&valid.metadata, Some(&longest.compact), &self.limits())
                .map_err(crate::agent::AgentInputError::from)?;
        }
        let metadata = valid.metadata;
        let agent = self
            .store
            .update_agent(
                id,
                AgentUpdate {
                    name: Some(metadata.name.clone()),
                    agent_type: Some(metadata.agent_type.clone()),
                    document: metadata.to_document(),
                },
                expected.map(i64::from),
                now,
            )
            .await
            .map_err(|e| match (e, expected) {
                (StoreError::Conflict { .. }, Some(expected)) => {
                    RegistryError::VersionConflict { id, expected }
                }
                (StoreError::NotFound { .. }, _) => RegistryError::AgentNotFound(id),
                (e, _) => e.into(),
            })?;
        let view = self.view(agent)?;
        self.record(
            "agent.updated",
            &changes.actor,
            Some(&metadata.client_id),
            None,
            None,
            json!({"agent_id": id, "version": view.version, "changed": changed}),
        )
        .await?;
        Ok(view)
    }

    /// Deletes an agent: revokes every credential it holds through the issuer first (so a failure
    /// leaves the agent in place and the call can be retried), then soft-deletes it, so its hosted
    /// document answers 404. Returns the ids of the credentials revoked.
    pub async fn delete_agent(&self, id: Uuid, actor: &Actor) -> Result<Vec<Uuid>, RegistryError> {
        let view = self.get_agent(id).await?;
        let mut revoked = self.revoke_all(id, actor).await?;
        self.store
            .delete_agent(id, self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => RegistryError::AgentNotFound(id),
                e => e.into(),
            })?;
        // A credential attached between the first pass and the deletion is revoked now.
        match self.revoke_all(id, actor).await {
            Ok(more) => revoked.extend(more),
            Err(e) => tracing::error!(agent = %id, error = %e,
                "agent deleted, but a credential attached meanwhile could not be revoked"),
        }
        self.record(
            "agent.deleted",
            actor,
            Some(&view.metadata.client_id),
            None,
            None,
            json!({"agent_id": id, "revoked_credential_ids": revoked}),
        )
        .await?;
        Ok(revoked)
    }

    /// Revokes, through the issuer, every credential of the agent not yet revoked. Returns the
    /// ids this call revoked (not those the issuer had already revoked).
    async fn revoke_all(&self, id: Uuid, actor: &Actor) -> Result<Vec<Uuid>, RegistryError> {
        let open: Vec<AgentCredential> = self
            .store
            .agent_credentials(id)
            .await?
            .into_iter()
            .filter(|c| c.state != AgentCredentialState::Revoked)
            .collect();
        if open.is_empty() {
            return Ok(Vec::new());
        }
        let statuses = self.issuer.statuses(id).await?;
        let mut revoked = Vec::new();
        for c in open {
            let already = statuses.get(&c.id) == Some(&IssuerStatus::Revoked);
            if !already {
                self.issuer.revoke(c.id, actor).await?;
            }
            self.store
                .set_agent_credential_state(c.id, AgentCredentialState::Revoked)
                .await?;
            if !already {
                revoked.push(c.id);
            }
        }
        Ok(revoked)
    }

    /// Every version of an agent, oldest first (also after its deletion).
    pub async fn history(&self, id: Uuid) -> Result<Vec<VersionView>, RegistryError> {
        let versions = self.store.agent_history(id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => RegistryError::AgentNotFound(id),
            e => e.into(),
        })?;
        versions
            .into_iter()
            .map(|v| {
                Ok(VersionView {
                    version: u32::try_from(v.version)
                        .map_err(|_| RegistryError::Corrupt(format!("agent {id} version")))?,
                    document: v.document,
                    created_at: v.created_at,
                })
            })
            .collect()
    }

    // ----- credentials -----

    /// Issues a credential to a live agent through the issuer and attaches it.
    pub async fn issue_agent_credential(
        &self,
        id: Uuid,
        options: &CredentialOptions,
        actor: &Actor,
    ) -> Result<CredentialView, RegistryError> {
        let view = self.get_agent(id).await?;
        self.issue_for(&view, options, actor).await
    }

    async fn issue_for(
        &self,
        view: &AgentView,
        options: &CredentialOptions,
        actor: &Actor,
    ) -> Result<CredentialView, RegistryError> {
        check_options(options, &view.metadata)?;
        let holder = holder_key(&view.metadata, options.holder_kid.as_deref())?.clone();
        let issued = self
            .issuer
            .issue(IssueRequest {
                agent_id: view.id,
                subject: view.metadata.client_id.clone(),
                claims: view.metadata.claims.clone(),
                holder_jwk: holder,
                format: options.format,
                validity_seconds: options.validity_seconds,
                disclose: options.disclose.clone(),
                actor: actor.clone(),
            })
            .await?;
        if issued.format == CredentialFormat::VcJwt {
            let fits = hosted::render(&view.metadata, Some(&issued.compact), &self.limits());
            let refusal = match fits {
                Ok(_) => None,
                Err(HostedError::TooLarge { size, max }) => {
                    Some(RegistryError::CredentialTooLarge { size, max })
                }
                Err(HostedError::Cimd(_)) => Some(RegistryError::Issuer(IssuerError::BadAnswer(
                    "the vc+jwt is not a compact JWS",
                ))),
            };
            if let Some(refusal) = refusal {
                self.revoke_unattached(issued.id, actor, "not attached: refused by the registry")
                    .await;
                return Err(refusal);
            }
        }
        let record = AgentCredential {
            id: issued.id,
            agent_id: view.id,
            format: issued.format.as_str().to_owned(),
            compact: issued.compact.clone(),
            valid_from: issued.valid_from,
            valid_until: issued.valid_until,
            state: AgentCredentialState::Active,
        };
        if let Err(e) = self.store.put_agent_credential(&record).await {
            self.revoke_unattached(issued.id, actor, "not attached: the agent is gone")
                .await;
            return Err(match e {
                StoreError::NotFound { .. } => RegistryError::AgentNotFound(view.id),
                e => e.into(),
            });
        }
        self.record(
            "credential.attached",
            actor,
            Some(&view.metadata.client_id),
            Some(issued.id),
            did_of(&issued.kid),
            json!({
                "agent_id": view.id,
                "format": issued.format.as_str(),
                "valid_from": issued.valid_from,
                "valid_until": issued.valid_until,
                "status_list": issued.status.as_ref().map(|s| &s.list_id),
                "status_index": issued.status.as_ref().map(|s| s.index),
            }),
        )
        .await?;
        Ok(CredentialView {
            id: issued.id,
            format: issued.format,
            compact: issued.compact,
            valid_from: issued.valid_from,
            valid_until: issued.valid_until,
            status: issued.status,
        })
    }

    /// Revokes a credential the registry could not attach, so it never circulates unlisted.
    async fn revoke_unattached(&self, id: Uuid, actor: &Actor, reason: &str) {
        let by = Actor {
            subject: actor.subject.clone(),
            reason: Some(reason.to_owned()),
        };
        if let Err(e) = self.issuer.revoke(id, &by).await {
            tracing::error!(credential = %id, error = %e, "could not revoke an unattached credential");
        }
    }

    // ----- hosted document -----

    /// The hosted document of a live agent, carrying its newest credential that the issuer says
    /// is valid now (never a revoked, suspended, expired or not-yet-valid one, nor one bound to
    /// a key the agent no longer publishes). When the agent
    /// has candidates but the issuer cannot be asked, this fails (UNAVAILABLE) rather than guess.
    pub async fn client_metadata(&self, id: Uuid) -> Result<HostedDocument, RegistryError> {
        let view = self.get_agent(id).await?;
        let now = self.clock.now();
        let candidates: Vec<AgentCredential> = self
            .store
            .agent_credentials(id)
            .await?
            .into_iter()
            .filter(|c| servable(c, now))
            .filter(|c| {
                hosted::bound_key(&c.compact)
                    .is_some_and(|k| hosted::agent_holds(&view.metadata, &k))
            })
            .collect();
        let chosen = if candidates.is_empty() {
            None
        } else {
            let statuses = self.issuer.statuses(id).await?;
            candidates
                .into_iter()
                .find(|c| statuses.get(&c.id) == Some(&IssuerStatus::Valid))
        };
        let rendered = hosted::render(
            &view.metadata,
            chosen.as_ref().map(|c| c.compact.as_str()),
            &self.limits(),
        )
        .map_err(|e| RegistryError::Corrupt(format!("hosted document of agent {id}: {e}")))?;
        let last_modified = chosen
            .as_ref()
            .map_or(view.updated_at, |c| c.valid_from.max(view.updated_at));
        Ok(HostedDocument {
            bytes: rendered.bytes,
            etag: rendered.etag,
            version: view.version,
            last_modified,
            max_age_seconds: self.config.cimd_max_age_seconds,
        })
    }

    // ----- RFC 7591 / 7592 -----

    /// RFC 7591 registration. The answer carries the registration access token; only its hash is
    /// stored.
    pub async fn register_client(
        &self,
        metadata_json: &str,
    ) -> Result<DcrClientView, RegistryError> {
        let metadata =
            dcr::validate_metadata(metadata_json.as_bytes(), self.config.max_dcr_metadata_bytes)?;
        let client_id = dcr::new_client_id();
        let (token, hash) = dcr::new_registration_token();
        let now = self.clock.now();
        let client = DcrClient {
            client_id: client_id.clone(),
            registration_token_hash: hash,
            metadata: Value::Object(metadata),
            created_at: now,
            updated_at: now,
        };
        self.store.create_dcr_client(&client).await?;
        self.record(
            "dcr.registered",
            &Actor::default(),
            Some(&client_id),
            None,
            None,
            json!({
                "token_endpoint_auth_method": client.metadata.get("token_endpoint_auth_method"),
                "grant_types": client.metadata.get("grant_types"),
            }),
        )
        .await?;
        let mut view = self.dcr_view(client)?;
        view.registration_access_token = Some(token);
        Ok(view)
    }

    fn dcr_view(&self, client: DcrClient) -> Result<DcrClientView, RegistryError> {
        let Value::Object(metadata) = client.metadata else {
            return Err(RegistryError::Corrupt(format!(
                "DCR client {} metadata",
                client.client_id
            )));
        };
        Ok(DcrClientView {
            registration_client_uri: self.config.registration_client_uri(&client.client_id),
            client_id: client.client_id,
            metadata,
            registration_access_token: None,
            issued_at: client.created_at,
        })
    }

    /// RFC 7592: the client, if the token is its registration access token. An unknown client
    /// and a wrong token are the same error (401 for both), and cost the same hash comparison.
    async fn authorize(&self, client_id: &str, token: &str) -> Result<DcrClient, RegistryError> {
        let client = self.store.get_dcr_client(client_id).await?;
        let stored = client.as_ref().map_or([0u8; 32].as_slice(), |c| {
            c.registration_token_hash.as_slice()
        });
        let ok = dcr::token_matches(token, stored);
        match client {
            Some(c) if ok && !token.is_empty() => Ok(c),
            _ => Err(RegistryError::DcrUnauthorized),
        }
    }

    /// RFC 7592 read.
    pub async fn get_client(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<DcrClientView, RegistryError> {
        let client = self.authorize(client_id, token).await?;
        self.dcr_view(client)
    }

    /// RFC 7592 update (full replacement). The token is checked before the body is looked at.
    pub async fn update_client(
        &self,
        client_id: &str,
        token: &str,
        metadata_json: &str,
    ) -> Result<DcrClientView, RegistryError> {
        self.authorize(client_id, token).await?;
        let metadata = dcr::validate_update(
            metadata_json.as_bytes(),
            client_id,
            self.config.max_dcr_metadata_bytes,
        )?;
        let client = self
            .store
            .replace_dcr_client(client_id, Value::Object(metadata), self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => RegistryError::DcrUnauthorized,
                e => e.into(),
            })?;
        self.record(
            "dcr.updated",
            &Actor::default(),
            Some(client_id),
            None,
            None,
            json!({
                "token_endpoint_auth_method": client.metadata.get("token_endpoint_auth_method"),
                "grant_types": client.metadata.get("grant_types"),
            }),
        )
        .await?;
        self.dcr_view(client)
    }

    /// RFC 7592 delete.
    pub async fn delete_client(&self, client_id: &str, token: &str) -> Result<(), RegistryError> {
        self.authorize(client_id, token).await?;
        self.store
            .delete_dcr_client(client_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => RegistryError::DcrUnauthorized,
                e => e.into(),
            })?;
        self.record(
            "dcr.deleted",
            &Actor::default(),
            Some(client_id),
            None,
            None,
            json!({}),
        )
        .await
    }
}

/// Checks credential options against the agent before anything is issued.
fn check_options(
    options: &CredentialOptions,
    metadata: &AgentMetadata,
) -> Result<(), RegistryError> {
    if options.format == CredentialFormat::VcJwt && !options.disclose.is_empty() {
        return Err(RegistryError::DiscloseWithoutSdJwt);
    }
    holder_key(metadata, options.holder_kid.as_deref())?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_foreign_tokens_are_refused() {
        let id = Uuid::new_v4();
        assert_eq!(decode_page_token(&encode_page_token(id)).unwrap(), id);
        for bad in ["", "x", "AAAA", &URL_SAFE_NO_PAD.encode([2u8; 17])] {
            assert!(matches!(
                decode_page_token(bad),
                Err(RegistryError::InvalidPageToken)
            ));
        }
    }

    #[test]
    fn did_of_a_did_url_is_the_did() {
        assert_eq!(
            did_of("did:web:a.example#k1").as_deref(),
            Some("did:web:a.example")
        );
        assert_eq!(did_of("k1"), None);
    }

    proptest::proptest! {
        // Any string: a page token decodes to an id or is refused, never panics.
        #[test]
        fn page_token_decoder_never_panics(s in ".*") {
            let _ = decode_page_token(&s);
        }
    }
}
