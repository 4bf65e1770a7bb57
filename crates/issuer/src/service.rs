//! `IssuerService`: the issuer's operations as plain async methods over domain types — issue,
//! read, list, revoke / suspend / unsuspend, rotate the key, sign a status list, sign an access
//! token, publish the public keys. `grpc.rs` is the only place that speaks tonic to callers.
//!
//! Ordering and durability:
//! - Issue: validate everything → allocate a status entry (status-list service) → sign →
//!   record the credential → audit `credential.issued`. A failure after allocation burns the
//!   index (never reused), which is harmless.
//! - Status changes: the status-list service commits the change before it answers (durable
//!   before ack); then the audit event is appended. They live in different services' schemas,
//!   so they cannot share a transaction: the change is written first.
//! - Rotation holds the key lock exclusively; issuance and list signing hold it shared, so
//!   within one instance nothing is signed with a key while it is being retired. Across
//!   instances, a credential recorded under a key that was retired meanwhile extends that
//!   key's publication window.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use crossauthz_core::clock::Clock;
use crossauthz_credentials::audit_checkpoint::{self, CheckpointClaims};
use crossauthz_credentials::did_web::{Jwks, JwtVcIssuerMetadata, did_document};
use crossauthz_credentials::jose::sign_compact;
use crossauthz_credentials::keys::{Algorithm, PublicJwk};
use crossauthz_credentials::sd_jwt::{self, IssueOptions};
use crossauthz_credentials::status::sign_status_list_token;
use crossauthz_credentials::vc_jwt;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_store::{
    AuditCheckpoint, AuditFilter, AuditStore, EntryState, IssuerStore, NewAuditEvent,
};
use crossauthz_telemetry::TracedChannel;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::access_token::{
    ACCESS_TOKEN_TYP, AccessTokenRequest, SignedAccessToken, check_request as check_access_token,
    claims as access_token_claims,
};
use crate::config::{DEFAULT_LIST_LIFETIME_SECONDS, Identity, IssuerConfig, SdJwtIssuer};
use crate::custody::{ActiveKey, CustodyError, KeyCustody, algorithm};
use crate::issue::{
    Actor, Format, IssueRequest, IssuedCredential, Prepared, StatusRef, parse_uuid, prepare,
    sd_jwt_claims, vc_document, whole_seconds,
};
use crate::master_key::MasterKey;
use crate::status_signing::{ListKind, ListPayload, SignedList, check_payload, lifetime};
use crate::upstream::StatusListUpstream;
use crate::{IssuerError, StartupError};

/// The `service` name of this service's audit events.
pub const AUDIT_SERVICE: &str = "issuer";

/// A credential as the register and the status-list service know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialView {
    /// Credential id.
    pub id: Uuid,
    /// The agent.
    pub agent_id: Uuid,
    /// The agent's client_id.
    pub subject: String,
    /// Format.
    pub format: Format,
    /// Current status (from the status-list service).
    pub status: EntryState,
    /// Where the status lives.
    pub status_ref: StatusRef,
    /// Issuance time.
    pub issued_at: DateTime<Utc>,
    /// End of validity.
    pub valid_until: DateTime<Utc>,
    /// DID URL of the signing key.
    pub kid: String,
}

/// A signing key's public face (never any private material).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyView {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// `did:web:<host>#<kid>`.
    pub did_url: String,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// The public JWK.
    pub public_jwk: Value,
    /// Generation time.
    pub created_at: DateTime<Utc>,
    /// When it became active.
    pub activated_at: Option<DateTime<Utc>>,
    /// When it was replaced (unset while it signs).
    pub retired_at: Option<DateTime<Utc>>,
    /// How long it stays published after retirement.
    pub publish_until: Option<DateTime<Utc>>,
}

/// The three public key documents and the keys behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicKeyDocuments {
    /// `/.well-known/did.json`.
    pub did_document: Value,
    /// `/.well-known/jwks.json` (each key's `kid` is its DID URL, the `kid` header of what it
    /// signs).
    pub jwks: Value,
    /// `/.well-known/jwt-vc-issuer` (`issuer` = the public URL, `jwks` inline).
    pub jwt_vc_issuer: Value,
    /// The published keys.
    pub keys: Vec<KeyView>,
}

/// Which status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// To revoked (final).
    Revoke,
    /// To suspended.
    Suspend,
    /// Back to valid from suspended.
    Unsuspend,
}

impl StatusChange {
    fn target(self) -> EntryState {
        match self {
            Self::Revoke => EntryState::Revoked,
            Self::Suspend => EntryState::Suspended,
            Self::Unsuspend => EntryState::Valid,
        }
    }

