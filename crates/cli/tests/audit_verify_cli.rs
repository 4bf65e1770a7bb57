//! `crossauthz audit verify` as a process against a real PostgreSQL database: exit 0 and
//! "intact" on an untouched log, exit 2 and the first broken event after a row was edited
//! behind the store's back (triggers disabled, as a superuser could).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use crossauthz_store::NewAuditEvent;
use crossauthz_store::testing::TestDatabase;
use sqlx::Connection;

fn run(url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crossauthz"))
        .args(["audit", "verify", "--database-url", url])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[tokio::test]
async fn audit_verify_names_the_first_broken_event_and_exits_2() {
    let t = TestDatabase::postgres().await.unwrap();
    let db = t.connect().await.unwrap();
    let audit = db.audit_store();
    for i in 0..5 {
        let mut e = NewAuditEvent::new(
            chrono::DateTime::from_timestamp(1_800_000_000 + i, 0).unwrap(),
            "verifier",
            "grant.issued",
        );
        e.decision = Some("grant".into());
        audit.append(e).await.unwrap();
    }
    let (code, out) = run(t.url());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit log intact: 5 events"), "{out}");

    let mut conn = sqlx::PgConnection::connect(t.url()).await.unwrap();
    sqlx::raw_sql(
        "SET session_replication_role = replica;
         UPDATE audit.events SET decision = 'deny' WHERE seq = 3;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let (code, out) = run(t.url());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("BROKEN at event 3: event_edited"), "{out}");
    db.close().await;
    t.cleanup().await.unwrap();
}
