//! The domain's verifier settings — trust list, Cedar policy set, resources — validated before
//! they are stored (a bad entry changes nothing), and a [`SettingsCache`] that keeps the active
//! settings (policies compiled) in memory for `settings_refresh_seconds`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use crossauthz_core::scope::Scope;
use crossauthz_credentials::did_web::did_web_to_url;
use crossauthz_store::{Resource, TrustedIssuer, VerifierStore};
use serde_json::Value;
use tokio::sync::RwLock;

use crate::error::VerifierError;
use crate::policy::CompiledPolicies;

/// Most trust-list entries, resources, or items in one list.
pub const MAX_ITEMS: usize = 1000;
/// Longest policy source accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
/// Resource attribute names the verifier sets itself.
pub const RESERVED_RESOURCE_ATTRIBUTES: &[&str] = &["scopes", "sensitivityLevel"];

/// True for `host` or `host:port` as it appears in an https URL authority (no userinfo, path).
fn is_domain(d: &str) -> bool {
    if d.is_empty()
        || !d
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
    {
        return false;
    }
    let Ok(url) = url::Url::parse(&format!("https://{d}/")) else {
        return false;
    };
    let rebuilt = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return false,
    };
    rebuilt == d
}

/// Checks a trust list: each issuer a `did:web` DID (resolvable to an https URL), listed once,
/// with at least one credential type and at least one issuer domain (`host[:port]`).
pub fn validate_trust_list(issuers: &[TrustedIssuer]) -> Result<(), VerifierError> {
    let bad = |m: String| VerifierError::InvalidTrustList(m);
    if issuers.len() > MAX_ITEMS {
        return Err(bad(format!("more than {MAX_ITEMS} issuers")));
    }
    let mut seen = HashSet::new();
    for (i, t) in issuers.iter().enumerate() {
        if !t.issuer.starts_with("did:web:") || did_web_to_url(&t.issuer).is_err() {
            return Err(bad(format!(
                "issuers[{i}]: {:?} is not a did:web DID",
                t.issuer
            )));
        }
        if !seen.insert(t.issuer.as_str()) {
            return Err(bad(format!("issuers[{i}]: {} is listed twice", t.issuer)));
        }
        if t.credential_types.is_empty()
            || t.credential_types.len() > MAX_ITEMS
            || t.credential_types
                .iter()
                .any(|c| c.trim().is_empty() || c.len() > 256)
        {
            return Err(bad(format!(
                "issuers[{i}]: credential_types must list at least one non-empty type"
            )));
        }
        if t.issuer_domains.is_empty() || t.issuer_domains.len() > MAX_ITEMS {
            return Err(bad(format!(
                "issuers[{i}]: issuer_domains must list at least one domain"
            )));
        }
        if let Some(d) = t.issuer_domains.iter().find(|d| !is_domain(d)) {
            return Err(bad(format!(
                "issuers[{i}]: issuer domain {d:?} is not a host name (lower case, optional port)"
            )));
        }
    }
    Ok(())
}

/// Checks Cedar source: size, parse, unique `@id`s, no templates (Cedar's error text on failure).
pub fn validate_policies(source: &str) -> Result<CompiledPolicies, VerifierError> {
    if source.len() > MAX_POLICY_BYTES {
        return Err(VerifierError::InvalidPolicy(format!(
            "the policy set is larger than {MAX_POLICY_BYTES} bytes"
        )));
    }
    CompiledPolicies::compile(source).map_err(|e| VerifierError::InvalidPolicy(e.to_string()))
}

