//! Key custody: the domain's signing keys, generated here (`crossauthz_credentials::keys`),
//! stored with their private JWK sealed under the [`MasterKey`] (the `kid` as associated data),
//! opened only in memory to sign, rotated on request.
//!
//! At start ([`KeyCustody::open`]) the active key is decrypted and checked against its stored
//! public key, so a wrong master key stops the service with [`CustodyError::WrongMasterKey`]
//! instead of failing later (or, worse, generating a new key beside undecryptable ones). With no
//! key at all, one is generated and activated.
//!
//! Every signing call reads which key is active from the store (one indexed row), so an instance
//! never keeps signing with a key another instance has retired; the decrypted key is cached per
//! `kid`.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};
use crossauthz_credentials::did_web::method_id;
use crossauthz_credentials::keys::{Algorithm, KeyError, PublicJwk, SigningKey};
use crossauthz_store::{IssuerStore, NewSigningKey, StoreError};

use crate::master_key::{MasterKey, SealError};

/// Why key custody failed.
#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    /// A stored key does not decrypt: the master key is not the one it was sealed with (or the
    /// blob was tampered with). Raised at start so the service never runs with it.
    #[error(
        "signing key {kid} cannot be decrypted: wrong master key (or the stored key was tampered with)"
    )]
    WrongMasterKey {
        /// The key that did not open.
        kid: String,
    },
    /// A stored key decrypts, but is not a private key of the stored public key, or a stored
    /// public key is invalid.
    #[error("signing key {kid} is corrupt: {reason}")]
    CorruptKey {
        /// The key.
        kid: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// There is no active key (custody was not opened, or the store was changed under us).
    #[error("no active signing key")]
    NoActiveKey,
    /// Generating a key failed.
    #[error("key generation failed: {0}")]
    Generation(KeyError),
    /// Sealing a key failed.
    #[error("sealing a key failed: {0}")]
    Seal(SealError),
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// The key that signs now, decrypted.
pub struct ActiveKey {
    /// RFC 7638 thumbprint, the stored `kid`.
    pub thumbprint: String,
    /// `did:web:<host>#<thumbprint>`: the `kid` header of everything it signs.
    pub did_url: String,
    /// The private key (its `Debug` shows the algorithm and thumbprint only).
    pub key: SigningKey,
}

impl fmt::Debug for ActiveKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActiveKey")
            .field("did_url", &self.did_url)
            .field("alg", &self.key.algorithm())
            .finish_non_exhaustive()
    }
}

/// The outcome of a rotation.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The new active key.
    pub new: crossauthz_store::SigningKey,
    /// The key it replaced, with its retirement and publication window, if there was one.
    pub previous: Option<crossauthz_store::SigningKey>,
}

/// The custodian of the domain's signing keys.
pub struct KeyCustody {
    store: Arc<dyn IssuerStore>,
    master: MasterKey,
    did: String,
    cache: RwLock<Option<Arc<ActiveKey>>>,
}

impl fmt::Debug for KeyCustody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let active = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|k| k.did_url.clone());
        f.debug_struct("KeyCustody")
            .field("did", &self.did)
            .field("master", &self.master)
            .field("active", &active)
            .finish()
    }
}

/// Converts the policy's algorithm to the credentials crate's.
pub fn algorithm(alg: crossauthz_core::jwk_policy::SigningAlg) -> Algorithm {
    match alg {
        crossauthz_core::jwk_policy::SigningAlg::EdDSA => Algorithm::EdDSA,
        crossauthz_core::jwk_policy::SigningAlg::ES256 => Algorithm::ES256,
    }
}

impl KeyCustody {
    /// Opens custody at start: decrypts and checks the active key (refusing a wrong master
    /// key); activates a key that was stored but never activated (a crash between the two
    /// steps of a generation); generates and activates a first key when there is none. Returns
    /// the kid of the key it activated, if it activated one.
    pub async fn open(
        store: Arc<dyn IssuerStore>,
        master: MasterKey,
        did: impl Into<String>,
        alg: Algorithm,
        now: DateTime<Utc>,
    ) -> Result<(Self, Option<String>), CustodyError> {
        let custody = Self {
            store,
            master,
            did: did.into(),
            cache: RwLock::new(None),
        };
        if custody.store.active_key().await?.is_some() {
            custody.active().await?;
            return Ok((custody, None));
        }
        let keys = custody.store.list_keys().await?;
        // Check the master key against what is stored before adding anything.
        for key in &keys {
            custody.unseal(key)?;
        }
        let pending = keys
            .iter()
            .rev()
            .find(|k| k.activated_at.is_none() && k.retired_at.is_none());
        let kid = match pending {
            Some(k) => k.kid.clone(),
            None => custody.generate(alg, now).await?,
        };
        custody.store.activate_key(&kid, now).await?;
        custody.active().await?;
        tracing::info!(did = %custody.did, kid = %kid, "activated the first signing key");
        Ok((custody, Some(kid)))
    }

