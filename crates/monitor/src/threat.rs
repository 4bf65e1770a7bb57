//! Threat detection from the audit stream: a per-agent behaviour baseline learned from the
//! verifier's grant decisions (`grant.decision`), and detectors that fire on deviations.
//!
//! | detector | fires when | severity, score |
//! |---|---|---|
//! | `scope.outside_credential` | a request names a scope not in the credential's `authorizedScopes`, or a resource outside `operationalConstraints.allowedResources` | high, 0.9 |
//! | `rate.spike` | requests in the current hour exceed `max(rate_min_per_hour, rate_factor × baseline)` | high, 0.8 |
//! | `time.outside_window` | a request falls outside `operationalConstraints.allowedHours` (`HH:MM-HH:MM UTC`) | medium, 0.7 |
//! | `source.new_domain` | a request arrives from an issuer domain the agent never came from (after warm-up) | medium, 0.6 |
//! | `denial.burst` | at least `denial_burst_count` denials within `denial_window_seconds`, making up at least `denial_burst_ratio` of the window | high, 0.8 |
//! | `metadata.changed` | the credential presented in the agent's CIMD changed to another issuer, or was replaced long before it was due (medium, 0.5–0.6); or the document's keys changed while the credential did not (high, 0.8) | |
//!
//! Baselines start learning at the agent's first request; the rate, source and scope-frequency
//! detectors wait for `warmup_requests` requests. The baseline hourly rate is an exponentially
//! weighted mean over closed hours (idle hours count as zero). Time comes from the events, never
//! from the clock, so replaying a stream gives the same alerts.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Timelike, Utc};
use crossauthz_store::{AuditEvent, KnownCredential, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::compliance::Finding;

/// The kind of audit event the detectors learn from.
pub const DECISION_KIND: &str = "grant.decision";

/// Detector thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreatConfig {
    /// Requests before the baseline-dependent detectors fire.
    pub warmup_requests: u64,
    /// A rate this many times the baseline is a spike.
    pub rate_factor: f64,
    /// …and never under this many requests in one hour.
    pub rate_min_per_hour: u64,
    /// Weight of the newest closed hour in the baseline rate.
    pub rate_smoothing: f64,
    /// Denials within the window that make a burst.
    pub denial_burst_count: usize,
    /// The window, in seconds.
    pub denial_window_seconds: i64,
    /// Share of denials in the window that makes a burst.
    pub denial_burst_ratio: f64,
    /// A credential replaced with more than this share of its lifetime left is unexpected.
    pub early_replacement_share: f64,
}

impl Default for ThreatConfig {
    fn default() -> Self {
        Self {
            warmup_requests: 20,
            rate_factor: 5.0,
            rate_min_per_hour: 60,
            rate_smoothing: 0.2,
            denial_burst_count: 5,
            denial_window_seconds: 300,
            denial_burst_ratio: 0.5,
            early_replacement_share: 0.5,
        }
    }
}

/// What the monitor has learned about one agent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// Requests seen.
    pub requests: u64,
    /// Denials seen.
    pub denials: u64,
    /// Scopes requested, with counts.
    pub scopes: BTreeMap<String, u64>,
    /// Resources requested, with counts.
    pub resources: BTreeMap<String, u64>,
    /// Issuer domains the agent came from.
    pub source_domains: BTreeSet<String>,
    /// Requests by hour of day (UTC).
    pub by_hour_of_day: [u64; 24],
    /// Baseline requests per hour (EWMA over closed hours).
    pub hourly_rate: f64,
    /// Closed hours folded into `hourly_rate`.
    pub hours_observed: u64,
    /// The current hour (Unix hours) and its count.
    pub current_hour: i64,
    /// Requests in the current hour.
    pub current_count: u64,
    /// Recent decisions (Unix seconds, denied?) within the denial window.
    pub recent: VecDeque<(i64, bool)>,
    /// The credential last presented, its issuer and validity.
    pub credential_id: Option<String>,
    /// Its issuer.
    pub credential_issuer: Option<String>,
    /// The thumbprints of the keys in the agent's metadata document, as last seen.
    #[serde(default)]
    pub client_keys: Option<Vec<String>>,
}

