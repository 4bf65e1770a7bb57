//! TLS material: a development certificate authority, and rustls configurations built from it.
//!
//! `start-dev` and the tests need HTTPS between domains on one machine (CIMD URLs must be https).
//! [`DevCa`] makes a CA, issues server (and client) certificates for host names such as
//! `alpha.localhost`, and persists as PEM so two processes sharing a CA directory trust each other.
//! Production deployments bring their own certificates; this crate only loads them.
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Errors creating or loading TLS material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate or key generation failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file could not be read or parsed.
    #[error("cannot read {what}: {detail}")]
    Pem {
        /// Which file.
        what: String,
        /// Why.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration refused: {0}")]
    Config(#[from] rustls::Error),
    /// Filesystem error.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// A certificate authority for development and tests.
pub struct DevCa {
    cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa").finish_non_exhaustive()
    }
}

/// A certificate with its private key, PEM encoded.
pub struct IssuedCert {
    /// The leaf certificate followed by the CA certificate.
    pub chain_pem: String,
    /// The leaf's private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert").finish_non_exhaustive()
    }
}

impl DevCa {
    /// Generates a new CA (ECDSA P-256).
    pub fn generate(name: &str) -> Result<Self, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Loads `ca.pem` and `ca-key.pem` from `dir`, or creates and writes them if absent.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca-key.pem");
        if cert_path.exists() && key_path.exists() {
            return Ok(Self {
                cert_pem: read(&cert_path)?,
                key_pem: read(&key_path)?,
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
        let ca = Self::generate("crossauthz development CA")?;
        write_private(&key_path, &ca.key_pem)?;
        std::fs::write(&cert_path, &ca.cert_pem).map_err(|source| io(&cert_path, source))?;
        Ok(ca)
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues a server certificate for `hosts` (DNS names or IP literals).
    pub fn issue_server(&self, hosts: &[&str]) -> Result<IssuedCert, TlsError> {
        self.issue(hosts, &[ExtendedKeyUsagePurpose::ServerAuth])
    }

    /// Issues a certificate usable both as server and as client certificate for `names`: an
    /// internal service's identity on a mutual-TLS gRPC plane.
    pub fn issue_service(&self, names: &[&str]) -> Result<IssuedCert, TlsError> {
        self.issue(
            names,
            &[
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        )
    }

    /// Issues a client certificate whose subject alternative names are `names` (for mTLS).
    pub fn issue_client(&self, names: &[&str]) -> Result<IssuedCert, TlsError> {
        self.issue(names, &[ExtendedKeyUsagePurpose::ClientAuth])
    }

    fn issue(
        &self,
        names: &[&str],
        usages: &[ExtendedKeyUsagePurpose],
    ) -> Result<IssuedCert, TlsError> {
        let ca_key = KeyPair::from_pem(&self.key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, ca_key)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        for name in names {
            let san = match name.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into()?),
            };
            params.subject_alt_names.push(san);
        }
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.extended_key_usages = usages.to_vec();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &issuer)?;
        Ok(IssuedCert {
            chain_pem: format!("{}{}", cert.pem(), self.cert_pem),
            key_pem: key.serialize_pem(),
        })
    }

    /// A root store trusting only this CA.
    pub fn root_store(&self) -> Result<RootCertStore, TlsError> {
        root_store_from_pem(&self.cert_pem)
    }
}

/// A root store holding the certificates of a PEM bundle.
pub fn root_store_from_pem(pem: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| pem_error("CA bundle", e))?;
        roots.add(cert)?;
    }
    Ok(roots)
}

/// A rustls server configuration from a PEM chain and key (HTTP/1.1 and h2 by ALPN).
pub fn server_config(
    chain_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (chain, key) = parse_chain_and_key(chain_pem, key_pem)?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A rustls server configuration that requires a client certificate issued by `client_ca_pem` (mTLS).
pub fn mtls_server_config(
    chain_pem: &str,
    key_pem: &str,
    client_ca_pem: &str,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (chain, key) = parse_chain_and_key(chain_pem, key_pem)?;
    let roots = Arc::new(root_store_from_pem(client_ca_pem)?);
    let verifier = rustls::server::WebPkiClientVerifier::builder(roots)
        .build()
        .map_err(|e| TlsError::Pem {
            what: "client CA".into(),
            detail: e.to_string(),
        })?;
    let mut config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn parse_chain_and_key(
    chain_pem: &str,
    key_pem: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error("certificate chain", e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| pem_error("private key", e))?;
    Ok((chain, key))
}

fn pem_error(what: &str, e: rustls_pki_types::pem::Error) -> TlsError {
    TlsError::Pem {
        what: what.into(),
        detail: e.to_string(),
    }
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| io(path, source))
}

fn io(path: &Path, source: std::io::Error) -> TlsError {
    TlsError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes a private key readable by the owner only.
/// Creates `path` (refusing to overwrite) readable by its owner only, and writes `contents`:
/// how private keys and secrets are put on disk.
pub fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| io(path, source))?;
    file.write_all(contents.as_bytes())
        .map_err(|source| io(path, source))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_persists_and_reloads_the_same_certificate() {
        let dir = std::env::temp_dir().join(format!("crossauthz-ca-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = DevCa::load_or_create(&dir).unwrap();
        let b = DevCa::load_or_create(&dir).unwrap();
        assert_eq!(a.cert_pem(), b.cert_pem());
        let issued = b.issue_server(&["alpha.localhost", "127.0.0.1"]).unwrap();
        server_config(&issued.chain_pem, &issued.key_pem).unwrap();
        assert_eq!(a.root_store().unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_pem_is_an_error_not_a_panic() {
        assert!(server_config("not pem", "not pem").is_err());
        assert!(
            root_store_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }
}
