//! The gateway's routes, one module per public surface (DESIGN §4).

pub mod admin_agents;
pub mod admin_audit;
pub mod admin_credentials;
pub mod admin_monitor;
pub mod admin_settings;
pub mod cimd;
pub mod dcr;
pub mod status;
pub mod well_known;
