//! `serve` mode's internal gRPC is not open (issue 8): every listener requires mutual TLS with
//! the domain's internal CA; a caller without a client certificate must present one of the
//! configured bearer tokens; a caller with neither gets UNAUTHENTICATED and nothing happens.
//! The service here is a real `crossauthz serve verifier` runtime on real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use crossauthz_domain::{DomainConfig, ServiceKind, pki, serve};
use crossauthz_proto::common::Actor;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_proto::verifier::{GetTrustListRequest, PutTrustListRequest, TrustedIssuer};
use crossauthz_testkit::TestDatabase;
use tokio::sync::oneshot;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

const INTERNAL_AGENT_TOKEN: &str = "internal-agent-token-0123456789-abcdefghij";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// A TLS channel to the verifier (its certificate names `verifier`), presenting `identity`.
async fn channel(
    port: u16,
    ca: &str,
    identity: Option<(String, String)>,
) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("verifier");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))
}

fn trust(issuer: &str) -> PutTrustListRequest {
    PutTrustListRequest {
        issuers: vec![TrustedIssuer {
            issuer: issuer.to_owned(),
            credential_types: vec!["AgentAuthorizationCredential".into()],
            issuer_domains: vec![issuer.trim_start_matches("did:web:").to_owned()],
        }],
        actor: Some(Actor {
            subject: "serve-mtls-test".into(),
            reason: String::new(),
        }),
    }
}

fn with_bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    request
}

#[tokio::test]
async fn serve_mode_grpc_admits_internal_certificates_and_tokens_and_refuses_everyone_else() {
    let db = TestDatabase::postgres().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = dir.path().join("internal-pki");
    pki::init(&pki_dir, &["verifier".into(), "gateway".into()]).unwrap();
    let foreign = dir.path().join("foreign-pki");
    pki::init(&foreign, &["gateway".into()]).unwrap();
    let tokens = dir.path().join("grpc-tokens");
    std::fs::write(
        &tokens,
        format!("# internal agents\n{INTERNAL_AGENT_TOKEN}\n"),
    )
    .unwrap();

    let (grpc_port, ops_port) = (free_port(), free_port());
    let toml = format!(
        r#"
public_url = "https://beta.example"
[database]
url = "{url}"
[serve]
grpc_listen = "127.0.0.1:{grpc_port}"
ops_listen = "127.0.0.1:{ops_port}"
[internal_tls]
ca = "{pki}/ca.pem"
cert = "{pki}/verifier.crt"
key = "{pki}/verifier.key"
bearer_tokens_file = "{tokens}"
"#,
        url = db.url(),
        pki = pki_dir.display(),
        tokens = tokens.display(),
    );
    let config = DomainConfig::from_toml_and_env(&toml, &[]).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(ServiceKind::Verifier, config, async move {
        let _ = stopped.await;
    }));

    let ca = read(&pki_dir, "ca.pem");
    let internal = (read(&pki_dir, "gateway.crt"), read(&pki_dir, "gateway.key"));
    // The listener comes up after the migrations.
    let mut admitted = None;
    for _ in 0..100 {
        if let Ok(c) = channel(grpc_port, &ca, Some(internal.clone())).await {
            admitted = Some(VerifierClient::new(c));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut admitted = admitted.expect("the verifier serves");

    // mTLS with the internal CA's client certificate: admitted.
    admitted
        .put_trust_list(trust("did:web:alpha.example"))
        .await
        .unwrap();

    // TLS without a client certificate and without a token: UNAUTHENTICATED, nothing stored.
    let mut anonymous = VerifierClient::new(channel(grpc_port, &ca, None).await.unwrap());
    let refused = anonymous
        .put_trust_list(trust("did:web:intruder.example"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let refused = anonymous
        .get_trust_list(GetTrustListRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    // A bearer token that is not configured: UNAUTHENTICATED, nothing stored.
    let refused = anonymous
        .put_trust_list(with_bearer(
            trust("did:web:intruder.example"),
            "not-a-configured-token-0123456789abcdef",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    // A client certificate from another CA: refused at the TLS handshake (or, at the latest,
    // on the first call); either way nothing is stored.
    let foreign_identity = (read(&foreign, "gateway.crt"), read(&foreign, "gateway.key"));
    let foreign_call = match channel(grpc_port, &ca, Some(foreign_identity)).await {
        Err(e) => Err(e),
        Ok(c) => VerifierClient::new(c)
            .put_trust_list(trust("did:web:intruder.example"))
            .await
            .map(|_| ())
            .map_err(|s| format!("{s:?}")),
    };
    assert!(
        foreign_call.is_err(),
        "a foreign CA's certificate was admitted"
    );

    let list = admitted
        .get_trust_list(GetTrustListRequest {})
        .await
        .unwrap()
        .into_inner();
    let issuers: Vec<_> = list.issuers.iter().map(|i| i.issuer.as_str()).collect();
    assert_eq!(
        issuers,
        ["did:web:alpha.example"],
        "nothing of the refused calls was stored"
    );

    // An internal agent without a certificate but with a configured bearer token: admitted.
    anonymous
        .put_trust_list(with_bearer(
            trust("did:web:gamma.example"),
            INTERNAL_AGENT_TOKEN,
        ))
        .await
        .unwrap();
    let list = admitted
        .get_trust_list(GetTrustListRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.issuers[0].issuer, "did:web:gamma.example");

    // Plaintext gRPC is not served.
    if let Ok(c) = Endpoint::from_shared(format!("http://127.0.0.1:{grpc_port}"))
        .unwrap()
        .connect()
        .await
    {
        let r = VerifierClient::new(c)
            .get_trust_list(GetTrustListRequest {})
            .await;
        assert!(r.is_err(), "plaintext gRPC was served in serve mode");
    }

    // The ops port: live, and ready (its database answers; the verifier has no upstreams).
    let r = reqwest::get(format!("http://127.0.0.1:{ops_port}/readyz"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("serve stops on its signal")
        .unwrap()
        .unwrap();
    db.cleanup().await.unwrap();
}
