//! Throw-away databases for tests (feature `testing`): a fresh PostgreSQL database per test on
//! the server named by `CROSSAUTHZ_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), or a SQLite file in a temporary directory.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use uuid::Uuid;

use crate::{Database, PoolSettings, StoreError};

/// Environment variable naming the PostgreSQL server used by tests.
pub const TEST_PG_ENV: &str = "CROSSAUTHZ_TEST_PG";

/// Default admin URL of the test PostgreSQL server.
pub const DEFAULT_TEST_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Pool settings for tests: few connections (CI machines have few cores).
pub fn test_pool_settings() -> PoolSettings {
    PoolSettings {
        max_connections: 4,
        ..PoolSettings::default()
    }
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Postgres {
        admin: Box<PgConnectOptions>,
        name: String,
        dropped: bool,
    },
    Sqlite {
        _dir: tempfile::TempDir,
    },
}

impl TestDatabase {
    /// Creates database `crossauthz_test_<uuid>` on the test server.
    pub async fn postgres() -> Result<Self, StoreError> {
        let admin_url = std::env::var(TEST_PG_ENV).unwrap_or_else(|_| DEFAULT_TEST_PG.to_owned());
        let admin = PgConnectOptions::from_str(&admin_url)?;
        let name = format!("crossauthz_test_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::connect_with(&admin).await?;
        // `name` is generated above from a UUID: safe to splice.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = replace_database(&admin_url, &name);
        Ok(Self {
            url,
            kind: Kind::Postgres {
                admin: Box::new(admin),
                name,
                dropped: false,
            },
        })
    }

    /// Creates an empty SQLite file in a fresh temporary directory (removed on drop).
    pub fn sqlite() -> Result<Self, StoreError> {
        let dir = tempfile::tempdir()
            .map_err(|e| StoreError::invalid(format!("cannot create a temp dir: {e}")))?;
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        Ok(Self {
            url,
            kind: Kind::Sqlite { _dir: dir },
        })
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connects with [`test_pool_settings`] and applies every service's migrations.
    pub async fn connect(&self) -> Result<Database, StoreError> {
        let db = Database::connect_with(&self.url, &test_pool_settings()).await?;
        db.migrate_all().await?;
        Ok(db)
    }

    /// Drops the PostgreSQL database (closing its other connections) or removes the SQLite
    /// directory.
    pub async fn cleanup(mut self) -> Result<(), StoreError> {
        if let Kind::Postgres {
            admin,
            name,
            dropped,
        } = &mut self.kind
        {
            drop_pg(admin, name).await?;
            *dropped = true;
        }
        Ok(())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Kind::Postgres {
            admin,
            name,
            dropped: false,
        } = &self.kind
        else {
            return;
        };
        // Best effort from a plain thread with its own runtime: Drop cannot await, and this may
        // run inside a runtime that must not be blocked on itself.
        let (admin, name) = (admin.clone(), name.clone());
        let worker = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                && let Err(e) = rt.block_on(drop_pg(&admin, &name))
            {
                tracing::warn!(database = %name, error = %e, "could not drop test database");
            }
        });
        let _ = worker.join();
    }
}

async fn drop_pg(admin: &PgConnectOptions, name: &str) -> Result<(), StoreError> {
    let mut conn = PgConnection::connect_with(admin).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

/// `admin_url` with its database path replaced by `name` (query string kept).
fn replace_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::replace_database;

    #[test]
    fn replaces_database_keeping_query() {
        assert_eq!(
            replace_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }

    proptest::proptest! {
        // The URL rewrite handles any input without panicking and always ends with the name.
        #[test]
        fn replacing_database_in_any_url_never_panics(url in ".*") {
            let out = replace_database(&url, "x");
            let path = out.split('?').next().unwrap_or_default();
            proptest::prop_assert!(path.ends_with("/x"));
        }
    }
}
