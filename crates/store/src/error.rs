//! `StoreError`: every failure a store operation reports, typed by the rule it broke.

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The addressed row does not exist (or is soft-deleted).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`"agent"`, `"status entry"`, …).
        what: &'static str,
    },
    /// A uniqueness rule or an optimistic-concurrency check failed.
    #[error("conflict: {what}")]
    Conflict {
        /// What conflicted (duplicate id, stale version, …).
        what: String,
    },
    /// A state change the lifecycle does not allow (e.g. anything out of `revoked`).
    #[error("invalid state transition from {from} to {to}")]
    InvalidTransition {
        /// The current state.
        from: &'static str,
        /// The requested state.
        to: &'static str,
    },
    /// A status index outside `0..capacity` of its list.
    #[error("status index {idx} is out of range for a list of capacity {capacity}")]
    IndexOutOfRange {
        /// The requested index.
        idx: i64,
        /// The capacity of the list.
        capacity: i64,
    },
    /// The caller passed a value the store refuses (zero page size, bad bit width, …).
    #[error("invalid input: {what}")]
    InvalidInput {
        /// What is wrong.
        what: String,
    },
    /// A row read from the database does not decode into the domain type (never panics).
    #[error("corrupt row: {what}")]
    Corrupt {
        /// What could not be decoded.
        what: String,
    },
    /// The database URL is neither `postgres://…` nor `sqlite:…` (the URL is not echoed: it may
    /// hold a password).
    #[error("unsupported database URL scheme (expected postgres:// or sqlite:)")]
    UnsupportedUrl,
    /// The database failed (connection, SQL, constraint not mapped above).
    #[error("database error: {0}")]
    Backend(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// `NotFound` for `what`.
    pub(crate) fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }

    /// `Conflict` with a description.
    pub(crate) fn conflict(what: impl Into<String>) -> Self {
        Self::Conflict { what: what.into() }
    }

    /// `InvalidInput` with a description.
    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Self::InvalidInput { what: what.into() }
    }

    /// `Corrupt` with a description.
    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt { what: what.into() }
    }
}

/// Maps a unique-constraint violation to `Conflict { what }` and a foreign-key violation to
/// `NotFound { what: missing }`; anything else stays a `Backend` error.
pub(crate) fn map_constraint(e: sqlx::Error, conflict: &str, missing: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::conflict(conflict);
        }
        if db.is_foreign_key_violation() {
            return StoreError::not_found(missing);
        }
    }
    StoreError::Backend(e)
}