/// Checks resources: each an absolute https URL without fragment (A3; http only on loopback
/// hosts for development), listed once, with valid scope tokens and a JSON object of attributes
/// that does not use a reserved name.
pub fn validate_resources(resources: &[Resource]) -> Result<(), VerifierError> {
    let bad = |m: String| VerifierError::InvalidResources(m);
    if resources.len() > MAX_ITEMS {
        return Err(bad(format!("more than {MAX_ITEMS} resources")));
    }
    let mut seen = HashSet::new();
    for (i, r) in resources.iter().enumerate() {
        let url = url::Url::parse(&r.resource).map_err(|_| {
            bad(format!(
                "resources[{i}]: {:?} is not an absolute URI (A3)",
                r.resource
            ))
        })?;
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if r.resource.contains('#') || url.fragment().is_some() {
            return Err(bad(format!(
                "resources[{i}]: a resource has no fragment (A3)"
            )));
        }
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback))
            || url.host_str().is_none()
        {
            return Err(bad(format!(
                "resources[{i}]: {} must be an https URL",
                r.resource
            )));
        }
        if !seen.insert(r.resource.as_str()) {
            return Err(bad(format!(
                "resources[{i}]: {} is listed twice",
                r.resource
            )));
        }
        if r.scopes.len() > MAX_ITEMS {
            return Err(bad(format!("resources[{i}]: too many scopes")));
        }
        for s in &r.scopes {
            Scope::parse(s).map_err(|e| bad(format!("resources[{i}]: scope {s:?}: {e}")))?;
        }
        let Value::Object(attrs) = &r.attributes else {
            return Err(bad(format!(
                "resources[{i}]: attributes must be a JSON object"
            )));
        };
        if let Some(k) = attrs
            .keys()
            .find(|k| RESERVED_RESOURCE_ATTRIBUTES.contains(&k.as_str()))
        {
            return Err(bad(format!("resources[{i}]: attribute {k:?} is reserved")));
        }
    }
    Ok(())
}

/// The settings in force, as one consistent snapshot.
#[derive(Debug)]
pub struct Settings {
    /// The trust list.
    pub trust_list: Vec<TrustedIssuer>,
    /// The compiled active policy set (empty when none is stored: default deny).
    pub policies: CompiledPolicies,
    /// The active policy set's version (0 when none).
    pub policy_version: i64,
    /// Resources by indicator.
    pub resources: HashMap<String, Resource>,
    loaded_at: DateTime<Utc>,
}

/// Keeps the settings in memory; re-reads the store when they are older than `refresh`, or at
/// once after a change through this replica.
#[derive(Debug)]
pub struct SettingsCache {
    current: RwLock<Option<Arc<Settings>>>,
    refresh: TimeDelta,
}

impl SettingsCache {
    /// A cache that re-reads after `refresh_seconds`.
    pub fn new(refresh_seconds: u64) -> Self {
        Self {
            current: RwLock::new(None),
            refresh: TimeDelta::try_seconds(
                i64::try_from(refresh_seconds).unwrap_or(i64::MAX / 1000),
            )
            .unwrap_or(TimeDelta::MAX),
        }
    }

    /// Drops the snapshot; the next [`get`](Self::get) reads the store.
    pub async fn invalidate(&self) {
        *self.current.write().await = None;
    }

    /// The current settings.
    pub async fn get(
        &self,
        store: &dyn VerifierStore,
        now: DateTime<Utc>,
    ) -> Result<Arc<Settings>, VerifierError> {
        if let Some(s) = self.current.read().await.as_ref()
            && now >= s.loaded_at
            && now - s.loaded_at < self.refresh
        {
            return Ok(Arc::clone(s));
        }
        let loaded = Arc::new(load(store, now).await?);
        *self.current.write().await = Some(Arc::clone(&loaded));
        Ok(loaded)
    }
}

