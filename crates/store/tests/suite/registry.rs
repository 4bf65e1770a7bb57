//! Registry store: agents (versions, optimistic concurrency, soft delete, paging), agent
//! credentials, DCR clients.

use chrono::Duration;
use crossauthz_store::{
    AgentCredential, AgentCredentialState, AgentUpdate, Database, DcrClient, NewAgent, StoreError,
    truncate_to_micros,
};
use serde_json::json;
use uuid::Uuid;

use super::{at, t0};

fn new_agent(name: &str) -> NewAgent {
    NewAgent {
        id: Uuid::new_v4(),
        name: name.into(),
        agent_type: "tool-agent".into(),
        document: json!({"client_name": name, "jwks": {"keys": []}}),
    }
}

fn update(doc: serde_json::Value) -> AgentUpdate {
    AgentUpdate {
        name: None,
        agent_type: None,
        document: doc,
    }
}

/// Create → version 1; updates add versions (history kept); a stale `expected_version` is a
/// `Conflict`; delete is soft (get → None, history kept); a deleted agent is `NotFound`.
pub async fn agent_lifecycle(db: &Database) {
    let s = db.registry_store();
    let new = new_agent("logs-bot");
    let id = new.id;
    // A nanosecond timestamp comes back truncated to microseconds on both backends.
    let created_at = t0() + Duration::nanoseconds(999);
    let a = s.create_agent(new.clone(), created_at).await.unwrap();
    assert_eq!(a.version, 1);
    assert_eq!(a.created_at, truncate_to_micros(created_at));
    assert_eq!(s.get_agent(id).await.unwrap(), Some(a.clone()));

    let dup = s.create_agent(new.clone(), at(1)).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { .. }), "{dup:?}");

    let v2 = s
        .update_agent(id, update(json!({"v": 2})), Some(1), at(10))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.document, json!({"v": 2}));
    assert_eq!(v2.name, "logs-bot");
    assert_eq!(v2.updated_at, at(10));
    assert_eq!(v2.created_at, a.created_at);

    // Optimistic concurrency: a writer that read version 1 loses.
    let stale = s
        .update_agent(id, update(json!({"v": "stale"})), Some(1), at(11))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::Conflict { .. }), "{stale:?}");

    let v3 = s
        .update_agent(
            id,
            AgentUpdate {
                name: Some("logs-bot-2".into()),
                agent_type: Some("workflow-agent".into()),
                document: json!({"v": 3}),
            },
            None,
            at(20),
        )
        .await
        .unwrap();
    assert_eq!((v3.version, v3.name.as_str()), (3, "logs-bot-2"));
    assert_eq!(v3.agent_type, "workflow-agent");

    let history = s.agent_history(id).await.unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(history[0].document, new.document);
    assert_eq!(history[1].document, json!({"v": 2}));
    assert_eq!(history[2].name, "logs-bot-2");
    assert_eq!(history[2].created_at, at(20));

    s.delete_agent(id, at(30)).await.unwrap();
    assert_eq!(s.get_agent(id).await.unwrap(), None);
    let again = s.delete_agent(id, at(31)).await.unwrap_err();
    assert!(
        matches!(again, StoreError::NotFound { what: "agent" }),
        "{again:?}"
    );
    let upd = s
        .update_agent(id, update(json!({})), None, at(32))
        .await
        .unwrap_err();
    assert!(matches!(upd, StoreError::NotFound { .. }), "{upd:?}");
    let upd = s
        .update_agent(id, update(json!({})), Some(3), at(32))
        .await
        .unwrap_err();
    assert!(matches!(upd, StoreError::NotFound { .. }), "{upd:?}");
    // History survives the delete; the id is never reused.
    assert_eq!(s.agent_history(id).await.unwrap().len(), 3);
    let reuse = s.create_agent(new, at(33)).await.unwrap_err();
    assert!(matches!(reuse, StoreError::Conflict { .. }), "{reuse:?}");

    let unknown = Uuid::new_v4();
    assert_eq!(s.get_agent(unknown).await.unwrap(), None);
    let e = s.agent_history(unknown).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    let e = s.delete_agent(unknown, at(34)).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    let e = s
        .update_agent(unknown, update(json!({})), None, at(34))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
}

