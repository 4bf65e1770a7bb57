//! Step 6: the domain's Cedar policy set (`cedar-policy` 4), default deny.
//!
//! The request model, one Cedar request per candidate scope:
//! - **principal** `Agent::"<client_id>"` with the verified claims as attributes:
//!   `hasCredential` (Bool), `clientHost` (String), `authorizedScopes` (Set of String),
//!   `complianceStandards` (Set of the standards whose `validUntil` is still in the future),
//!   and, when the credential has them, `agentType`, `issuer`, `issuerDomain`, `agentName`,
//!   `agentVersion`, `tenantId` (Strings), `clearance` (Long: public 0 … regulated 4),
//!   `trustScore` (Long, per mille: Cedar has no floats, so 0.94 is 940), `slsaLevel` (Long),
//!   `claims` (Record of every verified claim) and `extensions` (Record of the extension
//!   claims). JSON floats and nulls are dropped from records (not representable).
//! - **action** `Action::"<scope>"`: each requested scope is its own action
//!   (`action == Action::"logs:read"`), and the scope is also in `context.scope` so one policy
//!   can speak about a set of scopes held by the resource (`resource.openScopes.contains(context.scope)`).
//! - **resource** `Resource::"<resource indicator>"` with the stored resource's attributes, plus
//!   `scopes` (Set of String) and, when `sensitivity` is one of the clearance levels,
//!   `sensitivityLevel` (Long, same scale as `clearance`).
//! - **context** `{scope, grantType, requestedScopes, now}` (`now` in unix seconds).
//!
//! Policies are named by their `@id("…")` annotation (else Cedar's `policy0`, `policy1`, …); the
//! ids that determined each answer are reported. Templates are refused. An evaluation error in a
//! policy makes that policy not apply (Cedar semantics): write `has` guards.

use std::collections::{BTreeSet, HashMap, HashSet};

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression,
};
use chrono::{DateTime, Utc};
use crossauthz_core::profile::{AgentClaims, Clearance};
use serde_json::{Map, Value};

/// Entity type of the principal.
pub const PRINCIPAL_TYPE: &str = "Agent";
/// Entity type of the resource.
pub const RESOURCE_TYPE: &str = "Resource";
/// Entity type of actions.
pub const ACTION_TYPE: &str = "Action";
/// Deepest JSON nesting turned into Cedar records.
const MAX_DEPTH: usize = 16;

/// The example policy set shipped with the crate (`policies/example.cedar`).
pub const EXAMPLE_POLICIES: &str = include_str!("../policies/example.cedar");

/// Why a policy set was refused or could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The Cedar source does not parse; the text is Cedar's.
    #[error("Cedar parse error: {0}")]
    Parse(String),
    /// Two policies carry the same `@id`.
    #[error("two policies have the @id {0:?}")]
    DuplicateId(String),
    /// Policy templates are not supported (nothing links them).
    #[error("policy templates are not supported; write static policies")]
    Template,
    /// The entities or request could not be built (a Cedar error; should not happen).
    #[error("Cedar request could not be built: {0}")]
    Request(String),
}

/// A parsed policy set and its source.
#[derive(Debug, Clone)]
pub struct CompiledPolicies {
    set: PolicySet,
    ids: Vec<String>,
}

impl CompiledPolicies {
    /// The empty set: every request is denied.
    pub fn empty() -> Self {
        Self {
            set: PolicySet::new(),
            ids: Vec::new(),
        }
    }

    /// Parses Cedar source, naming each policy by its `@id` annotation.
    pub fn compile(source: &str) -> Result<Self, PolicyError> {
        let parsed: PolicySet = source.parse().map_err(|e: cedar_policy::ParseErrors| {
            PolicyError::Parse(
                e.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        if parsed.templates().next().is_some() {
            return Err(PolicyError::Template);
        }
        let mut set = PolicySet::new();
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        for policy in parsed.policies() {
            let id = policy
                .annotation("id")
                .map_or_else(|| policy.id().to_string(), str::to_owned);
            if !seen.insert(id.clone()) {
                return Err(PolicyError::DuplicateId(id));
            }
            set.add(policy.new_id(PolicyId::new(&id)))
                .map_err(|e| PolicyError::Parse(e.to_string()))?;
            ids.push(id);
        }
        Ok(Self { set, ids })
    }

    /// The policy ids, in source order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }
}

/// What the policy knows about the client.
#[derive(Debug, Clone)]
pub struct PrincipalFacts<'a> {
    /// The client_id.
    pub client_id: &'a str,
    /// The client_id's host.
    pub client_host: &'a str,
    /// The verified credential, if the client presented one.
    pub credential: Option<CredentialFacts<'a>>,
}

/// The verified credential's facts.
#[derive(Debug, Clone, Copy)]
pub struct CredentialFacts<'a> {
    /// Issuer DID.
    pub issuer: &'a str,
    /// The claims.
    pub claims: &'a AgentClaims,
    /// The claims as JSON.
    pub claims_json: &'a Value,
}

/// A resource as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceFacts<'a> {
    /// The resource indicator.
    pub resource: &'a str,
    /// Scopes it offers.
    pub scopes: &'a [String],
    /// Its configured attributes (a JSON object).
    pub attributes: &'a Value,
}

