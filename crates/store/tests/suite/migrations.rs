//! Migrator scheme: one version range per service in one `_sqlx_migrations` table.

use crossauthz_store::{Database, Service};

/// Running every migrator again (and in another order) changes nothing and fails nothing.
pub async fn migrations_are_idempotent(db: &Database) {
    db.migrate_all().await.unwrap();
    for service in Service::ALL.iter().rev() {
        db.migrate(*service).await.unwrap();
    }
    let versions: Vec<i64> = match db {
        Database::Postgres(pool) => {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        Database::Sqlite(pool) => {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        versions,
        vec![1000, 2000, 3000, 4000, 5000, 5001, 6000, 7000]
    );
}

/// A service migrates alone: the others' rows in `_sqlx_migrations` are ignored, not errors.
pub async fn one_service_migrates_alone(db: &Database) {
    // `db` is fresh and unmigrated here.
    db.migrate(Service::Status).await.unwrap();
    db.migrate(Service::Registry).await.unwrap();
    db.migrate(Service::Status).await.unwrap();
    let store = db.status_store();
    let list = store.create_list(8, 2, super::t0()).await.unwrap();
    assert_eq!(list.capacity, 8);
}