async fn load(store: &dyn VerifierStore, now: DateTime<Utc>) -> Result<Settings, VerifierError> {
    let trust_list = store.trust_list().await?;
    let (policies, policy_version) = match store.active_policy_set().await? {
        None => (CompiledPolicies::empty(), 0),
        Some(set) => match CompiledPolicies::compile(&set.source) {
            Ok(p) => (p, set.version),
            Err(e) => {
                // Stored sets were validated; if one no longer compiles, deny everything.
                tracing::error!(version = set.version, error = %e, "stored policy set does not compile; denying all");
                (CompiledPolicies::empty(), set.version)
            }
        },
    };
    let resources = store
        .resources()
        .await?
        .into_iter()
        .map(|r| (r.resource.clone(), r))
        .collect();
    Ok(Settings {
        trust_list,
        policies,
        policy_version,
        resources,
        loaded_at: now,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issuer(i: &str, types: &[&str], domains: &[&str]) -> TrustedIssuer {
        TrustedIssuer {
            issuer: i.into(),
            credential_types: types.iter().map(|s| (*s).into()).collect(),
            issuer_domains: domains.iter().map(|s| (*s).into()).collect(),
        }
    }

    #[test]
    fn trust_list_validation_refuses_each_bad_entry() {
        let ok = issuer(
            "did:web:alpha.test",
            &["AgentAuthorizationCredential"],
            &["alpha.test"],
        );
        validate_trust_list(std::slice::from_ref(&ok)).unwrap();
        validate_trust_list(&[issuer("did:web:a.test%3A8443", &["T"], &["a.test:8443"])]).unwrap();
        for bad in [
            vec![issuer("https://alpha.test", &["T"], &["alpha.test"])],
            vec![issuer("did:key:z6Mk", &["T"], &["alpha.test"])],
            vec![issuer("did:web:", &["T"], &["alpha.test"])],
            vec![ok.clone(), ok.clone()],
            vec![issuer("did:web:alpha.test", &[], &["alpha.test"])],
            vec![issuer("did:web:alpha.test", &[" "], &["alpha.test"])],
            vec![issuer("did:web:alpha.test", &["T"], &[])],
            vec![issuer(
                "did:web:alpha.test",
                &["T"],
                &["https://alpha.test"],
            )],
            vec![issuer("did:web:alpha.test", &["T"], &["Alpha.test"])],
            vec![issuer("did:web:alpha.test", &["T"], &["a/b"])],
        ] {
            assert!(
                matches!(
                    validate_trust_list(&bad),
                    Err(VerifierError::InvalidTrustList(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn resource_validation_refuses_each_bad_entry() {
        let r = |res: &str, scopes: &[&str], attrs: Value| Resource {
            resource: res.into(),
            scopes: scopes.iter().map(|s| (*s).into()).collect(),
            attributes: attrs,
        };
        validate_resources(&[r(
            "https://mcp.beta.test/mcp",
            &["logs:read"],
            json!({"sensitivity": "regulated"}),
        )])
        .unwrap();
        validate_resources(&[r("http://localhost:8080/mcp", &[], json!({}))]).unwrap();
        for bad in [
            vec![r("mcp", &[], json!({}))],
            vec![r("https://mcp.beta.test/mcp#x", &[], json!({}))],
            vec![r("http://mcp.beta.test/mcp", &[], json!({}))],
            vec![r("https://mcp.beta.test/mcp", &["bad scope"], json!({}))],
            vec![r("https://mcp.beta.test/mcp", &[], json!([1]))],
            vec![r("https://mcp.beta.test/mcp", &[], json!({"scopes": []}))],
            vec![
                r("https://a.test/m", &[], json!({})),
                r("https://a.test/m", &[], json!({})),
            ],
        ] {
            assert!(
                matches!(
                    validate_resources(&bad),
                    Err(VerifierError::InvalidResources(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn policy_validation_returns_cedar_error_text() {
        let e = validate_policies("permit(principal, action, resource) when {").unwrap_err();
        assert!(
            matches!(e, VerifierError::InvalidPolicy(ref t) if t.contains("Cedar")),
            "{e:?}"
        );
        validate_policies(crate::policy::EXAMPLE_POLICIES).unwrap();
        let huge = "x".repeat(MAX_POLICY_BYTES + 1);
        assert!(matches!(
            validate_policies(&huge),
            Err(VerifierError::InvalidPolicy(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn domain_check_never_panics(s in "\\PC{0,64}") {
            let _ = is_domain(&s);
        }
    }
}
