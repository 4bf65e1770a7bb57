//! Monitor store: alerts (compliance, threat, audit), per-agent behaviour baselines, the
//! credentials the monitor knows (local and foreign agents) and its position in the audit log.
//!
//! Alerts: at most one unresolved alert per `(rule, subject)`; a rule firing again bumps it
//! (`occurrences`, `last_seen`, the newest evidence, the highest score). Lifecycle: `open` →
//! `acknowledged` → `resolved` (or `open` → `resolved`); nothing leaves `resolved`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;

pub(crate) mod pg;
pub(crate) mod sqlite;

/// Largest page [`MonitorStore::list_alerts`] returns.
pub const MAX_ALERT_PAGE: u32 = 1000;

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertCategory {
    /// A compliance rule over a credential.
    Compliance,
    /// A behaviour detector over the audit stream.
    Threat,
    /// The audit log itself (a broken chain).
    Audit,
}

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Low,
    /// Look at it soon.
    Medium,
    /// Look at it now.
    High,
    /// Act now (auto-suspension may already have).
    Critical,
}

/// Where an alert is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised, nobody has looked.
    Open,
    /// Someone looked (and may have acted).
    Acknowledged,
    /// Closed; the rule may raise a new alert.
    Resolved,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),+ $(,)? }) => {
        impl $t {
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)+ _ => None }
            }
        }
    };
}
str_enum!(AlertCategory { Compliance => "compliance", Threat => "threat", Audit => "audit" });
str_enum!(Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" });
str_enum!(AlertState { Open => "open", Acknowledged => "acknowledged", Resolved => "resolved" });

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    /// The rule or detector (`attestation.expired`, `rate.spike`, …).
    pub rule: String,
    /// Compliance, threat or audit.
    pub category: AlertCategory,
    /// How bad.
    pub severity: Severity,
    /// Confidence / risk in `[0, 1]`.
    pub score: f64,
    /// What it is about (usually the agent's client_id; `domain` for the domain itself).
    pub subject: String,
    /// The agent concerned.
    pub client_id: Option<String>,
    /// The credential concerned.
    pub credential_id: Option<String>,
    /// One sentence.
    pub summary: String,
    /// The facts that made it fire.
    pub evidence: Value,
    /// What an operator should do.
    pub recommended_action: String,
    /// When it was observed.
    pub at: DateTime<Utc>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Its id.
    pub id: Uuid,
    /// The rule.
    pub rule: String,
    /// Category.
    pub category: AlertCategory,
    /// Severity.
    pub severity: Severity,
    /// Highest score seen.
    pub score: f64,
    /// Subject.
    pub subject: String,
    /// Agent.
    pub client_id: Option<String>,
    /// Credential.
    pub credential_id: Option<String>,
    /// Summary (of the latest occurrence).
    pub summary: String,
    /// Evidence (of the latest occurrence).
    pub evidence: Value,
    /// Recommended action.
    pub recommended_action: String,
    /// Lifecycle state.
    pub state: AlertState,
    /// First raised.
    pub first_seen: DateTime<Utc>,
    /// Last raised.
    pub last_seen: DateTime<Utc>,
    /// How often raised while unresolved.
    pub occurrences: i64,
    /// Who acknowledged.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who resolved.
    pub resolved_by: Option<String>,
    /// When.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The operator's note.
    pub note: Option<String>,
    /// What the monitor did about it (`suspended <credential id>`, …).
    pub action: Option<String>,
}

/// Which alerts [`MonitorStore::list_alerts`] returns, newest `last_seen` first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertFilter {
    /// Only this state.
    pub state: Option<AlertState>,
    /// Only this category.
    pub category: Option<AlertCategory>,
    /// Only this agent.
    pub client_id: Option<String>,
    /// At most this many (1 ..= [`MAX_ALERT_PAGE`]; 0 means 100).
    pub limit: u32,
}

/// An agent credential the monitor knows, with its verified claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownCredential {
    /// The agent (CIMD URL).
    pub client_id: String,
    /// The credential id.
    pub credential_id: Option<String>,
    /// Its issuer (DID).
    pub issuer: String,
    /// Its issuer domain.
    pub issuer_domain: Option<String>,
    /// `vc+jwt` or `dc+sd-jwt`.
    pub format: String,
    /// The verified subject claims.
    pub claims: Value,
    /// End of validity.
    pub valid_until: DateTime<Utc>,
    /// A fingerprint of the agent's keys (RFC 7638 thumbprints, sorted), if known.
    pub holder_key: Option<String>,
    /// This domain's own agent or a foreign one.
    pub local: bool,
    /// When the monitor last saw it.
    pub observed_at: DateTime<Utc>,
}

/// Storage of the monitor.
#[async_trait]
pub trait MonitorStore: Send + Sync + std::fmt::Debug {
    /// Raises an alert or bumps the unresolved one of the same rule and subject. Returns the
    /// alert and whether it is new.
    async fn raise_alert(&self, alert: &NewAlert) -> Result<(Alert, bool), StoreError>;

    /// One alert.
    async fn get_alert(&self, id: Uuid) -> Result<Option<Alert>, StoreError>;

    /// Alerts matching the filter.
    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>, StoreError>;

