//! The master key that encrypts the domain's private signing keys at rest: 32 random bytes given
//! as unpadded base64url in the environment (`CROSSAUTHZ_MASTER_KEY` by default) or in a file.
//!
//! Sealing is XChaCha20-Poly1305 (crate `chacha20poly1305`) with a fresh random 24-byte nonce per
//! encryption and the key's `kid` as associated data, so a ciphertext moved to another key's row
//! does not open. Stored form: `0x01` (format version) ‖ nonce (24 bytes) ‖ ciphertext ‖ tag.
//!
//! The key is zeroed on drop; `Debug` prints `MasterKey(<redacted>)`. Nothing here logs.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

/// Default environment variable holding the master key.
pub const MASTER_KEY_ENV: &str = "CROSSAUTHZ_MASTER_KEY";
/// Length of the master key in bytes.
pub const MASTER_KEY_LEN: usize = 32;
/// Length of the XChaCha20 nonce in bytes.
pub const NONCE_LEN: usize = 24;
/// First byte of every sealed blob (format version).
pub const SEALED_VERSION: u8 = 1;
const TAG_LEN: usize = 16;

/// Why a master key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    /// The environment variable is not set (or not UTF-8).
    #[error("environment variable {0} is not set")]
    EnvNotSet(String),
    /// The key file could not be read (the OS error kind only; the content is never shown).
    #[error("cannot read master key file {path}: {kind}")]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        kind: String,
    },
    /// The value is not base64url.
    #[error("the master key is not base64url")]
    NotBase64url,
    /// The value does not decode to 32 bytes.
    #[error("the master key must be 32 bytes, got {0}")]
    WrongLength(usize),
}

/// Why sealing or opening a private key failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The blob is too short or has an unknown version byte.
    #[error("sealed key has an unknown format")]
    UnknownFormat,
    /// Authentication failed: wrong master key, wrong `kid`, or a tampered blob.
    #[error("sealed key does not open with this master key and kid")]
    AuthenticationFailed,
    /// Encryption failed in the AEAD library.
    #[error("encryption failed")]
    EncryptionFailed,
}

