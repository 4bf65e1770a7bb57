//! OAuth store: pending consents, single-use codes, refresh rotation with reuse detection (M7),
//! revoked access-token jtis.

use crossauthz_store::oauth::secret_hash;
use crossauthz_store::{
    CodeRedemption, Database, NewAuthorizationCode, NewRefreshFamily, PendingAuthorization,
    RefreshRotation, StoreError,
};
use uuid::Uuid;

use super::{at, t0};

const CLIENT: &str = "https://alpha.example/agents/1/client-metadata.json";
const MCP: &str = "https://mcp.beta.example/mcp";

fn pending() -> PendingAuthorization {
    PendingAuthorization {
        client_id: CLIENT.into(),
        redirect_uri: "http://127.0.0.1:33418/callback".into(),
        state: Some("xyz".into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        resource: MCP.into(),
        scopes: vec!["logs:read".into(), "status:read".into()],
        subject: "dev-user".into(),
        created_at: t0(),
        expires_at: at(600),
    }
}

fn code() -> NewAuthorizationCode {
    NewAuthorizationCode {
        client_id: CLIENT.into(),
        redirect_uri: "http://127.0.0.1:33418/callback".into(),
        resource: MCP.into(),
        scopes: vec!["logs:read".into()],
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        subject: "dev-user".into(),
        created_at: t0(),
        expires_at: at(60),
    }
}

fn family(id: Uuid) -> NewRefreshFamily {
    NewRefreshFamily {
        family_id: id,
        client_id: CLIENT.into(),
        confidential: false,
        subject: "dev-user".into(),
        resource: MCP.into(),
        scopes: vec!["logs:read".into()],
        credential_id: Some("urn:uuid:1".into()),
        issuer_domain: Some("alpha.example".into()),
        created_at: t0(),
        expires_at: at(86_400),
    }
}

/// A pending consent is returned once, and not after it expired.
pub async fn pending_authorizations(db: &Database) {
    let s = db.oauth_store();
    s.put_pending_authorization("handle-1.cookie", &pending())
        .await
        .unwrap();
    let e = s
        .put_pending_authorization("handle-1.cookie", &pending())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    // The wrong key (e.g. a missing or forged binding cookie) finds nothing.
    assert_eq!(
        s.take_pending_authorization("handle-1.other", at(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.take_pending_authorization("handle-1.cookie", at(1))
            .await
            .unwrap(),
        Some(pending())
    );
    assert_eq!(
        s.take_pending_authorization("handle-1.cookie", at(2))
            .await
            .unwrap(),
        None,
        "single use"
    );
    s.put_pending_authorization("handle-2", &pending())
        .await
        .unwrap();
    assert_eq!(
        s.take_pending_authorization("handle-2", at(600))
            .await
            .unwrap(),
        None,
        "expired"
    );
    let mut bad = pending();
    bad.expires_at = t0();
    assert!(matches!(
        s.put_pending_authorization("handle-3", &bad).await,
        Err(StoreError::InvalidInput { .. })
    ));
    assert!(matches!(
        s.put_pending_authorization("", &pending()).await,
        Err(StoreError::InvalidInput { .. })
    ));
}

/// A code is redeemed once; a second redemption revokes the family of the first (RFC 6749
/// §4.1.2); an expired code is refused; only the hash is stored.
pub async fn authorization_codes(db: &Database) {
    let s = db.oauth_store();
    s.put_authorization_code("code-1", &code()).await.unwrap();
    assert!(matches!(
        s.put_authorization_code("code-1", &code()).await,
        Err(StoreError::Conflict { .. })
    ));
    let read = s.get_authorization_code("code-1").await.unwrap().unwrap();
    assert_eq!(read.code, code());
    assert_eq!(read.redeemed_at, None);
    assert_eq!(s.get_authorization_code("code-2").await.unwrap(), None);

    let f = Uuid::new_v4();
    let CodeRedemption::Redeemed(redeemed) = s
        .redeem_authorization_code("code-1", f, at(5))
        .await
        .unwrap()
    else {
        panic!("first redemption must succeed");
    };
    assert_eq!(redeemed.family_id, Some(f));
    s.create_refresh_family(&family(f), "rt-1", at(3600))
        .await
        .unwrap();
    assert_eq!(
        s.redeem_authorization_code("code-1", Uuid::new_v4(), at(6))
            .await
            .unwrap(),
        CodeRedemption::AlreadyRedeemed { family_id: Some(f) }
    );
    let rt = s.get_refresh_token("rt-1").await.unwrap().unwrap();
    assert_eq!(rt.family.revoked_reason.as_deref(), Some("code_reused"));
    assert!(!rt.is_active(at(7)));

    s.put_authorization_code("code-3", &code()).await.unwrap();
    assert_eq!(
        s.redeem_authorization_code("code-3", Uuid::new_v4(), at(60))
            .await
            .unwrap(),
        CodeRedemption::Expired
    );
    assert_eq!(
        s.redeem_authorization_code("nope", Uuid::new_v4(), at(1))
            .await
            .unwrap(),
        CodeRedemption::NotFound
    );

    // Nothing but the hash is in the table.
    let stored: Vec<Vec<u8>> = match db {
        Database::Postgres(pool) => {
            sqlx::query_scalar("SELECT code_hash FROM oauth.authorization_codes")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        Database::Sqlite(pool) => {
            sqlx::query_scalar("SELECT code_hash FROM oauth_authorization_codes")
                .fetch_all(pool)
                .await
                .unwrap()
        }
    };
    assert!(stored.contains(&secret_hash("code-1")));
    assert!(!stored.iter().any(|h| h == b"code-1"));
}

/// M7: every refresh rotates; presenting a used token revokes the whole family, including the
/// newest token; expired tokens are refused.
pub async fn refresh_rotation(db: &Database) {
    let s = db.oauth_store();
    let f = Uuid::new_v4();
    let first = s
        .create_refresh_family(&family(f), "rt-a", at(3600))
        .await
        .unwrap();
    assert!(first.is_active(at(1)));
    assert_eq!(first.family.family.scopes, vec!["logs:read"]);

    let RefreshRotation::Rotated(second) = s
        .rotate_refresh_token("rt-a", "rt-b", at(3610), at(10))
        .await
        .unwrap()
    else {
        panic!("rotation");
    };
    assert_eq!(second.family.family.family_id, f);
    assert_eq!(second.expires_at, at(3610));
    assert!(
        !s.get_refresh_token("rt-a")
            .await
            .unwrap()
            .unwrap()
            .is_active(at(11))
    );
    assert!(
        s.get_refresh_token("rt-b")
            .await
            .unwrap()
            .unwrap()
            .is_active(at(11))
    );

    // The old token again: reuse, the family dies.
    assert_eq!(
        s.rotate_refresh_token("rt-a", "rt-x", at(3620), at(20))
            .await
            .unwrap(),
        RefreshRotation::Reused { family_id: f }
    );
    let b = s.get_refresh_token("rt-b").await.unwrap().unwrap();
    assert_eq!(
        b.family.revoked_reason.as_deref(),
        Some("refresh_token_reused")
    );
    assert_eq!(
        s.rotate_refresh_token("rt-b", "rt-c", at(3630), at(30))
            .await
            .unwrap(),
        RefreshRotation::Revoked
    );
    assert_eq!(s.get_refresh_token("rt-x").await.unwrap(), None);

    // Expiry: of the token, and the family's end caps every successor.
    let g = Uuid::new_v4();
    s.create_refresh_family(&family(g), "rt-g", at(100))
        .await
        .unwrap();
    assert_eq!(
        s.rotate_refresh_token("rt-g", "rt-h", at(200), at(100))
            .await
            .unwrap(),
        RefreshRotation::Expired
    );
    let RefreshRotation::Rotated(h) = s
        .rotate_refresh_token("rt-g", "rt-h", at(999_999), at(50))
        .await
        .unwrap()
    else {
        panic!("rotation");
    };
    assert_eq!(h.expires_at, at(86_400), "capped at the family's end");
    assert_eq!(
        s.rotate_refresh_token("nope", "rt-z", at(200), at(50))
            .await
            .unwrap(),
        RefreshRotation::NotFound
    );

    // Explicit revocation (RFC 7009) is idempotent.
    assert!(s.revoke_refresh_family(g, "revoked", at(60)).await.unwrap());
    assert!(!s.revoke_refresh_family(g, "revoked", at(61)).await.unwrap());
    assert!(
        !s.revoke_refresh_family(Uuid::new_v4(), "revoked", at(61))
            .await
            .unwrap()
    );
}

/// Of many concurrent rotations of one token exactly one succeeds; the others are reuses and
/// the family ends revoked.
pub async fn concurrent_rotation_succeeds_once(db: &Database) {
    let s = db.oauth_store();
    let f = Uuid::new_v4();
    s.create_refresh_family(&family(f), "rt-0", at(3600))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.rotate_refresh_token("rt-0", &format!("rt-next-{i}"), at(3600), at(1))
                .await
                .unwrap()
        }));
    }
    let mut rotated = 0;
    let mut reused = 0;
    for t in tasks {
        match t.await.unwrap() {
            RefreshRotation::Rotated(_) => rotated += 1,
            RefreshRotation::Reused { .. } | RefreshRotation::Revoked => reused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
    assert_eq!(reused, 15);
    let t = s.get_refresh_token("rt-0").await.unwrap().unwrap();
    assert!(t.family.revoked_at.is_some());
}

/// Revoked access-token jtis are kept until their expiry, then purged with everything else
/// that expired.
pub async fn revoked_access_tokens_and_purge(db: &Database) {
    let s = db.oauth_store();
    assert!(!s.access_token_revoked("jti-1").await.unwrap());
    assert!(
        s.revoke_access_token("jti-1", CLIENT, at(900), t0())
            .await
            .unwrap()
    );
    assert!(
        !s.revoke_access_token("jti-1", CLIENT, at(900), at(1))
            .await
            .unwrap()
    );
    assert!(s.access_token_revoked("jti-1").await.unwrap());
    assert!(matches!(
        s.revoke_access_token("", CLIENT, at(300), t0()).await,
        Err(StoreError::InvalidInput { .. })
    ));

    s.put_pending_authorization("p", &pending()).await.unwrap();
    s.put_authorization_code("c", &code()).await.unwrap();
    let f = Uuid::new_v4();
    s.create_refresh_family(&family(f), "r", at(3600))
        .await
        .unwrap();
    assert_eq!(s.purge_expired(at(700)).await.unwrap(), 2, "pending + code");
    assert!(s.access_token_revoked("jti-1").await.unwrap());
    assert_eq!(
        s.purge_expired(at(86_400)).await.unwrap(),
        2,
        "jti + family"
    );
    assert!(!s.access_token_revoked("jti-1").await.unwrap());
    assert_eq!(s.get_refresh_token("r").await.unwrap(), None);
}