impl Baseline {
    /// Denial ratio over all requests.
    pub fn denial_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.denials as f64 / self.requests as f64
        }
    }

    fn roll_hour(&mut self, hour: i64, smoothing: f64) {
        if self.current_hour == 0 {
            self.current_hour = hour;
            return;
        }
        if hour <= self.current_hour {
            return;
        }
        // Fold the closed hour, then the idle hours in between (capped: a week of idleness
        // already decays the rate to nothing).
        let closed = self.current_count as f64;
        self.fold(closed, smoothing);
        let idle = (hour - self.current_hour - 1).min(24 * 7);
        for _ in 0..idle {
            self.fold(0.0, smoothing);
        }
        self.current_hour = hour;
        self.current_count = 0;
    }

    fn fold(&mut self, count: f64, smoothing: f64) {
        self.hourly_rate = if self.hours_observed == 0 {
            count
        } else {
            smoothing * count + (1.0 - smoothing) * self.hourly_rate
        };
        self.hours_observed += 1;
    }
}

/// `HH:MM-HH:MM` with an optional ` UTC`, as minutes of the day; `None` when it is not in that
/// form (other time zones are not evaluated).
pub fn parse_allowed_hours(s: &str) -> Option<(u32, u32)> {
    let s = s.trim();
    let s = s.strip_suffix("UTC").map(str::trim_end).unwrap_or(s);
    let (a, b) = s.split_once('-')?;
    let minutes = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    Some((minutes(a)?, minutes(b)?))
}

fn within(window: (u32, u32), at: DateTime<Utc>) -> bool {
    let m = at.hour() * 60 + at.minute();
    let (start, end) = window;
    if start <= end {
        (start..end).contains(&m)
    } else {
        m >= start || m < end
    }
}

fn source_domain(e: &AuditEvent) -> Option<String> {
    if let Some(d) = e.details.get("issuer_domain").and_then(Value::as_str) {
        return Some(d.to_owned());
    }
    let client = e.client_id.as_deref()?;
    let url = url_host(client)?;
    Some(url)
}

