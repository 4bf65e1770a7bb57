//! Compliance monitoring: the domain's rules over each known agent's verified credential claims
//! (DESIGN §5 profile), evaluated on a schedule and whenever a new credential is seen.
//!
//! | rule | fires when | severity |
//! |---|---|---|
//! | `attestation.expired` | a `complianceAttestations[].validUntil` is past (or unreadable: fail closed) | high |
//! | `attestation.expiring` | one ends within `attestation_warning_days` | medium |
//! | `standard.missing` | a resource the agent used requires a standard it has no valid attestation for | high |
//! | `trust.low` | `trustSignals.trustScore` is under `min_trust_score` (or there is none) | medium |
//! | `trust.stale` | `trustSignals.timestamp` is older than `max_trust_age_days` | low |
//! | `credential.expiring` | the credential ends within `credential_warning_minutes` (default 10: credentials are short-lived and re-issued) or has ended | medium / high |
//! | `issuer.untrusted` | a foreign credential's issuer is no longer on the trust list | critical |
//!
//! Each finding carries its evidence (the claim values and the thresholds) and a recommended
//! action.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use crossauthz_store::{KnownCredential, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The domain's compliance rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplianceConfig {
    /// Warn this many days before an attestation ends.
    pub attestation_warning_days: i64,
    /// Warn this many minutes before a credential ends.
    pub credential_warning_minutes: i64,
    /// Lowest acceptable trust score.
    pub min_trust_score: f64,
    /// Oldest acceptable trust signal, in days.
    pub max_trust_age_days: i64,
    /// Standards an agent must attest (validly) to use a resource: resource URL → standards.
    pub required_standards: BTreeMap<String, Vec<String>>,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        Self {
            attestation_warning_days: 30,
            credential_warning_minutes: 10,
            min_trust_score: 0.5,
            max_trust_age_days: 90,
            required_standards: BTreeMap::new(),
        }
    }
}

/// One discrepancy (a compliance rule or a threat detector that fired).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule (`attestation.expired`, …).
    pub rule: &'static str,
    /// How bad.
    pub severity: Severity,
    /// Risk / confidence in `[0, 1]`.
    pub score: f64,
    /// One sentence.
    pub summary: String,
    /// The facts.
    pub evidence: Value,
    /// What to do.
    pub recommended_action: String,
}

/// What the evaluation knows besides the credential.
#[derive(Debug, Clone, Default)]
pub struct ComplianceContext<'a> {
    /// Resources the agent has requested (from the audit log).
    pub resources_used: Option<&'a BTreeSet<String>>,
    /// The issuers on this domain's trust list (`None`: unknown, the rule is skipped).
    pub trusted_issuers: Option<&'a BTreeSet<String>>,
}

