//! The commented reference configuration (deploy/crossauthz.example.toml) is a real
//! configuration: it parses with every key known, and uncommenting its defaults changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossauthz_domain::DomainConfig;

const EXAMPLE: &str = include_str!("../../../deploy/crossauthz.example.toml");

#[test]
fn the_reference_configuration_parses() {
    let config = DomainConfig::from_toml_and_env(EXAMPLE, &[]).unwrap();
    assert_eq!(config.public_url.as_str(), "https://beta.example/");
    assert!(config.internal_tls.is_some());
}

#[test]
fn uncommenting_every_documented_default_is_accepted_and_keeps_the_defaults() {
    // `# key = value` lines are the documented defaults; uncomment them all.
    let uncommented: String = EXAMPLE
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.contains(" = ")
                    && rest.split(" = ").next().is_some_and(|k| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    })
                    && !rest.starts_with("extra_roots_") =>
            {
                rest.to_owned()
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let defaults = DomainConfig::from_toml_and_env(EXAMPLE, &[]).unwrap();
    let explicit = DomainConfig::from_toml_and_env(&uncommented, &[]).unwrap();
    assert_eq!(
        format!("{:?}", explicit.issuer),
        format!("{:?}", defaults.issuer)
    );
    assert_eq!(
        format!("{:?}", explicit.registry),
        format!("{:?}", defaults.registry)
    );
    assert_eq!(
        format!("{:?}", explicit.status_list),
        format!("{:?}", defaults.status_list)
    );
    assert_eq!(
        format!("{:?}", explicit.verifier),
        format!("{:?}", defaults.verifier)
    );
    assert_eq!(
        format!("{:?}", explicit.oauth),
        format!("{:?}", defaults.oauth)
    );
    assert_eq!(
        format!("{:?}", explicit.monitor),
        format!("{:?}", defaults.monitor)
    );
    assert_eq!(explicit.serve.grpc_listen, defaults.serve.grpc_listen);
    assert_eq!(explicit.serve.ops_listen, defaults.serve.ops_listen);
    assert_eq!(explicit.gateway.listen, defaults.gateway.listen);
    assert_eq!(
        explicit.database.max_connections,
        defaults.database.max_connections
    );
    assert!(explicit.telemetry.otlp_endpoint.is_some());
}

/// The compose and Kubernetes configurations parse too; the compose ones name the stack's CA file
/// (replaced here by a real CA in a temporary file: a missing file is refused, as serve would).
#[test]
fn the_deployment_configurations_parse() {
    let ca = crossauthz_tls::DevCa::generate("compose roots").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("ca.pem");
    std::fs::write(&roots, ca.cert_pem()).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    for file in [
        "compose/alpha/crossauthz.toml",
        "compose/beta/crossauthz.toml",
        "k8s/base/crossauthz.toml",
        "k8s/overlays/alpha/crossauthz.toml",
        "k8s/overlays/beta/crossauthz.toml",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let missing = DomainConfig::from_toml_and_env(&text, &[]);
        let text = text.replace("/etc/crossauthz/roots/ca.pem", &roots.display().to_string());
        let config =
            DomainConfig::from_toml_and_env(&text, &[]).unwrap_or_else(|e| panic!("{file}: {e}"));
        if !config.verifier.fetcher.allow_private_networks.is_empty() {
            assert!(config.verifier.fetcher.extra_roots_file.is_some(), "{file}");
            assert!(
                missing.is_err(),
                "{file}: a missing roots file must be refused"
            );
        }
    }
}
