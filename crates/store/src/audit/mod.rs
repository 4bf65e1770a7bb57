//! Audit store: the append-only, hash-chained audit log.
//!
//! Each event's `hash` is `SHA-256(prev_hash || canonical_bytes(event))`; the first event's
//! `prev_hash` is 32 zero bytes. The hash is computed inside the transaction that serialises
//! appends (Postgres: `LOCK TABLE … IN EXCLUSIVE MODE`; SQLite: `BEGIN IMMEDIATE`), so `seq` is
//! gap-free and the chain has no forks. [`AuditStore::verify_chain`] recomputes every hash.
//!
//! Canonical bytes (version 1), all integers big-endian:
//! `"crossauthz-audit-v1"`, `seq` (i64), `at` as Unix microseconds (i64), then each field in
//! declaration order — `service`, `kind` as strings; `actor`, `client_id`, `credential_id`,
//! `issuer` as optional strings; `scopes` as an optional list; `resource`, `decision`, `reason`,
//! `trace_id` as optional strings; `details` as a string (its stored JSON text). A string is its
//! byte length (u64) and UTF-8 bytes; an optional value is `0x00` when absent, else `0x01` and
//! the value; a list is its length (u64) and its strings.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::types::Json;

use crate::StoreError;

pub(crate) mod pg;
pub(crate) mod sqlite;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Largest page [`AuditStore::list`] returns.
pub const MAX_LIST_LIMIT: u32 = 10_000;

/// An event to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    /// When it happened (stored with microsecond precision).
    pub at: DateTime<Utc>,
    /// The service that reports it (`registry`, `issuer`, `status`, `verifier`, `gateway`).
    pub service: String,
    /// What happened (`credential.issued`, `grant.decision`, `metadata.fetch`, …).
    pub kind: String,
    /// Who did it (admin principal, agent).
    pub actor: Option<String>,
    /// The OAuth client concerned.
    pub client_id: Option<String>,
    /// The credential concerned (ours or a foreign one).
    pub credential_id: Option<String>,
    /// The credential issuer concerned.
    pub issuer: Option<String>,
    /// Scopes requested or granted.
    pub scopes: Option<Vec<String>>,
    /// The resource indicator concerned.
    pub resource: Option<String>,
    /// Decision (`grant`, `deny`, …).
    pub decision: Option<String>,
    /// Machine-readable reason.
    pub reason: Option<String>,
    /// W3C trace id.
    pub trace_id: Option<String>,
    /// Every other input of the event.
    pub details: Value,
}

impl NewAuditEvent {
    /// An event with only the required fields set (details `{}`).
    pub fn new(at: DateTime<Utc>, service: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            at,
            service: service.into(),
            kind: kind.into(),
            actor: None,
            client_id: None,
            credential_id: None,
            issuer: None,
            scopes: None,
            resource: None,
            decision: None,
            reason: None,
            trace_id: None,
            details: Value::Object(serde_json::Map::new()),
        }
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the log, 1, 2, … without gaps.
    pub seq: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Reporting service.
    pub service: String,
    /// What happened.
    pub kind: String,
    /// Who did it.
    pub actor: Option<String>,
    /// OAuth client.
    pub client_id: Option<String>,
    /// Credential.
    pub credential_id: Option<String>,
    /// Credential issuer.
    pub issuer: Option<String>,
    /// Scopes.
    pub scopes: Option<Vec<String>>,
    /// Resource indicator.
    pub resource: Option<String>,
    /// Decision.
    pub decision: Option<String>,
    /// Reason.
    pub reason: Option<String>,
    /// Trace id.
    pub trace_id: Option<String>,
    /// Other inputs.
    pub details: Value,
    /// Hash of the previous event (zeros for the first).
    pub prev_hash: [u8; 32],
    /// `SHA-256(prev_hash || canonical bytes)`.
    pub hash: [u8; 32],
}

/// Which events [`AuditStore::list`] returns (all conditions must hold), ordered by `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFilter {
    /// `at >= since`.
    pub since: Option<DateTime<Utc>>,
    /// `at < until`.
    pub until: Option<DateTime<Utc>>,
    /// Exact client_id.
    pub client_id: Option<String>,
    /// Exact decision.
    pub decision: Option<String>,
    /// Exact kind.
    pub kind: Option<String>,
    /// `seq > after_seq` (paging cursor).
    pub after_seq: Option<i64>,
    /// At most this many events (1 ..= [`MAX_LIST_LIMIT`]).
    pub limit: u32,
}

