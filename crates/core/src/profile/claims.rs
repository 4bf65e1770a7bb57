//! The claims of the Agent Authorization Credential (DESIGN §5) and their validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ProfileError;
use crate::scope::{Scope, ScopeSet};

/// The kind of agent (`agentType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentType {
    /// `tool-agent`.
    ToolAgent,
    /// `orchestrator-agent`.
    OrchestratorAgent,
    /// `workflow-agent`.
    WorkflowAgent,
    /// `system-agent`.
    SystemAgent,
    /// `ephemeral-agent`.
    EphemeralAgent,
}

impl AgentType {
    /// All agent types.
    pub const ALL: [AgentType; 5] = [
        Self::ToolAgent,
        Self::OrchestratorAgent,
        Self::WorkflowAgent,
        Self::SystemAgent,
        Self::EphemeralAgent,
    ];

    /// The wire value, e.g. `tool-agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToolAgent => "tool-agent",
            Self::OrchestratorAgent => "orchestrator-agent",
            Self::WorkflowAgent => "workflow-agent",
            Self::SystemAgent => "system-agent",
            Self::EphemeralAgent => "ephemeral-agent",
        }
    }

    /// Parses the wire value.
    pub fn parse(s: &str) -> Result<Self, ProfileError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ProfileError::UnknownAgentType(s.to_owned()))
    }
}

/// Data sensitivity clearance, ordered `Public < Internal < Confidential < Restricted < Regulated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Clearance {
    /// `public`.
    Public,
    /// `internal`.
    Internal,
    /// `confidential`.
    Confidential,
    /// `restricted`.
    Restricted,
    /// `regulated`.
    Regulated,
}

impl Clearance {
    /// All levels, lowest first.
    pub const ALL: [Clearance; 5] = [
        Self::Public,
        Self::Internal,
        Self::Confidential,
        Self::Restricted,
        Self::Regulated,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
            Self::Restricted => "restricted",
            Self::Regulated => "regulated",
        }
    }

    /// Parses the wire value.
    pub fn parse(s: &str) -> Result<Self, ProfileError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ProfileError::UnknownClearance(s.to_owned()))
    }
}

/// One compliance attestation, e.g. `{standard: "SOC2", scope: "production", validUntil}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceAttestation {
    /// The standard (e.g. `ISO27001`).
    pub standard: String,
    /// What the attestation covers (free text, not an OAuth scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// End of the attestation's validity.
    pub valid_until: DateTime<Utc>,
}

/// Trust signals from a scoring provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustSignals {
    /// Score in `[0, 1]`.
    pub trust_score: f64,
    /// Who computed it.
    pub provider: String,
    /// When.
    pub timestamp: DateTime<Utc>,
}

/// Operational constraints; unknown members are kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationalConstraints {
    /// Allowed hours, free text such as `"08:00-18:00 UTC"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_hours: Option<String>,
    /// Rate limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_minute: Option<u32>,
    /// Resource indicators the agent may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_resources: Vec<String>,
    /// Other constraints.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Information about the model behind the agent; unknown members are kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// Model provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Model version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Other members.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Build provenance; unknown members are kept.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// Build identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// Source repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Source commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// SLSA level, 0–4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slsa_level: Option<u8>,
    /// Other members.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Delegation rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delegation {
    /// Whether the agent may delegate at all.
    pub permitted: bool,
    /// Maximum delegation chain depth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u32>,
    /// Agent types that may receive a delegation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_delegatee_types: Vec<AgentType>,
    /// Scopes that must never be delegated.
    #[serde(default, skip_serializing_if = "ScopeSet::is_empty")]
    pub non_delegatable: ScopeSet,
}

/// The claims of an Agent Authorization Credential (camelCase on the wire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentClaims {
    /// Required: the kind of agent.
    pub agent_type: AgentType,
    /// Required: the scopes the issuer authorizes (JSON array of scope tokens).
    pub authorized_scopes: ScopeSet,
    /// Required: the issuer's domain (host, optional port).
    pub issuer_domain: String,
    /// Agent display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Agent version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// Tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Highest data sensitivity the agent may handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sensitivity_clearance: Option<Clearance>,
    /// Compliance attestations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compliance_attestations: Vec<ComplianceAttestation>,
    /// Trust signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_signals: Option<TrustSignals>,
    /// Operational constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operational_constraints: Option<OperationalConstraints>,
    /// Model information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_info: Option<ModelInfo>,
    /// Build provenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// Identifiers of policies bound to this credential.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_bindings: Vec<String>,
    /// Delegation rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<Delegation>,
    /// Any other claim, kept as received.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// Wire names of the profile's own claims.