/// The request besides principal and resource.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The OAuth grant type.
    pub grant_type: &'a str,
    /// Every requested scope.
    pub requested_scopes: &'a [String],
    /// The time of the decision.
    pub now: DateTime<Utc>,
}

/// The policy's answer for a list of candidate scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyOutcome {
    /// The permitted scopes, in candidate order.
    pub permitted: Vec<String>,
    /// The policies that determined the answers (permits of permitted scopes, forbids of
    /// forbidden ones), sorted.
    pub policy_ids: Vec<String>,
}

fn uid(type_name: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let ty: EntityTypeName = type_name
        .parse()
        .map_err(|e: cedar_policy::ParseErrors| PolicyError::Request(e.to_string()))?;
    Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn string_set<'a>(items: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(items.into_iter().map(string))
}

/// A JSON value as a Cedar value: strings, booleans, integers, arrays (sets) and objects
/// (records). Floats, nulls and deeper nesting are dropped (`None`). Keys are taken literally:
/// no `__entity`/`__extn` escape is interpreted, so a claim cannot forge an entity reference.
pub fn json_to_cedar(v: &Value, depth: usize) -> Option<RestrictedExpression> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(RestrictedExpression::new_bool(*b)),
        Value::Number(n) => n.as_i64().map(RestrictedExpression::new_long),
        Value::String(s) => Some(string(s)),
        Value::Array(items) => Some(RestrictedExpression::new_set(
            items.iter().filter_map(|i| json_to_cedar(i, depth + 1)),
        )),
        Value::Object(map) => record(map, depth + 1),
    }
}

fn record(map: &Map<String, Value>, depth: usize) -> Option<RestrictedExpression> {
    RestrictedExpression::new_record(
        map.iter()
            .filter_map(|(k, v)| json_to_cedar(v, depth).map(|e| (k.clone(), e))),
    )
    .ok()
}

/// Clearance / sensitivity on one scale: public 0 … regulated 4.
pub fn level(c: Clearance) -> i64 {
    match c {
        Clearance::Public => 0,
        Clearance::Internal => 1,
        Clearance::Confidential => 2,
        Clearance::Restricted => 3,
        Clearance::Regulated => 4,
    }
}

