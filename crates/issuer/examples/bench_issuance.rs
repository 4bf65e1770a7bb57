//! Benchmark (not a test): issuances per second of one issuer, both formats, end to end over
//! gRPC on loopback — validation, a status entry allocated by the real status-list service,
//! signing, the credential recorded and the audit event appended in PostgreSQL.
//!
//! `cargo run --release -p crossauthz-issuer --example bench_issuance [count] [concurrency]`
//! (PostgreSQL from `CROSSAUTHZ_TEST_PG`, default `postgres://postgres@127.0.0.1:5432/postgres`;
//! a throw-away database is created and dropped).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use crossauthz_core::clock::{Clock, SystemClock};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey};
use crossauthz_proto::common::{Actor, CredentialFormat};
use crossauthz_proto::issuer::IssueCredentialRequest;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_testkit::{TestDatabase, channel_to};
use serde_json::json;
use tonic::transport::Server;

const PUBLIC_URL: &str = "https://alpha.localhost";

fn request(format: CredentialFormat, holder: &serde_json::Value) -> IssueCredentialRequest {
    IssueCredentialRequest {
        agent_id: uuid::Uuid::new_v4().to_string(),
        subject: format!("{PUBLIC_URL}/agents/1/client-metadata.json"),
        claims_json: json!({
            "agentType": "tool-agent",
            "authorizedScopes": ["logs:read", "tickets:write"],
            "complianceAttestations": [{"standard": "SOC2", "scope": "ops", "validUntil": "2030-01-01T00:00:00Z"}],
            "trustSignals": {"trustScore": 0.9, "provider": "acme", "timestamp": "2026-01-01T00:00:00Z"}
        })
        .to_string(),
        holder_jwk_json: holder.to_string(),
        format: format as i32,
        validity_seconds: 0,
        disclose: if format == CredentialFormat::DcSdJwt {
            vec!["/complianceAttestations".into(), "/trustSignals".into()]
        } else {
            vec![]
        },
        actor: Some(Actor {
            subject: "bench".into(),
            reason: String::new(),
        }),
    }
}

/// Serves on `addr` with TCP_NODELAY on accepted connections (tonic's own listener), so small
/// HTTP/2 frames are not held back by Nagle's algorithm against delayed ACKs.
fn serve(
    addr: std::net::SocketAddr,
    router: tonic::transport::server::Router,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_shutdown(addr, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(16);

    let db = TestDatabase::postgres().await.unwrap();
    let database = db.connect().await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let issuer_addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let status_addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let status = StatusListService::new(
        StatusListConfig::new(PUBLIC_URL),
        database.status_store(),
        database.audit_store(),
        clock.clone(),
        IssuerClient::new(channel_to(issuer_addr)),
    )
    .unwrap();
    let status_server = serve(
        status_addr,
        Server::builder()
            .tcp_nodelay(true)
            .add_service(status.grpc_server()),
    );
    let issuer = IssuerService::new(
        IssuerConfig::new(PUBLIC_URL),
        MasterKey::generate(),
        database.issuer_store(),
        database.audit_store(),
        clock,
        StatusListClient::new(channel_to(status_addr)),
    )
    .await
    .unwrap();
    let issuer_server = serve(
        issuer_addr,
        Server::builder()
            .tcp_nodelay(true)
            .add_service(issuer.grpc_server()),
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let holder = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .public_jwk()
        .to_json();
    let client = IssuerClient::new(channel_to(issuer_addr));

    println!(
        "issuer benchmark: {count} issuances per format, concurrency {concurrency}, EdDSA key"
    );
    for format in [CredentialFormat::VcJwt, CredentialFormat::DcSdJwt] {
        // Warm-up (connections, first list).
        for _ in 0..20 {
            client
                .clone()
                .issue_credential(request(format, &holder))
                .await
                .unwrap();
        }
        for c in [1, concurrency] {
            let per_task = count / c;
            let start = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..c {
                let mut client = client.clone();
                let holder = holder.clone();
                tasks.push(tokio::spawn(async move {
                    for _ in 0..per_task {
                        client
                            .issue_credential(request(format, &holder))
                            .await
                            .unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let elapsed = start.elapsed();
            let total = per_task * c;
            println!(
                "{:>9} concurrency {:>2}: {:>6} issuances in {:>6.2} s = {:>7.1} /s ({:.2} ms each)",
                if format == CredentialFormat::VcJwt {
                    "vc+jwt"
                } else {
                    "dc+sd-jwt"
                },
                c,
                total,
                elapsed.as_secs_f64(),
                total as f64 / elapsed.as_secs_f64(),
                elapsed.as_secs_f64() * 1000.0 * c as f64 / total as f64,
            );
        }
    }

    // The CPU part alone: re-sign a representative credential of each format in process.
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let kid = format!("did:web:alpha.localhost#{}", key.thumbprint());
    let vc = client
        .clone()
        .issue_credential(request(CredentialFormat::VcJwt, &holder))
        .await
        .unwrap()
        .into_inner()
        .credential;
    let (_, mut vc_claims) = crossauthz_credentials::jose::decode_unverified(&vc).unwrap();
    vc_claims["issuer"] = json!("did:web:alpha.localhost");
    let start = Instant::now();
    for _ in 0..count {
        crossauthz_credentials::vc_jwt::issue(&vc_claims, &key, &kid).unwrap();
    }
    let e = start.elapsed().as_secs_f64();
    println!(
        "   vc+jwt signing only (one core): {:>8.0} /s ({:.3} ms each)",
        count as f64 / e,
        e * 1000.0 / count as f64
    );
    let sd_claims = json!({
        "iss": "did:web:alpha.localhost", "vct": "urn:crossauthz:vct:agent-authorization:1",
        "sub": format!("{PUBLIC_URL}/agents/1/client-metadata.json"), "iat": 0, "nbf": 0, "exp": 1,
        "cnf": {"jwk": holder}, "agentType": "tool-agent",
        "complianceAttestations": [{"standard": "SOC2"}], "trustSignals": {"trustScore": 0.9}
    });
    let start = Instant::now();
    for _ in 0..count {
        crossauthz_credentials::sd_jwt::issue(
            &sd_claims,
            &["/complianceAttestations", "/trustSignals"],
            &key,
            &kid,
            &Default::default(),
        )
        .unwrap();
    }
    let e = start.elapsed().as_secs_f64();
    println!(
        "dc+sd-jwt signing only (one core): {:>8.0} /s ({:.3} ms each)",
        count as f64 / e,
        e * 1000.0 / count as f64
    );

    for (stop, task) in [issuer_server, status_server] {
        let _ = stop.send(());
        let _ = task.await;
    }
    database.close().await;
    db.cleanup().await.unwrap();
}