/// Paging by `(created_at, id)`, deleted agents skipped, cursor errors.
pub async fn agent_paging(db: &Database) {
    let s = db.registry_store();
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = s
            .create_agent(new_agent(&format!("a{i}")), at(i))
            .await
            .unwrap();
        ids.push(a.id);
    }
    // Two agents created at the same instant are ordered by id.
    let twin_a = s.create_agent(new_agent("t1"), at(100)).await.unwrap();
    let twin_b = s.create_agent(new_agent("t2"), at(100)).await.unwrap();
    let mut twins = vec![twin_a.id, twin_b.id];
    twins.sort();
    ids.extend(twins);
    s.delete_agent(ids[2], at(200)).await.unwrap();
    let live: Vec<Uuid> = ids.iter().copied().filter(|i| *i != ids[2]).collect();

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = s.list_agents(2, after).await.unwrap();
        assert!(page.agents.len() <= 2);
        seen.extend(page.agents.iter().map(|a| a.id));
        pages += 1;
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, live);
    assert_eq!(pages, 3);

    // The cursor may be a deleted agent (deleted while a client was paging).
    let page = s.list_agents(10, Some(ids[2])).await.unwrap();
    assert_eq!(page.agents.first().map(|a| a.id), Some(ids[3]));
    assert_eq!(page.next, None);

    let e = s.list_agents(2, Some(Uuid::new_v4())).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    let e = s.list_agents(0, None).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
}

fn credential(agent_id: Uuid, format: &str, from: i64, until: i64) -> AgentCredential {
    AgentCredential {
        id: Uuid::new_v4(),
        agent_id,
        format: format.into(),
        compact: format!("eyJ.{from}.sig"),
        valid_from: at(from),
        valid_until: at(until),
        state: AgentCredentialState::Active,
    }
}

