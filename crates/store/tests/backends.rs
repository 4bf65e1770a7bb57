//! Runs the store suite (`tests/suite/`) against PostgreSQL and SQLite: every test exists as
//! `<name>::pg` and `<name>::sqlite`, each on its own fresh database. PostgreSQL is the server
//! named by `CROSSAUTHZ_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;

use crossauthz_store::Database;
use crossauthz_store::testing::TestDatabase;

/// Runs `f` on a fresh, migrated database of the given kind, then drops the database.
async fn with_db<F, Fut>(pg: bool, f: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let t = if pg {
        TestDatabase::postgres().await.unwrap()
    } else {
        TestDatabase::sqlite().unwrap()
    };
    let db = t.connect().await.unwrap();
    f(db.clone()).await;
    db.close().await;
    t.cleanup().await.unwrap();
}

/// Declares `$name::pg` and `$name::sqlite` running `suite::$path(&db)`.
macro_rules! both {
    ($name:ident => $($path:ident)::+) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pg() {
                super::with_db(true, |db| async move { crate::suite::$($path)::+(&db).await })
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::with_db(false, |db| async move { crate::suite::$($path)::+(&db).await })
                    .await;
            }
        }
    };
}

both!(migrations_are_idempotent => migrations::migrations_are_idempotent);
both!(registry_agent_lifecycle => registry::agent_lifecycle);
both!(registry_agent_paging => registry::agent_paging);
both!(registry_agent_credentials => registry::agent_credentials);
both!(registry_dcr_clients => registry::dcr_clients);
both!(registry_concurrent_updates_keep_every_version => registry::concurrent_updates_keep_every_version);
both!(issuer_key_rotation => issuer::key_rotation);
both!(issuer_concurrent_activation_leaves_one_active => issuer::concurrent_activation_leaves_one_active);
both!(issuer_issued_credentials => issuer::issued_credentials);
both!(status_lists => status::lists);
both!(status_allocation => status::allocation);
both!(status_b4_transitions_revoked_is_final => status::transitions);
both!(status_concurrent_allocation_never_doubles => status::concurrent_allocation_never_doubles);
both!(status_concurrent_revocation_applies_once => status::concurrent_revocation_applies_once);
both!(verifier_trust_list => verifier::trust_list);
both!(verifier_policy_sets => verifier::policy_sets);
both!(verifier_resources => verifier::resources);
both!(verifier_jti_replay => verifier::jti_replay);
both!(verifier_concurrent_jti_accepted_once => verifier::concurrent_jti_accepted_once);
both!(oauth_pending_authorizations => oauth::pending_authorizations);
both!(oauth_authorization_codes_single_use => oauth::authorization_codes);
both!(oauth_m7_refresh_rotation_and_reuse_detection => oauth::refresh_rotation);
both!(oauth_concurrent_rotation_succeeds_once => oauth::concurrent_rotation_succeeds_once);
both!(oauth_revoked_access_tokens_and_purge => oauth::revoked_access_tokens_and_purge);
both!(audit_chain_and_filters => audit::chain_and_filters);
both!(audit_concurrent_appends_stay_chained => audit::concurrent_appends_stay_chained);
both!(audit_checkpoints_append_only => audit::checkpoints);
both!(audit_verify_from_anchor => audit::verify_from_anchor);
both!(monitor_alerts => monitor::alerts);
both!(monitor_baselines_credentials_cursors => monitor::baselines_credentials_cursors);

/// Migrations of one service alone, on an unmigrated database.
mod migrations_one_service_alone {
    use crossauthz_store::Database;
    use crossauthz_store::testing::{TestDatabase, test_pool_settings};

    async fn run(t: TestDatabase) {
        let db = Database::connect_with(t.url(), &test_pool_settings())
            .await
            .unwrap();
        crate::suite::migrations::one_service_migrates_alone(&db).await;
        db.close().await;
        t.cleanup().await.unwrap();
    }

    #[tokio::test]
    async fn pg() {
        run(TestDatabase::postgres().await.unwrap()).await;
    }

    #[tokio::test]
    async fn sqlite() {
        run(TestDatabase::sqlite().unwrap()).await;
    }
}