    fn audit_kind(self) -> &'static str {
        match self {
            Self::Revoke => "credential.revoked",
            Self::Suspend => "credential.suspended",
            Self::Unsuspend => "credential.unsuspended",
        }
    }
}

/// The issuer service. Cheap to clone.
#[derive(Clone)]
pub struct IssuerService {
    inner: Arc<Inner>,
}

struct Inner {
    config: IssuerConfig,
    identity: Identity,
    custody: KeyCustody,
    store: Arc<dyn IssuerStore>,
    audit: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    status: StatusListUpstream,
    key_lock: tokio::sync::RwLock<()>,
}

impl fmt::Debug for IssuerService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerService")
            .field("did", &self.inner.identity.did)
            .field("custody", &self.inner.custody)
            .finish_non_exhaustive()
    }
}

fn key_view(did: &str, k: &crossauthz_store::SigningKey) -> Result<KeyView, IssuerError> {
    let corrupt = |reason| {
        IssuerError::Custody(CustodyError::CorruptKey {
            kid: k.kid.clone(),
            reason,
        })
    };
    let algorithm = Algorithm::from_jose(&k.alg).ok_or_else(|| corrupt("unknown algorithm"))?;
    // Re-serialise through the validated type: only public members can come out.
    let public = PublicJwk::from_json(&k.public_jwk).map_err(|_| corrupt("invalid public JWK"))?;
    Ok(KeyView {
        kid: k.kid.clone(),
        did_url: format!("{did}#{}", k.kid),
        algorithm,
        public_jwk: public.to_json(),
        created_at: k.created_at,
        activated_at: k.activated_at,
        retired_at: k.retired_at,
        publish_until: k.publish_until,
    })
}

impl IssuerService {
    /// Starts the service: validates `config`, opens key custody with `master` (refusing a
    /// master key that does not open the stored keys; generating the first key on first
    /// start). `status_list` is a client of the domain's status-list service.
    pub async fn new(
        config: IssuerConfig,
        master: MasterKey,
        store: Arc<dyn IssuerStore>,
        audit: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        status_list: StatusListClient<TracedChannel>,
    ) -> Result<Self, StartupError> {
        let identity = config.validate()?;
        let now = clock.now();
        let (custody, activated) = KeyCustody::open(
            store.clone(),
            master,
            identity.did.clone(),
            algorithm(config.key_algorithm),
            now,
        )
        .await?;
        let status = StatusListUpstream::new(status_list, identity.status_prefix.clone());
        let service = Self {
            inner: Arc::new(Inner {
                config,
                identity,
                custody,
                store,
                audit,
                clock,
                status,
                key_lock: tokio::sync::RwLock::new(()),
            }),
        };
        if let Some(kid) = activated {
            let mut e = service.event(now, "key.activated", &Actor::default());
            e.details = json!({ "kid": kid, "did_url": service.inner.custody.did_url(&kid) });
            service.inner.audit.append(e).await?;
        }
        Ok(service)
    }

    /// The issuer's DID.
    pub fn did(&self) -> &str {
        &self.inner.identity.did
    }

    /// The identity derived from the configuration.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// What `dc+sd-jwt` credentials name as `iss` (and Token Status Lists as `iss`).
    pub fn sd_jwt_issuer(&self) -> &str {
        match self.inner.config.sd_jwt_issuer {
            SdJwtIssuer::Did => &self.inner.identity.did,
            SdJwtIssuer::PublicUrl => &self.inner.identity.base_url,
        }
    }

    fn event(&self, at: DateTime<Utc>, kind: &str, actor: &Actor) -> NewAuditEvent {
        let mut e = NewAuditEvent::new(at, AUDIT_SERVICE, kind);
        e.actor = actor.subject.clone().filter(|s| !s.is_empty());
        e.reason = actor.reason.clone().filter(|s| !s.is_empty());
        e.issuer = Some(self.inner.identity.did.clone());
        e
    }

    async fn append(&self, e: NewAuditEvent) -> Result<(), IssuerError> {
        self.inner
            .audit
            .append(e)
            .await
            .map(|_| ())
            .map_err(IssuerError::AuditFailed)
    }

