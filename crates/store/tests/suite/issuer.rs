//! Issuer store: signing keys (one active, rotation keeps the old key published) and issued
//! credentials.

use crossauthz_store::{Database, IssuedCredential, NewSigningKey, StoreError};
use serde_json::json;
use uuid::Uuid;

use super::{at, t0};

fn key(kid: &str) -> NewSigningKey {
    NewSigningKey {
        kid: kid.into(),
        alg: "EdDSA".into(),
        public_jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": kid}),
        encrypted_private: vec![1, 2, 3],
        created_at: t0(),
    }
}

fn issued(kid: &str, list: Uuid, idx: i64, issued: i64, until: i64) -> IssuedCredential {
    IssuedCredential {
        id: Uuid::new_v4(),
        agent_id: Uuid::nil(),
        subject: "https://a.example/agents/42/client-metadata.json".into(),
        format: "vc+jwt".into(),
        kid: kid.into(),
        status_list_id: list,
        status_index: idx,
        issued_at: at(issued),
        valid_until: at(until),
    }
}

/// Activation makes exactly one key active and retires the previous one, which stays
/// published until the last credential it signed expires; a retired key cannot return.
pub async fn key_rotation(db: &Database) {
    let s = db.issuer_store();
    s.insert_key(&key("k1")).await.unwrap();
    let e = s.insert_key(&key("k1")).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    assert_eq!(s.active_key().await.unwrap(), None);
    assert!(s.published_keys(t0()).await.unwrap().is_empty());

    let k1 = s.activate_key("k1", at(1)).await.unwrap();
    assert!(k1.is_active());
    assert_eq!(k1.activated_at, Some(at(1)));
    assert_eq!(k1.encrypted_private, vec![1, 2, 3]);
    // Activating the active key again changes nothing.
    let same = s.activate_key("k1", at(2)).await.unwrap();
    assert_eq!(same, k1);

    let list = Uuid::new_v4();
    s.record_credential(&issued("k1", list, 0, 5, 1000))
        .await
        .unwrap();
    s.record_credential(&issued("k1", list, 1, 6, 900))
        .await
        .unwrap();

    s.insert_key(&key("k2")).await.unwrap();
    let k2 = s.activate_key("k2", at(10)).await.unwrap();
    assert!(k2.is_active());
    assert_eq!(
        s.active_key().await.unwrap().map(|k| k.kid),
        Some("k2".into())
    );
    let old = s.get_key("k1").await.unwrap().unwrap();
    assert_eq!(old.retired_at, Some(at(10)));
    assert_eq!(old.publish_until, Some(at(1000)));
    let active: Vec<_> = s
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.is_active())
        .collect();
    assert_eq!(active.len(), 1);

    let kids = |ks: Vec<crossauthz_store::SigningKey>| ks.into_iter().map(|k| k.kid).collect();
    let published: Vec<String> = kids(s.published_keys(at(999)).await.unwrap());
    assert_eq!(published, vec!["k1".to_string(), "k2".to_string()]);
    let published: Vec<String> = kids(s.published_keys(at(1000)).await.unwrap());
    assert_eq!(published, vec!["k2".to_string()]);

    s.set_publish_until("k1", at(5000)).await.unwrap();
    let published: Vec<String> = kids(s.published_keys(at(4000)).await.unwrap());
    assert_eq!(published, vec!["k1".to_string(), "k2".to_string()]);

    let e = s.activate_key("k1", at(20)).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::InvalidTransition {
                from: "retired",
                to: "active"
            }
        ),
        "{e:?}"
    );
    let e = s.activate_key("nope", at(20)).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "signing key"
            }
        ),
        "{e:?}"
    );
    let e = s.set_publish_until("nope", at(20)).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    assert_eq!(s.get_key("nope").await.unwrap(), None);

    // A retired key that signed nothing is not kept published.
    s.insert_key(&key("k3")).await.unwrap();
    s.activate_key("k3", at(30)).await.unwrap();
    let k2 = s.get_key("k2").await.unwrap().unwrap();
    assert_eq!(k2.publish_until, Some(at(30)));
    let published: Vec<String> = kids(s.published_keys(at(30)).await.unwrap());
    assert_eq!(published, vec!["k1".to_string(), "k3".to_string()]);
}

/// Concurrent activations of different keys leave exactly one active key.
pub async fn concurrent_activation_leaves_one_active(db: &Database) {
    let s = db.issuer_store();
    for i in 0..8 {
        s.insert_key(&key(&format!("c{i}"))).await.unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.activate_key(&format!("c{i}"), at(i)).await
        }));
    }
    for t in tasks {
        // A key retired by a faster activation before its own turn may be refused; never more.
        match t.await.unwrap() {
            Ok(_) | Err(StoreError::InvalidTransition { .. }) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    let active = s
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.is_active())
        .count();
    assert_eq!(active, 1);
}

/// Issued credentials: unique id and status entry, known kid, queries.
pub async fn issued_credentials(db: &Database) {
    let s = db.issuer_store();
    s.insert_key(&key("k")).await.unwrap();
    let list = Uuid::new_v4();
    let agent = Uuid::new_v4();
    let mut c1 = issued("k", list, 0, 10, 100);
    c1.agent_id = agent;
    let mut c2 = issued("k", list, 1, 5, 300);
    c2.agent_id = agent;
    c2.format = "dc+sd-jwt".into();
    s.record_credential(&c1).await.unwrap();
    s.record_credential(&c2).await.unwrap();

    let e = s.record_credential(&c1).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    let same_entry = issued("k", list, 0, 1, 2);
    let e = s.record_credential(&same_entry).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    let unknown_kid = issued("zz", list, 9, 1, 2);
    let e = s.record_credential(&unknown_kid).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "signing key"
            }
        ),
        "{e:?}"
    );
    let negative = issued("k", list, -1, 1, 2);
    let e = s.record_credential(&negative).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidInput { .. }), "{e:?}");

    assert_eq!(s.get_credential(c1.id).await.unwrap(), Some(c1.clone()));
    assert_eq!(s.get_credential(Uuid::new_v4()).await.unwrap(), None);
    let mine = s.credentials_for_agent(agent).await.unwrap();
    assert_eq!(mine, vec![c2.clone(), c1.clone()]);
    assert!(
        s.credentials_for_agent(Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.latest_valid_until_for_kid("k").await.unwrap(),
        Some(at(300))
    );
    assert_eq!(s.latest_valid_until_for_kid("zz").await.unwrap(), None);
}