    /// `open` → `acknowledged`. Anything else is `InvalidTransition`; unknown is `NotFound`.
    async fn acknowledge_alert(
        &self,
        id: Uuid,
        by: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Alert, StoreError>;

    /// `open` or `acknowledged` → `resolved`.
    async fn resolve_alert(
        &self,
        id: Uuid,
        by: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Alert, StoreError>;

    /// Records what the monitor did about an alert.
    async fn set_alert_action(&self, id: Uuid, action: &str) -> Result<(), StoreError>;

    /// Stores an agent's baseline.
    async fn put_baseline(
        &self,
        client_id: &str,
        baseline: &Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every stored baseline.
    async fn baselines(&self) -> Result<Vec<(String, Value)>, StoreError>;

    /// Stores (or replaces) what the monitor knows of an agent's credential.
    async fn put_credential(&self, credential: &KnownCredential) -> Result<(), StoreError>;

    /// Every known credential.
    async fn credentials(&self) -> Result<Vec<KnownCredential>, StoreError>;

    /// The audit seq a consumer has processed (0 when never).
    async fn cursor(&self, name: &str) -> Result<i64, StoreError>;

    /// Moves a consumer's cursor (never backwards).
    async fn set_cursor(&self, name: &str, seq: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AlertRow {
    pub(crate) id: Uuid,
    pub(crate) rule: String,
    pub(crate) category: String,
    pub(crate) severity: String,
    pub(crate) score: f64,
    pub(crate) subject: String,
    pub(crate) client_id: Option<String>,
    pub(crate) credential_id: Option<String>,
    pub(crate) summary: String,
    pub(crate) evidence: Json<Value>,
    pub(crate) recommended_action: String,
    pub(crate) state: String,
    pub(crate) first_seen: DateTime<Utc>,
    pub(crate) last_seen: DateTime<Utc>,
    pub(crate) occurrences: i64,
    pub(crate) acknowledged_by: Option<String>,
    pub(crate) acknowledged_at: Option<DateTime<Utc>>,
    pub(crate) resolved_by: Option<String>,
    pub(crate) resolved_at: Option<DateTime<Utc>>,
    pub(crate) note: Option<String>,
    pub(crate) action: Option<String>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = StoreError;
    fn try_from(r: AlertRow) -> Result<Self, StoreError> {
        Ok(Alert {
            id: r.id,
            rule: r.rule,
            category: AlertCategory::parse(&r.category)
                .ok_or_else(|| StoreError::corrupt("alert category"))?,
            severity: Severity::parse(&r.severity)
                .ok_or_else(|| StoreError::corrupt("alert severity"))?,
            score: r.score,
            subject: r.subject,
            client_id: r.client_id,
            credential_id: r.credential_id,
            summary: r.summary,
            evidence: r.evidence.0,
            recommended_action: r.recommended_action,
            state: AlertState::parse(&r.state).ok_or_else(|| StoreError::corrupt("alert state"))?,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            occurrences: r.occurrences,
            acknowledged_by: r.acknowledged_by,
            acknowledged_at: r.acknowledged_at,
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_at,
            note: r.note,
            action: r.action,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CredentialRow {
    pub(crate) client_id: String,
    pub(crate) credential_id: Option<String>,
    pub(crate) issuer: String,
    pub(crate) issuer_domain: Option<String>,
    pub(crate) format: String,
    pub(crate) claims: Json<Value>,
    pub(crate) valid_until: DateTime<Utc>,
    pub(crate) holder_key: Option<String>,
    pub(crate) origin: String,
    pub(crate) observed_at: DateTime<Utc>,
}

impl TryFrom<CredentialRow> for KnownCredential {
    type Error = StoreError;
    fn try_from(r: CredentialRow) -> Result<Self, StoreError> {
        let local = match r.origin.as_str() {
            "local" => true,
            "foreign" => false,
            _ => return Err(StoreError::corrupt("credential origin")),
        };
        Ok(KnownCredential {
            client_id: r.client_id,
            credential_id: r.credential_id,
            issuer: r.issuer,
            issuer_domain: r.issuer_domain,
            format: r.format,
            claims: r.claims.0,
            valid_until: r.valid_until,
            holder_key: r.holder_key,
            local,
            observed_at: r.observed_at,
        })
    }
}

/// Checks an alert before it is stored.
pub(crate) fn check_alert(a: &NewAlert) -> Result<(), StoreError> {
    if a.rule.is_empty() || a.subject.is_empty() || a.summary.is_empty() {
        return Err(StoreError::invalid(
            "alert rule, subject and summary are required",
        ));
    }
    if !(0.0..=1.0).contains(&a.score) {
        return Err(StoreError::invalid("alert score must be within [0, 1]"));
    }
    Ok(())
}

/// The page size of a filter.
pub(crate) fn alert_limit(limit: u32) -> Result<i64, StoreError> {
    match limit {
        0 => Ok(100),
        l if l <= MAX_ALERT_PAGE => Ok(i64::from(l)),
        _ => Err(StoreError::invalid(format!(
            "limit must be at most {MAX_ALERT_PAGE}"
        ))),
    }
}

/// The transition check shared by both backends: `Ok` when `from` may go to `to`.
pub(crate) fn check_transition(from: AlertState, to: AlertState) -> Result<(), StoreError> {
    let ok = matches!(
        (from, to),
        (AlertState::Open, AlertState::Acknowledged)
            | (
                AlertState::Open | AlertState::Acknowledged,
                AlertState::Resolved
            )
    );
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidTransition {
            from: from.as_str(),
            to: to.as_str(),
        })
    }
}