/// The principal's attributes (see the module doc).
fn principal_attrs(
    p: &PrincipalFacts<'_>,
    now: DateTime<Utc>,
) -> HashMap<String, RestrictedExpression> {
    let mut attrs = HashMap::new();
    attrs.insert("clientHost".into(), string(p.client_host));
    attrs.insert(
        "hasCredential".into(),
        RestrictedExpression::new_bool(p.credential.is_some()),
    );
    let Some(cred) = &p.credential else {
        attrs.insert("authorizedScopes".into(), string_set([]));
        attrs.insert("complianceStandards".into(), string_set([]));
        return attrs;
    };
    let c = cred.claims;
    attrs.insert(
        "authorizedScopes".into(),
        string_set(c.authorized_scopes.iter().map(|s| s.as_str())),
    );
    let standards: BTreeSet<&str> = c
        .compliance_attestations
        .iter()
        .filter(|a| a.valid_until > now)
        .map(|a| a.standard.as_str())
        .collect();
    attrs.insert("complianceStandards".into(), string_set(standards));
    attrs.insert("agentType".into(), string(c.agent_type.as_str()));
    attrs.insert("issuer".into(), string(cred.issuer));
    attrs.insert("issuerDomain".into(), string(&c.issuer_domain));
    for (name, value) in [
        ("agentName", &c.agent_name),
        ("agentVersion", &c.agent_version),
        ("tenantId", &c.tenant_id),
    ] {
        if let Some(v) = value {
            attrs.insert(name.into(), string(v));
        }
    }
    if let Some(clearance) = c.data_sensitivity_clearance {
        attrs.insert(
            "clearance".into(),
            RestrictedExpression::new_long(level(clearance)),
        );
    }
    if let Some(signals) = &c.trust_signals
        && signals.trust_score.is_finite()
    {
        let per_mille = (signals.trust_score * 1000.0).round().clamp(0.0, 1000.0) as i64;
        attrs.insert(
            "trustScore".into(),
            RestrictedExpression::new_long(per_mille),
        );
    }
    if let Some(level) = c.provenance.as_ref().and_then(|p| p.slsa_level) {
        attrs.insert(
            "slsaLevel".into(),
            RestrictedExpression::new_long(i64::from(level)),
        );
    }
    if let Some(claims) = cred.claims_json.as_object().and_then(|m| record(m, 1)) {
        attrs.insert("claims".into(), claims);
    }
    if let Some(ext) = record(&c.extensions, 1) {
        attrs.insert("extensions".into(), ext);
    }
    attrs
}

/// The resource's attributes (see the module doc).
fn resource_attrs(r: &ResourceFacts<'_>) -> HashMap<String, RestrictedExpression> {
    let mut attrs = HashMap::new();
    if let Some(map) = r.attributes.as_object() {
        for (k, v) in map {
            if let Some(e) = json_to_cedar(v, 1) {
                attrs.insert(k.clone(), e);
            }
        }
        if let Some(level) = map
            .get("sensitivity")
            .and_then(Value::as_str)
            .and_then(|s| Clearance::parse(s).ok())
            .map(level)
        {
            attrs.insert(
                "sensitivityLevel".into(),
                RestrictedExpression::new_long(level),
            );
        }
    }
    attrs.insert(
        "scopes".into(),
        string_set(r.scopes.iter().map(String::as_str)),
    );
    attrs
}

