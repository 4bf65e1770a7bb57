//! What the fetcher fetches ([`ResourceKind`]: accepted media types, `Accept` header, size cap)
//! and how ([`FetcherConfig`]: address policy, trust roots, timeouts, cache bounds).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crossauthz_core::PrivateNetwork;

use super::error::FetcherConfigError;

/// The kinds of cross-domain resources the verifier fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// A CIMD client metadata document at the client_id URL (C1, C5, C12).
    ClientMetadata,
    /// A JWK Set at a document's `jwks_uri`.
    Jwks,
    /// A `did:web` DID document (`…/did.json`).
    DidDocument,
    /// A Token Status List token (`application/statuslist+jwt`).
    StatusListToken,
    /// A W3C Bitstring Status List credential (`application/vc+jwt`).
    StatusListCredential,
    /// A client's `logo_uri` for the consent page (C13): PNG, JPEG, GIF or WebP only — never
    /// SVG, which can carry script.
    ClientLogo,
}

impl ResourceKind {
    /// Every kind, for iteration.
    pub const ALL: [ResourceKind; 6] = [
        Self::ClientMetadata,
        Self::Jwks,
        Self::DidDocument,
        Self::StatusListToken,
        Self::StatusListCredential,
        Self::ClientLogo,
    ];

    /// A short name for logs and configuration keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientMetadata => "client_metadata",
            Self::Jwks => "jwks",
            Self::DidDocument => "did_document",
            Self::StatusListToken => "status_list_token",
            Self::StatusListCredential => "status_list_credential",
            Self::ClientLogo => "client_logo",
        }
    }

    /// The `Accept` header sent for this kind.
    pub fn accept(self) -> &'static str {
        match self {
            Self::ClientMetadata => "application/json",
            Self::Jwks => "application/jwk-set+json, application/json",
            Self::DidDocument => "application/did+json, application/did+ld+json, application/json",
            Self::StatusListToken => "application/statuslist+jwt",
            Self::StatusListCredential => "application/vc+jwt",
            Self::ClientLogo => "image/png, image/jpeg, image/gif, image/webp",
        }
    }

    /// True if `content_type` (a full `Content-Type` header value, parameters allowed) is
    /// acceptable for this kind: JSON kinds take `application/json` or `application/*+json` (C5);
    /// a Token Status List is `application/statuslist+jwt`; a Bitstring Status List credential
    /// is `application/vc+jwt`; a client logo is one of [`LOGO_MEDIA_TYPES`].
    pub fn accepts_content_type(self, content_type: &str) -> bool {
        let Ok(parsed) = content_type.trim().parse::<mime::Mime>() else {
            return false;
        };
        // `essence_str` is `type/subtype+suffix` without parameters.
        let essence = parsed.essence_str().to_ascii_lowercase();
        if self == Self::ClientLogo {
            return LOGO_MEDIA_TYPES.contains(&essence.as_str());
        }
        let Some(sub) = essence.strip_prefix("application/") else {
            return false;
        };
        match self {
            Self::ClientMetadata | Self::Jwks | Self::DidDocument => {
                sub == "json" || (sub.len() > "+json".len() && sub.ends_with("+json"))
            }
            Self::StatusListToken => sub == "statuslist+jwt",
            Self::StatusListCredential => sub == "vc+jwt",
            Self::ClientLogo => false,
        }
    }
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The image types a client logo may have (C13). SVG is not among them: it is a document that
/// can carry script.
pub const LOGO_MEDIA_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Response size caps in bytes, per resource kind (C12).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaxBytes {
    /// CIMD documents: 5 KB = 5120 bytes by default (C12, CIMD §6.6).
    pub client_metadata: usize,
    /// JWK Sets: 64 KiB by default.
    pub jwks: usize,
    /// DID documents: 64 KiB by default.
    pub did_document: usize,
    /// Token Status Lists: 1 MiB by default.
    pub status_list_token: usize,
    /// Bitstring Status List credentials: 1 MiB by default.
    pub status_list_credential: usize,
    /// Client logos (C13): 64 KiB by default.
    pub client_logo: usize,
}