    /// Issues a credential (see the module documentation for the order of steps).
    pub async fn issue(&self, req: IssueRequest) -> Result<IssuedCredential, IssuerError> {
        let now = self.inner.clock.now();
        let sd_iss = self.sd_jwt_issuer().to_owned();
        let p = prepare(&req, &self.inner.config, &self.inner.identity, &sd_iss, now)?;
        let _shared = self.inner.key_lock.read().await;
        let key = self.inner.custody.active().await?;
        let status = self.inner.status.allocate(p.id).await?;
        let credential = self.sign_credential(&p, &key, &status, &sd_iss)?;
        let index = i64::try_from(status.index)
            .map_err(|_| IssuerError::StatusListContract("status index out of range".to_owned()))?;
        self.inner
            .store
            .record_credential(&crossauthz_store::IssuedCredential {
                id: p.id,
                agent_id: p.agent_id,
                subject: p.subject.to_string(),
                format: p.format.as_str().to_owned(),
                kid: key.thumbprint.clone(),
                status_list_id: status.list_id,
                status_index: index,
                issued_at: p.valid_from,
                valid_until: p.valid_until,
            })
            .await?;
        // Another instance may have retired this key while we signed: keep it published as
        // long as this credential is valid.
        self.inner
            .custody
            .ensure_published_until(&key.thumbprint, p.valid_until)
            .await?;
        let mut e = self.event(now, "credential.issued", &req.actor);
        e.client_id = Some(p.subject.to_string());
        e.credential_id = Some(p.id.to_string());
        e.details = json!({
            "agent_id": p.agent_id,
            "format": p.format.as_str(),
            "kid": key.did_url,
            "status_list": status.list_id,
            "status_index": status.index,
            "valid_from": p.valid_from,
            "valid_until": p.valid_until,
            "disclosable": p.disclose,
            "holder_key": PublicJwk::from_json(&p.holder_jwk).ok().map(|k| k.thumbprint()),
            "claims": p.claims.monitoring_view(),
        });
        self.append(e).await?;
        Ok(IssuedCredential {
            id: p.id,
            format: p.format,
            credential,
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            status,
            kid: key.did_url.clone(),
        })
    }

    fn sign_credential(
        &self,
        p: &Prepared,
        key: &ActiveKey,
        status: &StatusRef,
        sd_iss: &str,
    ) -> Result<String, IssuerError> {
        match p.format {
            Format::VcJwt => {
                let vc = vc_document(p, &self.inner.identity.did, status)?;
                vc_jwt::issue(&vc, &key.key, &key.did_url)
                    .map_err(|e| IssuerError::Signing(e.to_string()))
            }
            Format::DcSdJwt => {
                let claims = sd_jwt_claims(p, sd_iss, status)?;
                let pointers: Vec<&str> = p.disclose.iter().map(String::as_str).collect();
                sd_jwt::issue(
                    &claims,
                    &pointers,
                    &key.key,
                    &key.did_url,
                    &IssueOptions::default(),
                )
                .map_err(|e| IssuerError::Signing(e.to_string()))
            }
        }
    }

    async fn view(
        &self,
        c: crossauthz_store::IssuedCredential,
    ) -> Result<CredentialView, IssuerError> {
        let index = u64::try_from(c.status_index)
            .map_err(|_| IssuerError::StatusListContract("negative index".to_owned()))?;
        let (status, status_ref) = self
            .inner
            .status
            .get_status(c.status_list_id, index)
            .await?;
        self.view_with(c, status, status_ref)
    }

    fn view_with(
        &self,
        c: crossauthz_store::IssuedCredential,
        status: EntryState,
        status_ref: StatusRef,
    ) -> Result<CredentialView, IssuerError> {
        let format = Format::parse(&c.format).ok_or_else(|| {
            IssuerError::Store(crossauthz_store::StoreError::Corrupt {
                what: "credential format".to_owned(),
            })
        })?;
        Ok(CredentialView {
            id: c.id,
            agent_id: c.agent_id,
            subject: c.subject,
            format,
            status,
            status_ref,
            issued_at: c.issued_at,
            valid_until: c.valid_until,
            kid: self.inner.custody.did_url(&c.kid),
        })
    }

    async fn find(&self, id: &str) -> Result<crossauthz_store::IssuedCredential, IssuerError> {
        let id = parse_uuid(id, "credential id")?;
        self.inner
            .store
            .get_credential(id)
            .await?
            .ok_or(IssuerError::CredentialNotFound(id))
    }

    /// One credential with its current status.
    pub async fn get(&self, id: &str) -> Result<CredentialView, IssuerError> {
        let c = self.find(id).await?;
        self.view(c).await
    }

