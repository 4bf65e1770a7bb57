//! The monitor's engine: tails the audit log by `seq` (its cursor is stored, so a restart
//! resumes where it stopped), learns each agent's credential and behaviour, runs the threat
//! detectors on every grant decision and the compliance rules on every new credential and on a
//! schedule, raises alerts, and applies the domain's auto-suspension policy to its own agents.
//!
//! Every alert raised, acknowledged or resolved and every suspension the monitor makes is an
//! audit event (`service: monitor`), which the engine itself skips when it reads them back.
//! Suspension goes through the issuer (`SuspendCredential`), so it lands in the status list and
//! the next grant of that credential is denied; acknowledging the alert after review lifts the
//! suspension the monitor made (`UnsuspendCredential`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossauthz_core::clock::Clock;
use crossauthz_proto::common::Actor;
use crossauthz_proto::issuer::ChangeStatusRequest;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::verifier::GetTrustListRequest;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_store::{
    Alert, AlertCategory, AlertFilter, AuditEvent, AuditFilter, AuditStore, KnownCredential,
    MonitorStore, NewAlert, NewAuditEvent, Severity,
};
use crossauthz_telemetry::TracedChannel;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::MonitorError;
use crate::checkpoint::Checkpointer;
use crate::compliance::{self, ComplianceConfig, ComplianceContext, Finding};
use crate::threat::{self, Baseline, ThreatConfig};
use crate::webhook::{Webhook, WebhookConfig};

/// The audit `service` of the monitor's own events.
pub const AUDIT_SERVICE: &str = "monitor";
/// The cursor name of the engine in the monitor store.
pub const CURSOR: &str = "engine";
/// The subject of domain-wide alerts.
pub const DOMAIN_SUBJECT: &str = "domain";

/// When the monitor suspends a credential by itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoSuspendPolicy {
    /// Off by default: suspension is a decision a domain opts into.
    pub enabled: bool,
    /// Threat alerts of at least this severity suspend (only this domain's own agents).
    pub min_severity: Severity,
}

impl Default for AutoSuspendPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            min_severity: Severity::High,
        }
    }
}

/// The monitor's configuration (`[monitor]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorConfig {
    /// This domain's DID: credentials it issued belong to its own agents.
    pub domain_did: String,
    /// The compliance rules.
    pub compliance: ComplianceConfig,
    /// The detector thresholds.
    pub threat: ThreatConfig,
    /// The auto-suspension policy.
    pub auto_suspend: AutoSuspendPolicy,
    /// Where alerts are POSTed, if anywhere.
    pub webhook: Option<WebhookConfig>,
    /// How often the audit log is polled for new events, in milliseconds.
    pub poll_interval_ms: u64,
    /// Events read per batch.
    pub batch_size: u32,
    /// How often every known agent is re-evaluated, in seconds.
    pub compliance_interval_seconds: u64,
    /// How often a checkpoint of the audit log is signed, in seconds.
    pub checkpoint_interval_seconds: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            domain_did: String::new(),
            compliance: ComplianceConfig::default(),
            threat: ThreatConfig::default(),
            auto_suspend: AutoSuspendPolicy::default(),
            webhook: None,
            poll_interval_ms: 1000,
            batch_size: 1000,
            compliance_interval_seconds: 3600,
            checkpoint_interval_seconds: 60,
        }
    }
}

/// One agent in a compliance report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentCompliance {
    /// The agent.
    pub client_id: String,
    /// Its credential.
    pub credential_id: Option<String>,
    /// Its issuer.
    pub issuer: String,
    /// This domain's own agent.
    pub local: bool,
    /// Every discrepancy (empty: compliant).
    pub findings: Vec<Finding>,
}

/// The compliance report of the domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplianceReport {
    /// When it was evaluated.
    pub evaluated_at: DateTime<Utc>,
    /// Agents evaluated.
    pub agents: usize,
    /// Agents without findings.
    pub compliant: usize,
    /// Findings per rule.
    pub by_rule: BTreeMap<String, usize>,
    /// Per agent.
    pub per_agent: Vec<AgentCompliance>,
}

#[derive(Debug, Default)]
struct State {
    loaded: bool,
    baselines: HashMap<String, Baseline>,
    credentials: HashMap<String, KnownCredential>,
    resources: HashMap<String, BTreeSet<String>>,
    dirty_baselines: HashSet<String>,
    dirty_credentials: HashSet<String>,
}

