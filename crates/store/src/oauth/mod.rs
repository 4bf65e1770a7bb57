//! OAuth store: the grant state of the gateway's Authorization Server (schema `oauth`) — pending
//! consent requests, authorization codes (single use, bound to PKCE, redirect URI, resource and
//! client), refresh-token families (rotation on every use; a reused refresh token revokes its
//! whole family, M7), and the `jti`s of revoked access tokens until they expire.
//!
//! Secrets never reach the database: request handles, codes and refresh tokens are stored as
//! their SHA-256 hash ([`secret_hash`]); every method takes the secret and hashes it here, so no
//! caller can store one in the clear by mistake.
//!
//! Race safety: redeeming a code and rotating a refresh token are one transaction each with the
//! row locked (`SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so of two
//! concurrent uses exactly one succeeds and the other is seen as a reuse.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;

/// The `SELECT` list of `RefreshRow` over `refresh_tokens t JOIN refresh_families f`.
macro_rules! refresh_columns {
    () => {
        "f.family_id, f.client_id, f.confidential, f.subject, f.resource, f.scopes, \
         f.credential_id, f.issuer_domain, f.created_at AS family_created_at, \
         f.expires_at AS family_expires_at, f.revoked_at, f.revoked_reason, t.created_at, \
         t.expires_at, t.used_at"
    };
}

/// The `SELECT` list of `CodeRow`.
macro_rules! code_columns {
    () => {
        "client_id, redirect_uri, resource, scopes, code_challenge, subject, created_at, \
         expires_at, redeemed_at, family_id"
    };
}

/// The `SELECT` list of `PendingRow`.
macro_rules! pending_columns {
    () => {
        "client_id, redirect_uri, state, code_challenge, resource, scopes, subject, created_at, \
         expires_at"
    };
}

pub(crate) mod pg;
pub(crate) mod sqlite;

/// Longest secret (handle, code, refresh token) accepted, in bytes.
pub const MAX_SECRET_LEN: usize = 512;

/// SHA-256 of a secret: the only form in which handles, codes and refresh tokens are stored.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A consent request waiting for the user's decision (GET /authorize → POST /authorize).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The client_id (CIMD URL).
    pub client_id: String,
    /// The redirect URI, already checked against the client's document (C8).
    pub redirect_uri: String,
    /// The client's `state`, echoed on the redirect.
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The resource indicator (RFC 8707).
    pub resource: String,
    /// The requested scopes.
    pub scopes: Vec<String>,
    /// The authenticated user who saw the consent page.
    pub subject: String,
    /// When the request was made.
    pub created_at: DateTime<Utc>,
    /// After this the request is gone.
    pub expires_at: DateTime<Utc>,
}

/// An authorization code to store (RFC 6749 §4.1.2, RFC 7636).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuthorizationCode {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI it was delivered to (must be repeated at the token endpoint).
    pub redirect_uri: String,
    /// The resource indicator the token will be bound to.
    pub resource: String,
    /// The consented scopes.
    pub scopes: Vec<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The user who consented.
    pub subject: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires (short: a minute or so).
    pub expires_at: DateTime<Utc>,
}

/// A stored authorization code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    /// What was stored.
    pub code: NewAuthorizationCode,
    /// When it was redeemed (single use).
    pub redeemed_at: Option<DateTime<Utc>>,
    /// The refresh-token family created when it was redeemed.
    pub family_id: Option<Uuid>,
}

/// The outcome of redeeming a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now spent and linked to the given family.
    Redeemed(Box<AuthorizationCode>),
    /// The code was already redeemed: the family created from it (if any) has been revoked in
    /// the same transaction (RFC 6749 §4.1.2, RFC 9700 §4.1.2 / §2.2.1).
    AlreadyRedeemed {
        /// The family that was revoked.
        family_id: Option<Uuid>,
    },
    /// The code exists but has expired.
    Expired,
    /// No such code.
    NotFound,
}