    /// Every credential of an agent with its current status, newest first.
    pub async fn list_for_agent(&self, agent_id: &str) -> Result<Vec<CredentialView>, IssuerError> {
        let agent_id = parse_uuid(agent_id, "agent_id")?;
        let mut out = Vec::new();
        for c in self
            .inner
            .store
            .credentials_for_agent(agent_id)
            .await?
            .into_iter()
            .rev()
        {
            out.push(self.view(c).await?);
        }
        Ok(out)
    }

    /// Revokes, suspends or unsuspends a credential. Asking for the state it is already in is
    /// answered with its view and changes nothing; a transition the lifecycle forbids (anything
    /// out of revoked) is [`IssuerError::InvalidTransition`] and changes nothing.
    pub async fn change_status(
        &self,
        id: &str,
        change: StatusChange,
        actor: &Actor,
    ) -> Result<CredentialView, IssuerError> {
        let c = self.find(id).await?;
        let index = u64::try_from(c.status_index)
            .map_err(|_| IssuerError::StatusListContract("negative index".to_owned()))?;
        let (current, status_ref) = self
            .inner
            .status
            .get_status(c.status_list_id, index)
            .await?;
        let target = change.target();
        if current == target {
            return self.view_with(c, current, status_ref);
        }
        if !current.can_become(target) {
            return Err(IssuerError::InvalidTransition {
                from: current.as_str(),
                to: target.as_str(),
            });
        }
        let now = self.inner.clock.now();
        let new_state = self
            .inner
            .status
            .set_status(c.status_list_id, index, target, actor)
            .await?;
        let mut e = self.event(now, change.audit_kind(), actor);
        e.client_id = Some(c.subject.clone());
        e.credential_id = Some(c.id.to_string());
        e.details = json!({
            "agent_id": c.agent_id,
            "from": current.as_str(),
            "to": new_state.as_str(),
            "status_list": c.status_list_id,
            "status_index": index,
        });
        self.append(e).await?;
        self.view_with(c, new_state, status_ref)
    }

    /// Generates a new key that signs from now on (`alg`, or the configured algorithm). The
    /// previous key stays published until everything it signed has expired.
    pub async fn rotate_key(
        &self,
        alg: Option<Algorithm>,
        actor: &Actor,
    ) -> Result<KeyView, IssuerError> {
        let _exclusive = self.inner.key_lock.write().await;
        let now = self.inner.clock.now();
        let alg = alg.unwrap_or_else(|| algorithm(self.inner.config.key_algorithm));
        let floor = Duration::seconds(
            i64::try_from(self.inner.config.max_status_list_lifetime_seconds).unwrap_or(i64::MAX),
        );
        let rotation = self.inner.custody.rotate(alg, now, floor).await?;
        let did = &self.inner.identity.did;
        let new = key_view(did, &rotation.new)?;
        let mut e = self.event(now, "key.rotated", actor);
        e.details = json!({
            "kid": new.did_url,
            "algorithm": alg.as_str(),
            "previous_kid": rotation.previous.as_ref().map(|p| format!("{did}#{}", p.kid)),
            "previous_publish_until": rotation.previous.as_ref().and_then(|p| p.publish_until),
        });
        self.append(e).await?;
        Ok(new)
    }

    /// Signs a status list (see `status_signing`): only a Token Status List claims set or a
    /// BitstringStatusListCredential of this domain is accepted.
    pub async fn sign_status_list(
        &self,
        kind: ListKind,
        payload_json: &str,
        lifetime_seconds: u64,
    ) -> Result<SignedList, IssuerError> {
        let payload = check_payload(kind, payload_json, &self.inner.identity.status_prefix)?;
        let max = self.inner.config.max_status_list_lifetime_seconds;
        let lifetime = lifetime(lifetime_seconds, DEFAULT_LIST_LIFETIME_SECONDS, max)?;
        let _shared = self.inner.key_lock.read().await;
        let key = self.inner.custody.active().await?;
        let now = whole_seconds(self.inner.clock.now());
        let expires_at = now + lifetime;
        let jws = match payload {
            ListPayload::Token(claims) => {
                let mut claims = claims
                    .with_issuer(self.sd_jwt_issuer())
                    .with_expiry(expires_at);
                claims.iat = now.timestamp();
                claims.nbf = None;
                sign_status_list_token(&key.key, Some(&key.did_url), &claims)
                    .map_err(|e| IssuerError::Signing(e.to_string()))?
            }
            ListPayload::Bitstring(mut credential) => {
                credential.issuer = self.inner.identity.did.clone();
                credential.valid_from = Some(now);
                credential.valid_until = Some(expires_at);
                credential
                    .sign(&key.key, &key.did_url)
                    .map_err(|e| IssuerError::Signing(e.to_string()))?
            }
        };
        Ok(SignedList {
            jws,
            expires_at,
            kid: key.did_url.clone(),
        })
    }

