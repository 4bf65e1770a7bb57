//! The decision pipeline (DESIGN §6 steps 1–6), failing closed at the first failure:
//! request shape → client_id (C1) and fetch → document rules → client authentication (P1–P5,
//! `jti` recorded only once authentication succeeded) → credential (trust list, did:web key,
//! signature, validity, subject, holder key) → status → Cedar policy. [`VerifierService::decide`]
//! serves the token endpoint, [`VerifierService::resolve_client`] GET /authorize (no client
//! authentication; redirect URI check, C8).
//!
//! Every decision, allow or deny, appends exactly one audit record (client_id, credential id,
//! issuer, requested scopes, granted scopes, resource, policy ids, reason code); never the
//! assertion, the presentation or the credential itself. A denied request leaves nothing else
//! behind: documents are cached only when valid (the fetcher's validator), and the `jti` only
//! after the assertion authenticated the client.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossauthz_core::cimd::{AuthMethod, CimdLimits, redirect_uri_matches};
use crossauthz_core::client_id::ClientIdUrl;
use crossauthz_core::scope::Scope;
use crossauthz_credentials::keys::PublicJwk;
use crossauthz_store::{NewAuditEvent, Resource};
use serde_json::{Value, json};

use crate::client_auth::{AssertionPolicy, verify_assertion};
use crate::credential::{
    CredentialFormat, CredentialPolicy, HolderProof, Presented, VerifiedCredential, check_holder,
    verify_credential,
};
use crate::document::{ClientDocument, client_keys, load_client, parse_client_id};
use crate::error::VerifierError;
use crate::fetch::ResourceKind;
use crate::logo::LogoOutcome;
use crate::policy::{CredentialFacts, PrincipalFacts, RequestFacts, ResourceFacts};
use crate::reasons::{DenyReason, codes};
use crate::service::{AUDIT_SERVICE, VerifierService};
use crate::settings::Settings;
use crate::status::check_status;

/// Grant types this AS decides for.
pub const SUPPORTED_GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];
/// The refresh grant (RFC 6749 §6).
pub const REFRESH_TOKEN: &str = "refresh_token";
/// The grants a public client (`token_endpoint_auth_method: none`) may use: the code flow and
/// the refresh of what it yielded (M7: refresh tokens of public clients rotate).
pub const PUBLIC_CLIENT_GRANTS: &[&str] = &["authorization_code", REFRESH_TOKEN];
/// Most scopes one request may ask for.
pub const MAX_SCOPES: usize = 64;
/// Audit `kind` of a token-endpoint decision.
pub const DECISION_KIND: &str = "grant.decision";
/// Audit `kind` of a GET /authorize client resolution.
pub const RESOLVE_KIND: &str = "client.resolved";
/// Audit `kind` of a client authentication without a grant (introspection, revocation).
pub const AUTHENTICATE_KIND: &str = "client.authenticated";

/// A token-endpoint decision request (the domain form of `DecideRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecideInput {
    /// The client_id URL.
    pub client_id: String,
    /// The RFC 7523 client assertion (empty for public clients).
    pub client_assertion: String,
    /// `client_assertion_type`.
    pub client_assertion_type: String,
    /// The grant type.
    pub grant_type: String,
    /// The requested scopes.
    pub requested_scopes: Vec<String>,
    /// The RFC 8707 resource indicator.
    pub resource: String,
    /// A `dc+sd-jwt` presentation with a KB-JWT (optional).
    pub presentation: String,
    /// The nonce the AS issued for the presentation.
    pub presentation_nonce: String,
    /// `refresh_token` only: the scopes of the grant being refreshed; the requested scopes must
    /// be among them (RFC 6749 §6).
    pub original_scopes: Vec<String>,
}

/// A client authentication without a grant (the domain form of `AuthenticateClientRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthenticateInput {
    /// The client_id URL.
    pub client_id: String,
    /// The RFC 7523 client assertion (empty for a public client).
    pub client_assertion: String,
    /// `client_assertion_type`.
    pub client_assertion_type: String,
    /// Accept a public client identified by its client_id alone (RFC 7009 §2.1).
    pub allow_public: bool,
    /// What the authentication is for (audit), e.g. `introspection`, `revocation`.
    pub purpose: String,
}