/// A refresh-token family: every refresh token descending from one grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRefreshFamily {
    /// The family id.
    pub family_id: Uuid,
    /// The client the grant belongs to.
    pub client_id: String,
    /// True when the client authenticated with `private_key_jwt` (a refresh then needs it too).
    pub confidential: bool,
    /// The resource owner (the user, or the client itself).
    pub subject: String,
    /// The resource every access token of the family is bound to.
    pub resource: String,
    /// The granted scopes (a refresh may ask for fewer, never more).
    pub scopes: Vec<String>,
    /// The agent credential verified at the grant, if any.
    pub credential_id: Option<String>,
    /// The agent's issuer domain, if any.
    pub issuer_domain: Option<String>,
    /// When the grant was made.
    pub created_at: DateTime<Utc>,
    /// Absolute end of the family: no refresh token of it outlives this.
    pub expires_at: DateTime<Utc>,
}

/// A stored family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    /// What was stored.
    pub family: NewRefreshFamily,
    /// When the family was revoked (reuse, revocation, code reuse).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why (`refresh_token_reused`, `revoked`, `code_reused`, …).
    pub revoked_reason: Option<String>,
}

/// A stored refresh token and its family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    /// The family.
    pub family: RefreshFamily,
    /// When this token was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires (never after the family).
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for its successor (rotation); a used token presented again is a
    /// reuse.
    pub used_at: Option<DateTime<Utc>>,
}

impl RefreshToken {
    /// True if the token can be exchanged at `now`: unused, unexpired, family not revoked and
    /// unexpired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none()
            && self.family.revoked_at.is_none()
            && self.expires_at > now
            && self.family.family.expires_at > now
    }
}

/// The outcome of a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRotation {
    /// The old token is spent; this is its successor.
    Rotated(Box<RefreshToken>),
    /// The token was already used: its whole family has been revoked in the same transaction
    /// (M7, RFC 9700 §4.14.2).
    Reused {
        /// The revoked family.
        family_id: Uuid,
    },
    /// The family was revoked earlier.
    Revoked,
    /// The token or its family has expired.
    Expired,
    /// No such token.
    NotFound,
}

/// Storage of the gateway's OAuth grant state.
#[async_trait]
pub trait OAuthStore: Send + Sync + std::fmt::Debug {
    /// Stores a pending consent request under `key` (a secret handle; only its hash is kept).
    /// A key already in use is a `Conflict`.
    async fn put_pending_authorization(
        &self,
        key: &str,
        request: &PendingAuthorization,
    ) -> Result<(), StoreError>;