/// Agent credentials: recorded only for live agents; the newest valid active credential is the
/// one hosted; revoked is final.
pub async fn agent_credentials(db: &Database) {
    let s = db.registry_store();
    let agent = s.create_agent(new_agent("c"), t0()).await.unwrap();
    let id = agent.id;

    let old = credential(id, "vc+jwt", 0, 1000);
    let newer = credential(id, "vc+jwt", 100, 1000);
    let newest_suspended = credential(id, "vc+jwt", 200, 1000);
    let future = credential(id, "vc+jwt", 5000, 6000);
    let sd = credential(id, "dc+sd-jwt", 300, 1000);
    for c in [&old, &newer, &newest_suspended, &future, &sd] {
        s.put_agent_credential(c).await.unwrap();
    }
    let dup = s.put_agent_credential(&old).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict { .. }), "{dup:?}");

    let bad = credential(id, "vc+jwt", 10, 10);
    let e = s.put_agent_credential(&bad).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");
    let orphan = credential(Uuid::new_v4(), "vc+jwt", 0, 10);
    let e = s.put_agent_credential(&orphan).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { what: "agent" }), "{e:?}");

    let suspended = s
        .set_agent_credential_state(newest_suspended.id, AgentCredentialState::Suspended)
        .await
        .unwrap();
    assert_eq!(suspended.state, AgentCredentialState::Suspended);

    // At t=500: `newest_suspended` is not active, `future` not yet valid → `newer`.
    let hosted = s
        .newest_valid_credential(id, "vc+jwt", at(500))
        .await
        .unwrap();
    assert_eq!(hosted.map(|c| c.id), Some(newer.id));
    // valid_from is inclusive, valid_until exclusive.
    let hosted = s
        .newest_valid_credential(id, "vc+jwt", at(100))
        .await
        .unwrap();
    assert_eq!(hosted.map(|c| c.id), Some(newer.id));
    let hosted = s
        .newest_valid_credential(id, "vc+jwt", at(1000))
        .await
        .unwrap();
    assert_eq!(hosted, None);
    let hosted = s
        .newest_valid_credential(id, "vc+jwt", at(5500))
        .await
        .unwrap();
    assert_eq!(hosted.map(|c| c.id), Some(future.id));
    let hosted = s
        .newest_valid_credential(id, "dc+sd-jwt", at(500))
        .await
        .unwrap();
    assert_eq!(hosted.map(|c| c.id), Some(sd.id));

    let revoked = s
        .set_agent_credential_state(newer.id, AgentCredentialState::Revoked)
        .await
        .unwrap();
    assert_eq!(revoked.state, AgentCredentialState::Revoked);
    let hosted = s
        .newest_valid_credential(id, "vc+jwt", at(500))
        .await
        .unwrap();
    assert_eq!(hosted.map(|c| c.id), Some(old.id));
    let e = s
        .set_agent_credential_state(newer.id, AgentCredentialState::Active)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::InvalidTransition {
                from: "revoked",
                to: "active"
            }
        ),
        "{e:?}"
    );
    let e = s
        .set_agent_credential_state(Uuid::new_v4(), AgentCredentialState::Revoked)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");

    let got = s.get_agent_credential(old.id).await.unwrap();
    assert_eq!(got, Some(old.clone()));
    assert_eq!(s.get_agent_credential(Uuid::new_v4()).await.unwrap(), None);
    let all = s.agent_credentials(id).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![future.id, sd.id, newest_suspended.id, newer.id, old.id]
    );

    // A deleted agent gets no new credentials; its records stay.
    s.delete_agent(id, at(2000)).await.unwrap();
    let late = credential(id, "vc+jwt", 2000, 3000);
    let e = s.put_agent_credential(&late).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    assert_eq!(s.agent_credentials(id).await.unwrap().len(), 5);
}

/// RFC 7591/7592 clients: create, read, replace, delete, with their errors.
pub async fn dcr_clients(db: &Database) {
    let s = db.registry_store();
    let client = DcrClient {
        client_id: "dcr-1".into(),
        registration_token_hash: vec![7; 32],
        metadata: json!({"redirect_uris": ["https://c.example/cb"]}),
        created_at: t0(),
        updated_at: t0(),
    };
    s.create_dcr_client(&client).await.unwrap();
    let e = s.create_dcr_client(&client).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    assert_eq!(
        s.get_dcr_client("dcr-1").await.unwrap(),
        Some(client.clone())
    );

    let replaced = s
        .replace_dcr_client("dcr-1", json!({"client_name": "new"}), at(5))
        .await
        .unwrap();
    assert_eq!(replaced.metadata, json!({"client_name": "new"}));
    assert_eq!(replaced.updated_at, at(5));
    assert_eq!(replaced.created_at, t0());
    assert_eq!(replaced.registration_token_hash, vec![7; 32]);
    let e = s
        .replace_dcr_client("nope", json!({}), at(5))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");

    s.delete_dcr_client("dcr-1").await.unwrap();
    assert_eq!(s.get_dcr_client("dcr-1").await.unwrap(), None);
    let e = s.delete_dcr_client("dcr-1").await.unwrap_err();
    assert!(
        matches!(e, StoreError::NotFound { what: "dcr client" }),
        "{e:?}"
    );
}

/// Concurrent updates without a version all land, each as its own version.
pub async fn concurrent_updates_keep_every_version(db: &Database) {
    let s = db.registry_store();
    let a = s.create_agent(new_agent("busy"), t0()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.update_agent(a.id, update(json!({ "i": i })), None, at(i))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let history = s.agent_history(a.id).await.unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        (1..=21).collect::<Vec<i64>>()
    );
    assert_eq!(s.get_agent(a.id).await.unwrap().unwrap().version, 21);
}