/// Raw SQL that a tamper test runs behind the store's back, per backend. On Postgres the
/// append-only trigger is disabled for the edit (as only the table owner could).
async fn tamper(db: &Database, edit: &'static str) {
    match db {
        Database::Postgres(pool) => {
            let pg_edit = edit.replace("audit_events", "audit.events");
            let mut tx = pool.begin().await.unwrap();
            sqlx::raw_sql("ALTER TABLE audit.events DISABLE TRIGGER events_append_only")
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(pg_edit))
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::raw_sql("ALTER TABLE audit.events ENABLE TRIGGER events_append_only")
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::raw_sql(
                "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::raw_sql(edit).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
    }
}

/// Tamper tests: five events, a raw edit, then the expected break.
macro_rules! tampered {
    ($name:ident, $edit:literal, $check:ident) => {
        mod $name {
            async fn run(db: crossauthz_store::Database) {
                crate::suite::audit::five_events(&db).await;
                super::tamper(&db, $edit).await;
                crate::suite::audit::$check(&db).await;
            }

            #[tokio::test]
            async fn pg() {
                super::with_db(true, run).await;
            }

            #[tokio::test]
            async fn sqlite() {
                super::with_db(false, run).await;
            }
        }
    };
}

tampered!(
    audit_edited_event_is_detected,
    "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 3",
    edit_is_detected
);
tampered!(
    audit_removed_event_is_detected,
    "DELETE FROM audit_events WHERE seq = 2",
    removal_is_detected
);
tampered!(
    audit_relinked_event_is_detected,
    "UPDATE audit_events SET prev_hash = hash WHERE seq = 3",
    relink_is_detected
);

/// The database itself refuses UPDATE and DELETE on the audit table (and TRUNCATE on
/// Postgres), even for the table owner.
mod audit_update_delete_refused_by_trigger {
    use crossauthz_store::{Database, NewAuditEvent};

    async fn run(db: Database) {
        let s = db.audit_store();
        s.append(NewAuditEvent::new(crate::suite::t0(), "gateway", "x"))
            .await
            .unwrap();
        let statements: &[&str] = match &db {
            Database::Postgres(_) => &[
                "UPDATE audit.events SET reason = 'x'",
                "DELETE FROM audit.events",
                "TRUNCATE audit.events",
            ],
            Database::Sqlite(_) => &[
                "UPDATE audit_events SET reason = 'x'",
                "DELETE FROM audit_events",
            ],
        };
        for sql in statements {
            let err = match &db {
                Database::Postgres(pool) => sqlx::raw_sql(*sql).execute(pool).await.unwrap_err(),
                Database::Sqlite(pool) => sqlx::raw_sql(*sql).execute(pool).await.unwrap_err(),
            };
            let sqlx::Error::Database(e) = &err else {
                panic!("expected a database error for {sql}, got {err:?}");
            };
            assert!(
                e.message().contains("append-only"),
                "{sql}: {}",
                e.message()
            );
        }
        assert_eq!(
            s.verify_chain().await.unwrap(),
            crossauthz_store::ChainStatus::Intact {
                events: 1,
                head: s.head().await.unwrap().map(|h| h.1)
            }
        );
    }

    #[tokio::test]
    async fn pg() {
        super::with_db(true, run).await;
    }

    #[tokio::test]
    async fn sqlite() {
        super::with_db(false, run).await;
    }
}

/// `sqlite::memory:` (one connection, shared cache) migrates and serves every store.
#[tokio::test]
async fn sqlite_in_memory_database_serves_every_store() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    db.migrate_all().await.unwrap();
    suite::registry::agent_lifecycle(&db).await;
    suite::status::concurrent_allocation_never_doubles(&db).await;
    suite::audit::concurrent_appends_stay_chained(&db).await;
    db.close().await;
}

/// A URL of another scheme is refused with `UnsupportedUrl`.
#[tokio::test]
async fn unsupported_url_is_refused() {
    let e = Database::connect("mysql://root:secret@localhost/db")
        .await
        .unwrap_err();
    assert!(
        matches!(e, crossauthz_store::StoreError::UnsupportedUrl),
        "{e:?}"
    );
    assert!(!e.to_string().contains("secret"));
}
