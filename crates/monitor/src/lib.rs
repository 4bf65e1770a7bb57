//! The monitor of a crossauthz domain (DESIGN §8, §9): the audit log as a product (signed
//! checkpoints, verification), compliance monitoring of every known agent, threat detection
//! from the audit stream, and the alerts both raise.
//!
//! - [`audit_log`]: `crossauthz.audit.v1.AuditLog`, the audit events over gRPC.
//! - [`checkpoint`]: periodic checkpoints of the audit log, signed by the domain's issuer key.
//! - [`verify`]: `crossauthz audit verify` — chain and checkpoints, the first broken event.
//! - [`compliance`]: the compliance rules over each agent's verified credential claims.
//! - [`threat`]: per-agent behaviour baselines and the detectors over the audit stream.
//! - [`synthetic`]: a generated normal stream (false-positive rate, benchmark).
#![forbid(unsafe_code)]

pub mod audit_log;
pub mod checkpoint;
pub mod compliance;
pub mod engine;
pub mod grpc;
pub mod synthetic;
pub mod threat;
pub mod verify;
pub mod webhook;

mod metrics;
mod time;

pub use checkpoint::{CheckpointOutcome, Checkpointer};
pub use engine::{AutoSuspendPolicy, ComplianceReport, Monitor, MonitorConfig};
pub use verify::{Break, DomainKeys, Problem, VerifyReport, verify_log};

use crossauthz_store::StoreError;

/// Errors of the monitor.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// An upstream service refused or was unreachable.
    #[error("upstream: {0}")]
    Upstream(#[from] tonic::Status),
    /// The audit log does not verify; nothing was signed or evaluated past it.
    #[error("the audit log is broken at event {seq}: {reason}")]
    ChainBroken {
        /// The first event that does not check out.
        seq: i64,
        /// What is wrong.
        reason: String,
    },
    /// The configuration is refused.
    #[error("configuration: {0}")]
    Config(String),
    /// An upstream answered something that breaks its contract.
    #[error("upstream contract: {0}")]
    Contract(String),
}