pub(crate) const PROFILE_CLAIMS: &[&str] = &[
    "agentType",
    "authorizedScopes",
    "issuerDomain",
    "agentName",
    "agentVersion",
    "tenantId",
    "dataSensitivityClearance",
    "complianceAttestations",
    "trustSignals",
    "operationalConstraints",
    "modelInfo",
    "provenance",
    "policyBindings",
    "delegation",
];

/// Names no extension claim may take: the subject `id`, JWT and SD-JWT (VC) claims.
pub(crate) const RESERVED_NAMES: &[&str] = &[
    "id",
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "vct",
    "vct#integrity",
    "cnf",
    "status",
    "_sd",
    "_sd_alg",
    "...",
];

fn check_issuer_domain(domain: &str) -> Result<(), ProfileError> {
    let bad = || ProfileError::InvalidIssuerDomain(domain.to_owned());
    if domain.is_empty()
        || !domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
    {
        return Err(bad());
    }
    let url = url::Url::parse(&format!("https://{domain}/")).map_err(|_| bad())?;
    let host = url.host_str().ok_or_else(bad)?;
    let rebuilt = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    if rebuilt == domain {
        Ok(())
    } else {
        Err(bad())
    }
}

impl AgentClaims {
    /// Claims with the three required members and nothing else.
    pub fn new(
        agent_type: AgentType,
        authorized_scopes: ScopeSet,
        issuer_domain: impl Into<String>,
    ) -> Self {
        Self {
            agent_type,
            authorized_scopes,
            issuer_domain: issuer_domain.into(),
            agent_name: None,
            agent_version: None,
            tenant_id: None,
            data_sensitivity_clearance: None,
            compliance_attestations: Vec::new(),
            trust_signals: None,
            operational_constraints: None,
            model_info: None,
            provenance: None,
            policy_bindings: Vec::new(),
            delegation: None,
            extensions: Map::new(),
        }
    }

    /// Checks the value rules serde cannot express: issuerDomain is a host name, trustScore in
    /// `[0, 1]`, slsaLevel 0–4, attestation standards non-empty, extension names not reserved.
    pub fn validate(&self) -> Result<(), ProfileError> {
        check_issuer_domain(&self.issuer_domain)?;
        if let Some(signals) = &self.trust_signals
            && !(0.0..=1.0).contains(&signals.trust_score)
        {
            return Err(ProfileError::TrustScoreOutOfRange(signals.trust_score));
        }
        if let Some(level) = self.provenance.as_ref().and_then(|p| p.slsa_level)
            && level > 4
        {
            return Err(ProfileError::InvalidSlsaLevel(level));
        }
        if let Some(index) = self
            .compliance_attestations
            .iter()
            .position(|a| a.standard.trim().is_empty())
        {
            return Err(ProfileError::EmptyAttestationStandard { index });
        }
        if let Some(name) = self
            .extensions
            .keys()
            .find(|k| RESERVED_NAMES.contains(&k.as_str()) || PROFILE_CLAIMS.contains(&k.as_str()))
        {
            return Err(ProfileError::ReservedExtensionName(name.clone()));
        }
        Ok(())
    }

    /// Reads claims from a JSON object that holds ONLY claims (no `id`, no JWT claims): typed
    /// errors for the required claims, then the profile types, then [`validate`](Self::validate).
    pub fn from_claims_object(obj: Map<String, Value>) -> Result<Self, ProfileError> {
        match obj.get("agentType") {
            None => return Err(ProfileError::MissingClaim { claim: "agentType" }),
            Some(Value::String(s)) => {
                AgentType::parse(s)?;
            }
            Some(_) => return Err(ProfileError::WrongClaimType { claim: "agentType" }),
        }
        match obj.get("authorizedScopes") {
            None => {
                return Err(ProfileError::MissingClaim {
                    claim: "authorizedScopes",
                });
            }
            Some(Value::Array(items)) => {
                for item in items {
                    let s = item.as_str().ok_or(ProfileError::WrongClaimType {
                        claim: "authorizedScopes",
                    })?;
                    Scope::parse(s).map_err(|source| ProfileError::InvalidScope {
                        scope: s.to_owned(),
                        source,
                    })?;
                }
            }
            Some(_) => {
                return Err(ProfileError::WrongClaimType {
                    claim: "authorizedScopes",
                });
            }
        }
        match obj.get("issuerDomain") {
            None => {
                return Err(ProfileError::MissingClaim {
                    claim: "issuerDomain",
                });
            }
            Some(Value::String(_)) => {}
            Some(_) => {
                return Err(ProfileError::WrongClaimType {
                    claim: "issuerDomain",
                });
            }
        }
        match obj.get("dataSensitivityClearance") {
            None => {}
            Some(Value::String(s)) => {
                Clearance::parse(s)?;
            }
            Some(_) => {
                return Err(ProfileError::WrongClaimType {
                    claim: "dataSensitivityClearance",
                });
            }
        }
        let claims: AgentClaims = serde_json::from_value(Value::Object(obj))
            .map_err(|e| ProfileError::InvalidClaims(e.to_string()))?;
        claims.validate()?;
        Ok(claims)
    }