impl Default for AuditFilter {
    fn default() -> Self {
        Self {
            since: None,
            until: None,
            client_id: None,
            decision: None,
            kind: None,
            after_seq: None,
            limit: 100,
        }
    }
}

/// Why a chain check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainBreak {
    /// `seq` does not follow the previous event's (an event was removed).
    SeqGap,
    /// `prev_hash` is not the previous event's `hash`.
    PrevHashMismatch,
    /// The stored `hash` is not the hash of the stored fields (the event was edited).
    HashMismatch,
}

/// Outcome of [`AuditStore::verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainStatus {
    /// Every event checks out.
    Intact {
        /// Number of events checked.
        events: u64,
        /// Hash of the last event (anchor it elsewhere to detect truncation of the tail).
        head: Option<[u8; 32]>,
    },
    /// The first event that does not check out.
    Broken {
        /// Its `seq`.
        seq: i64,
        /// What is wrong with it.
        reason: ChainBreak,
    },
}

/// A signed checkpoint of the chain: the domain's signature over one event's `seq`, `hash` and
/// time, so a rewrite of the chain up to that event, or the removal of events up to and after
/// it, is detectable by whoever holds the public key. Append-only like the events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheckpoint {
    /// The event it covers.
    pub seq: i64,
    /// That event's `hash` at signing time.
    pub hash: [u8; 32],
    /// That event's `at`.
    pub event_at: DateTime<Utc>,
    /// When the checkpoint was signed.
    pub signed_at: DateTime<Utc>,
    /// The signing key (DID URL).
    pub kid: String,
    /// The compact JWS over the checkpoint claims.
    pub jws: String,
}

/// Largest page [`AuditStore::checkpoints`] returns.
pub const MAX_CHECKPOINT_PAGE: u32 = 10_000;

/// Outcome of [`AuditStore::verify_chain_from`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Intact, or the first event that does not check out.
    pub status: ChainStatus,
    /// `seq` and `hash` of the last event that checked out (the anchor if none after it did):
    /// after a [`ChainBreak::SeqGap`] the first missing event is this `seq + 1`.
    pub last_intact: Option<(i64, [u8; 32])>,
}

/// Storage of the audit log.
#[async_trait]
pub trait AuditStore: Send + Sync + std::fmt::Debug {
    /// Appends an event, chaining it to the last one.
    async fn append(&self, event: NewAuditEvent) -> Result<AuditEvent, StoreError>;

    /// Events matching the filter, by `seq`. `limit` outside `1..=MAX_LIST_LIMIT` is
    /// `InvalidInput`.
    async fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;

    /// `seq` and `hash` of the last event.
    async fn head(&self) -> Result<Option<(i64, [u8; 32])>, StoreError>;

    /// Recomputes the whole chain.
    async fn verify_chain(&self) -> Result<ChainStatus, StoreError> {
        Ok(self.verify_chain_from(None).await?.status)
    }

    /// Recomputes the chain after `anchor` (`seq`, `hash` of an event already verified, e.g.
    /// the last signed checkpoint), or from the start when `None`, and reports the last event
    /// that checked out besides the status.
    async fn verify_chain_from(
        &self,
        anchor: Option<(i64, [u8; 32])>,
    ) -> Result<ChainReport, StoreError>;

    /// Stores a signed checkpoint. A second checkpoint for the same `seq` is `Conflict`.
    async fn append_checkpoint(&self, checkpoint: &AuditCheckpoint) -> Result<(), StoreError>;

    /// Checkpoints with `seq > after_seq`, by `seq`, at most `limit` (1 ..=
    /// [`MAX_CHECKPOINT_PAGE`]).
    async fn checkpoints(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditCheckpoint>, StoreError>;

    /// The checkpoint with the highest `seq`.
    async fn last_checkpoint(&self) -> Result<Option<AuditCheckpoint>, StoreError>;
}

/// A checkpoint as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CheckpointRow {
    pub(crate) seq: i64,
    pub(crate) hash: Vec<u8>,
    pub(crate) event_at: DateTime<Utc>,
    pub(crate) signed_at: DateTime<Utc>,
    pub(crate) kid: String,
    pub(crate) jws: String,
}