    /// Signs an RFC 9068 access token (see `access_token`): only the access-token shape is
    /// accepted; `iss`, `iat`, `exp`, `jti` and the header are set here. Not audited here: the
    /// gateway records the grant (with the `jti`) in its own audit event.
    pub async fn sign_access_token(
        &self,
        req: &AccessTokenRequest,
    ) -> Result<SignedAccessToken, IssuerError> {
        let config = &self.inner.config;
        let checked = check_access_token(
            req,
            config.default_access_token_lifetime_seconds,
            config.max_access_token_lifetime_seconds,
        )?;
        let _shared = self.inner.key_lock.read().await;
        let key = self.inner.custody.active().await?;
        let now = whole_seconds(self.inner.clock.now());
        let jti = Uuid::new_v4().to_string();
        let claims = access_token_claims(&checked, &self.inner.identity.base_url, now, &jti);
        let access_token = sign_compact(&key.key, ACCESS_TOKEN_TYP, Some(&key.did_url), &claims)
            .map_err(|e| IssuerError::Signing(e.to_string()))?;
        Ok(SignedAccessToken {
            access_token,
            jti,
            issued_at: now,
            expires_at: now + checked.lifetime,
            kid: key.did_url.clone(),
        })
    }

    /// Signs a checkpoint of the audit log at `seq` (see
    /// `crossauthz_credentials::audit_checkpoint`): the event is read from the log here and
    /// signed only if its hash is `expected_hash`. Not audited itself (the checkpoint is stored
    /// by the caller next to the log it covers, and an event per checkpoint would move the head
    /// it just signed).
    pub async fn sign_audit_checkpoint(
        &self,
        seq: u64,
        expected_hash: &[u8],
    ) -> Result<AuditCheckpoint, IssuerError> {
        let seq_i = i64::try_from(seq)
            .ok()
            .filter(|s| *s >= 1)
            .ok_or(IssuerError::CheckpointRequest("seq must be at least 1"))?;
        let expected = <[u8; 32]>::try_from(expected_hash)
            .map_err(|_| IssuerError::CheckpointRequest("expected_hash must be 32 bytes"))?;
        let event = self
            .inner
            .audit
            .list(&AuditFilter {
                after_seq: Some(seq_i - 1),
                limit: 1,
                ..AuditFilter::default()
            })
            .await?
            .into_iter()
            .next()
            .filter(|e| e.seq == seq_i)
            .ok_or(IssuerError::CheckpointEventNotFound(seq))?;
        if event.hash != expected {
            return Err(IssuerError::CheckpointHashMismatch(seq));
        }
        let _shared = self.inner.key_lock.read().await;
        let key = self.inner.custody.active().await?;
        let claims = CheckpointClaims {
            issuer: self.inner.identity.did.clone(),
            signed_at: whole_seconds(self.inner.clock.now()),
            seq: seq_i,
            hash: event.hash,
            event_at: event.at,
        };
        let jws = audit_checkpoint::sign(&key.key, &key.did_url, &claims)
            .map_err(|e| IssuerError::Signing(e.to_string()))?;
        Ok(AuditCheckpoint {
            seq: seq_i,
            hash: event.hash,
            event_at: event.at,
            signed_at: claims.signed_at,
            kid: key.did_url.clone(),
            jws,
        })
    }

    /// did.json, jwks.json and jwt-vc-issuer with every published key (the active one and
    /// every retired one whose publication window is open).
    pub async fn public_keys(&self) -> Result<PublicKeyDocuments, IssuerError> {
        let now = self.inner.clock.now();
        let did = &self.inner.identity.did;
        let stored = self.inner.custody.published(now).await?;
        let keys = stored
            .iter()
            .map(|k| key_view(did, k))
            .collect::<Result<Vec<_>, _>>()?;
        let mut public = Vec::with_capacity(keys.len());
        for k in &keys {
            let jwk = PublicJwk::from_json(&k.public_jwk).map_err(|_| {
                IssuerError::Custody(CustodyError::CorruptKey {
                    kid: k.kid.clone(),
                    reason: "invalid public JWK",
                })
            })?;
            public.push(jwk.with_kid(k.did_url.clone()));
        }
        Ok(PublicKeyDocuments {
            did_document: did_document(did, &public),
            jwks: Jwks::new(public.clone()).to_json(),
            jwt_vc_issuer: JwtVcIssuerMetadata::new(self.inner.identity.base_url.clone(), public)
                .to_json(),
            keys,
        })
    }
}