    /// The claims as a JSON object (validated first).
    pub fn to_claims_object(&self) -> Result<Map<String, Value>, ProfileError> {
        self.validate()?;
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ProfileError::Serialize(
                "claims are not an object".to_owned(),
            )),
            Err(e) => Err(ProfileError::Serialize(e.to_string())),
        }
    }

    /// The claims the domain's monitor evaluates (see [`monitoring_view`]).
    pub fn monitoring_view(&self) -> Value {
        serde_json::to_value(self)
            .map(|v| monitoring_view(&v))
            .unwrap_or(Value::Null)
    }

    /// Compliance attestations whose `validUntil` is at or before `now` (for the compliance
    /// monitor).
    pub fn expired_attestations(&self, now: DateTime<Utc>) -> Vec<&ComplianceAttestation> {
        self.compliance_attestations
            .iter()
            .filter(|a| a.valid_until <= now)
            .collect()
    }
}

/// The claims the domain's monitor evaluates, as recorded in audit events (`credential.issued`,
/// `grant.decision`), picked from a claims object in the profile's camelCase form: agent type,
/// authorized scopes, issuer domain, clearance, compliance attestations, trust signals and the
/// machine-checkable operational constraints (`allowedHours`, `maxRequestsPerMinute`,
/// `allowedResources`). Free-text and extension claims are left out (data minimisation);
/// nothing here is a secret.
pub fn monitoring_view(claims: &Value) -> Value {
    const TOP: [&str; 6] = [
        "agentType",
        "authorizedScopes",
        "issuerDomain",
        "dataSensitivityClearance",
        "complianceAttestations",
        "trustSignals",
    ];
    const CONSTRAINTS: [&str; 3] = ["allowedHours", "maxRequestsPerMinute", "allowedResources"];
    let mut view = Map::new();
    for k in TOP {
        if let Some(v) = claims.get(k) {
            view.insert(k.to_owned(), v.clone());
        }
    }
    if let Some(Value::Object(oc)) = claims.get("operationalConstraints") {
        let picked: Map<String, Value> = oc
            .iter()
            .filter(|(k, _)| CONSTRAINTS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        view.insert("operationalConstraints".to_owned(), Value::Object(picked));
    }
    Value::Object(view)
}

#[cfg(test)]
mod monitoring_view_tests {
    use super::monitoring_view;
    use serde_json::json;

    // Only the evaluated claims are kept: free text, model, provenance and extensions are not.
    #[test]
    fn monitoring_view_keeps_only_the_evaluated_claims() {
        let claims = json!({
            "agentType": "tool-agent", "authorizedScopes": ["logs:read"], "issuerDomain": "a.example",
            "agentName": "secret project", "modelInfo": {"name": "m"}, "x-internal": 1,
            "complianceAttestations": [{"standard": "SOC2", "validUntil": "2030-01-01T00:00:00Z"}],
            "trustSignals": {"trustScore": 0.9, "provider": "p", "timestamp": "2026-01-01T00:00:00Z"},
            "operationalConstraints": {"allowedHours": "08:00-18:00 UTC", "notes": "free text"}
        });
        assert_eq!(
            monitoring_view(&claims),
            json!({
                "agentType": "tool-agent", "authorizedScopes": ["logs:read"], "issuerDomain": "a.example",
                "complianceAttestations": [{"standard": "SOC2", "validUntil": "2030-01-01T00:00:00Z"}],
                "trustSignals": {"trustScore": 0.9, "provider": "p", "timestamp": "2026-01-01T00:00:00Z"},
                "operationalConstraints": {"allowedHours": "08:00-18:00 UTC"}
            })
        );
    }
}