impl TryFrom<CheckpointRow> for AuditCheckpoint {
    type Error = StoreError;
    fn try_from(r: CheckpointRow) -> Result<Self, StoreError> {
        Ok(AuditCheckpoint {
            seq: r.seq,
            hash: hash32(&r.hash, "checkpoint hash")?,
            event_at: r.event_at,
            signed_at: r.signed_at,
            kid: r.kid,
            jws: r.jws,
        })
    }
}

/// Checks a checkpoint before it is stored.
pub(crate) fn check_checkpoint(c: &AuditCheckpoint) -> Result<(), StoreError> {
    if c.seq < 1 {
        return Err(StoreError::invalid("checkpoint seq must be at least 1"));
    }
    if c.kid.is_empty() || c.jws.is_empty() {
        return Err(StoreError::invalid("checkpoint kid and jws are required"));
    }
    Ok(())
}

/// Checks a checkpoint page size.
pub(crate) fn check_checkpoint_limit(limit: u32) -> Result<i64, StoreError> {
    if limit == 0 || limit > MAX_CHECKPOINT_PAGE {
        return Err(StoreError::invalid(format!(
            "limit must be between 1 and {MAX_CHECKPOINT_PAGE}"
        )));
    }
    Ok(i64::from(limit))
}

/// An event as stored (details as its JSON text, hashes as bytes).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub(crate) seq: i64,
    pub(crate) at: DateTime<Utc>,
    pub(crate) service: String,
    pub(crate) kind: String,
    pub(crate) actor: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) credential_id: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) scopes: Option<Json<Vec<String>>>,
    pub(crate) resource: Option<String>,
    pub(crate) decision: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) trace_id: Option<String>,
    pub(crate) details: String,
    pub(crate) prev_hash: Vec<u8>,
    pub(crate) hash: Vec<u8>,
}

impl AuditRow {
    /// The row for `event` at position `seq` after `prev_hash`, its hash computed.
    pub(crate) fn chain(
        event: NewAuditEvent,
        seq: i64,
        prev_hash: [u8; 32],
    ) -> Result<Self, StoreError> {
        let details = serde_json::to_string(&event.details)
            .map_err(|e| StoreError::invalid(format!("audit details: {e}")))?;
        let mut row = AuditRow {
            seq,
            at: crate::time::us(event.at),
            service: event.service,
            kind: event.kind,
            actor: event.actor,
            client_id: event.client_id,
            credential_id: event.credential_id,
            issuer: event.issuer,
            scopes: event.scopes.map(Json),
            resource: event.resource,
            decision: event.decision,
            reason: event.reason,
            trace_id: event.trace_id,
            details,
            prev_hash: prev_hash.to_vec(),
            hash: Vec::new(),
        };
        row.hash = row.compute_hash(&prev_hash).to_vec();
        Ok(row)
    }

    /// `SHA-256(prev_hash || canonical bytes of this row's fields)`.
    pub(crate) fn compute_hash(&self, prev_hash: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(prev_hash);
        h.update(self.canonical_bytes());
        h.finalize().into()
    }

    /// The canonical bytes described in the module documentation.
    pub(crate) fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.details.len());
        out.extend_from_slice(b"crossauthz-audit-v1");
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at.timestamp_micros().to_be_bytes());
        put_str(&mut out, &self.service);
        put_str(&mut out, &self.kind);
        put_opt(&mut out, self.actor.as_deref());
        put_opt(&mut out, self.client_id.as_deref());
        put_opt(&mut out, self.credential_id.as_deref());
        put_opt(&mut out, self.issuer.as_deref());
        match &self.scopes {
            None => out.push(0),
            Some(Json(scopes)) => {
                out.push(1);
                out.extend_from_slice(&(scopes.len() as u64).to_be_bytes());
                for s in scopes {
                    put_str(&mut out, s);
                }
            }
        }
        put_opt(&mut out, self.resource.as_deref());
        put_opt(&mut out, self.decision.as_deref());
        put_opt(&mut out, self.reason.as_deref());
        put_opt(&mut out, self.trace_id.as_deref());
        put_str(&mut out, &self.details);
        out
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn hash32(bytes: &[u8], what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::corrupt(format!("audit {what} length")))
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let details = serde_json::from_str(&r.details)
            .map_err(|_| StoreError::corrupt("audit details are not JSON"))?;
        Ok(AuditEvent {
            seq: r.seq,
            at: r.at,
            service: r.service,
            kind: r.kind,
            actor: r.actor,
            client_id: r.client_id,
            credential_id: r.credential_id,
            issuer: r.issuer,
            scopes: r.scopes.map(|j| j.0),
            resource: r.resource,
            decision: r.decision,
            reason: r.reason,
            trace_id: r.trace_id,
            details,
            prev_hash: hash32(&r.prev_hash, "prev_hash")?,
            hash: hash32(&r.hash, "hash")?,
        })
    }
}

