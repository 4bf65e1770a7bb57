//! Verifier store: trust list, policy versions, resources, client-assertion jti replay.

use chrono::Duration;
use crossauthz_store::{Database, Resource, StoreError, TrustedIssuer};
use serde_json::json;

use super::{at, t0};

fn issuer(name: &str) -> TrustedIssuer {
    TrustedIssuer {
        issuer: format!("did:web:{name}"),
        credential_types: vec!["AgentAuthorizationCredential".into()],
        issuer_domains: vec![name.into()],
    }
}

/// The trust list is replaced atomically and read back in order.
pub async fn trust_list(db: &Database) {
    let s = db.verifier_store();
    assert!(s.trust_list().await.unwrap().is_empty());
    let list = vec![
        issuer("z.example"),
        issuer("a.example"),
        issuer("m.example"),
    ];
    s.replace_trust_list(&list).await.unwrap();
    assert_eq!(s.trust_list().await.unwrap(), list);

    // A repeated issuer is a conflict and the previous list stays whole.
    let e = s
        .replace_trust_list(&[issuer("b.example"), issuer("b.example")])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    assert_eq!(s.trust_list().await.unwrap(), list);

    s.replace_trust_list(&[issuer("b.example")]).await.unwrap();
    assert_eq!(s.trust_list().await.unwrap(), vec![issuer("b.example")]);
    s.replace_trust_list(&[]).await.unwrap();
    assert!(s.trust_list().await.unwrap().is_empty());
}

/// Policy sets: every put is a new version; the newest is active; history is kept.
pub async fn policy_sets(db: &Database) {
    let s = db.verifier_store();
    assert_eq!(s.active_policy_set().await.unwrap(), None);
    let p1 = s
        .put_policy_set("permit(principal, action, resource);", t0())
        .await
        .unwrap();
    let p2 = s
        .put_policy_set("forbid(principal, action, resource);", at(1))
        .await
        .unwrap();
    assert!(p2.version > p1.version);
    assert_eq!(s.active_policy_set().await.unwrap(), Some(p2.clone()));
    assert_eq!(s.policy_history().await.unwrap(), vec![p1, p2]);
}

/// Resources: replaced atomically, read in order, looked up by indicator.
pub async fn resources(db: &Database) {
    let s = db.verifier_store();
    let r = |name: &str| Resource {
        resource: format!("https://{name}/mcp"),
        scopes: vec!["logs:read".into(), "logs:write".into()],
        attributes: json!({"sensitivity": "internal", "n": 1.5}),
    };
    s.replace_resources(&[r("b.example"), r("a.example")])
        .await
        .unwrap();
    assert_eq!(
        s.resources().await.unwrap(),
        vec![r("b.example"), r("a.example")]
    );
    assert_eq!(
        s.get_resource("https://a.example/mcp").await.unwrap(),
        Some(r("a.example"))
    );
    assert_eq!(s.get_resource("https://x.example/mcp").await.unwrap(), None);
    let e = s
        .replace_resources(&[r("c.example"), r("c.example")])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    assert_eq!(s.resources().await.unwrap().len(), 2);
}

/// jti replay (DESIGN §6 step 3): first use accepted, a replay within the lifetime refused,
/// an expired jti reusable, per client.
pub async fn jti_replay(db: &Database) {
    let s = db.verifier_store();
    let exp = at(60);
    assert!(s.record_jti("c1", "j1", exp, t0()).await.unwrap());
    assert!(!s.record_jti("c1", "j1", exp, at(1)).await.unwrap());
    assert!(!s.record_jti("c1", "j1", at(120), at(59)).await.unwrap());
    // Same jti from another client is another assertion.
    assert!(s.record_jti("c2", "j1", exp, t0()).await.unwrap());
    // Once expired, the jti may be used again (the assertion's own exp rules it out anyway).
    assert!(s.record_jti("c1", "j1", at(180), at(60)).await.unwrap());
    assert!(!s.record_jti("c1", "j1", at(180), at(61)).await.unwrap());

    let e = s.record_jti("c1", "j2", t0(), t0()).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");

    // Purge removes only the expired rows: c2/j1 (exp 60), not c1/j1 (exp 180).
    assert_eq!(s.purge_expired_jtis(at(100)).await.unwrap(), 1);
    assert!(!s.record_jti("c1", "j1", at(200), at(100)).await.unwrap());
    assert!(s.record_jti("c2", "j1", at(200), at(100)).await.unwrap());
}

/// Concurrent uses of one jti: exactly one is accepted.
pub async fn concurrent_jti_accepted_once(db: &Database) {
    let s = db.verifier_store();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.record_jti("c", "race", at(300), t0() + Duration::milliseconds(i))
                .await
                .unwrap()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        if t.await.unwrap() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
}
