//! Monitor store: alerts raised once per unresolved (rule, subject) and bumped after, their
//! lifecycle (resolved is final), filters; baselines, known credentials, cursors.

use crossauthz_store::{
    AlertCategory, AlertFilter, AlertState, Database, KnownCredential, NewAlert, Severity,
    StoreError,
};
use serde_json::json;

use super::at;

fn alert(rule: &str, subject: &str, score: f64, secs: i64) -> NewAlert {
    NewAlert {
        rule: rule.into(),
        category: AlertCategory::Threat,
        severity: Severity::High,
        score,
        subject: subject.into(),
        client_id: Some(subject.into()),
        credential_id: Some("urn:uuid:1".into()),
        summary: format!("{rule} on {subject}"),
        evidence: json!({"seen": secs}),
        recommended_action: "suspend".into(),
        at: at(secs),
    }
}

pub async fn alerts(db: &Database) {
    let s = db.monitor_store();
    let (a1, new) = s
        .raise_alert(&alert("rate.spike", "c1", 0.5, 1))
        .await
        .unwrap();
    assert!(new);
    assert_eq!((a1.state, a1.occurrences), (AlertState::Open, 1));
    // Same rule and subject while unresolved: bumped, highest score kept, newest evidence.
    let (a2, new) = s
        .raise_alert(&alert("rate.spike", "c1", 0.4, 2))
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(a2.id, a1.id);
    assert_eq!((a2.occurrences, a2.score), (2, 0.5));
    assert_eq!(a2.evidence, json!({"seen": 2}));
    assert_eq!((a2.first_seen, a2.last_seen), (at(1), at(2)));
    let (other, new) = s
        .raise_alert(&alert("rate.spike", "c2", 0.9, 3))
        .await
        .unwrap();
    assert!(new);
    let mut compliance = alert("attestation.expired", "c1", 1.0, 4);
    compliance.category = AlertCategory::Compliance;
    s.raise_alert(&compliance).await.unwrap();

    // Filters.
    let all = s.list_alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].rule, "attestation.expired");
    let c1 = s
        .list_alerts(&AlertFilter {
            client_id: Some("c1".into()),
            category: Some(AlertCategory::Threat),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(c1.len(), 1);
    assert_eq!(c1[0].id, a1.id);

    // Lifecycle.
    let acked = s
        .acknowledge_alert(a1.id, "ops", Some("looking"), at(10))
        .await
        .unwrap();
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert_eq!(acked.acknowledged_by.as_deref(), Some("ops"));
    assert_eq!(acked.note.as_deref(), Some("looking"));
    let e = s
        .acknowledge_alert(a1.id, "ops", None, at(11))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidTransition { .. }), "{e:?}");
    // Acknowledged still absorbs new occurrences.
    let (a3, new) = s
        .raise_alert(&alert("rate.spike", "c1", 0.6, 12))
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(a3.state, AlertState::Acknowledged);
    let resolved = s.resolve_alert(a1.id, "ops", None, at(13)).await.unwrap();
    assert_eq!(resolved.state, AlertState::Resolved);
    assert_eq!(resolved.note.as_deref(), Some("looking"));
    let e = s
        .resolve_alert(a1.id, "ops", None, at(14))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidTransition { .. }), "{e:?}");
    // After resolution the rule raises a new alert.
    let (a4, new) = s
        .raise_alert(&alert("rate.spike", "c1", 0.6, 15))
        .await
        .unwrap();
    assert!(new);
    assert_ne!(a4.id, a1.id);
    s.set_alert_action(a4.id, "suspended urn:uuid:1")
        .await
        .unwrap();
    assert_eq!(
        s.get_alert(a4.id).await.unwrap().unwrap().action.as_deref(),
        Some("suspended urn:uuid:1")
    );
    let open = s
        .list_alerts(&AlertFilter {
            state: Some(AlertState::Open),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 3);
    assert!(open.iter().any(|a| a.id == other.id));

    // Refusals.
    let unknown = uuid::Uuid::new_v4();
    assert!(matches!(
        s.acknowledge_alert(unknown, "ops", None, at(20))
            .await
            .unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(matches!(
        s.set_alert_action(unknown, "x").await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(s.get_alert(unknown).await.unwrap().is_none());
    for bad in [
        alert("r", "c", 1.5, 1),
        alert("", "c", 0.5, 1),
        alert("r", "", 0.5, 1),
    ] {
        assert!(matches!(
            s.raise_alert(&bad).await.unwrap_err(),
            StoreError::InvalidInput { .. }
        ));
    }
    assert!(matches!(
        s.list_alerts(&AlertFilter {
            limit: 1001,
            ..AlertFilter::default()
        })
        .await
        .unwrap_err(),
        StoreError::InvalidInput { .. }
    ));
}

pub async fn baselines_credentials_cursors(db: &Database) {
    let s = db.monitor_store();
    s.put_baseline("c1", &json!({"n": 1}), at(1)).await.unwrap();
    s.put_baseline("c1", &json!({"n": 2}), at(2)).await.unwrap();
    s.put_baseline("c0", &json!({"n": 0}), at(2)).await.unwrap();
    assert_eq!(
        s.baselines().await.unwrap(),
        vec![
            ("c0".into(), json!({"n": 0})),
            ("c1".into(), json!({"n": 2}))
        ]
    );

    let mut c = KnownCredential {
        client_id: "https://a.example/agents/1/client-metadata.json".into(),
        credential_id: Some("urn:uuid:7".into()),
        issuer: "did:web:a.example".into(),
        issuer_domain: Some("a.example".into()),
        format: "vc+jwt".into(),
        claims: json!({"agentType": "tool-agent", "authorizedScopes": ["logs:read"]}),
        valid_until: at(100),
        holder_key: Some("thumb".into()),
        local: false,
        observed_at: at(3),
    };
    s.put_credential(&c).await.unwrap();
    c.credential_id = Some("urn:uuid:8".into());
    c.local = true;
    s.put_credential(&c).await.unwrap();
    assert_eq!(s.credentials().await.unwrap(), vec![c.clone()]);
    c.issuer.clear();
    assert!(matches!(
        s.put_credential(&c).await.unwrap_err(),
        StoreError::InvalidInput { .. }
    ));

    assert_eq!(s.cursor("threat").await.unwrap(), 0);
    s.set_cursor("threat", 5, at(1)).await.unwrap();
    s.set_cursor("threat", 3, at(2)).await.unwrap();
    assert_eq!(
        s.cursor("threat").await.unwrap(),
        5,
        "a cursor never moves back"
    );
    s.set_cursor("threat", 9, at(3)).await.unwrap();
    assert_eq!(s.cursor("threat").await.unwrap(), 9);
    assert!(s.set_cursor("threat", -1, at(4)).await.is_err());
}