/// Checks a list limit.
pub(crate) fn check_limit(limit: u32) -> Result<i64, StoreError> {
    if limit == 0 || limit > MAX_LIST_LIMIT {
        return Err(StoreError::invalid(format!(
            "limit must be between 1 and {MAX_LIST_LIMIT}"
        )));
    }
    Ok(i64::from(limit))
}

/// Rows per page while verifying the chain.
pub(crate) const VERIFY_PAGE: i64 = 500;

/// Incremental chain verification over pages of rows in `seq` order.
#[derive(Debug)]
pub(crate) struct ChainVerifier {
    last_seq: i64,
    last_hash: [u8; 32],
    events: u64,
}

impl ChainVerifier {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::from_anchor(None)
    }

    /// Continues after an already verified event (`seq`, `hash`), or from the start.
    pub(crate) fn from_anchor(anchor: Option<(i64, [u8; 32])>) -> Self {
        let (last_seq, last_hash) = anchor.unwrap_or((0, GENESIS_HASH));
        Self {
            last_seq,
            last_hash,
            events: 0,
        }
    }

    /// The last event that checked out (or the anchor).
    pub(crate) fn last_intact(&self) -> Option<(i64, [u8; 32])> {
        (self.last_seq > 0).then_some((self.last_seq, self.last_hash))
    }

    /// A report with `status`.
    pub(crate) fn report(&self, status: ChainStatus) -> ChainReport {
        ChainReport {
            status,
            last_intact: self.last_intact(),
        }
    }

    /// The `seq` after which to read the next page.
    pub(crate) fn cursor(&self) -> i64 {
        self.last_seq
    }

    /// Checks the next row; `Some` with the first break.
    pub(crate) fn check(&mut self, row: &AuditRow) -> Option<ChainStatus> {
        let broken = |reason| {
            Some(ChainStatus::Broken {
                seq: row.seq,
                reason,
            })
        };
        if row.seq != self.last_seq + 1 {
            return broken(ChainBreak::SeqGap);
        }
        if row.prev_hash.as_slice() != self.last_hash.as_slice() {
            return broken(ChainBreak::PrevHashMismatch);
        }
        let hash = row.compute_hash(&row.prev_hash);
        if row.hash.as_slice() != hash.as_slice() {
            return broken(ChainBreak::HashMismatch);
        }
        self.last_seq = row.seq;
        self.last_hash = hash;
        self.events += 1;
        None
    }

    /// The result once every row passed.
    pub(crate) fn finish(self) -> ChainReport {
        let status = ChainStatus::Intact {
            events: self.events,
            head: (self.last_seq > 0).then_some(self.last_hash),
        };
        self.report(status)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event() -> NewAuditEvent {
        let mut e = NewAuditEvent::new(
            Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
            "verifier",
            "grant.decision",
        );
        e.client_id = Some("https://a.example/agents/42/client-metadata.json".into());
        e.scopes = Some(vec!["logs:read".into()]);
        e.details = serde_json::json!({"b": 1, "a": [true, null]});
        e
    }

    // Canonical bytes: an absent optional differs from a present empty string, so fields cannot
    // be shifted into each other without changing the hash.
    #[test]
    fn canonical_bytes_distinguish_absent_from_empty() {
        let a = AuditRow::chain(event(), 1, GENESIS_HASH).unwrap();
        let mut e = event();
        e.actor = Some(String::new());
        let b = AuditRow::chain(e, 1, GENESIS_HASH).unwrap();
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn hash_depends_on_prev_hash_and_seq() {
        let a = AuditRow::chain(event(), 1, GENESIS_HASH).unwrap();
        let b = AuditRow::chain(event(), 1, [1; 32]).unwrap();
        let c = AuditRow::chain(event(), 2, GENESIS_HASH).unwrap();
        assert_ne!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
    }

    #[test]
    fn verifier_reports_edit_gap_and_relink() {
        let r1 = AuditRow::chain(event(), 1, GENESIS_HASH).unwrap();
        let h1 = <[u8; 32]>::try_from(r1.hash.as_slice()).unwrap();
        let r2 = AuditRow::chain(event(), 2, h1).unwrap();

        let mut v = ChainVerifier::new();
        assert!(v.check(&r1).is_none());
        assert!(v.check(&r2).is_none());
        assert!(matches!(
            v.finish().status,
            ChainStatus::Intact { events: 2, .. }
        ));

        let mut edited = r2.clone();
        edited.reason = Some("edited".into());
        let mut v = ChainVerifier::new();
        assert!(v.check(&r1).is_none());
        assert_eq!(
            v.check(&edited),
            Some(ChainStatus::Broken {
                seq: 2,
                reason: ChainBreak::HashMismatch
            })
        );

        let mut v = ChainVerifier::new();
        assert_eq!(
            v.check(&r2),
            Some(ChainStatus::Broken {
                seq: 2,
                reason: ChainBreak::SeqGap
            })
        );

        let mut v = ChainVerifier::new();
        let forged = AuditRow::chain(event(), 1, [9; 32]).unwrap();
        assert_eq!(
            v.check(&forged),
            Some(ChainStatus::Broken {
                seq: 1,
                reason: ChainBreak::PrevHashMismatch
            })
        );
    }

    #[test]
    fn row_with_bad_hash_length_is_corrupt_not_a_panic() {
        let mut r = AuditRow::chain(event(), 1, GENESIS_HASH).unwrap();
        r.hash.truncate(5);
        assert!(matches!(
            AuditEvent::try_from(r),
            Err(StoreError::Corrupt { .. })
        ));
    }

    fn arb_row() -> impl proptest::strategy::Strategy<Value = AuditRow> {
        use proptest::prelude::*;
        (
            any::<i64>(),
            any::<i64>(),
            ".*",
            proptest::option::of(".*"),
            proptest::option::of(proptest::collection::vec(".*", 0..4)),
            ".*",
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(
                |(seq, micros, kind, actor, scopes, details, prev, hash)| AuditRow {
                    seq,
                    at: DateTime::from_timestamp_micros(micros % 253_402_300_799_000_000)
                        .unwrap_or_default(),
                    service: "s".into(),
                    kind,
                    actor,
                    client_id: None,
                    credential_id: None,
                    issuer: None,
                    scopes: scopes.map(Json),
                    resource: None,
                    decision: None,
                    reason: None,
                    trace_id: None,
                    details,
                    prev_hash: prev,
                    hash,
                },
            )
    }

    proptest::proptest! {
        // A row read back from the database (any details text, any hash bytes) decodes or is
        // `Corrupt`; it never panics, and verification of it never panics.
        #[test]
        fn decoding_any_row_never_panics(row in arb_row()) {
            let mut v = ChainVerifier::new();
            let _ = v.check(&row);
            match AuditEvent::try_from(row) {
                Ok(e) => proptest::prop_assert_eq!(e.hash.len(), 32),
                Err(e) => proptest::prop_assert!(matches!(e, StoreError::Corrupt { .. }), "{:?}", e),
            }
        }

        // Length prefixes make the encoding injective across field boundaries.
        #[test]
        fn moving_bytes_between_fields_changes_the_hash(a in ".{0,8}", b in ".{1,8}") {
            let mut e1 = event();
            e1.actor = Some(format!("{a}{b}"));
            e1.client_id = Some(String::new());
            let mut e2 = event();
            e2.actor = Some(a);
            e2.client_id = Some(b);
            let r1 = AuditRow::chain(e1, 1, GENESIS_HASH).unwrap();
            let r2 = AuditRow::chain(e2, 1, GENESIS_HASH).unwrap();
            proptest::prop_assert_ne!(r1.canonical_bytes(), r2.canonical_bytes());
        }
    }
}