impl CompiledPolicies {
    /// Asks the policy about each candidate scope. Default deny: a scope is permitted only if
    /// some `permit` applies and no `forbid` does.
    pub fn evaluate(
        &self,
        principal: &PrincipalFacts<'_>,
        resource: &ResourceFacts<'_>,
        request: &RequestFacts<'_>,
        candidates: &[String],
    ) -> Result<PolicyOutcome, PolicyError> {
        let principal_uid = uid(PRINCIPAL_TYPE, principal.client_id)?;
        let resource_uid = uid(RESOURCE_TYPE, resource.resource)?;
        let entities = Entities::from_entities(
            [
                Entity::new(
                    principal_uid.clone(),
                    principal_attrs(principal, request.now),
                    HashSet::new(),
                )
                .map_err(|e| PolicyError::Request(e.to_string()))?,
                Entity::new(
                    resource_uid.clone(),
                    resource_attrs(resource),
                    HashSet::new(),
                )
                .map_err(|e| PolicyError::Request(e.to_string()))?,
            ],
            None,
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let authorizer = Authorizer::new();
        let mut outcome = PolicyOutcome::default();
        let mut ids = BTreeSet::new();
        for scope in candidates {
            let context = Context::from_pairs([
                ("scope".to_owned(), string(scope)),
                ("grantType".to_owned(), string(request.grant_type)),
                (
                    "requestedScopes".to_owned(),
                    string_set(request.requested_scopes.iter().map(String::as_str)),
                ),
                (
                    "now".to_owned(),
                    RestrictedExpression::new_long(request.now.timestamp()),
                ),
            ])
            .map_err(|e| PolicyError::Request(e.to_string()))?;
            let cedar_request = Request::new(
                principal_uid.clone(),
                uid(ACTION_TYPE, scope)?,
                resource_uid.clone(),
                context,
                None,
            )
            .map_err(|e| PolicyError::Request(e.to_string()))?;
            let response = authorizer.is_authorized(&cedar_request, &self.set, &entities);
            for error in response.diagnostics().errors() {
                tracing::warn!(%scope, error = %error, "Cedar policy evaluation error (policy skipped)");
            }
            ids.extend(response.diagnostics().reason().map(ToString::to_string));
            if response.decision() == Decision::Allow {
                outcome.permitted.push(scope.clone());
            }
        }
        outcome.policy_ids = ids.into_iter().collect();
        Ok(outcome)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crossauthz_core::profile::{AgentType, ComplianceAttestation, TrustSignals};
    use crossauthz_core::scope::ScopeSet;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn claims(
        standards: &[(&str, i64)],
        score: Option<f64>,
        clearance: Option<Clearance>,
    ) -> AgentClaims {
        let mut c = AgentClaims::new(
            AgentType::ToolAgent,
            ScopeSet::parse("logs:read records:read").unwrap(),
            "alpha.test",
        );
        c.compliance_attestations = standards
            .iter()
            .map(|(s, offset)| ComplianceAttestation {
                standard: (*s).into(),
                scope: None,
                valid_until: now() + chrono::TimeDelta::seconds(*offset),
            })
            .collect();
        c.trust_signals = score.map(|s| TrustSignals {
            trust_score: s,
            provider: "p".into(),
            timestamp: now(),
        });
        c.data_sensitivity_clearance = clearance;
        c
    }

    fn decide(
        policies: &CompiledPolicies,
        c: Option<&AgentClaims>,
        attributes: Value,
        scopes: &[&str],
    ) -> PolicyOutcome {
        let json = c
            .map(|c| serde_json::to_value(c).unwrap())
            .unwrap_or(Value::Null);
        let principal = PrincipalFacts {
            client_id: "https://alpha.test/agents/1/client-metadata.json",
            client_host: "alpha.test",
            credential: c.map(|claims| CredentialFacts {
                issuer: "did:web:alpha.test",
                claims,
                claims_json: &json,
            }),
        };
        let offered: Vec<String> = vec![
            "logs:read".into(),
            "records:read".into(),
            "status:read".into(),
        ];
        let resource = ResourceFacts {
            resource: "https://mcp.beta.test/mcp",
            scopes: &offered,
            attributes: &attributes,
        };
        let requested: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let request = RequestFacts {
            grant_type: "client_credentials",
            requested_scopes: &requested,
            now: now(),
        };
        policies
            .evaluate(&principal, &resource, &request, &requested)
            .unwrap()
    }

    fn example() -> CompiledPolicies {
        CompiledPolicies::compile(EXAMPLE_POLICIES).unwrap()
    }

    fn regulated() -> Value {
        json!({"sensitivity": "regulated", "openScopes": ["status:read"]})
    }

    #[test]
    fn default_deny_with_no_policies() {
        let out = decide(&CompiledPolicies::empty(), None, json!({}), &["logs:read"]);
        assert!(out.permitted.is_empty());
        assert!(out.policy_ids.is_empty());
    }

    #[test]
    fn example_set_parses_with_named_policies() {
        let p = example();
        assert!(
            p.ids().iter().all(|id| !id.starts_with("policy")),
            "{:?}",
            p.ids()
        );
        assert!(p.ids().len() >= 4);
    }

    #[test]
    fn example_regulated_resource_needs_iso27001_gdpr_and_trust_score() {
        let good = claims(
            &[("ISO-27001", 3600), ("GDPR", 3600)],
            Some(0.94),
            Some(Clearance::Regulated),
        );
        let out = decide(&example(), Some(&good), regulated(), &["logs:read"]);
        assert_eq!(out.permitted, vec!["logs:read"]);
        assert!(
            out.policy_ids
                .contains(&"regulated-requires-attestations-and-trust".to_owned())
        );
    }

    #[test]
    fn example_trust_score_alone_is_never_enough() {
        let score_only = claims(&[], Some(0.99), Some(Clearance::Regulated));
        assert!(
            decide(&example(), Some(&score_only), regulated(), &["logs:read"])
                .permitted
                .is_empty()
        );
        let one_standard = claims(
            &[("ISO-27001", 3600)],
            Some(0.99),
            Some(Clearance::Regulated),
        );
        assert!(
            decide(&example(), Some(&one_standard), regulated(), &["logs:read"])
                .permitted
                .is_empty()
        );
    }

    #[test]
    fn example_expired_attestation_does_not_count() {
        let expired = claims(
            &[("ISO-27001", -1), ("GDPR", 3600)],
            Some(0.94),
            Some(Clearance::Regulated),
        );
        assert!(
            decide(&example(), Some(&expired), regulated(), &["logs:read"])
                .permitted
                .is_empty()
        );
    }

    #[test]
    fn example_low_trust_score_is_refused_on_regulated() {
        let low = claims(
            &[("ISO-27001", 3600), ("GDPR", 3600)],
            Some(0.5),
            Some(Clearance::Regulated),
        );
        assert!(
            decide(&example(), Some(&low), regulated(), &["logs:read"])
                .permitted
                .is_empty()
        );
    }

    #[test]
    fn example_plain_client_gets_only_open_scopes() {
        let out = decide(&example(), None, regulated(), &["logs:read", "status:read"]);
        assert_eq!(out.permitted, vec!["status:read"]);
        let out = decide(
            &example(),
            None,
            json!({"sensitivity": "internal"}),
            &["logs:read"],
        );
        assert!(out.permitted.is_empty());
    }

    #[test]
    fn example_clearance_covers_unregulated_sensitivity() {
        let c = claims(&[], None, Some(Clearance::Internal));
        let out = decide(
            &example(),
            Some(&c),
            json!({"sensitivity": "internal"}),
            &["logs:read"],
        );
        assert_eq!(out.permitted, vec!["logs:read"]);
        let out = decide(
            &example(),
            Some(&c),
            json!({"sensitivity": "confidential"}),
            &["logs:read"],
        );
        assert!(out.permitted.is_empty());
    }

    #[test]
    fn example_forbid_wins_and_is_reported() {
        let mut c = claims(
            &[("ISO-27001", 3600), ("GDPR", 3600)],
            Some(0.94),
            Some(Clearance::Regulated),
        );
        c.agent_type = AgentType::EphemeralAgent;
        let out = decide(&example(), Some(&c), regulated(), &["logs:read"]);
        assert!(out.permitted.is_empty());
        assert!(
            out.policy_ids
                .contains(&"no-ephemeral-agents-on-regulated".to_owned()),
            "{:?}",
            out.policy_ids
        );
    }

    #[test]
    fn extension_claims_are_visible_and_cannot_forge_entities() {
        let mut c = claims(&[], None, None);
        c.extensions.insert("costCenter".into(), json!("cc-7"));
        c.extensions.insert("level".into(), json!(3));
        c.extensions.insert("ratio".into(), json!(0.5));
        c.extensions.insert(
            "evil".into(),
            json!({"__entity": {"type": "Admin", "id": "root"}}),
        );
        let p = CompiledPolicies::compile(
            r#"@id("ext") permit(principal, action, resource) when {
                 principal.extensions.costCenter == "cc-7" && principal.extensions.level == 3 &&
                 !(principal.extensions has ratio) && principal.extensions.evil has "__entity" };"#,
        )
        .unwrap();
        let out = decide(&p, Some(&c), json!({}), &["logs:read"]);
        assert_eq!(out.permitted, vec!["logs:read"]);
        assert_eq!(out.policy_ids, vec!["ext"]);
    }

    #[test]
    fn bad_policy_text_reports_cedars_error() {
        let err =
            CompiledPolicies::compile("permit(principal, action, resource) when { principal. };")
                .unwrap_err();
        assert!(
            matches!(err, PolicyError::Parse(ref t) if !t.is_empty()),
            "{err:?}"
        );
        let dup = CompiledPolicies::compile(
            r#"@id("a") permit(principal, action, resource); @id("a") forbid(principal, action, resource);"#,
        )
        .unwrap_err();
        assert!(matches!(dup, PolicyError::DuplicateId(ref id) if id == "a"));
        let template =
            CompiledPolicies::compile("permit(principal == ?principal, action, resource);")
                .unwrap_err();
        assert!(matches!(template, PolicyError::Template));
    }

    #[test]
    fn unnamed_policies_keep_cedar_ids() {
        let p = CompiledPolicies::compile("permit(principal, action, resource);").unwrap();
        assert_eq!(p.ids(), &["policy0".to_owned()]);
    }

    proptest::proptest! {
        #[test]
        fn policy_compiler_never_panics(s in "\\PC{0,200}") {
            let _ = CompiledPolicies::compile(&s);
        }

        #[test]
        fn json_to_cedar_never_panics(s in "\\PC{0,100}") {
            if let Ok(v) = serde_json::from_str::<Value>(&s) {
                let _ = json_to_cedar(&v, 0);
            }
        }
    }
}
