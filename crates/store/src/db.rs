//! `Database`: connecting to PostgreSQL or SQLite, the per-service migrators, and the
//! constructors that hand out each service's store as `Arc<dyn …Store>`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::audit::AuditStore;
use crate::issuer::IssuerStore;
use crate::oauth::OAuthStore;
use crate::registry::RegistryStore;
use crate::status::StatusStore;
use crate::verifier::VerifierStore;
use crate::{StoreError, audit, issuer, oauth, registry, status, verifier};

/// The service whose tables (Postgres schema / SQLite table prefix) and migrations are meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Agents, their documents and credentials, DCR clients (migrations 1000+).
    Registry,
    /// Signing keys and issued credentials (migrations 2000+).
    Issuer,
    /// Status lists and entries (migrations 3000+).
    Status,
    /// Trust list, policies, resources, jti replay cache (migrations 4000+).
    Verifier,
    /// The hash-chained audit log (migrations 5000+).
    Audit,
    /// The gateway's OAuth grant state: pending consents, codes, refresh families, revoked
    /// access tokens (migrations 6000+).
    OAuth,
}

impl Service {
    /// Every service, in migration order.
    pub const ALL: [Service; 6] = [
        Service::Registry,
        Service::Issuer,
        Service::Status,
        Service::Verifier,
        Service::Audit,
        Service::OAuth,
    ];

    /// The Postgres schema name (also the SQLite table prefix without the `_`).
    pub fn schema(self) -> &'static str {
        match self {
            Service::Registry => "registry",
            Service::Issuer => "issuer",
            Service::Status => "status",
            Service::Verifier => "verifier",
            Service::Audit => "audit",
            Service::OAuth => "oauth",
        }
    }
}

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL (production).
    Postgres,
    /// Embedded SQLite (`start-dev`, tests).
    Sqlite,
}

/// The migrator of one service on one backend. Each migrator holds only its service's version
/// range and ignores the others' rows in the shared `_sqlx_migrations` table
/// (`set_ignore_missing(true)`), so the services migrate independently.
pub fn migrator(backend: Backend, service: Service) -> Migrator {
    let mut m = match (backend, service) {
        (Backend::Postgres, Service::Registry) => {
            sqlx::migrate!("../../migrations/postgres/registry")
        }
        (Backend::Postgres, Service::Issuer) => sqlx::migrate!("../../migrations/postgres/issuer"),
        (Backend::Postgres, Service::Status) => sqlx::migrate!("../../migrations/postgres/status"),
        (Backend::Postgres, Service::Verifier) => {
            sqlx::migrate!("../../migrations/postgres/verifier")
        }
        (Backend::Postgres, Service::Audit) => sqlx::migrate!("../../migrations/postgres/audit"),
        (Backend::Postgres, Service::OAuth) => sqlx::migrate!("../../migrations/postgres/oauth"),
        (Backend::Sqlite, Service::Registry) => sqlx::migrate!("../../migrations/sqlite/registry"),
        (Backend::Sqlite, Service::Issuer) => sqlx::migrate!("../../migrations/sqlite/issuer"),
        (Backend::Sqlite, Service::Status) => sqlx::migrate!("../../migrations/sqlite/status"),
        (Backend::Sqlite, Service::Verifier) => sqlx::migrate!("../../migrations/sqlite/verifier"),
        (Backend::Sqlite, Service::Audit) => sqlx::migrate!("../../migrations/sqlite/audit"),
        (Backend::Sqlite, Service::OAuth) => sqlx::migrate!("../../migrations/sqlite/oauth"),
    };
    m.set_ignore_missing(true);
    m
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Upper bound of open connections.
    pub max_connections: u32,
    /// How long to wait for a free connection.
    pub acquire_timeout: Duration,
    /// SQLite only: how long a writer waits for the database lock before `SQLITE_BUSY`.
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

/// A connection pool to one database, PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub enum Database {
    /// PostgreSQL: one schema per service, tables schema-qualified (`registry.agents`).
    Postgres(PgPool),
    /// SQLite: one file, WAL mode, foreign keys on; tables prefixed (`registry_agents`).
    Sqlite(SqlitePool),
}

