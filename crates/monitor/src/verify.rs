//! `crossauthz audit verify`: checks a domain's audit log — the hash chain and every signed
//! checkpoint — and names the first broken event.
//!
//! What each tampering looks like here:
//!
//! | tampering | found as | first broken seq |
//! |---|---|---|
//! | a field of event *n* edited | [`Problem::EventEdited`] (its hash no longer matches) | *n* |
//! | event *n* deleted | [`Problem::EventMissing`] (seq gap) | *n* |
//! | events reordered / one inserted | [`Problem::ChainRelinked`] (`prev_hash` is not the previous event's hash) | the first moved or inserted |
//! | the tail after checkpoint *c* removed | [`Problem::TailTruncated`] (the log ends before a signed event) | the first removed (head + 1) |
//! | the chain rewritten with recomputed hashes up to checkpoint *c* | [`Problem::LogRewritten`] (the event's hash is not the signed one) | *c* (the rewrite lies after the previous good checkpoint) |
//! | a checkpoint forged or edited | [`Problem::CheckpointForged`] / [`Problem::CheckpointKeyUnknown`] | the checkpoint's seq |
//!
//! Events after the last checkpoint are protected by the chain only: removing them, or
//! rewriting them with recomputed hashes, is detectable only once a later checkpoint covers
//! them (the monitor signs one every `checkpoint_interval`). The report says how many events are
//! not covered yet.
//!
//! Keys: a checkpoint is verified with the domain key named by its `kid` (a DID URL whose
//! fragment is the RFC 7638 thumbprint, checked against the key). Pass the domain's published
//! JWKS ([`DomainKeys::from_jwks`]) kept outside the database for a check that does not trust
//! the database at all; [`DomainKeys::from_issuer_store`] reads the issuer's key table, which
//! someone able to rewrite the log could also rewrite.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crossauthz_credentials::audit_checkpoint::{self, CheckpointClaims};
use crossauthz_credentials::did_web::Jwks;
use crossauthz_credentials::keys::PublicJwk;
use crossauthz_store::{
    AuditCheckpoint, AuditFilter, AuditStore, ChainBreak, ChainStatus, IssuerStore, StoreError,
};
use serde::Serialize;

/// Checkpoints read per page.
const PAGE: u32 = 1000;

/// What is wrong at the first broken event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The event's stored fields do not hash to its stored hash.
    EventEdited,
    /// The event is missing (the next one's seq skips it).
    EventMissing,
    /// The event does not link to the previous one (moved, reordered or inserted).
    ChainRelinked,
    /// The log ends before an event a checkpoint signed.
    TailTruncated,
    /// The event's hash is not the one its checkpoint signed: the chain up to it was rewritten.
    LogRewritten,
    /// The checkpoint's signature does not verify, or its row does not match what was signed.
    CheckpointForged,
    /// The checkpoint names a key this domain does not have.
    CheckpointKeyUnknown,
}

/// The first broken event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// Its `seq`.
    pub seq: i64,
    /// What is wrong.
    pub problem: Problem,
    /// A sentence for the operator.
    pub detail: String,
}

/// The outcome of [`verify_log`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Events that checked out before the first break (all of them when intact).
    pub events_verified: u64,
    /// The last event's seq (when the chain is intact).
    pub head: Option<i64>,
    /// Checkpoints whose signature verified.
    pub checkpoints_verified: u64,
    /// The highest checkpoint seq.
    pub last_checkpoint: Option<i64>,
    /// Events after the last checkpoint (covered by the chain only).
    pub unanchored_events: u64,
    /// The first broken event; `None` when everything checks out.
    pub first_break: Option<Break>,
}

impl VerifyReport {
    /// Everything checked out.
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Why verification could not run (distinct from a broken log, which is a [`VerifyReport`]).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The JWKS given to check against is not a JWKS.
    #[error("the JWKS is not valid: {0}")]
    Jwks(String),
}

/// The public keys checkpoints are verified with, by RFC 7638 thumbprint.
#[derive(Debug, Clone, Default)]
pub struct DomainKeys {
    by_thumbprint: HashMap<String, PublicJwk>,
    did: Option<String>,
}

