//! The public HTTPS edge of a crossauthz domain (axum): OAuth AS endpoints, CIMD hosting, DID/JWKS/status publication, admin REST.
#![forbid(unsafe_code)]
