//! PostgreSQL implementation of [`OAuthStore`] (schema `oauth`). Code redemption and refresh
//! rotation lock the row (`FOR UPDATE`, which also locks the joined family row) inside one
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{
    AuthorizationCode, CodeRedemption, CodeRow, NewAuthorizationCode, NewRefreshFamily, OAuthStore,
    PendingAuthorization, PendingRow, RefreshFamily, RefreshRotation, RefreshRow, RefreshToken,
    check_secret, check_window,
};
use crate::StoreError;
use crate::error::map_constraint;
use crate::time::us;

/// OAuth store on PostgreSQL.
#[derive(Debug, Clone)]
pub(crate) struct PgOAuthStore {
    pool: PgPool,
}

impl PgOAuthStore {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

async fn revoke_family(
    tx: &mut Transaction<'static, Postgres>,
    family_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE oauth.refresh_families SET revoked_at = $2, revoked_reason = $3
         WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .bind(us(now))
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl OAuthStore for PgOAuthStore {
    async fn put_pending_authorization(
        &self,
        key: &str,
        r: &PendingAuthorization,
    ) -> Result<(), StoreError> {
        let hash = check_secret(key, "request handle")?;
        check_window(r.created_at, r.expires_at, "pending authorization")?;
        sqlx::query(
            "INSERT INTO oauth.pending_authorizations
                 (key_hash, client_id, redirect_uri, state, code_challenge, resource, scopes,
                  subject, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(hash)
        .bind(&r.client_id)
        .bind(&r.redirect_uri)
        .bind(&r.state)
        .bind(&r.code_challenge)
        .bind(&r.resource)
        .bind(Json(&r.scopes))
        .bind(&r.subject)
        .bind(us(r.created_at))
        .bind(us(r.expires_at))
        .execute(&self.pool)
        .await
        .map_err(|e| map_constraint(e, "request handle already used", "pending authorization"))?;
        Ok(())
    }

    async fn take_pending_authorization(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        let hash = check_secret(key, "request handle")?;
        let row: Option<PendingRow> = sqlx::query_as(concat!(
            "DELETE FROM oauth.pending_authorizations WHERE key_hash = $1 RETURNING ",
            pending_columns!()
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(PendingAuthorization::from)
            .filter(|p| p.expires_at > now))
    }

    async fn put_authorization_code(
        &self,
        code: &str,
        c: &NewAuthorizationCode,
    ) -> Result<(), StoreError> {
        let hash = check_secret(code, "authorization code")?;
        check_window(c.created_at, c.expires_at, "authorization code")?;
        sqlx::query(
            "INSERT INTO oauth.authorization_codes
                 (code_hash, client_id, redirect_uri, resource, scopes, code_challenge, subject,
                  created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(hash)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.resource)
        .bind(Json(&c.scopes))
        .bind(&c.code_challenge)
        .bind(&c.subject)
        .bind(us(c.created_at))
        .bind(us(c.expires_at))
        .execute(&self.pool)
        .await
        .map_err(|e| map_constraint(e, "authorization code already used", "authorization code"))?;
        Ok(())
    }

    async fn get_authorization_code(
        &self,
        code: &str,
    ) -> Result<Option<AuthorizationCode>, StoreError> {
        let hash = check_secret(code, "authorization code")?;
        let row: Option<CodeRow> = sqlx::query_as(concat!(
            "SELECT ",
            code_columns!(),
            " FROM oauth.authorization_codes WHERE code_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(AuthorizationCode::from))
    }

    async fn redeem_authorization_code(
        &self,
        code: &str,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<CodeRedemption, StoreError> {
        let hash = check_secret(code, "authorization code")?;
        let mut tx = self.pool.begin().await?;
        let row: Option<CodeRow> = sqlx::query_as(concat!(
            "SELECT ",
            code_columns!(),
            " FROM oauth.authorization_codes WHERE code_hash = $1 FOR UPDATE"
        ))
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(CodeRedemption::NotFound);
        };
        let mut found = AuthorizationCode::from(row);
        if found.redeemed_at.is_some() {
            if let Some(f) = found.family_id {
                revoke_family(&mut tx, f, "code_reused", now).await?;
            }
            tx.commit().await?;
            return Ok(CodeRedemption::AlreadyRedeemed {
                family_id: found.family_id,
            });
        }
        if found.code.expires_at <= now {
            return Ok(CodeRedemption::Expired);
        }
        sqlx::query(
            "UPDATE oauth.authorization_codes SET redeemed_at = $2, family_id = $3
             WHERE code_hash = $1",
        )
        .bind(&hash)
        .bind(us(now))
        .bind(family_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        found.redeemed_at = Some(us(now));
        found.family_id = Some(family_id);
        Ok(CodeRedemption::Redeemed(Box::new(found)))
    }

    async fn create_refresh_family(
        &self,
        f: &NewRefreshFamily,
        token: &str,
        token_expires_at: DateTime<Utc>,
    ) -> Result<RefreshToken, StoreError> {
        let hash = check_secret(token, "refresh token")?;
        check_window(f.created_at, f.expires_at, "refresh family")?;
        let expires_at = us(token_expires_at.min(f.expires_at));
        check_window(f.created_at, expires_at, "refresh token")?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO oauth.refresh_families
                 (family_id, client_id, confidential, subject, resource, scopes, credential_id,
                  issuer_domain, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(f.family_id)
        .bind(&f.client_id)
        .bind(f.confidential)
        .bind(&f.subject)
        .bind(&f.resource)
        .bind(Json(&f.scopes))
        .bind(&f.credential_id)
        .bind(&f.issuer_domain)
        .bind(us(f.created_at))
        .bind(us(f.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_constraint(e, "refresh family id already used", "refresh family"))?;
        sqlx::query(
            "INSERT INTO oauth.refresh_tokens (token_hash, family_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(hash)
        .bind(f.family_id)
        .bind(us(f.created_at))
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_constraint(e, "refresh token already used", "refresh family"))?;
        tx.commit().await?;
        let mut family = f.clone();
        family.created_at = us(f.created_at);
        family.expires_at = us(f.expires_at);
        Ok(RefreshToken {
            family: RefreshFamily {
                family,
                revoked_at: None,
                revoked_reason: None,
            },
            created_at: us(f.created_at),
            expires_at,
            used_at: None,
        })
    }

    async fn get_refresh_token(&self, token: &str) -> Result<Option<RefreshToken>, StoreError> {
        let hash = check_secret(token, "refresh token")?;
        let row: Option<RefreshRow> = sqlx::query_as(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM oauth.refresh_tokens t JOIN oauth.refresh_families f
               ON f.family_id = t.family_id WHERE t.token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(RefreshToken::from))
    }

    async fn rotate_refresh_token(
        &self,
        old: &str,
        new: &str,
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RefreshRotation, StoreError> {
        let old_hash = check_secret(old, "refresh token")?;
        let new_hash = check_secret(new, "refresh token")?;
        let mut tx = self.pool.begin().await?;
        let row: Option<RefreshRow> = sqlx::query_as(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM oauth.refresh_tokens t JOIN oauth.refresh_families f
               ON f.family_id = t.family_id WHERE t.token_hash = $1 FOR UPDATE"
        ))
        .bind(&old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(RefreshRotation::NotFound);
        };
        let current = RefreshToken::from(row);
        let family_id = current.family.family.family_id;
        if current.family.revoked_at.is_some() {
            return Ok(RefreshRotation::Revoked);
        }
        if current.used_at.is_some() {
            revoke_family(&mut tx, family_id, "refresh_token_reused", now).await?;
            tx.commit().await?;
            return Ok(RefreshRotation::Reused { family_id });
        }
        let expires_at = us(new_expires_at.min(current.family.family.expires_at));
        if current.expires_at <= now || expires_at <= us(now) {
            return Ok(RefreshRotation::Expired);
        }
        sqlx::query("UPDATE oauth.refresh_tokens SET used_at = $2 WHERE token_hash = $1")
            .bind(&old_hash)
            .bind(us(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO oauth.refresh_tokens (token_hash, family_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(new_hash)
        .bind(family_id)
        .bind(us(now))
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_constraint(e, "refresh token already used", "refresh family"))?;
        tx.commit().await?;
        Ok(RefreshRotation::Rotated(Box::new(RefreshToken {
            family: current.family,
            created_at: us(now),
            expires_at,
            used_at: None,
        })))
    }

    async fn revoke_refresh_family(
        &self,
        family_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = revoke_family(&mut tx, family_id, reason, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn revoke_access_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if jti.is_empty() {
            return Err(StoreError::invalid("jti must not be empty"));
        }
        let done = sqlx::query(
            "INSERT INTO oauth.revoked_access_tokens (jti, client_id, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(client_id)
        .bind(us(expires_at))
        .bind(us(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn access_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM oauth.revoked_access_tokens WHERE jti = $1")
                .bind(jti)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let now = us(now);
        let mut tx = self.pool.begin().await?;
        let mut total = 0;
        for sql in [
            "DELETE FROM oauth.pending_authorizations WHERE expires_at <= $1",
            "DELETE FROM oauth.authorization_codes WHERE expires_at <= $1",
            "DELETE FROM oauth.refresh_families WHERE expires_at <= $1",
            "DELETE FROM oauth.revoked_access_tokens WHERE expires_at <= $1",
        ] {
            total += sqlx::query(sql)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(total)
    }
}