impl Database {
    /// Connects with default [`PoolSettings`]. `url` is `postgres://…` (or `postgresql://…`),
    /// `sqlite://path?mode=rwc`, or `sqlite::memory:`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &PoolSettings::default()).await
    }

    /// Connects with explicit pool settings.
    pub async fn connect_with(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections.max(1))
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Database::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let mut options = SqliteConnectOptions::from_str(url)?
                .foreign_keys(true)
                .busy_timeout(settings.sqlite_busy_timeout);
            // An in-memory database lives in a shared cache, where table locks do not honour the
            // busy timeout: give it one connection. A file gets WAL (readers never block the
            // writer) with `synchronous = NORMAL`, durable at every checkpoint.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let max = if in_memory {
                1
            } else {
                options = options
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal);
                settings.max_connections.max(1)
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Database::Sqlite(pool))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The engine behind this pool.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Postgres(_) => Backend::Postgres,
            Database::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies the pending migrations of one service (idempotent).
    pub async fn migrate(&self, service: Service) -> Result<(), StoreError> {
        let m = migrator(self.backend(), service);
        match self {
            Database::Postgres(pool) => m.run(pool).await?,
            Database::Sqlite(pool) => m.run(pool).await?,
        }
        tracing::debug!(service = service.schema(), "migrations applied");
        Ok(())
    }

    /// Applies the pending migrations of every service (what `start-dev` does).
    pub async fn migrate_all(&self) -> Result<(), StoreError> {
        for service in Service::ALL {
            self.migrate(service).await?;
        }
        Ok(())
    }

    /// Runs `SELECT 1`: the database answers (readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Database::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        match self {
            Database::Postgres(pool) => pool.close().await,
            Database::Sqlite(pool) => pool.close().await,
        }
    }

    /// The registry service's store.
    pub fn registry_store(&self) -> Arc<dyn RegistryStore> {
        match self {
            Database::Postgres(pool) => Arc::new(registry::pg::PgRegistryStore::new(pool.clone())),
            Database::Sqlite(pool) => {
                Arc::new(registry::sqlite::SqliteRegistryStore::new(pool.clone()))
            }
        }
    }

    /// The issuer service's store.
    pub fn issuer_store(&self) -> Arc<dyn IssuerStore> {
        match self {
            Database::Postgres(pool) => Arc::new(issuer::pg::PgIssuerStore::new(pool.clone())),
            Database::Sqlite(pool) => {
                Arc::new(issuer::sqlite::SqliteIssuerStore::new(pool.clone()))
            }
        }
    }

    /// The status-list service's store.
    pub fn status_store(&self) -> Arc<dyn StatusStore> {
        match self {
            Database::Postgres(pool) => Arc::new(status::pg::PgStatusStore::new(pool.clone())),
            Database::Sqlite(pool) => {
                Arc::new(status::sqlite::SqliteStatusStore::new(pool.clone()))
            }
        }
    }

    /// The verifier service's store.
    pub fn verifier_store(&self) -> Arc<dyn VerifierStore> {
        match self {
            Database::Postgres(pool) => Arc::new(verifier::pg::PgVerifierStore::new(pool.clone())),
            Database::Sqlite(pool) => {
                Arc::new(verifier::sqlite::SqliteVerifierStore::new(pool.clone()))
            }
        }
    }

    /// The gateway's OAuth grant state.
    pub fn oauth_store(&self) -> Arc<dyn OAuthStore> {
        match self {
            Database::Postgres(pool) => Arc::new(oauth::pg::PgOAuthStore::new(pool.clone())),
            Database::Sqlite(pool) => Arc::new(oauth::sqlite::SqliteOAuthStore::new(pool.clone())),
        }
    }

    /// The audit log.
    pub fn audit_store(&self) -> Arc<dyn AuditStore> {
        match self {
            Database::Postgres(pool) => Arc::new(audit::pg::PgAuditStore::new(pool.clone())),
            Database::Sqlite(pool) => Arc::new(audit::sqlite::SqliteAuditStore::new(pool.clone())),
        }
    }
}

/// Starts a SQLite write transaction that takes the database write lock up front
/// (`BEGIN IMMEDIATE`), so a read-then-write sequence never fails with a lock upgrade deadlock
/// and concurrent writers queue on the busy timeout.
pub(crate) async fn sqlite_write_tx(
    pool: &SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Any URL that is neither postgres nor sqlite is refused with `UnsupportedUrl` (and not
        // echoed: it may carry a password) before any connection is attempted.
        #[test]
        fn connecting_to_any_other_url_is_refused(url in ".*") {
            prop_assume!(!url.starts_with("postgres") && !url.starts_with("sqlite:"));
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let err = rt.block_on(Database::connect(&url)).unwrap_err();
            prop_assert!(matches!(err, StoreError::UnsupportedUrl));
        }
    }

    #[test]
    fn each_migrator_holds_only_its_service_range() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            for (i, service) in Service::ALL.iter().enumerate() {
                let m = migrator(backend, *service);
                let low = 1000 * (i64::try_from(i).unwrap() + 1);
                assert!(m.iter().count() > 0);
                assert!(m.iter().all(|mig| (low..low + 1000).contains(&mig.version)));
                assert!(m.ignore_missing);
            }
        }
    }
}