/// The outcome of [`VerifierService::authenticate_client`].
#[derive(Debug, Clone, PartialEq)]
pub struct Authentication {
    /// Authenticated (confidential) or, with `allow_public`, identified (public).
    pub authenticated: bool,
    /// Why not.
    pub deny: Option<DenyReason>,
    /// The client authenticated with `private_key_jwt`.
    pub confidential: bool,
    /// The credential its document carries, verified with its status.
    pub credential: Option<CredentialSummary>,
    /// The `seq` of the audit record.
    pub audit_seq: i64,
}

/// The verified credential as reported in a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialSummary {
    /// Credential id, if any.
    pub id: Option<String>,
    /// Issuer DID.
    pub issuer: String,
    /// Issuer domain.
    pub issuer_domain: String,
    /// Format.
    pub format: CredentialFormat,
    /// The verified claims (JSON object).
    pub claims_json: Value,
    /// End of validity.
    pub valid_until: DateTime<Utc>,
}

impl From<&VerifiedCredential> for CredentialSummary {
    fn from(v: &VerifiedCredential) -> Self {
        Self {
            id: v.id.clone(),
            issuer: v.issuer.clone(),
            issuer_domain: v.issuer_domain.clone(),
            format: v.format,
            claims_json: v.claims_json.clone(),
            valid_until: v.valid_until,
        }
    }
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// True when at least one scope is granted.
    pub allowed: bool,
    /// The granted scopes, in request order.
    pub granted_scopes: Vec<String>,
    /// Why not, when denied.
    pub deny: Option<DenyReason>,
    /// The verified credential; absent for a plain CIMD client (or a denial before step 4).
    pub credential: Option<CredentialSummary>,
    /// The Cedar policy ids that decided.
    pub policy_ids: Vec<String>,
    /// The `seq` of the audit record of this decision.
    pub audit_seq: i64,
}

/// A GET /authorize client resolution request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolveInput {
    /// The client_id URL.
    pub client_id: String,
    /// The `redirect_uri` of the authorization request.
    pub redirect_uri: String,
}

/// What the consent page needs to know about a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// True when the client may proceed.
    pub ok: bool,
    /// Why not.
    pub deny: Option<DenyReason>,
    /// `client_name`.
    pub client_name: String,
    /// The client_id's host, shown on the consent page (C13).
    pub client_host: String,
    /// `logo_uri` as the document states it.
    pub logo_uri: String,
    /// The prefetched logo's id (hex SHA-256 of its bytes) for [`VerifierService::client_logo`];
    /// empty when there is no logo or it was refused (C13).
    pub logo_id: String,
    /// Every redirect URI is on localhost: show a warning (M7).
    pub localhost_redirects_only: bool,
    /// `private_key_jwt` client.
    pub confidential: bool,
    /// The verified credential, if the document carries one.
    pub credential: Option<CredentialSummary>,
}

/// Why the pipeline stopped.
enum Stop {
    /// A decision: deny with this reason.
    Deny(DenyReason),
    /// No decision possible (store failure): fail closed with an error.
    Fail(VerifierError),
}

impl From<DenyReason> for Stop {
    fn from(r: DenyReason) -> Self {
        Stop::Deny(r)
    }
}

impl From<VerifierError> for Stop {
    fn from(e: VerifierError) -> Self {
        Stop::Fail(e)
    }
}

/// Who a request says the client is and how it proves it (steps 1–5).
struct ClientRequest<'a> {
    client_id: &'a str,
    assertion: &'a str,
    assertion_type: &'a str,
    presentation: &'a str,
    presentation_nonce: &'a str,
    /// The grant asked for, checked against the document's `grant_types`; `None` outside a grant.
    grant_type: Option<&'a str>,
    /// Whether a public client (auth method `none`) may proceed.
    allow_public: bool,
}

/// What steps 1–5 established.
struct ClientFacts {
    client_id: ClientIdUrl,
    client: Arc<ClientDocument>,
    credential: Option<VerifiedCredential>,
}

/// What is known about a request so far, for its audit record.
#[derive(Default)]
struct Trace {
    client_id: Option<String>,
    /// RFC 7638 thumbprints of the client document's keys, sorted (for the monitor's
    /// `metadata.changed` detector; public key fingerprints, not key material).
    client_keys: Option<Vec<String>>,
    credential: Option<CredentialSummary>,
    policy_ids: Vec<String>,
    granted: Vec<String>,
    policy_version: Option<i64>,
}