impl Default for MaxBytes {
    fn default() -> Self {
        Self {
            client_metadata: 5 * 1024,
            jwks: 64 * 1024,
            did_document: 64 * 1024,
            status_list_token: 1024 * 1024,
            status_list_credential: 1024 * 1024,
            client_logo: 64 * 1024,
        }
    }
}

impl MaxBytes {
    /// The cap for `kind`.
    pub fn for_kind(&self, kind: ResourceKind) -> usize {
        match kind {
            ResourceKind::ClientMetadata => self.client_metadata,
            ResourceKind::Jwks => self.jwks,
            ResourceKind::DidDocument => self.did_document,
            ResourceKind::StatusListToken => self.status_list_token,
            ResourceKind::StatusListCredential => self.status_list_credential,
            ResourceKind::ClientLogo => self.client_logo,
        }
    }
}

/// How the fetcher talks to other domains. The defaults are the production settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetcherConfig {
    /// Development only (the C11 exception for an AS that itself runs on loopback): allow
    /// `127.0.0.0/8` and `::1` — and no other special-use address. Default `false`.
    pub allow_loopback: bool,
    /// A closed federation's private networks (CIDR; RFC 1918 or RFC 4193 only) whose hosts may
    /// be fetched from, e.g. the shared network of a docker-compose stack. Default none: C11
    /// refuses every private address. Loopback, link-local (cloud metadata) and the other
    /// special-use ranges cannot be allowed this way.
    pub allow_private_networks: Vec<PrivateNetwork>,
    /// Extra trusted CA certificates, PEM (the development CA).
    pub extra_roots_pem: Option<String>,
    /// Extra trusted CA certificates from a PEM file, read when the fetcher is built (e.g. a
    /// federation's private CA mounted into the container); added to `extra_roots_pem`.
    pub extra_roots_file: Option<PathBuf>,
    /// Trust the platform's root certificates (default `true`). With `false`, only
    /// `extra_roots_pem` is trusted (hermetic tests, closed deployments).
    pub system_roots: bool,
    /// Test/development resolver: host name → addresses. Answers are still subject to the
    /// address policy. A port written in the URL wins; otherwise the address's port is used,
    /// 0 meaning 443.
    pub resolve_overrides: HashMap<String, Vec<SocketAddr>>,
    /// Resolve `localhost` and `*.localhost` to loopback (RFC 6761) without asking DNS
    /// (`start-dev` only; still needs `allow_loopback`).
    pub resolve_localhost_names: bool,
    /// Ask the system resolver for names not in `resolve_overrides` (default `true`; tests turn
    /// it off so that nothing but loopback is ever looked up or contacted).
    pub system_resolver: bool,
    /// TCP connect timeout (default 3 s).
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Per-read timeout: the longest wait for the next bytes of the response (default 5 s).
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Deadline for a whole fetch, connect to last body byte (default 10 s).
    #[serde(with = "humantime_serde")]
    pub total_timeout: Duration,
    /// Shortest time a successful, validated response is cached, whatever its headers say
    /// (unless `no-store`/`no-cache`, or a caller override shortens it) (C7). Default 30 s.
    #[serde(with = "humantime_serde")]
    pub cache_min: Duration,
    /// Longest time a response is cached, whatever its headers say (C7). Default 1 h.
    #[serde(with = "humantime_serde")]
    pub cache_max: Duration,
    /// Most cache entries kept (default 10 000).
    pub cache_capacity: u64,
    /// Size caps per resource kind (C12).
    pub max_bytes: MaxBytes,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            allow_private_networks: Vec::new(),
            extra_roots_pem: None,
            extra_roots_file: None,
            system_roots: true,
            resolve_overrides: HashMap::new(),
            resolve_localhost_names: false,
            system_resolver: true,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            cache_min: Duration::from_secs(30),
            cache_max: Duration::from_secs(3600),
            cache_capacity: 10_000,
            max_bytes: MaxBytes::default(),
        }
    }
}