impl DomainKeys {
    /// The keys of a published JWKS (`/.well-known/jwks.json`), optionally pinned to `did`.
    pub fn from_jwks(
        jwks_json: &serde_json::Value,
        did: Option<String>,
    ) -> Result<Self, VerifyError> {
        let jwks = Jwks::from_json(jwks_json).map_err(|e| VerifyError::Jwks(e.to_string()))?;
        let by_thumbprint = jwks
            .keys()
            .iter()
            .map(|k| (k.thumbprint(), k.clone()))
            .collect();
        Ok(Self { by_thumbprint, did })
    }

    /// Every key in the issuer's key table (active, retired and unpublished ones), optionally
    /// pinned to `did`. A key whose stored JWK does not parse is skipped (a checkpoint signed by
    /// it is then reported as signed by an unknown key).
    pub async fn from_issuer_store(
        store: &dyn IssuerStore,
        did: Option<String>,
    ) -> Result<Self, VerifyError> {
        let by_thumbprint = store
            .list_keys()
            .await?
            .into_iter()
            .filter_map(|k| PublicJwk::from_json(&k.public_jwk).ok())
            .map(|k| (k.thumbprint(), k))
            .collect();
        Ok(Self { by_thumbprint, did })
    }

    fn find(&self, kid: &str) -> Option<&PublicJwk> {
        let thumbprint = kid.rsplit_once('#').map(|(_, f)| f)?;
        self.by_thumbprint.get(thumbprint)
    }
}

/// Checks one checkpoint row: its kid is a known key, the JWS verifies with it, the signed
/// claims are the row's, the issuer is the kid's DID (and the pinned DID).
fn check_checkpoint(c: &AuditCheckpoint, keys: &DomainKeys) -> Result<CheckpointClaims, Break> {
    let forged = |detail: String| Break {
        seq: c.seq,
        problem: Problem::CheckpointForged,
        detail,
    };
    let header_kid = audit_checkpoint::kid_of(&c.jws)
        .map_err(|e| forged(format!("checkpoint {}: {e}", c.seq)))?;
    if header_kid.as_deref() != Some(c.kid.as_str()) {
        return Err(forged(format!(
            "checkpoint {}: the stored kid is not the signed one",
            c.seq
        )));
    }
    let Some(key) = keys.find(&c.kid) else {
        return Err(Break {
            seq: c.seq,
            problem: Problem::CheckpointKeyUnknown,
            detail: format!("checkpoint {} is signed by unknown key {}", c.seq, c.kid),
        });
    };
    let claims = audit_checkpoint::verify(&c.jws, key)
        .map_err(|e| forged(format!("checkpoint {}: {e}", c.seq)))?;
    let kid_did = c.kid.rsplit_once('#').map(|(d, _)| d).unwrap_or_default();
    if claims.issuer != kid_did || keys.did.as_deref().is_some_and(|d| d != claims.issuer) {
        return Err(forged(format!(
            "checkpoint {}: signed by {}, not this domain",
            c.seq, claims.issuer
        )));
    }
    if claims.seq != c.seq || claims.hash != c.hash || claims.event_at != c.event_at {
        return Err(forged(format!(
            "checkpoint {}: the stored row is not what was signed",
            c.seq
        )));
    }
    Ok(claims)
}

async fn event_hash_at(
    audit: &dyn AuditStore,
    seq: i64,
) -> Result<Option<([u8; 32], DateTime<Utc>)>, StoreError> {
    let found = audit
        .list(&AuditFilter {
            after_seq: Some(seq - 1),
            limit: 1,
            ..AuditFilter::default()
        })
        .await?;
    Ok(found
        .into_iter()
        .next()
        .filter(|e| e.seq == seq)
        .map(|e| (e.hash, e.at)))
}