    /// Removes and returns the pending request under `key` if it exists and has not expired at
    /// `now` (single use: a second take finds nothing).
    async fn take_pending_authorization(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingAuthorization>, StoreError>;

    /// Stores an authorization code (only its hash is kept). A code already in use is a
    /// `Conflict`.
    async fn put_authorization_code(
        &self,
        code: &str,
        new: &NewAuthorizationCode,
    ) -> Result<(), StoreError>;

    /// Reads a code without spending it (to validate a token request before anything changes).
    async fn get_authorization_code(
        &self,
        code: &str,
    ) -> Result<Option<AuthorizationCode>, StoreError>;

    /// Spends a code at `now`, linking it to `family_id`. A second redemption revokes the
    /// family linked by the first (see [`CodeRedemption`]).
    async fn redeem_authorization_code(
        &self,
        code: &str,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<CodeRedemption, StoreError>;

    /// Creates a family and its first refresh token `token`, valid until `token_expires_at`
    /// (capped at the family's end).
    async fn create_refresh_family(
        &self,
        family: &NewRefreshFamily,
        token: &str,
        token_expires_at: DateTime<Utc>,
    ) -> Result<RefreshToken, StoreError>;

    /// Reads a refresh token and its family without changing anything.
    async fn get_refresh_token(&self, token: &str) -> Result<Option<RefreshToken>, StoreError>;

    /// Exchanges `old` for `new` (valid until `new_expires_at`, capped at the family's end).
    /// A used `old` revokes the family (see [`RefreshRotation`]).
    async fn rotate_refresh_token(
        &self,
        old: &str,
        new: &str,
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RefreshRotation, StoreError>;

    /// Revokes a family (every refresh token of it); `false` if it was already revoked or does
    /// not exist.
    async fn revoke_refresh_family(
        &self,
        family_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records a revoked access token's `jti` until `expires_at` (its `exp`); `false` if it was
    /// already recorded.
    async fn revoke_access_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// True if the access token `jti` was revoked.
    async fn access_token_revoked(&self, jti: &str) -> Result<bool, StoreError>;

    /// Deletes everything that expired before `now` (pending requests, codes, families with
    /// their tokens, revoked jtis); answers how many rows.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Checks a secret before hashing: non-empty and bounded.
pub(crate) fn check_secret(secret: &str, what: &str) -> Result<Vec<u8>, StoreError> {
    if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
        return Err(StoreError::invalid(format!(
            "{what} must be 1..={MAX_SECRET_LEN} bytes"
        )));
    }
    Ok(secret_hash(secret))
}

/// Checks that a validity window is not empty.
pub(crate) fn check_window(
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    what: &str,
) -> Result<(), StoreError> {
    if until <= from {
        return Err(StoreError::invalid(format!(
            "{what}: expires_at must be after created_at"
        )));
    }
    Ok(())
}

/// Row of `pending_authorizations`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PendingRow {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    code_challenge: String,
    resource: String,
    scopes: Json<Vec<String>>,
    subject: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<PendingRow> for PendingAuthorization {
    fn from(r: PendingRow) -> Self {
        Self {
            client_id: r.client_id,
            redirect_uri: r.redirect_uri,
            state: r.state,
            code_challenge: r.code_challenge,
            resource: r.resource,
            scopes: r.scopes.0,
            subject: r.subject,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

/// Row of `authorization_codes`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CodeRow {
    client_id: String,
    redirect_uri: String,
    resource: String,
    scopes: Json<Vec<String>>,
    code_challenge: String,
    subject: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    redeemed_at: Option<DateTime<Utc>>,
    family_id: Option<Uuid>,
}

impl From<CodeRow> for AuthorizationCode {
    fn from(r: CodeRow) -> Self {
        Self {
            code: NewAuthorizationCode {
                client_id: r.client_id,
                redirect_uri: r.redirect_uri,
                resource: r.resource,
                scopes: r.scopes.0,
                code_challenge: r.code_challenge,
                subject: r.subject,
                created_at: r.created_at,
                expires_at: r.expires_at,
            },
            redeemed_at: r.redeemed_at,
            family_id: r.family_id,
        }
    }
}

/// Row of `refresh_tokens` joined with its family.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RefreshRow {
    family_id: Uuid,
    client_id: String,
    confidential: bool,
    subject: String,
    resource: String,
    scopes: Json<Vec<String>>,
    credential_id: Option<String>,
    issuer_domain: Option<String>,
    family_created_at: DateTime<Utc>,
    family_expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_reason: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl From<RefreshRow> for RefreshToken {
    fn from(r: RefreshRow) -> Self {
        Self {
            family: RefreshFamily {
                family: NewRefreshFamily {
                    family_id: r.family_id,
                    client_id: r.client_id,
                    confidential: r.confidential,
                    subject: r.subject,
                    resource: r.resource,
                    scopes: r.scopes.0,
                    credential_id: r.credential_id,
                    issuer_domain: r.issuer_domain,
                    created_at: r.family_created_at,
                    expires_at: r.family_expires_at,
                },
                revoked_at: r.revoked_at,
                revoked_reason: r.revoked_reason,
            },
            created_at: r.created_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hashed_and_bounded() {
        assert_eq!(secret_hash("abc").len(), 32);
        assert_ne!(secret_hash("abc"), secret_hash("abd"));
        assert!(matches!(
            check_secret("", "code"),
            Err(StoreError::InvalidInput { .. })
        ));
        assert!(matches!(
            check_secret(&"x".repeat(MAX_SECRET_LEN + 1), "code"),
            Err(StoreError::InvalidInput { .. })
        ));
        assert_eq!(check_secret("abc", "code").unwrap(), secret_hash("abc"));
    }
}