fn date(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Evaluates every rule over one credential at `now`.
pub fn evaluate(
    credential: &KnownCredential,
    context: &ComplianceContext<'_>,
    config: &ComplianceConfig,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let claims = &credential.claims;
    let attestations: Vec<&Value> = claims
        .get("complianceAttestations")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();

    // Attestations: expired (or unreadable) and expiring.
    let warn = now + Duration::days(config.attestation_warning_days);
    let mut valid_standards = BTreeSet::new();
    for a in &attestations {
        let standard = a
            .get("standard")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        match date(a.get("validUntil")) {
            Some(until) if until <= now => out.push(Finding {
                rule: "attestation.expired",
                severity: Severity::High,
                score: 1.0,
                summary: format!("the {standard} attestation expired on {}", until.to_rfc3339()),
                evidence: json!({"standard": standard, "validUntil": until, "now": now}),
                recommended_action: format!(
                    "ask the issuer to re-attest {standard} and re-issue the credential; deny resources that require it meanwhile"
                ),
            }),
            Some(until) => {
                valid_standards.insert(standard.to_owned());
                if until <= warn {
                    out.push(Finding {
                        rule: "attestation.expiring",
                        severity: Severity::Medium,
                        score: 0.6,
                        summary: format!(
                            "the {standard} attestation expires on {} (within {} days)",
                            until.to_rfc3339(),
                            config.attestation_warning_days
                        ),
                        evidence: json!({"standard": standard, "validUntil": until,
                            "warningDays": config.attestation_warning_days}),
                        recommended_action: format!(
                            "renew the {standard} attestation before it expires"
                        ),
                    });
                }
            }
            None => out.push(Finding {
                rule: "attestation.expired",
                severity: Severity::High,
                score: 1.0,
                summary: format!("the {standard} attestation has no readable validUntil"),
                evidence: json!({"standard": standard, "attestation": a}),
                recommended_action: "re-issue the credential with a dated attestation".into(),
            }),
        }
    }

    // Standards required by the resources the agent uses.
    for resource in context.resources_used.into_iter().flatten() {
        let Some(required) = config.required_standards.get(resource) else {
            continue;
        };
        let missing: Vec<&String> = required
            .iter()
            .filter(|s| !valid_standards.contains(s.as_str()))
            .collect();
        if !missing.is_empty() {
            out.push(Finding {
                rule: "standard.missing",
                severity: Severity::High,
                score: 0.9,
                summary: format!(
                    "uses {resource}, which requires {} without a valid attestation",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                evidence: json!({"resource": resource, "required": required, "missing": missing,
                    "validAttestations": valid_standards}),
                recommended_action: format!(
                    "deny {resource} to this agent by policy until the standards are attested"
                ),
            });
        }
    }

    // Trust signals.
    let signals = claims.get("trustSignals");
    let score = signals
        .and_then(|t| t.get("trustScore"))
        .and_then(Value::as_f64);
    match score {
        Some(s) if s >= config.min_trust_score => {}
        _ => out.push(Finding {
            rule: "trust.low",
            severity: Severity::Medium,
            score: 0.7,
            summary: match score {
                Some(s) => format!("trust score {s} is under {}", config.min_trust_score),
                None => "the credential carries no trust score".to_owned(),
            },
            evidence: json!({"trustScore": score, "minimum": config.min_trust_score,
                "provider": signals.and_then(|t| t.get("provider"))}),
            recommended_action: "restrict the agent to low-sensitivity resources or ask its issuer for a fresh assessment".into(),
        }),
    }
    if let Some(at) = date(signals.and_then(|t| t.get("timestamp")))
        && at < now - Duration::days(config.max_trust_age_days)
    {
        out.push(Finding {
            rule: "trust.stale",
            severity: Severity::Low,
            score: 0.4,
            summary: format!(
                "the trust signal dates from {} (older than {} days)",
                at.to_rfc3339(),
                config.max_trust_age_days
            ),
            evidence: json!({"timestamp": at, "maxAgeDays": config.max_trust_age_days}),
            recommended_action: "ask the issuer for a fresh trust assessment".into(),
        });
    }

    // The credential's own validity.
    if credential.valid_until <= now + Duration::minutes(config.credential_warning_minutes) {
        let expired = credential.valid_until <= now;
        out.push(Finding {
            rule: "credential.expiring",
            severity: if expired {
                Severity::High
            } else {
                Severity::Medium
            },
            score: if expired { 0.9 } else { 0.5 },
            summary: if expired {
                format!(
                    "the credential expired on {}",
                    credential.valid_until.to_rfc3339()
                )
            } else {
                format!(
                    "the credential expires on {} (within {} minutes)",
                    credential.valid_until.to_rfc3339(),
                    config.credential_warning_minutes
                )
            },
            evidence: json!({"validUntil": credential.valid_until,
                "warningMinutes": config.credential_warning_minutes}),
            recommended_action: "re-issue the credential".into(),
        });
    }

    // Foreign issuers must still be trusted.
    if !credential.local
        && let Some(trusted) = context.trusted_issuers
        && !trusted.contains(&credential.issuer)
    {
        out.push(Finding {
            rule: "issuer.untrusted",
            severity: Severity::Critical,
            score: 1.0,
            summary: format!("issuer {} is no longer on the trust list", credential.issuer),
            evidence: json!({"issuer": credential.issuer, "issuerDomain": credential.issuer_domain}),
            recommended_action: "its grants are now denied; revoke refresh tokens issued to this agent and review recent activity".into(),
        });
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn days(n: i64) -> String {
        (now() + Duration::days(n)).to_rfc3339()
    }

    fn clean() -> KnownCredential {
        KnownCredential {
            client_id: "https://a.example/agents/1/client-metadata.json".into(),
            credential_id: Some("urn:uuid:1".into()),
            issuer: "did:web:a.example".into(),
            issuer_domain: Some("a.example".into()),
            format: "vc+jwt".into(),
            claims: json!({
                "agentType": "tool-agent",
                "authorizedScopes": ["logs:read"],
                "complianceAttestations": [
                    {"standard": "SOC2", "validUntil": days(200)},
                    {"standard": "ISO-27001", "validUntil": days(365)}
                ],
                "trustSignals": {"trustScore": 0.9, "provider": "p", "timestamp": days(-10)}
            }),
            valid_until: now() + Duration::days(30),
            holder_key: None,
            local: false,
            observed_at: now(),
        }
    }

    fn config() -> ComplianceConfig {
        ComplianceConfig {
            required_standards: [(
                "https://b.example/mcp".to_owned(),
                vec!["SOC2".to_owned(), "ISO-27001".to_owned()],
            )]
            .into(),
            ..ComplianceConfig::default()
        }
    }

    fn rules(c: &KnownCredential, trusted: &BTreeSet<String>) -> Vec<&'static str> {
        let used: BTreeSet<String> = ["https://b.example/mcp".to_owned()].into();
        let ctx = ComplianceContext {
            resources_used: Some(&used),
            trusted_issuers: Some(trusted),
        };
        evaluate(c, &ctx, &config(), now())
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    fn trusted() -> BTreeSet<String> {
        ["did:web:a.example".to_owned()].into()
    }

    #[test]
    fn a_clean_credential_raises_nothing() {
        assert_eq!(rules(&clean(), &trusted()), Vec::<&str>::new());
    }

    #[test]
    fn expired_attestation_fires_and_makes_the_standard_missing() {
        let mut c = clean();
        c.claims["complianceAttestations"][0]["validUntil"] = json!(days(-1));
        assert_eq!(
            rules(&c, &trusted()),
            vec!["attestation.expired", "standard.missing"]
        );
    }

    #[test]
    fn unreadable_attestation_date_fails_closed() {
        let mut c = clean();
        c.claims["complianceAttestations"][1]["validUntil"] = json!("soon");
        assert!(rules(&c, &trusted()).contains(&"attestation.expired"));
    }

    #[test]
    fn expiring_attestation_fires() {
        let mut c = clean();
        c.claims["complianceAttestations"][0]["validUntil"] = json!(days(10));
        assert_eq!(rules(&c, &trusted()), vec!["attestation.expiring"]);
    }

    #[test]
    fn missing_standard_for_a_used_resource_fires() {
        let mut c = clean();
        c.claims["complianceAttestations"] = json!([{"standard": "SOC2", "validUntil": days(200)}]);
        let f = evaluate(
            &c,
            &ComplianceContext {
                resources_used: Some(&["https://b.example/mcp".to_owned()].into()),
                trusted_issuers: None,
            },
            &config(),
            now(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "standard.missing");
        assert_eq!(f[0].evidence["missing"], json!(["ISO-27001"]));
        // An agent that does not use the resource is not asked for its standards.
        let unused = evaluate(
            &c,
            &ComplianceContext {
                resources_used: None,
                trusted_issuers: None,
            },
            &config(),
            now(),
        );
        assert!(unused.is_empty());
    }

    #[test]
    fn low_missing_and_stale_trust_fire() {
        let mut c = clean();
        c.claims["trustSignals"]["trustScore"] = json!(0.3);
        assert_eq!(rules(&c, &trusted()), vec!["trust.low"]);
        let mut c = clean();
        c.claims.as_object_mut().unwrap().remove("trustSignals");
        assert_eq!(rules(&c, &trusted()), vec!["trust.low"]);
        let mut c = clean();
        c.claims["trustSignals"]["timestamp"] = json!(days(-400));
        assert_eq!(rules(&c, &trusted()), vec!["trust.stale"]);
    }

    #[test]
    fn credential_near_or_past_expiry_fires() {
        let mut c = clean();
        c.valid_until = now() + Duration::minutes(5);
        let f = evaluate(&c, &ComplianceContext::default(), &config(), now());
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].rule, f[0].severity),
            ("credential.expiring", Severity::Medium)
        );
        c.valid_until = now() - Duration::hours(1);
        let f = evaluate(&c, &ComplianceContext::default(), &config(), now());
        assert_eq!(
            (f[0].rule, f[0].severity),
            ("credential.expiring", Severity::High)
        );
    }

    #[test]
    fn untrusted_foreign_issuer_fires_but_not_for_local_agents() {
        let other: BTreeSet<String> = ["did:web:z.example".to_owned()].into();
        assert_eq!(rules(&clean(), &other), vec!["issuer.untrusted"]);
        let mut local = clean();
        local.local = true;
        assert!(rules(&local, &other).is_empty());
    }
}