struct Inner {
    config: MonitorConfig,
    store: Arc<dyn MonitorStore>,
    audit: Arc<dyn AuditStore>,
    clock: Arc<dyn Clock>,
    issuer: Option<IssuerClient<TracedChannel>>,
    verifier: Option<VerifierClient<TracedChannel>>,
    webhook: Option<Webhook>,
    state: Mutex<State>,
    metrics: crate::metrics::Metrics,
}

/// The monitor of one domain. Cheap to clone.
#[derive(Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("domain_did", &self.inner.config.domain_did)
            .finish_non_exhaustive()
    }
}

/// Strips the `urn:uuid:` form so the issuer's and the verifier's ids compare.
pub fn normalise_credential_id(id: &str) -> String {
    id.strip_prefix("urn:uuid:").unwrap_or(id).to_owned()
}

fn date(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl Monitor {
    /// A monitor over the domain's audit log and its own store. `issuer` signs checkpoints and
    /// suspends credentials; `verifier` provides the trust list for the `issuer.untrusted` rule.
    pub fn new(
        config: MonitorConfig,
        store: Arc<dyn MonitorStore>,
        audit: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        issuer: Option<IssuerClient<TracedChannel>>,
        verifier: Option<VerifierClient<TracedChannel>>,
    ) -> Result<Self, MonitorError> {
        let webhook = config
            .webhook
            .clone()
            .map(Webhook::new)
            .transpose()
            .map_err(|e| MonitorError::Config(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                audit,
                clock,
                issuer,
                verifier,
                webhook,
                state: Mutex::new(State::default()),
                metrics: crate::metrics::Metrics::new(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MonitorConfig {
        &self.inner.config
    }

    async fn load(&self, state: &mut State) -> Result<(), MonitorError> {
        if state.loaded {
            return Ok(());
        }
        for (client, b) in self.inner.store.baselines().await? {
            match serde_json::from_value::<Baseline>(b) {
                Ok(b) => {
                    // The resources an agent used survive restarts in its baseline.
                    state
                        .resources
                        .insert(client.clone(), b.resources.keys().cloned().collect());
                    state.baselines.insert(client, b);
                }
                Err(e) => tracing::warn!(client, error = %e, "unreadable baseline dropped"),
            }
        }
        for c in self.inner.store.credentials().await? {
            state.credentials.insert(c.client_id.clone(), c);
        }
        state.loaded = true;
        Ok(())
    }

    /// What a credential event says about the agent's credential.
    fn credential_of(&self, e: &AuditEvent) -> Option<KnownCredential> {
        let client_id = e.client_id.clone()?;
        let claims = e.details.get("claims").filter(|c| c.is_object())?.clone();
        let valid_until = date(e.details.get("valid_until"))?;
        let issuer = e.issuer.clone()?;
        Some(KnownCredential {
            client_id,
            credential_id: e.credential_id.as_deref().map(normalise_credential_id),
            local: issuer == self.inner.config.domain_did,
            issuer_domain: claims
                .get("issuerDomain")
                .and_then(Value::as_str)
                .map(str::to_owned),
            issuer,
            format: e
                .details
                .get("format")
                .or_else(|| e.details.get("credential_format"))
                .and_then(Value::as_str)
                .unwrap_or("vc+jwt")
                .to_owned(),
            claims,
            valid_until,
            holder_key: e
                .details
                .get("holder_key")
                .and_then(Value::as_str)
                .map(str::to_owned),
            observed_at: e.at,
        })
    }

    /// Reads and processes the next batch of audit events; returns how many were read.
    pub async fn process_batch(&self) -> Result<usize, MonitorError> {
        let mut state = self.inner.state.lock().await;
        self.load(&mut state).await?;
        let cursor = self.inner.store.cursor(CURSOR).await?;
        let events = self
            .inner
            .audit
            .list(&AuditFilter {
                after_seq: Some(cursor),
                limit: self.inner.config.batch_size.clamp(1, 10_000),
                ..AuditFilter::default()
            })
            .await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(0);
        };
        let mut raised: Vec<(NewAlert, Option<KnownCredential>)> = Vec::new();
        let mut new_credentials: Vec<String> = Vec::new();
        for e in &events {
            self.observe(&mut state, e, &mut raised, &mut new_credentials);
        }
        self.inner.metrics.events(events.len() as u64);
        // Compliance on every new credential seen.
        let trusted = self.trusted_issuers().await;
        for client in new_credentials {
            if let Some(c) = state.credentials.get(&client) {
                let ctx = ComplianceContext {
                    resources_used: state.resources.get(&client),
                    trusted_issuers: trusted.as_ref(),
                };
                let now = self.inner.clock.now();
                for f in compliance::evaluate(c, &ctx, &self.inner.config.compliance, now) {
                    raised.push((
                        alert_of(f, AlertCategory::Compliance, c, now),
                        Some(c.clone()),
                    ));
                }
            }
        }
        self.persist(&mut state).await?;
        drop(state);
        // Alerts before the cursor moves: a failure here re-reads the batch (an alert raised
        // twice only bumps the unresolved one), so no alert is lost.
        for (alert, credential) in raised {
            self.raise(alert, credential.as_ref()).await?;
        }
        self.inner
            .store
            .set_cursor(CURSOR, last, self.inner.clock.now())
            .await?;
        Ok(events.len())
    }

    fn observe(
        &self,
        state: &mut State,
        e: &AuditEvent,
        raised: &mut Vec<(NewAlert, Option<KnownCredential>)>,
        new_credentials: &mut Vec<String>,
    ) {
        if e.service == AUDIT_SERVICE {
            return;
        }
        let Some(client) = e.client_id.clone() else {
            return;
        };
        let learned = match (e.service.as_str(), e.kind.as_str()) {
            ("issuer", "credential.issued") | ("verifier", threat::DECISION_KIND) => {
                self.credential_of(e)
            }
            _ => None,
        };
        if e.kind == threat::DECISION_KIND && e.service == "verifier" {
            if let Some(r) = &e.resource {
                state
                    .resources
                    .entry(client.clone())
                    .or_default()
                    .insert(r.clone());
            }
            let known = state.credentials.get(&client).cloned();
            let baseline = state.baselines.entry(client.clone()).or_default();
            let presented = learned.as_ref().or(known.as_ref());
            let findings = threat::observe(
                baseline,
                e,
                presented,
                known.as_ref(),
                &self.inner.config.threat,
            );
            state.dirty_baselines.insert(client.clone());
            for f in findings {
                let credential = learned.clone().or_else(|| known.clone());
                let mut alert = NewAlert {
                    rule: f.rule.to_owned(),
                    category: AlertCategory::Threat,
                    severity: f.severity,
                    score: f.score,
                    subject: client.clone(),
                    client_id: Some(client.clone()),
                    credential_id: e.credential_id.as_deref().map(normalise_credential_id),
                    summary: f.summary,
                    evidence: f.evidence,
                    recommended_action: f.recommended_action,
                    at: e.at,
                };
                if alert.credential_id.is_none() {
                    alert.credential_id = credential.as_ref().and_then(|c| c.credential_id.clone());
                }
                raised.push((alert, credential));
            }
        }
        if let Some(c) = learned {
            let changed = state
                .credentials
                .get(&client)
                .is_none_or(|old| old.credential_id != c.credential_id || old.claims != c.claims);
            if changed {
                state.credentials.insert(client.clone(), c);
                state.dirty_credentials.insert(client.clone());
                new_credentials.push(client);
            }
        }
    }

    async fn persist(&self, state: &mut State) -> Result<(), MonitorError> {
        let now = self.inner.clock.now();
        for client in std::mem::take(&mut state.dirty_baselines) {
            if let Some(b) = state.baselines.get(&client) {
                let v = serde_json::to_value(b)
                    .map_err(|e| MonitorError::Contract(format!("baseline: {e}")))?;
                self.inner.store.put_baseline(&client, &v, now).await?;
            }
        }
        for client in std::mem::take(&mut state.dirty_credentials) {
            if let Some(c) = state.credentials.get(&client) {
                self.inner.store.put_credential(c).await?;
            }
        }
        Ok(())
    }

    async fn trusted_issuers(&self) -> Option<BTreeSet<String>> {
        let mut v = self.inner.verifier.clone()?;
        match v.get_trust_list(GetTrustListRequest {}).await {
            Ok(list) => Some(
                list.into_inner()
                    .issuers
                    .into_iter()
                    .map(|i| i.issuer)
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "trust list unavailable; issuer.untrusted not evaluated");
                None
            }
        }
    }

    async fn audit(&self, mut e: NewAuditEvent) -> Result<(), MonitorError> {
        e.service = AUDIT_SERVICE.to_owned();
        self.inner.audit.append(e).await?;
        Ok(())
    }

    /// Stores an alert; a new one is audited, counted, sent to the webhook and — for a threat
    /// against this domain's own agent — may suspend its credential.
    async fn raise(
        &self,
        alert: NewAlert,
        credential: Option<&KnownCredential>,
    ) -> Result<Alert, MonitorError> {
        let (stored, new) = self.inner.store.raise_alert(&alert).await?;
        if !new {
            return Ok(stored);
        }
        self.inner.metrics.alert(&stored);
        tracing::warn!(
            target: "crossauthz::alert",
            alert_id = %stored.id,
            rule = %stored.rule,
            category = stored.category.as_str(),
            severity = stored.severity.as_str(),
            score = stored.score,
            client_id = stored.client_id.as_deref().unwrap_or(""),
            "{}",
            stored.summary
        );
        let mut e = NewAuditEvent::new(self.inner.clock.now(), AUDIT_SERVICE, "alert.raised");
        e.actor = Some(AUDIT_SERVICE.to_owned());
        e.client_id = stored.client_id.clone();
        e.credential_id = stored.credential_id.clone();
        e.decision = Some(stored.severity.as_str().to_owned());
        e.reason = Some(stored.rule.clone());
        e.details = json!({
            "alert_id": stored.id,
            "category": stored.category.as_str(),
            "score": stored.score,
            "summary": stored.summary,
            "recommended_action": stored.recommended_action,
        });
        self.audit(e).await?;
        let stored = self.maybe_suspend(stored, credential).await?;
        if let Some(w) = &self.inner.webhook {
            w.send(&stored);
        }
        Ok(stored)
    }

    async fn maybe_suspend(
        &self,
        alert: Alert,
        credential: Option<&KnownCredential>,
    ) -> Result<Alert, MonitorError> {
        let policy = &self.inner.config.auto_suspend;
        let Some(c) = credential else {
            return Ok(alert);
        };
        let Some(credential_id) = alert.credential_id.clone().or(c.credential_id.clone()) else {
            return Ok(alert);
        };
        if !policy.enabled
            || alert.category != AlertCategory::Threat
            || alert.severity < policy.min_severity
            || !c.local
        {
            return Ok(alert);
        }
        let Some(mut issuer) = self.inner.issuer.clone() else {
            return Ok(alert);
        };
        let result = issuer
            .suspend_credential(ChangeStatusRequest {
                id: credential_id.clone(),
                actor: Some(Actor {
                    subject: AUDIT_SERVICE.to_owned(),
                    reason: format!("alert {} ({})", alert.id, alert.rule),
                }),
            })
            .await;
        let action = match &result {
            Ok(_) => format!("suspended {credential_id}"),
            Err(s) => {
                tracing::error!(alert_id = %alert.id, error = %s, "auto-suspension failed");
                format!("suspension of {credential_id} failed: {}", s.code())
            }
        };
        self.inner.store.set_alert_action(alert.id, &action).await?;
        let mut e = NewAuditEvent::new(
            self.inner.clock.now(),
            AUDIT_SERVICE,
            if result.is_ok() {
                "credential.auto_suspended"
            } else {
                "credential.auto_suspension_failed"
            },
        );
        e.actor = Some(AUDIT_SERVICE.to_owned());
        e.client_id = alert.client_id.clone();
        e.credential_id = Some(credential_id);
        e.reason = Some(alert.rule.clone());
        e.details = json!({"alert_id": alert.id});
        self.audit(e).await?;
        Ok(Alert {
            action: Some(action),
            ..alert
        })
    }

    /// Alerts matching the filter.
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>, MonitorError> {
        Ok(self.inner.store.list_alerts(filter).await?)
    }

    /// One alert.
    pub async fn alert(&self, id: Uuid) -> Result<Option<Alert>, MonitorError> {
        Ok(self.inner.store.get_alert(id).await?)
    }

    /// Acknowledges an alert after review; if the monitor suspended the credential for it, the
    /// suspension is lifted. Audited.
    pub async fn acknowledge(
        &self,
        id: Uuid,
        by: &str,
        note: Option<&str>,
    ) -> Result<Alert, MonitorError> {
        let now = self.inner.clock.now();
        let mut alert = self
            .inner
            .store
            .acknowledge_alert(id, by, note, now)
            .await?;
        let mut e = NewAuditEvent::new(now, AUDIT_SERVICE, "alert.acknowledged");
        e.actor = Some(by.to_owned());
        e.client_id = alert.client_id.clone();
        e.credential_id = alert.credential_id.clone();
        e.reason = Some(alert.rule.clone());
        e.details = json!({"alert_id": alert.id, "note": note});
        self.audit(e).await?;
        let suspended = alert
            .action
            .as_deref()
            .and_then(|a| a.strip_prefix("suspended "))
            .map(str::to_owned);
        if let (Some(credential_id), Some(mut issuer)) = (suspended, self.inner.issuer.clone()) {
            issuer
                .unsuspend_credential(ChangeStatusRequest {
                    id: credential_id.clone(),
                    actor: Some(Actor {
                        subject: by.to_owned(),
                        reason: format!("alert {} reviewed", alert.id),
                    }),
                })
                .await?;
            let action = format!("suspended {credential_id}; unsuspended after review by {by}");
            self.inner.store.set_alert_action(alert.id, &action).await?;
            let mut e =
                NewAuditEvent::new(now, AUDIT_SERVICE, "credential.unsuspended_after_review");
            e.actor = Some(by.to_owned());
            e.client_id = alert.client_id.clone();
            e.credential_id = Some(credential_id);
            e.details = json!({"alert_id": alert.id});
            self.audit(e).await?;
            alert.action = Some(action);
        }
        Ok(alert)
    }

    /// Resolves an alert. Audited.
    pub async fn resolve(
        &self,
        id: Uuid,
        by: &str,
        note: Option<&str>,
    ) -> Result<Alert, MonitorError> {
        let now = self.inner.clock.now();
        let alert = self.inner.store.resolve_alert(id, by, note, now).await?;
        let mut e = NewAuditEvent::new(now, AUDIT_SERVICE, "alert.resolved");
        e.actor = Some(by.to_owned());
        e.client_id = alert.client_id.clone();
        e.reason = Some(alert.rule.clone());
        e.details = json!({"alert_id": alert.id, "note": note});
        self.audit(e).await?;
        Ok(alert)
    }

    /// Evaluates every known agent (or one) against the compliance rules now, raises an alert
    /// per finding (bumping unresolved ones) and returns the report.
    pub async fn compliance_report(
        &self,
        client_id: Option<&str>,
    ) -> Result<ComplianceReport, MonitorError> {
        let trusted = self.trusted_issuers().await;
        let (report, to_raise) = self.evaluate(client_id, trusted.as_ref()).await?;
        for (alert, c) in to_raise {
            self.raise(alert, Some(&c)).await?;
        }
        Ok(report)
    }

    /// Evaluates like [`Monitor::compliance_report`] without raising alerts (the operator's
    /// `crossauthz compliance report`), with the trust list given by the caller (`None`: the
    /// `issuer.untrusted` rule is not evaluated).
    pub async fn evaluate_compliance(
        &self,
        client_id: Option<&str>,
        trusted_issuers: Option<&BTreeSet<String>>,
    ) -> Result<ComplianceReport, MonitorError> {
        Ok(self.evaluate(client_id, trusted_issuers).await?.0)
    }

    async fn evaluate(
        &self,
        client_id: Option<&str>,
        trusted: Option<&BTreeSet<String>>,
    ) -> Result<(ComplianceReport, Vec<(NewAlert, KnownCredential)>), MonitorError> {
        let now = self.inner.clock.now();
        let (credentials, resources) = {
            let mut state = self.inner.state.lock().await;
            self.load(&mut state).await?;
            (state.credentials.clone(), state.resources.clone())
        };
        let mut per_agent = Vec::new();
        let mut by_rule = BTreeMap::new();
        let mut to_raise = Vec::new();
        let mut clients: Vec<&String> = credentials
            .keys()
            .filter(|c| client_id.is_none_or(|want| want == c.as_str()))
            .collect();
        clients.sort();
        for client in clients {
            let Some(c) = credentials.get(client) else {
                continue;
            };
            let ctx = ComplianceContext {
                resources_used: resources.get(client),
                trusted_issuers: trusted,
            };
            let findings = compliance::evaluate(c, &ctx, &self.inner.config.compliance, now);
            for f in &findings {
                *by_rule.entry(f.rule.to_owned()).or_insert(0) += 1;
                to_raise.push((
                    alert_of(f.clone(), AlertCategory::Compliance, c, now),
                    c.clone(),
                ));
            }
            per_agent.push(AgentCompliance {
                client_id: c.client_id.clone(),
                credential_id: c.credential_id.clone(),
                issuer: c.issuer.clone(),
                local: c.local,
                findings,
            });
        }
        let compliant = per_agent.iter().filter(|a| a.findings.is_empty()).count();
        let report = ComplianceReport {
            evaluated_at: now,
            agents: per_agent.len(),
            compliant,
            by_rule,
            per_agent,
        };
        Ok((report, to_raise))
    }

    /// Raises a domain-wide alert for a broken audit log.
    async fn audit_broken(&self, seq: i64, reason: &str) -> Result<(), MonitorError> {
        let now = self.inner.clock.now();
        let alert = NewAlert {
            rule: "audit.chain_broken".into(),
            category: AlertCategory::Audit,
            severity: Severity::Critical,
            score: 1.0,
            subject: DOMAIN_SUBJECT.into(),
            client_id: None,
            credential_id: None,
            summary: format!("the audit log is broken at event {seq}: {reason}"),
            evidence: json!({"seq": seq, "reason": reason}),
            recommended_action: "run `crossauthz audit verify`, preserve the database, investigate who had write access".into(),
            at: now,
        };
        self.raise(alert, None).await.map(|_| ())
    }

    /// Runs until `shutdown`: polls the audit log, re-evaluates compliance and signs
    /// checkpoints on their schedules. Errors are logged and retried at the next tick.
    pub async fn run(self, shutdown: CancellationToken) {
        let poll = Duration::from_millis(self.inner.config.poll_interval_ms.max(10));
        let compliance_every =
            Duration::from_secs(self.inner.config.compliance_interval_seconds.max(1));
        let checkpoint_every =
            Duration::from_secs(self.inner.config.checkpoint_interval_seconds.max(1));
        let checkpointer = self
            .inner
            .issuer
            .clone()
            .map(|i| Checkpointer::new(self.inner.audit.clone(), i));
        let mut last_compliance = tokio::time::Instant::now();
        let mut last_checkpoint = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(poll) => {}
            }
            let tick = tracing::info_span!(
                "monitor.tick",
                otel.name = "monitor.tick",
                service = AUDIT_SERVICE,
                domain = %self.inner.config.domain_did,
            );
            self.tick(
                checkpointer.as_ref(),
                compliance_every,
                checkpoint_every,
                &mut last_compliance,
                &mut last_checkpoint,
            )
            .instrument(tick)
            .await;
        }
    }

    /// One round of the background loop, in its own trace (`service = monitor`): the audit
    /// tail, then compliance and the checkpoint when they are due.
    async fn tick(
        &self,
        checkpointer: Option<&Checkpointer>,
        compliance_every: Duration,
        checkpoint_every: Duration,
        last_compliance: &mut tokio::time::Instant,
        last_checkpoint: &mut tokio::time::Instant,
    ) {
        loop {
            match self.process_batch().await {
                Ok(n) if n as u32 >= self.inner.config.batch_size => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, "monitor batch failed");
                    break;
                }
            }
        }
        if last_compliance.elapsed() >= compliance_every {
            *last_compliance = tokio::time::Instant::now();
            if let Err(e) = self.compliance_report(None).await {
                tracing::error!(error = %e, "compliance evaluation failed");
            }
        }
        if let Some(cp) = checkpointer
            && last_checkpoint.elapsed() >= checkpoint_every
        {
            *last_checkpoint = tokio::time::Instant::now();
            match cp.checkpoint().await {
                Ok(_) => {}
                Err(MonitorError::ChainBroken { seq, reason }) => {
                    tracing::error!(seq, reason, "audit log broken; no checkpoint signed");
                    if let Err(e) = self.audit_broken(seq, &reason).await {
                        tracing::error!(error = %e, "could not raise the audit alert");
                    }
                }
                Err(e) => tracing::error!(error = %e, "checkpoint failed"),
            }
        }
    }
}

fn alert_of(
    f: Finding,
    category: AlertCategory,
    c: &KnownCredential,
    at: DateTime<Utc>,
) -> NewAlert {
    NewAlert {
        rule: f.rule.to_owned(),
        category,
        severity: f.severity,
        score: f.score,
        subject: c.client_id.clone(),
        client_id: Some(c.client_id.clone()),
        credential_id: c.credential_id.clone(),
        summary: f.summary,
        evidence: f.evidence,
        recommended_action: f.recommended_action,
        at,
    }
}
