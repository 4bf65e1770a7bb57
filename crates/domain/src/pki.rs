//! `crossauthz pki init`: the internal CA of a domain's gRPC plane and one certificate per
//! service, for deployments without a certificate manager (docker-compose's init container).
//! In Kubernetes, cert-manager issuing from the same CA is the better path (deploy/README.md).

use std::path::{Path, PathBuf};

use crossauthz_tls::{DevCa, TlsError};

/// What `pki init` wrote or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiReport {
    /// The CA certificate (`DIR/ca.pem`).
    pub ca: PathBuf,
    /// Certificates created now.
    pub created: Vec<String>,
    /// Certificates that already existed and were kept.
    pub kept: Vec<String>,
}

/// Creates (if absent) the CA in `dir` (`ca.pem`, `ca-key.pem`) and, for each name, `N.crt`
/// (leaf + CA, server and client usage, DNS name `N`) and `N.key`. Existing files are kept, so
/// running it again is harmless; nothing is ever overwritten.
pub fn init(dir: &Path, names: &[String]) -> Result<PkiReport, TlsError> {
    let ca = DevCa::load_or_create(dir)?;
    let mut report = PkiReport {
        ca: dir.join("ca.pem"),
        created: Vec::new(),
        kept: Vec::new(),
    };
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let cert_path = dir.join(format!("{name}.crt"));
        let key_path = dir.join(format!("{name}.key"));
        if cert_path.exists() && key_path.exists() {
            report.kept.push(name.to_owned());
            continue;
        }
        let issued = ca.issue_service(&[name])?;
        // The key first: a certificate without its key is useless, the reverse is re-issued.
        let _ = std::fs::remove_file(&key_path);
        crossauthz_tls::write_private(&key_path, &issued.key_pem)?;
        std::fs::write(&cert_path, &issued.chain_pem).map_err(|source| TlsError::Io {
            path: cert_path.display().to_string(),
            source,
        })?;
        report.created.push(name.to_owned());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn init_creates_then_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["registry".to_owned(), "issuer".to_owned()];
        let first = init(dir.path(), &names).unwrap();
        assert_eq!(first.created, names);
        let cert = std::fs::read_to_string(dir.path().join("issuer.crt")).unwrap();
        let second = init(dir.path(), &names).unwrap();
        assert!(second.created.is_empty());
        assert_eq!(second.kept, names);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("issuer.crt")).unwrap(),
            cert
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("issuer.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is private to its owner");
        }
    }
}
