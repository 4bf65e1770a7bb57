//! gRPC contracts of the crossauthz services, generated from `proto/crossauthz/*.proto`.
//!
//! One module per package. Services convert between these wire types and their domain types in a
//! single boundary module each; nothing else in the workspace builds proto messages by hand.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

/// The generated code, nested as the protobuf packages are (`crossauthz.<service>.v1`).
pub mod crossauthz {
    /// Shared types.
    pub mod common {
        /// `crossauthz.common.v1`.
        pub mod v1 {
            tonic::include_proto!("crossauthz.common.v1");
        }
    }
    /// Registry contract.
    pub mod registry {
        /// `crossauthz.registry.v1`.
        pub mod v1 {
            tonic::include_proto!("crossauthz.registry.v1");
        }
    }
    /// Issuer contract.
    pub mod issuer {
        /// `crossauthz.issuer.v1`.
        pub mod v1 {
            tonic::include_proto!("crossauthz.issuer.v1");
        }
    }
    /// Status-list contract.
    pub mod status_list {
        /// `crossauthz.status_list.v1`.
        pub mod v1 {
            tonic::include_proto!("crossauthz.status_list.v1");
        }
    }
    /// Verifier contract.
    pub mod verifier {
        /// `crossauthz.verifier.v1`.
        pub mod v1 {
            tonic::include_proto!("crossauthz.verifier.v1");
        }
    }
    /// Monitor contract.
    pub mod monitor {
        /// `crossauthz.monitor.v1`.
        pub mod v1 {
            tonic::include_proto!("crossauthz.monitor.v1");
        }
    }
    /// Audit contract.
    pub mod audit {
        /// `crossauthz.audit.v1`.
        pub mod v1 {
            tonic::include_proto!("crossauthz.audit.v1");
        }
    }
}

pub use crossauthz::audit::v1 as audit;
pub use crossauthz::common::v1 as common;
pub use crossauthz::issuer::v1 as issuer;
pub use crossauthz::monitor::v1 as monitor;
pub use crossauthz::registry::v1 as registry;
pub use crossauthz::status_list::v1 as status_list;
pub use crossauthz::verifier::v1 as verifier;

/// Encoded `FileDescriptorSet` of every contract, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("crossauthz_descriptor");

/// The protobuf packages of the contracts, for `crossauthz version`.
pub const PACKAGES: &[&str] = &[
    "crossauthz.common.v1",
    "crossauthz.registry.v1",
    "crossauthz.issuer.v1",
    "crossauthz.status_list.v1",
    "crossauthz.verifier.v1",
    "crossauthz.audit.v1",
    "crossauthz.monitor.v1",
];