/// Checks and normalises the requested scopes: each an RFC 6749 token, duplicates dropped,
/// request order kept.
fn requested_scopes(raw: &[String]) -> Result<Vec<String>, DenyReason> {
    if raw.is_empty() || raw.iter().all(|s| s.is_empty()) {
        return Err(DenyReason::new(
            codes::SCOPE_MISSING,
            "no scope was requested",
        ));
    }
    if raw.len() > MAX_SCOPES {
        return Err(DenyReason::new(
            codes::SCOPE_INVALID,
            format!("more than {MAX_SCOPES} scopes requested"),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for s in raw {
        Scope::parse(s)
            .map_err(|e| DenyReason::new(codes::SCOPE_INVALID, format!("scope {s:?}: {e}")))?;
        if seen.insert(s.as_str()) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// RFC 6749 §6: a refresh may ask for the original scopes or fewer, never more.
fn check_refresh_scopes(requested: &[String], original: &[String]) -> Result<(), DenyReason> {
    match requested.iter().find(|s| !original.contains(s)) {
        None => Ok(()),
        Some(extra) => Err(DenyReason::new(
            codes::REFRESH_SCOPE_WIDENED,
            format!("scope {extra:?} was not granted originally (RFC 6749 §6)"),
        )),
    }
}

fn check_grant_type(grant_type: &str) -> Result<(), DenyReason> {
    if SUPPORTED_GRANT_TYPES.contains(&grant_type) {
        Ok(())
    } else {
        Err(DenyReason::new(
            codes::GRANT_TYPE_UNSUPPORTED,
            format!("grant_type {grant_type:?} is not supported"),
        ))
    }
}

fn lookup_resource<'a>(settings: &'a Settings, resource: &str) -> Result<&'a Resource, DenyReason> {
    if resource.is_empty() {
        return Err(DenyReason::new(
            codes::INVALID_TARGET,
            "the resource parameter is required (RFC 8707, M5)",
        ));
    }
    settings.resources.get(resource).ok_or_else(|| {
        DenyReason::new(
            codes::INVALID_TARGET,
            "the resource is not one this authorization server issues tokens for (RFC 8707 §2)",
        )
    })
}

fn check_document_grant(client: &ClientDocument, grant_type: &str) -> Result<(), DenyReason> {
    if client.validated.grant_types.iter().any(|g| g == grant_type) {
        Ok(())
    } else {
        Err(DenyReason::new(
            codes::GRANT_TYPE_NOT_ALLOWED,
            format!("the client's document does not list the grant type {grant_type:?}"),
        ))
    }
}

impl VerifierService {
    fn cimd_limits(&self) -> CimdLimits {
        CimdLimits {
            max_bytes: self.inner.fetcher.config().max_bytes.client_metadata,
        }
    }

    fn credential_policy(&self) -> CredentialPolicy {
        CredentialPolicy {
            audience: self.inner.config.issuer.clone(),
            skew: self.inner.config.skew(),
            key_binding_max_age: self.inner.config.key_binding_max_age(),
        }
    }

    /// Drops the cached document of a client whose credential was refused: the agent's domain
    /// may already host a re-issued credential, and nothing of a denied request should linger.
    fn forget_document(&self, client_id: &ClientIdUrl) {
        self.inner.fetcher.invalidate(client_id.as_str());
    }

    /// Drops everything cached for a denied client: its document and the logo it names.
    async fn forget_client_with_logo(&self, client_id: &str) {
        let fetcher = &self.inner.fetcher;
        if let Some(doc) = fetcher
            .cached::<ClientDocument>(client_id, ResourceKind::ClientMetadata)
            .await
            && let Some(logo) = doc.validated.document.logo_uri.as_deref()
        {
            fetcher.invalidate(logo);
        }
        fetcher.invalidate(client_id);
    }

    /// Steps 4 and 5 for `presented`: verify, bind to the holder, check status.
    async fn credential_steps(
        &self,
        settings: &Settings,
        presented: Presented<'_>,
        client_id: &ClientIdUrl,
        proof: HolderProof<'_>,
        now: DateTime<Utc>,
        trace: &mut Trace,
    ) -> Result<VerifiedCredential, Stop> {
        let fetcher = &self.inner.fetcher;
        let credential = verify_credential(
            fetcher,
            &settings.trust_list,
            presented,
            client_id.as_str(),
            &self.credential_policy(),
            now,
        )
        .await
        .map_err(|e| e.deny_reason())?;
        trace.credential = Some(CredentialSummary::from(&credential));
        check_holder(&credential, proof).map_err(|e| e.deny_reason())?;
        let status = check_status(
            fetcher,
            &credential.status,
            &credential.issuer,
            &credential.did_document,
            now,
            self.inner.config.skew(),
        )
        .await;
        crossauthz_telemetry::metrics::status_checked(match &status {
            Ok(()) => "valid",
            Err(e) => e.outcome(),
        });
        status.map_err(|e| e.deny_reason())?;
        Ok(credential)
    }

    /// Steps 1–5 for one client: client_id rules (C1) and the fetch, the document rules, the
    /// grant type against the document (when there is a grant), client authentication (P1–P5,
    /// `jti` recorded only once the assertion verified; a public client only where
    /// `allow_public`), then the credential (the presented one or the document's) with its
    /// holder binding and status. A client document whose credential is refused leaves the
    /// cache.
    async fn client_steps(
        &self,
        settings: &Settings,
        request: &ClientRequest<'_>,
        now: DateTime<Utc>,
        trace: &mut Trace,
    ) -> Result<ClientFacts, Stop> {
        // Steps 1–2.
        let client_id = parse_client_id(request.client_id)?;
        trace.client_id = Some(client_id.as_str().to_owned());
        let fetcher = &self.inner.fetcher;
        let client = load_client(fetcher, &client_id, self.cimd_limits()).await?;
        if let Some(grant_type) = request.grant_type {
            check_document_grant(&client, grant_type)?;
        }

        // Step 3.
        let authenticated_key: Option<PublicJwk> = match client.validated.auth_method {
            AuthMethod::PrivateKeyJwt => {
                let keys = client_keys(fetcher, &client).await?;
                let mut thumbprints: Vec<String> = keys.iter().map(|k| k.thumbprint()).collect();
                thumbprints.sort();
                trace.client_keys = Some(thumbprints);
                let policy = AssertionPolicy {
                    issuer: self.inner.config.issuer.clone(),
                    skew: self.inner.config.skew(),
                    max_lifetime: self.inner.config.max_assertion_lifetime(),
                };
                let auth = verify_assertion(
                    request.assertion,
                    request.assertion_type,
                    client_id.as_str(),
                    &keys,
                    &policy,
                    now,
                )
                .map_err(|e| e.deny_reason())?;
                // Authentication succeeded: only now is the jti recorded (shared by replicas).
                let first_use = self
                    .inner
                    .store
                    .record_jti(client_id.as_str(), &auth.jti, auth.replay_until, now)
                    .await
                    .map_err(VerifierError::from)?;
                if !first_use {
                    return Err(DenyReason::new(
                        codes::ASSERTION_REPLAYED,
                        "the client assertion's jti was already used (P4)",
                    )
                    .into());
                }
                Some(auth.key)
            }
            AuthMethod::None => {
                if !request.assertion.is_empty() || !request.assertion_type.is_empty() {
                    return Err(DenyReason::new(
                        codes::ASSERTION_UNEXPECTED,
                        "the client's document declares token_endpoint_auth_method none; no assertion is accepted",
                    )
                    .into());
                }
                if !request.allow_public {
                    let description = match request.grant_type {
                        Some(_) => {
                            "a public client may only use the authorization_code and refresh_token grants"
                        }
                        None => {
                            "this endpoint needs client authentication; a public client has none"
                        }
                    };
                    return Err(DenyReason::new(codes::CLIENT_AUTH_REQUIRED, description).into());
                }
                None
            }
        };

        // Steps 4–5.
        let doc = &client.validated.document;
        let presented = if !request.presentation.is_empty() {
            Some(Presented::SdJwtPresentation {
                presentation: request.presentation,
                nonce: request.presentation_nonce,
            })
        } else if let Some(vc) = doc.vc_jwt.as_deref() {
            Some(Presented::VcJwt(vc))
        } else {
            doc.dc_sd_jwt.as_deref().map(Presented::SdJwt)
        };
        let credential = match presented {
            None => None,
            Some(presented) => {
                let proof = match &authenticated_key {
                    Some(key) => HolderProof::Authenticated(key),
                    None => HolderProof::PublicClient,
                };
                let from_document = !matches!(presented, Presented::SdJwtPresentation { .. });
                match self
                    .credential_steps(settings, presented, &client_id, proof, now, trace)
                    .await
                {
                    Ok(c) => Some(c),
                    Err(stop) => {
                        if from_document {
                            self.forget_document(&client_id);
                        }
                        return Err(stop);
                    }
                }
            }
        };
        Ok(ClientFacts {
            client_id,
            client,
            credential,
        })
    }

    async fn run_decide(
        &self,
        input: &DecideInput,
        now: DateTime<Utc>,
        trace: &mut Trace,
    ) -> Result<(), Stop> {
        // Request shape, before anything is fetched.
        check_grant_type(&input.grant_type)?;
        let requested = requested_scopes(&input.requested_scopes)?;
        if input.grant_type == REFRESH_TOKEN {
            check_refresh_scopes(&requested, &input.original_scopes)?;
        }
        let settings = self
            .inner
            .settings
            .get(self.inner.store.as_ref(), now)
            .await?;
        trace.policy_version = Some(settings.policy_version);
        let resource = lookup_resource(&settings, &input.resource)?;

        // Steps 1–5.
        let ClientFacts {
            client_id,
            client: _,
            credential,
        } = self
            .client_steps(
                &settings,
                &ClientRequest {
                    client_id: &input.client_id,
                    assertion: &input.client_assertion,
                    assertion_type: &input.client_assertion_type,
                    presentation: &input.presentation,
                    presentation_nonce: &input.presentation_nonce,
                    grant_type: Some(&input.grant_type),
                    allow_public: PUBLIC_CLIENT_GRANTS.contains(&input.grant_type.as_str()),
                },
                now,
                trace,
            )
            .await?;

        // Step 6.
        let offered: HashSet<&str> = resource.scopes.iter().map(String::as_str).collect();
        let candidates: Vec<String> = requested
            .iter()
            .filter(|s| offered.contains(s.as_str()))
            .filter(|s| {
                credential
                    .as_ref()
                    .is_none_or(|c| c.claims.authorized_scopes.contains_str(s))
            })
            .cloned()
            .collect();
        if candidates.is_empty() {
            return Err(DenyReason::new(
                codes::SCOPE_NOT_AUTHORIZED,
                "no requested scope is both offered by the resource and authorized by the credential",
            )
            .into());
        }
        let outcome = settings
            .policies
            .evaluate(
                &PrincipalFacts {
                    client_id: client_id.as_str(),
                    client_host: client_id.host_str(),
                    credential: credential.as_ref().map(|c| CredentialFacts {
                        issuer: &c.issuer,
                        claims: &c.claims,
                        claims_json: &c.claims_json,
                    }),
                },
                &ResourceFacts {
                    resource: &resource.resource,
                    scopes: &resource.scopes,
                    attributes: &resource.attributes,
                },
                &RequestFacts {
                    grant_type: &input.grant_type,
                    requested_scopes: &requested,
                    now,
                },
                &candidates,
            )
            .map_err(|e| {
                tracing::error!(error = %e, "policy evaluation failed; denying");
                DenyReason::new(codes::POLICY_DENIED, "the policy could not be evaluated")
            })?;
        trace.policy_ids = outcome.policy_ids;
        if outcome.permitted.is_empty() {
            return Err(DenyReason::new(
                codes::POLICY_DENIED,
                "this domain's policy permits none of the requested scopes",
            )
            .into());
        }
        trace.granted = outcome.permitted;
        Ok(())
    }

    /// Decides a token request (DESIGN §6 steps 1–6). A denial is an `Ok` decision with a
    /// reason; `Err` means no decision could be made or recorded (store failure) and must be
    /// treated as a denial by the caller.
    pub async fn decide(&self, input: DecideInput) -> Result<Decision, VerifierError> {
        let now = self.now();
        let mut trace = Trace::default();
        let result = self.run_decide(&input, now, &mut trace).await;
        let deny = match result {
            Ok(()) => None,
            Err(Stop::Deny(reason)) => Some(reason),
            Err(Stop::Fail(e)) => {
                tracing::error!(error = %e, "decision failed; no decision given");
                self.append_failure(DECISION_KIND, &input.client_id, &trace, now)
                    .await;
                return Err(e);
            }
        };
        if deny.is_some() {
            // Nothing of a denied request lingers: its client document (and logo) leaves the
            // cache (the issuer's DID document and status lists are shared by every client of
            // that issuer and stay cached within their own lifetimes).
            if let Some(client_id) = &trace.client_id {
                self.forget_client_with_logo(client_id).await;
            }
        }
        let mut event = NewAuditEvent::new(now, AUDIT_SERVICE, DECISION_KIND);
        event.actor = trace.client_id.clone();
        event.client_id = Some(
            trace
                .client_id
                .clone()
                .unwrap_or_else(|| truncate(&input.client_id)),
        );
        event.credential_id = trace.credential.as_ref().and_then(|c| c.id.clone());
        event.issuer = trace.credential.as_ref().map(|c| c.issuer.clone());
        event.scopes = Some(input.requested_scopes.iter().map(|s| truncate(s)).collect());
        event.resource = (!input.resource.is_empty()).then(|| truncate(&input.resource));
        event.decision = Some(if deny.is_none() { "allow" } else { "deny" }.to_owned());
        event.reason = Some(deny.as_ref().map_or("granted", |d| d.code).to_owned());
        event.details = json!({
            "grant_type": truncate(&input.grant_type),
            "granted_scopes": trace.granted,
            "policy_ids": trace.policy_ids,
            "policy_version": trace.policy_version,
            "credential_format": trace.credential.as_ref().map(|c| c.format.as_str()),
            "issuer_domain": trace.credential.as_ref().map(|c| c.issuer_domain.clone()),
            "oauth_error": deny.as_ref().map(|d| d.oauth_error.as_str()),
            "description": deny.as_ref().map(|d| d.description.clone()),
            "presentation": !input.presentation.is_empty(),
            "original_scopes": (input.grant_type == REFRESH_TOKEN)
                .then(|| input.original_scopes.iter().map(|s| truncate(s)).collect::<Vec<_>>()),
            // What the domain's monitor evaluates (no secret, no free text).
            "client_keys": trace.client_keys,
            "valid_until": trace.credential.as_ref().map(|c| c.valid_until),
            "claims": trace
                .credential
                .as_ref()
                .map(|c| crossauthz_core::profile::monitoring_view(&c.claims_json)),
        });
        let recorded = self.inner.audit.append(event).await?;
        crossauthz_telemetry::metrics::decision(
            deny.is_none(),
            deny.as_ref().map_or("granted", |d| d.code),
        );
        Ok(Decision {
            allowed: deny.is_none(),
            granted_scopes: if deny.is_none() {
                trace.granted
            } else {
                Vec::new()
            },
            deny,
            credential: trace.credential,
            policy_ids: trace.policy_ids,
            audit_seq: recorded.seq,
        })
    }

    async fn run_authenticate(
        &self,
        input: &AuthenticateInput,
        now: DateTime<Utc>,
        trace: &mut Trace,
    ) -> Result<ClientFacts, Stop> {
        let settings = self
            .inner
            .settings
            .get(self.inner.store.as_ref(), now)
            .await?;
        self.client_steps(
            &settings,
            &ClientRequest {
                client_id: &input.client_id,
                assertion: &input.client_assertion,
                assertion_type: &input.client_assertion_type,
                presentation: "",
                presentation_nonce: "",
                grant_type: None,
                allow_public: input.allow_public,
            },
            now,
            trace,
        )
        .await
    }

    /// Authenticates a client outside a grant (RFC 7662 introspection, RFC 7009 revocation):
    /// steps 1–5 exactly as a grant runs them — client_id and document rules, the
    /// `private_key_jwt` assertion (P1–P5, `jti` recorded, replay refused), the credential the
    /// document carries with holder binding and status — but no grant type, resource, scope or
    /// policy. A public client passes only with `allow_public` (and without an assertion). A
    /// refusal is an `Ok` outcome with a reason; `Err` means nothing could be decided or
    /// recorded. One audit record (`client.authenticated`); a refused client's document leaves
    /// the cache.
    pub async fn authenticate_client(
        &self,
        input: AuthenticateInput,
    ) -> Result<Authentication, VerifierError> {
        let now = self.now();
        let mut trace = Trace::default();
        let (deny, confidential) = match self.run_authenticate(&input, now, &mut trace).await {
            Ok(facts) => (
                None,
                facts.client.validated.auth_method == AuthMethod::PrivateKeyJwt,
            ),
            Err(Stop::Deny(reason)) => (Some(reason), false),
            Err(Stop::Fail(e)) => {
                tracing::error!(error = %e, "client authentication failed; no answer given");
                self.append_failure(AUTHENTICATE_KIND, &input.client_id, &trace, now)
                    .await;
                return Err(e);
            }
        };
        if deny.is_some()
            && let Some(client_id) = &trace.client_id
        {
            self.forget_client_with_logo(client_id).await;
        }
        let mut event = NewAuditEvent::new(now, AUDIT_SERVICE, AUTHENTICATE_KIND);
        event.actor = trace.client_id.clone();
        event.client_id = Some(
            trace
                .client_id
                .clone()
                .unwrap_or_else(|| truncate(&input.client_id)),
        );
        event.credential_id = trace.credential.as_ref().and_then(|c| c.id.clone());
        event.issuer = trace.credential.as_ref().map(|c| c.issuer.clone());
        event.decision = Some(if deny.is_none() { "allow" } else { "deny" }.to_owned());
        event.reason = Some(deny.as_ref().map_or("authenticated", |d| d.code).to_owned());
        event.details = json!({
            "purpose": truncate(&input.purpose),
            "confidential": confidential,
            "allow_public": input.allow_public,
            "credential_format": trace.credential.as_ref().map(|c| c.format.as_str()),
            "issuer_domain": trace.credential.as_ref().map(|c| c.issuer_domain.clone()),
            "oauth_error": deny.as_ref().map(|d| d.oauth_error.as_str()),
            "description": deny.as_ref().map(|d| d.description.clone()),
        });
        let recorded = self.inner.audit.append(event).await?;
        Ok(Authentication {
            authenticated: deny.is_none(),
            confidential,
            credential: if deny.is_none() {
                trace.credential
            } else {
                None
            },
            deny,
            audit_seq: recorded.seq,
        })
    }

    async fn run_resolve(
        &self,
        input: &ResolveInput,
        now: DateTime<Utc>,
        trace: &mut Trace,
        out: &mut Resolution,
    ) -> Result<(), Stop> {
        let client_id = parse_client_id(&input.client_id)?;
        trace.client_id = Some(client_id.as_str().to_owned());
        out.client_host = client_id.host_str().to_owned();
        let fetcher = &self.inner.fetcher;
        let client = load_client(fetcher, &client_id, self.cimd_limits()).await?;
        let doc = &client.validated.document;
        out.client_name = doc.client_name.clone().unwrap_or_default();
        out.logo_uri = doc.logo_uri.clone().unwrap_or_default();
        out.localhost_redirects_only = client.validated.localhost_only_redirects;
        out.confidential = client.validated.auth_method == AuthMethod::PrivateKeyJwt;
        check_document_grant(&client, "authorization_code")?;
        if input.redirect_uri.is_empty() || !redirect_uri_matches(doc, &input.redirect_uri) {
            return Err(DenyReason::new(
                codes::REDIRECT_URI_MISMATCH,
                "redirect_uri is not exactly one of the client's redirect_uris (C8)",
            )
            .into());
        }
        let presented = match (doc.vc_jwt.as_deref(), doc.dc_sd_jwt.as_deref()) {
            (Some(vc), _) => Some(Presented::VcJwt(vc)),
            (None, Some(sd)) => Some(Presented::SdJwt(sd)),
            (None, None) => None,
        };
        if let Some(presented) = presented {
            let settings = self
                .inner
                .settings
                .get(self.inner.store.as_ref(), now)
                .await?;
            let keys: Arc<Vec<PublicJwk>> = if out.confidential {
                client_keys(fetcher, &client).await?
            } else {
                Arc::new(Vec::new())
            };
            let proof = if out.confidential {
                HolderProof::OneOf(&keys)
            } else {
                HolderProof::PublicClient
            };
            let credential = match self
                .credential_steps(&settings, presented, &client_id, proof, now, trace)
                .await
            {
                Ok(c) => c,
                Err(stop) => {
                    self.forget_document(&client_id);
                    return Err(stop);
                }
            };
            out.credential = Some(CredentialSummary::from(&credential));
        }
        Ok(())
    }

    /// Resolves a client for GET /authorize: steps 1, 2, 4 and 5 without client authentication,
    /// the redirect URI exactly (C8), the consent-page facts (C13, M7) with the logo prefetched
    /// ([`crate::logo`]). One audit record.
    pub async fn resolve_client(&self, input: ResolveInput) -> Result<Resolution, VerifierError> {
        let now = self.now();
        let mut trace = Trace::default();
        let mut out = Resolution {
            ok: false,
            deny: None,
            client_name: String::new(),
            client_host: String::new(),
            logo_uri: String::new(),
            logo_id: String::new(),
            localhost_redirects_only: false,
            confidential: false,
            credential: None,
        };
        let deny = match self.run_resolve(&input, now, &mut trace, &mut out).await {
            Ok(()) => None,
            Err(Stop::Deny(reason)) => Some(reason),
            Err(Stop::Fail(e)) => {
                tracing::error!(error = %e, "client resolution failed");
                self.append_failure(RESOLVE_KIND, &input.client_id, &trace, now)
                    .await;
                return Err(e);
            }
        };
        // C13: only a client that may proceed gets its logo fetched.
        let logo = if deny.is_none() {
            self.prefetch_logo(Some(&out.logo_uri)).await
        } else {
            LogoOutcome::None
        };
        out.logo_id = logo.id().to_owned();
        let mut event = NewAuditEvent::new(now, AUDIT_SERVICE, RESOLVE_KIND);
        event.actor = trace.client_id.clone();
        event.client_id = Some(
            trace
                .client_id
                .clone()
                .unwrap_or_else(|| truncate(&input.client_id)),
        );
        event.credential_id = trace.credential.as_ref().and_then(|c| c.id.clone());
        event.issuer = trace.credential.as_ref().map(|c| c.issuer.clone());
        event.decision = Some(if deny.is_none() { "allow" } else { "deny" }.to_owned());
        event.reason = Some(deny.as_ref().map_or("resolved", |d| d.code).to_owned());
        event.details = json!({
            "redirect_uri": truncate(&input.redirect_uri),
            "logo": logo.as_str(),
            "credential_format": trace.credential.as_ref().map(|c| c.format.as_str()),
            "oauth_error": deny.as_ref().map(|d| d.oauth_error.as_str()),
            "description": deny.as_ref().map(|d| d.description.clone()),
        });
        self.inner.audit.append(event).await?;
        out.ok = deny.is_none();
        out.deny = deny;
        if !out.ok {
            // Nothing about a refused client is shown but the reason.
            out.credential = None;
        }
        Ok(out)
    }

    /// Best-effort audit record of a request that got no decision.
    async fn append_failure(
        &self,
        kind: &str,
        raw_client_id: &str,
        trace: &Trace,
        now: DateTime<Utc>,
    ) {
        let mut event = NewAuditEvent::new(now, AUDIT_SERVICE, kind);
        event.client_id = Some(
            trace
                .client_id
                .clone()
                .unwrap_or_else(|| truncate(raw_client_id)),
        );
        event.decision = Some("error".to_owned());
        event.reason = Some("verifier_unavailable".to_owned());
        if let Err(e) = self.inner.audit.append(event).await {
            tracing::error!(error = %e, "audit append failed too");
        }
    }
}

/// Caps untrusted strings copied into audit records.
fn truncate(s: &str) -> String {
    const MAX: usize = 2048;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_deduplicated_and_ordered() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            requested_scopes(&s(&["b", "a", "b"])).unwrap(),
            s(&["b", "a"])
        );
        assert_eq!(
            requested_scopes(&[]).unwrap_err().code,
            codes::SCOPE_MISSING
        );
        assert_eq!(
            requested_scopes(&s(&[""])).unwrap_err().code,
            codes::SCOPE_MISSING
        );
        assert_eq!(
            requested_scopes(&s(&["a b"])).unwrap_err().code,
            codes::SCOPE_INVALID
        );
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        assert_eq!(
            requested_scopes(&many).unwrap_err().code,
            codes::SCOPE_INVALID
        );
    }

    #[test]
    fn unknown_grant_types_are_refused() {
        check_grant_type("client_credentials").unwrap();
        assert_eq!(
            check_grant_type("password").unwrap_err().code,
            codes::GRANT_TYPE_UNSUPPORTED
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        let s = "é".repeat(2000);
        let t = truncate(&s);
        assert!(t.len() <= 2048);
        assert!(s.starts_with(&t));
    }
}