/// Verifies the chain and every checkpoint; see the module documentation.
pub async fn verify_log(
    audit: &dyn AuditStore,
    keys: &DomainKeys,
) -> Result<VerifyReport, VerifyError> {
    let chain = audit.verify_chain_from(None).await?;
    let last_intact_seq = chain.last_intact.map(|(s, _)| s).unwrap_or(0);
    let mut breaks: Vec<Break> = Vec::new();
    let (events_verified, head) = match chain.status {
        ChainStatus::Intact { events, .. } => (events, (events > 0).then_some(last_intact_seq)),
        ChainStatus::Broken { seq, reason } => {
            let b = match reason {
                ChainBreak::SeqGap => Break {
                    seq: last_intact_seq + 1,
                    problem: Problem::EventMissing,
                    detail: format!(
                        "event {} is missing (the log goes on at {seq})",
                        last_intact_seq + 1
                    ),
                },
                ChainBreak::HashMismatch => Break {
                    seq,
                    problem: Problem::EventEdited,
                    detail: format!("event {seq} was edited: its hash does not match its fields"),
                },
                ChainBreak::PrevHashMismatch => Break {
                    seq,
                    problem: Problem::ChainRelinked,
                    detail: format!(
                        "event {seq} does not follow event {last_intact_seq} (moved, reordered or inserted)"
                    ),
                },
            };
            breaks.push(b);
            (u64::try_from(last_intact_seq).unwrap_or(0), None)
        }
    };

    let mut checkpoints_verified = 0u64;
    let mut last_checkpoint = None;
    let mut previous_good = 0i64;
    let mut after = 0i64;
    loop {
        let page = audit.checkpoints(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for c in &page {
            last_checkpoint = Some(c.seq);
            if let Err(b) = check_checkpoint(c, keys) {
                breaks.push(b);
                continue;
            }
            checkpoints_verified += 1;
            match event_hash_at(audit, c.seq).await? {
                Some((hash, _)) if hash == c.hash => previous_good = c.seq,
                Some(_) => breaks.push(Break {
                    seq: c.seq,
                    problem: Problem::LogRewritten,
                    detail: format!(
                        "event {} is not the one checkpoint {} signed: the log was rewritten between events {} and {}",
                        c.seq,
                        c.seq,
                        previous_good + 1,
                        c.seq
                    ),
                }),
                None => {
                    // The event a checkpoint signed is gone. With an intact chain the log was
                    // cut after its head; otherwise the chain break already names a missing or
                    // moved event, and the earliest of the two is reported.
                    let first_missing = head.map_or(c.seq, |h| h + 1);
                    breaks.push(Break {
                        seq: first_missing,
                        problem: Problem::TailTruncated,
                        detail: format!(
                            "the log ends at event {} but checkpoint {} signed event {}: events from {} on were removed",
                            head.unwrap_or(0),
                            c.seq,
                            c.seq,
                            first_missing
                        ),
                    });
                }
            }
        }
    }

    let unanchored_events = match (head, last_checkpoint) {
        (Some(h), Some(c)) => u64::try_from(h - c).unwrap_or(0),
        (Some(h), None) => u64::try_from(h).unwrap_or(0),
        _ => 0,
    };
    let first_break = breaks.into_iter().min_by_key(|b| b.seq);
    Ok(VerifyReport {
        events_verified,
        head,
        checkpoints_verified,
        last_checkpoint,
        unanchored_events,
        first_break,
    })
}

/// The report as text for the operator (one line per fact, the break last).
pub fn render(r: &VerifyReport) -> String {
    let mut out = String::new();
    match &r.first_break {
        None => out.push_str(&format!(
            "audit log intact: {} events (head {}), {} signed checkpoints (last at {})\n",
            r.events_verified,
            r.head.map_or_else(|| "none".to_owned(), |h| h.to_string()),
            r.checkpoints_verified,
            r.last_checkpoint
                .map_or_else(|| "none".to_owned(), |c| c.to_string()),
        )),
        Some(b) => out.push_str(&format!(
            "audit log BROKEN at event {}: {}\n  {}\n  {} events verified before it\n",
            b.seq,
            serde_json::to_value(b.problem)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            b.detail,
            r.events_verified,
        )),
    }
    if r.first_break.is_none() && r.unanchored_events > 0 {
        out.push_str(&format!(
            "  {} events after the last checkpoint are covered by the chain only\n",
            r.unanchored_events
        ));
    }
    out
}