fn url_host(s: &str) -> Option<String> {
    let rest = s.strip_prefix("https://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| host.to_owned())
}

/// Observes one `grant.decision` event for its agent: checks every detector against the
/// baseline as it was, then learns from the event. `credential` is the credential presented
/// with this request (for the scope and constraint detectors); `previous` the one the monitor
/// knew before it (for `metadata.changed`). Events of other kinds are ignored.
pub fn observe(
    baseline: &mut Baseline,
    event: &AuditEvent,
    credential: Option<&KnownCredential>,
    previous: Option<&KnownCredential>,
    config: &ThreatConfig,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if event.kind != DECISION_KIND || event.service != "verifier" {
        return out;
    }
    let at = event.at;
    let secs = at.timestamp();
    let denied = event.decision.as_deref() == Some("deny");
    let warm = baseline.requests >= config.warmup_requests;
    let scopes = event.scopes.clone().unwrap_or_default();
    let domain = source_domain(event);

    // Scopes and resources outside the credential.
    if let Some(c) = credential {
        let authorized: BTreeSet<&str> = c
            .claims
            .get("authorizedScopes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let outside: Vec<&String> = scopes
            .iter()
            .filter(|s| !authorized.contains(s.as_str()))
            .collect();
        let allowed_resources: Vec<&str> = c
            .claims
            .pointer("/operationalConstraints/allowedResources")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let resource_outside = event
            .resource
            .as_deref()
            .filter(|r| !allowed_resources.is_empty() && !allowed_resources.contains(r));
        if !outside.is_empty() || resource_outside.is_some() {
            out.push(Finding {
                rule: "scope.outside_credential",
                severity: Severity::High,
                score: 0.9,
                summary: if outside.is_empty() {
                    format!(
                        "requested resource {} outside its allowedResources",
                        resource_outside.unwrap_or_default()
                    )
                } else {
                    format!(
                        "requested {} outside its authorizedScopes",
                        outside
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                },
                evidence: json!({"seq": event.seq, "requested": scopes,
                    "authorizedScopes": authorized, "resource": event.resource,
                    "allowedResources": allowed_resources, "decision": event.decision}),
                recommended_action: "suspend the credential and review the agent's configuration; it asks for more than it was granted".into(),
            });
        }

        // Operational time window.
        if let Some(window) = c
            .claims
            .pointer("/operationalConstraints/allowedHours")
            .and_then(Value::as_str)
            .and_then(parse_allowed_hours)
            && !within(window, at)
        {
            out.push(Finding {
                rule: "time.outside_window",
                severity: Severity::Medium,
                score: 0.7,
                summary: format!(
                    "active at {} UTC, outside its allowed hours",
                    at.format("%H:%M")
                ),
                evidence: json!({"seq": event.seq, "at": at,
                    "allowedHours": c.claims.pointer("/operationalConstraints/allowedHours")}),
                recommended_action:
                    "confirm with the agent's owner; suspend if the activity is not theirs".into(),
            });
        }
    }

    // Rate against the baseline.
    baseline.roll_hour(secs.div_euclid(3600), config.rate_smoothing);
    baseline.current_count += 1;
    let threshold =
        (baseline.hourly_rate * config.rate_factor).max(config.rate_min_per_hour as f64);
    if warm && baseline.hours_observed > 0 && baseline.current_count as f64 > threshold {
        out.push(Finding {
            rule: "rate.spike",
            severity: Severity::High,
            score: 0.8,
            summary: format!(
                "{} requests this hour against a baseline of {:.1} per hour",
                baseline.current_count, baseline.hourly_rate
            ),
            evidence: json!({"seq": event.seq, "count": baseline.current_count,
                "baselinePerHour": baseline.hourly_rate, "threshold": threshold}),
            recommended_action:
                "throttle or suspend the credential; a runaway loop or a stolen key is likely"
                    .into(),
        });
    }

    // New source domain.
    if let Some(d) = &domain
        && warm
        && !baseline.source_domains.contains(d)
    {
        out.push(Finding {
            rule: "source.new_domain",
            severity: Severity::Medium,
            score: 0.6,
            summary: format!("first request from domain {d}"),
            evidence: json!({"seq": event.seq, "domain": d, "known": baseline.source_domains}),
            recommended_action: "verify that the agent was moved or re-issued by its owner".into(),
        });
    }

    // Denial burst.
    baseline.recent.push_back((secs, denied));
    while baseline
        .recent
        .front()
        .is_some_and(|(t, _)| *t <= secs - config.denial_window_seconds)
    {
        baseline.recent.pop_front();
    }
    let window_denials = baseline.recent.iter().filter(|(_, d)| *d).count();
    if denied
        && window_denials >= config.denial_burst_count
        && window_denials as f64 / baseline.recent.len() as f64 >= config.denial_burst_ratio
    {
        out.push(Finding {
            rule: "denial.burst",
            severity: Severity::High,
            score: 0.8,
            summary: format!(
                "{window_denials} denials in the last {} s (baseline denial ratio {:.2})",
                config.denial_window_seconds,
                baseline.denial_ratio()
            ),
            evidence: json!({"seq": event.seq, "denials": window_denials,
                "requests": baseline.recent.len(), "windowSeconds": config.denial_window_seconds,
                "reason": event.reason, "baselineRatio": baseline.denial_ratio()}),
            recommended_action: "suspend the credential; the agent is probing or misconfigured"
                .into(),
        });
    }

    // The credential presented changed unexpectedly.
    let bare = |id: &str| id.strip_prefix("urn:uuid:").unwrap_or(id).to_owned();
    if let (Some(new_id), Some(old_id)) = (&event.credential_id, &baseline.credential_id)
        && bare(new_id) != bare(old_id)
    {
        let issuer_changed = event.issuer.is_some() && event.issuer != baseline.credential_issuer;
        if issuer_changed {
            out.push(Finding {
                rule: "metadata.changed",
                severity: Severity::Medium,
                score: 0.6,
                summary: format!(
                    "its metadata now carries a credential from {} instead of {}",
                    event.issuer.as_deref().unwrap_or("?"),
                    baseline.credential_issuer.as_deref().unwrap_or("?")
                ),
                evidence: json!({"seq": event.seq, "previous": old_id, "new": new_id,
                    "previousIssuer": baseline.credential_issuer, "newIssuer": event.issuer}),
                recommended_action:
                    "confirm the change with the agent's owner; its CIMD may have been taken over"
                        .into(),
            });
        } else if let Some(c) = previous
            && c.credential_id.as_deref().map(bare) == Some(bare(old_id))
        {
            let lifetime = (c.valid_until - c.observed_at).num_seconds().max(1) as f64;
            let left = (c.valid_until - at).num_seconds() as f64;
            if left / lifetime > config.early_replacement_share {
                out.push(Finding {
                    rule: "metadata.changed",
                    severity: Severity::Medium,
                    score: 0.5,
                    summary:
                        "its metadata carries a new credential long before the old one was due"
                            .into(),
                    evidence: json!({"seq": event.seq, "previous": old_id, "new": new_id,
                        "previousValidUntil": c.valid_until}),
                    recommended_action: "confirm the re-issuance with the agent's owner".into(),
                });
            }
        }
    }

    // The keys in its metadata document changed while it kept the same credential (a key
    // rotation comes with a re-issued credential, bound to the new key).
    let keys: Option<Vec<String>> = event
        .details
        .get("client_keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    if let (Some(new_keys), Some(old_keys)) = (&keys, &baseline.client_keys)
        && new_keys != old_keys
        && event.credential_id.as_deref().map(bare) == baseline.credential_id.as_deref().map(bare)
    {
        out.push(Finding {
            rule: "metadata.changed",
            severity: Severity::High,
            score: 0.8,
            summary: "the keys in its metadata document changed while its credential did not".into(),
            evidence: json!({"seq": event.seq, "previousKeys": old_keys, "newKeys": new_keys,
                "credential": event.credential_id}),
            recommended_action: "suspend the credential and confirm the key change with the agent's owner; its CIMD may have been taken over".into(),
        });
    }

    // Learn.
    if keys.is_some() {
        baseline.client_keys = keys;
    }
    baseline.requests += 1;
    if denied {
        baseline.denials += 1;
    }
    for s in &scopes {
        *baseline.scopes.entry(s.clone()).or_default() += 1;
    }
    if let Some(r) = &event.resource {
        *baseline.resources.entry(r.clone()).or_default() += 1;
    }
    if let Some(d) = domain {
        baseline.source_domains.insert(d);
    }
    baseline.by_hour_of_day[at.hour() as usize] += 1;
    if event.credential_id.is_some() {
        baseline.credential_id = event.credential_id.clone();
        baseline.credential_issuer = event.issuer.clone();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Any allowedHours text parses to minutes within the day or to None; never panics.
        #[test]
        fn allowed_hours_never_panic(s in ".{0,40}") {
            if let Some((a, b)) = parse_allowed_hours(&s) {
                prop_assert!(a <= 1440 && b <= 1440);
            }
        }

        // Any event (any kind, scopes, details, time) and any claims: observe never panics and
        // every finding has a score within [0, 1].
        #[test]
        fn observe_never_panics(
            kind in prop_oneof![Just("grant.decision".to_owned()), ".{0,12}"],
            scopes in proptest::collection::vec(".{0,12}", 0..4),
            secs in -10_000_000_000i64..10_000_000_000i64,
            details in prop_oneof![
                Just(json!({})),
                Just(json!({"issuer_domain": 7, "client_keys": "x"})),
                Just(json!({"client_keys": ["a", 1]})),
            ],
            claims in prop_oneof![
                Just(json!(null)),
                Just(json!({"authorizedScopes": 1, "operationalConstraints": {"allowedHours": 5}})),
                Just(json!({"authorizedScopes": ["a"], "operationalConstraints": {"allowedHours": "23:00-01:00", "allowedResources": ["r"]}})),
            ],
            denied in any::<bool>(),
        ) {
            let at = DateTime::from_timestamp(secs, 0).unwrap_or_default();
            let event = AuditEvent {
                seq: 1, at, service: "verifier".into(), kind, actor: None,
                client_id: Some("https://a.example/x".into()), credential_id: Some("c".into()),
                issuer: None, scopes: Some(scopes), resource: Some("r2".into()),
                decision: Some(if denied { "deny" } else { "allow" }.into()), reason: None,
                trace_id: None, details, prev_hash: [0; 32], hash: [0; 32],
            };
            let credential = KnownCredential {
                client_id: "https://a.example/x".into(), credential_id: Some("c".into()),
                issuer: "did:web:a.example".into(), issuer_domain: None, format: "vc+jwt".into(),
                claims, valid_until: at, holder_key: None, local: true, observed_at: at,
            };
            let mut b = Baseline::default();
            for _ in 0..3 {
                for f in observe(&mut b, &event, Some(&credential), Some(&credential), &ThreatConfig::default()) {
                    prop_assert!((0.0..=1.0).contains(&f.score));
                }
            }
        }
    }
}
