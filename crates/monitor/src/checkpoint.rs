//! Periodic signed checkpoints of the audit log.
//!
//! Who signs: the domain's issuer key, through `Issuer/SignAuditCheckpoint`, not a dedicated
//! audit key. The issuer is the only holder of private keys in a domain (sealed under the master
//! key, rotated, the rotation itself audited), and its public keys are published in did.json and
//! JWKS — so anyone can verify a checkpoint with the domain's public identity, and no second
//! secret needs custody. The issuer reads the event from the log itself and signs only if its
//! hash is the one the monitor verified, so the RPC cannot sign arbitrary data.
//!
//! Before asking for a signature the monitor verifies the chain from the previous checkpoint
//! (whose event must still carry the signed hash) to the head; it never signs over a broken log.

use std::sync::Arc;

use crossauthz_proto::issuer::SignAuditCheckpointRequest;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_store::{AuditCheckpoint, AuditFilter, AuditStore, ChainBreak, ChainStatus};
use crossauthz_telemetry::TracedChannel;

use crate::MonitorError;

/// Signs checkpoints of one domain's audit log.
#[derive(Debug, Clone)]
pub struct Checkpointer {
    audit: Arc<dyn AuditStore>,
    issuer: IssuerClient<TracedChannel>,
}

/// What [`Checkpointer::checkpoint`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointOutcome {
    /// The log is empty or the head already has a checkpoint.
    UpToDate,
    /// A checkpoint of the head was signed and stored.
    Signed(AuditCheckpoint),
}

impl Checkpointer {
    /// A checkpointer over `audit`, signing through `issuer`.
    pub fn new(audit: Arc<dyn AuditStore>, issuer: IssuerClient<TracedChannel>) -> Self {
        Self { audit, issuer }
    }

    /// Verifies the log from the last checkpoint to the head and signs a checkpoint of the head.
    /// A broken log is [`MonitorError::ChainBroken`] and nothing is signed.
    pub async fn checkpoint(&self) -> Result<CheckpointOutcome, MonitorError> {
        // The anchor is the event before the last checkpoint's (its `prev_hash` as stored), so
        // the checkpointed event itself is recomputed too.
        let last = self.audit.last_checkpoint().await?;
        let mut anchor = None;
        if let Some(c) = &last {
            let at = self
                .audit
                .list(&AuditFilter {
                    after_seq: Some(c.seq - 1),
                    limit: 1,
                    ..AuditFilter::default()
                })
                .await?;
            match at.first() {
                Some(e) if e.seq == c.seq && e.hash == c.hash => {
                    anchor = (c.seq > 1).then_some((c.seq - 1, e.prev_hash));
                }
                Some(e) if e.seq == c.seq => {
                    return Err(MonitorError::ChainBroken {
                        seq: c.seq,
                        reason: "the event no longer has the hash its checkpoint signed".into(),
                    });
                }
                _ => {
                    return Err(MonitorError::ChainBroken {
                        seq: c.seq,
                        reason: "the event a checkpoint signed is missing".into(),
                    });
                }
            }
        }
        let report = self.audit.verify_chain_from(anchor).await?;
        match report.status {
            ChainStatus::Broken { seq, reason } => {
                let reason = match reason {
                    ChainBreak::SeqGap => "an event is missing",
                    ChainBreak::PrevHashMismatch => "the event does not link to the previous one",
                    ChainBreak::HashMismatch => "the event was edited",
                };
                Err(MonitorError::ChainBroken {
                    seq,
                    reason: reason.into(),
                })
            }
            ChainStatus::Intact { .. } => {
                let Some((seq, hash)) = report.last_intact else {
                    return Ok(CheckpointOutcome::UpToDate);
                };
                if last.as_ref().is_some_and(|c| c.seq >= seq) {
                    return Ok(CheckpointOutcome::UpToDate);
                }
                let signed = self
                    .issuer
                    .clone()
                    .sign_audit_checkpoint(SignAuditCheckpointRequest {
                        seq: u64::try_from(seq).unwrap_or(0),
                        expected_hash: hash.to_vec(),
                    })
                    .await?
                    .into_inner();
                let checkpoint = AuditCheckpoint {
                    seq,
                    hash,
                    event_at: crate::time::from_proto(signed.event_at.as_ref())?,
                    signed_at: crate::time::from_proto(signed.signed_at.as_ref())?,
                    kid: signed.kid,
                    jws: signed.jws,
                };
                self.audit.append_checkpoint(&checkpoint).await?;
                Ok(CheckpointOutcome::Signed(checkpoint))
            }
        }
    }
}