    /// The issuer's DID.
    pub fn did(&self) -> &str {
        &self.did
    }

    /// The DID URL of a stored key id (thumbprint).
    pub fn did_url(&self, kid: &str) -> String {
        format!("{}#{kid}", self.did)
    }

    /// Decrypts a stored key and checks it against its stored public JWK and `kid`.
    fn unseal(&self, stored: &crossauthz_store::SigningKey) -> Result<ActiveKey, CustodyError> {
        let plaintext = self
            .master
            .open(&stored.kid, &stored.encrypted_private)
            .map_err(|e| match e {
                SealError::AuthenticationFailed => CustodyError::WrongMasterKey {
                    kid: stored.kid.clone(),
                },
                _ => CustodyError::CorruptKey {
                    kid: stored.kid.clone(),
                    reason: "unknown sealed format",
                },
            })?;
        let corrupt = |reason| CustodyError::CorruptKey {
            kid: stored.kid.clone(),
            reason,
        };
        let text = std::str::from_utf8(&plaintext).map_err(|_| corrupt("not UTF-8"))?;
        let key =
            SigningKey::from_private_jwk_json(text).map_err(|_| corrupt("not a private JWK"))?;
        let public =
            PublicJwk::from_json(&stored.public_jwk).map_err(|_| corrupt("invalid public JWK"))?;
        if !public.same_key(&key.public_jwk()) || key.thumbprint() != stored.kid {
            return Err(corrupt("private key does not match the stored public key"));
        }
        if key.algorithm().as_str() != stored.alg {
            return Err(corrupt("algorithm does not match"));
        }
        Ok(ActiveKey {
            thumbprint: stored.kid.clone(),
            did_url: method_id(&self.did, &key.public_jwk()),
            key,
        })
    }

    /// Generates a key, seals and stores it (inactive). Returns its kid.
    async fn generate(&self, alg: Algorithm, now: DateTime<Utc>) -> Result<String, CustodyError> {
        let key = SigningKey::generate(alg).map_err(CustodyError::Generation)?;
        let kid = key.thumbprint();
        let private = zeroize::Zeroizing::new(key.to_private_jwk_json());
        let encrypted_private = self
            .master
            .seal(&kid, private.as_bytes())
            .map_err(CustodyError::Seal)?;
        self.store
            .insert_key(&NewSigningKey {
                kid: kid.clone(),
                alg: alg.as_str().to_owned(),
                public_jwk: key.public_jwk().to_json(),
                encrypted_private,
                created_at: now,
            })
            .await?;
        Ok(kid)
    }

    /// The key that signs now (read from the store, decrypted once per kid).
    pub async fn active(&self) -> Result<Arc<ActiveKey>, CustodyError> {
        let stored = self
            .store
            .active_key()
            .await?
            .ok_or(CustodyError::NoActiveKey)?;
        if let Some(cached) = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && cached.thumbprint == stored.kid
        {
            return Ok(cached.clone());
        }
        let active = Arc::new(self.unseal(&stored)?);
        *self.cache.write().unwrap_or_else(PoisonError::into_inner) = Some(active.clone());
        Ok(active)
    }

    /// Generates a new key and makes it the active one. The previous key is retired and stays
    /// published until the latest `validUntil` of the credentials it signed (computed by the
    /// store in the activation transaction) and at least `list_floor` after now (status lists it
    /// signed live at most that long).
    pub async fn rotate(
        &self,
        alg: Algorithm,
        now: DateTime<Utc>,
        list_floor: Duration,
    ) -> Result<Rotation, CustodyError> {
        let previous = self.store.active_key().await?;
        let kid = self.generate(alg, now).await?;
        let new = self.store.activate_key(&kid, now).await?;
        let previous = match previous {
            Some(p) => {
                let floor = now + list_floor;
                self.ensure_published_until(&p.kid, floor).await?;
                self.store.get_key(&p.kid).await?
            }
            None => None,
        };
        let active = Arc::new(self.unseal(&new)?);
        *self.cache.write().unwrap_or_else(PoisonError::into_inner) = Some(active);
        Ok(Rotation { new, previous })
    }

    /// Makes sure a retired key stays published until at least `until` (a credential signed
    /// with it just before another instance retired it). No-op for the active key, which is
    /// always published.
    pub async fn ensure_published_until(
        &self,
        kid: &str,
        until: DateTime<Utc>,
    ) -> Result<(), CustodyError> {
        let Some(key) = self.store.get_key(kid).await? else {
            return Err(CustodyError::Store(StoreError::NotFound {
                what: "signing key",
            }));
        };
        if key.retired_at.is_some() && key.publish_until.is_none_or(|p| p < until) {
            self.store.set_publish_until(kid, until).await?;
        }
        Ok(())
    }

    /// Keys to publish at `now`: the active key and every retired key whose publication window
    /// is open.
    pub async fn published(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<crossauthz_store::SigningKey>, CustodyError> {
        Ok(self.store.published_keys(now).await?)
    }
}