/// The 32-byte master key. Zeroed on drop; never printed.
pub struct MasterKey {
    key: Zeroizing<[u8; MASTER_KEY_LEN]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Decodes a base64url key (padding tolerated, surrounding whitespace trimmed).
    pub fn from_base64url(encoded: &str) -> Result<Self, MasterKeyError> {
        let trimmed = encoded.trim();
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(trimmed)
                .or_else(|_| URL_SAFE.decode(trimmed))
                .map_err(|_| MasterKeyError::NotBase64url)?,
        );
        if bytes.len() != MASTER_KEY_LEN {
            return Err(MasterKeyError::WrongLength(bytes.len()));
        }
        let mut key = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        key.copy_from_slice(&bytes);
        Ok(Self { key })
    }

    /// Reads the key from environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, MasterKeyError> {
        let value = Zeroizing::new(
            std::env::var(var).map_err(|_| MasterKeyError::EnvNotSet(var.to_owned()))?,
        );
        Self::from_base64url(&value)
    }

    /// Reads the key from a file holding its base64url text.
    pub fn from_file(path: &Path) -> Result<Self, MasterKeyError> {
        let value = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            MasterKeyError::FileUnreadable {
                path: path.to_owned(),
                kind: e.kind().to_string(),
            }
        })?);
        warn_if_readable_by_others(path);
        Self::from_base64url(&value)
    }

    /// A fresh random key, for `crossauthz` tooling and tests.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        OsRng.fill_bytes(key.as_mut());
        Self { key }
    }

    /// A fresh random key, as the base64url text an operator puts in the environment or a file
    /// (`crossauthz generate-master-key`). It never encodes an existing key.
    pub fn generate_base64url() -> Zeroizing<String> {
        let key = Self::generate();
        Zeroizing::new(URL_SAFE_NO_PAD.encode(key.key.as_ref()))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_ref().into())
    }

    /// Encrypts `plaintext` (a private JWK) bound to `kid`; a random nonce per call.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| SealError::EncryptionFailed)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypts a blob made by [`MasterKey::seal`] for the same `kid`. The plaintext is zeroed
    /// when dropped.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::UnknownFormat)?;
        if version != SEALED_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::UnknownFormat);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::UnknownFormat)?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: kid.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::AuthenticationFailed)
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the master key file is readable by group or others; restrict it to mode 0600"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn key_text() -> String {
        URL_SAFE_NO_PAD.encode([7u8; 32])
    }

    #[test]
    fn seal_then_open_round_trips_and_nonces_differ() {
        let k = MasterKey::from_base64url(&key_text()).unwrap();
        let a = k.seal("kid-1", b"secret jwk").unwrap();
        let b = k.seal("kid-1", b"secret jwk").unwrap();
        assert_ne!(a, b, "a fresh nonce per encryption");
        assert_eq!(a.len(), 1 + NONCE_LEN + 10 + TAG_LEN);
        assert_eq!(k.open("kid-1", &a).unwrap().as_slice(), b"secret jwk");
    }

    #[test]
    fn the_kid_is_bound_as_associated_data() {
        let k = MasterKey::generate();
        let sealed = k.seal("kid-1", b"secret").unwrap();
        assert_eq!(
            k.open("kid-2", &sealed).unwrap_err(),
            SealError::AuthenticationFailed
        );
    }

    #[test]
    fn a_wrong_master_key_or_tampering_does_not_open() {
        let k = MasterKey::generate();
        let mut sealed = k.seal("kid", b"secret").unwrap();
        assert_eq!(
            MasterKey::generate().open("kid", &sealed).unwrap_err(),
            SealError::AuthenticationFailed
        );
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(
            k.open("kid", &sealed).unwrap_err(),
            SealError::AuthenticationFailed
        );
        assert_eq!(
            k.open("kid", &[2; 60]).unwrap_err(),
            SealError::UnknownFormat
        );
        assert_eq!(
            k.open("kid", &[1; 20]).unwrap_err(),
            SealError::UnknownFormat
        );
        assert_eq!(k.open("kid", &[]).unwrap_err(), SealError::UnknownFormat);
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64url() {
        assert_eq!(
            MasterKey::from_base64url("not base64!").unwrap_err(),
            MasterKeyError::NotBase64url
        );
        assert_eq!(
            MasterKey::from_base64url(&URL_SAFE_NO_PAD.encode([1u8; 16])).unwrap_err(),
            MasterKeyError::WrongLength(16)
        );
        // Padding and whitespace (a trailing newline in a file) are tolerated.
        MasterKey::from_base64url(&format!("{}\n", URL_SAFE.encode([1u8; 32]))).unwrap();
        let generated = MasterKey::generate_base64url();
        MasterKey::from_base64url(&generated).unwrap();
    }

    #[test]
    fn debug_never_shows_the_key() {
        let text = key_text();
        let k = MasterKey::from_base64url(&text).unwrap();
        let dbg = format!("{k:?}");
        assert_eq!(dbg, "MasterKey(<redacted>)");
        assert!(!dbg.contains(&text));
    }

    #[test]
    fn a_missing_file_or_variable_is_a_typed_error() {
        let err =
            MasterKey::from_file(Path::new("/nonexistent/crossauthz/master.key")).unwrap_err();
        assert!(matches!(err, MasterKeyError::FileUnreadable { .. }));
        let err = MasterKey::from_env("CROSSAUTHZ_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(matches!(err, MasterKeyError::EnvNotSet(_)));
    }

    #[test]
    fn a_key_file_is_read_and_trimmed() {
        let dir = tempfile_dir();
        let path = dir.join("master.key");
        std::fs::write(&path, format!("{}\n", key_text())).unwrap();
        let k = MasterKey::from_file(&path).unwrap();
        let sealed = k.seal("kid", b"x").unwrap();
        let again = MasterKey::from_base64url(&key_text()).unwrap();
        assert_eq!(again.open("kid", &sealed).unwrap().as_slice(), b"x");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("crossauthz-mk-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    proptest::proptest! {
        // Any text given as a master key is accepted or refused without panicking.
        #[test]
        fn parsing_any_master_key_text_never_panics(s in ".*") {
            let _ = MasterKey::from_base64url(&s);
        }

        // Any bytes given as a sealed key are refused (or opened) without panicking.
        #[test]
        fn opening_any_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let k = MasterKey::from_base64url(&URL_SAFE_NO_PAD.encode([3u8; 32])).unwrap();
            proptest::prop_assert!(k.open("kid", &bytes).is_err());
        }
    }
}