impl FetcherConfig {
    /// The extra trusted roots: `extra_roots_pem` followed by the contents of
    /// `extra_roots_file` (an unreadable file is a configuration error).
    pub fn extra_roots(&self) -> Result<String, FetcherConfigError> {
        let mut pem = self.extra_roots_pem.clone().unwrap_or_default();
        if let Some(file) = &self.extra_roots_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| FetcherConfigError::ExtraRoots(format!("{}: {e}", file.display())))?;
            pem.push('\n');
            pem.push_str(&text);
        }
        Ok(pem)
    }

    /// Checks the settings for consistency.
    pub fn validate(&self) -> Result<(), FetcherConfigError> {
        if self.cache_min > self.cache_max {
            return Err(FetcherConfigError::CacheBounds {
                min: self.cache_min,
                max: self.cache_max,
            });
        }
        for (which, value) in [
            ("connect_timeout", self.connect_timeout),
            ("read_timeout", self.read_timeout),
            ("total_timeout", self.total_timeout),
        ] {
            if value.is_zero() {
                return Err(FetcherConfigError::ZeroTimeout { which });
            }
        }
        for kind in ResourceKind::ALL {
            if self.max_bytes.for_kind(kind) == 0 {
                return Err(FetcherConfigError::ZeroSizeCap { which: kind.name() });
            }
        }
        let extra = self.extra_roots()?;
        if !extra.trim().is_empty() {
            let certs = reqwest::Certificate::from_pem_bundle(extra.as_bytes())
                .map_err(|e| FetcherConfigError::ExtraRoots(e.to_string()))?;
            if certs.is_empty() {
                return Err(FetcherConfigError::ExtraRoots(
                    "no certificate found".into(),
                ));
            }
        } else if !self.system_roots {
            return Err(FetcherConfigError::NoRoots);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn c5_json_kinds_accept_json_and_plus_json_only() {
        for kind in [
            ResourceKind::ClientMetadata,
            ResourceKind::Jwks,
            ResourceKind::DidDocument,
        ] {
            for ok in [
                "application/json",
                "application/json; charset=utf-8",
                "Application/JSON",
                "application/jwk-set+json",
                "application/did+ld+json",
            ] {
                assert!(kind.accepts_content_type(ok), "{kind} {ok}");
            }
            for bad in [
                "",
                "text/html",
                "text/json",
                "application/+json",
                "application/jsonx",
                "application/xml",
                "application/statuslist+jwt",
                "json",
                "application/json, text/html",
                "application/json, application/json",
            ] {
                assert!(!kind.accepts_content_type(bad), "{kind} {bad:?}");
            }
        }
    }

    #[test]
    fn status_list_kinds_accept_their_media_type_only() {
        let tsl = ResourceKind::StatusListToken;
        assert!(tsl.accepts_content_type("application/statuslist+jwt"));
        assert!(!tsl.accepts_content_type("application/json"));
        assert!(!tsl.accepts_content_type("application/vc+jwt"));
        let bsl = ResourceKind::StatusListCredential;
        assert!(bsl.accepts_content_type("application/vc+jwt"));
        assert!(!bsl.accepts_content_type("application/statuslist+jwt"));
        assert!(!bsl.accepts_content_type("application/jwt"));
    }

    // C13: a logo is a raster image; SVG (script) and anything else are refused.
    #[test]
    fn c13_logo_kind_accepts_raster_images_only() {
        let logo = ResourceKind::ClientLogo;
        for ok in [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "IMAGE/PNG",
            "image/png; charset=binary",
        ] {
            assert!(logo.accepts_content_type(ok), "{ok}");
        }
        for bad in [
            "image/svg+xml",
            "image/svg",
            "text/html",
            "application/json",
            "image/x-icon",
            "image/*",
            "",
            "image/png, image/svg+xml",
        ] {
            assert!(!logo.accepts_content_type(bad), "{bad:?}");
        }
        assert_eq!(MaxBytes::default().client_logo, 64 * 1024);
    }

    #[test]
    fn c12_default_cimd_cap_is_5120_bytes() {
        assert_eq!(MaxBytes::default().client_metadata, 5120);
        assert_eq!(
            FetcherConfig::default()
                .max_bytes
                .for_kind(ResourceKind::ClientMetadata),
            5120
        );
    }

    #[test]
    fn defaults_are_production_settings_and_valid() {
        let config = FetcherConfig::default();
        assert!(!config.allow_loopback);
        assert!(!config.resolve_localhost_names);
        assert!(config.resolve_overrides.is_empty());
        config.validate().unwrap();
    }

    #[test]
    fn validate_refuses_inconsistent_settings() {
        let config = FetcherConfig {
            cache_min: Duration::from_secs(10),
            cache_max: Duration::from_secs(5),
            ..FetcherConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(FetcherConfigError::CacheBounds { .. })
        ));
        let config = FetcherConfig {
            read_timeout: Duration::ZERO,
            ..FetcherConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(FetcherConfigError::ZeroTimeout {
                which: "read_timeout"
            })
        ));
        let mut config = FetcherConfig::default();
        config.max_bytes.jwks = 0;
        assert!(matches!(
            config.validate(),
            Err(FetcherConfigError::ZeroSizeCap { which: "jwks" })
        ));
        let config = FetcherConfig {
            system_roots: false,
            ..FetcherConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(FetcherConfigError::NoRoots)
        ));
        let config = FetcherConfig {
            extra_roots_pem: Some("not a PEM bundle".into()),
            ..FetcherConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(FetcherConfigError::ExtraRoots(_))
        ));
    }

    // C11: only private-use / unique-local networks can be named; a metadata or loopback range
    // is refused when the configuration is read, not at the first fetch.
    #[test]
    fn c11_allow_private_networks_refuses_anything_but_private_ranges() {
        let config: FetcherConfig = serde_json::from_value(serde_json::json!({
            "allow_private_networks": ["172.30.0.0/24", "fd00::/64"],
        }))
        .unwrap();
        assert_eq!(config.allow_private_networks.len(), 2);
        for refused in [
            "169.254.169.254/32",
            "127.0.0.0/8",
            "0.0.0.0/0",
            "8.8.8.0/24",
        ] {
            let r: Result<FetcherConfig, _> = serde_json::from_value(serde_json::json!({
                "allow_private_networks": [refused],
            }));
            let e = r.unwrap_err().to_string();
            assert!(
                e.contains("not entirely inside a private-use"),
                "{refused}: {e}"
            );
        }
    }

    #[test]
    fn extra_roots_file_is_read_and_an_unreadable_one_is_refused() {
        let ca = crossauthz_tls::DevCa::generate("fetcher roots test").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("federation-ca.pem");
        std::fs::write(&file, ca.cert_pem()).unwrap();
        let config = FetcherConfig {
            system_roots: false,
            extra_roots_file: Some(file),
            ..FetcherConfig::default()
        };
        config.validate().unwrap();
        assert!(config.extra_roots().unwrap().contains(ca.cert_pem().trim()));
        let config = FetcherConfig {
            extra_roots_file: Some(dir.path().join("missing.pem")),
            ..FetcherConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(FetcherConfigError::ExtraRoots(_))
        ));
    }

    #[test]
    fn config_deserializes_with_human_durations() {
        let config: FetcherConfig = serde_json::from_value(serde_json::json!({
            "allow_loopback": true,
            "connect_timeout": "500ms",
            "cache_min": "1m",
            "cache_max": "2h",
            "resolve_overrides": { "alpha.test": ["127.0.0.1:8443"] },
            "max_bytes": { "client_metadata": 4096 }
        }))
        .unwrap();
        assert!(config.allow_loopback);
        assert_eq!(config.connect_timeout, Duration::from_millis(500));
        assert_eq!(config.cache_min, Duration::from_secs(60));
        assert_eq!(config.cache_max, Duration::from_secs(7200));
        assert_eq!(config.max_bytes.client_metadata, 4096);
        assert_eq!(config.max_bytes.jwks, 64 * 1024);
        assert_eq!(
            config.resolve_overrides["alpha.test"],
            vec!["127.0.0.1:8443".parse::<SocketAddr>().unwrap()]
        );
        assert!(serde_json::from_value::<FetcherConfig>(serde_json::json!({"bogus": 1})).is_err());
    }

    proptest::proptest! {
        #[test]
        fn content_type_check_never_panics(s in "\\PC{0,64}") {
            for kind in ResourceKind::ALL {
                let _ = kind.accepts_content_type(&s);
            }
        }
    }
}
