//! Benchmark (not a test): allocations per second over gRPC on loopback against PostgreSQL, and
//! the time to publish a 131,072-entry list (render + sign by the real issuer, then cache hits).
//!
//! Needs the test PostgreSQL server (`CROSSAUTHZ_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); uses a throw-away database.
//!
//! ```sh
//! cargo run --release -p crossauthz-status-list --example bench_allocate
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossauthz_core::clock::{Clock, SystemClock};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey};
use crossauthz_proto::common::{CredentialStatus, ListFormat};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_proto::status_list::{
    AllocateEntryRequest, GetPublishedListRequest, SetStatusRequest,
};
use crossauthz_status_list::publish::{render_payload, states_of};
use crossauthz_status_list::{PublishedFormat, StatusListConfig, StatusListService};
use crossauthz_store::{Database, PoolSettings};
use crossauthz_testkit::TracedChannel;
use crossauthz_testkit::{GrpcServer, TestDatabase, channel_to};
use tonic::transport::Server;

const PUBLIC_URL: &str = "https://alpha.localhost";

async fn free_addr() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// Serves `router` on loopback with `TCP_NODELAY` on accepted connections (without it, small
/// gRPC answers wait on delayed ACKs and every call costs ~40 ms).
async fn serve_nodelay(
    router: tonic::transport::server::Router,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

async fn allocate_many(
    client: &StatusListClient<TracedChannel>,
    total: usize,
    in_flight: usize,
) -> Duration {
    let start = Instant::now();
    let per_worker = total / in_flight;
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let mut c = client.clone();
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    c.allocate_entry(AllocateEntryRequest {
                        credential_id: uuid::Uuid::new_v4().to_string(),
                    })
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let tdb = TestDatabase::postgres().await.unwrap();
    let db = Database::connect_with(
        tdb.url(),
        &PoolSettings {
            max_connections: 16,
            ..PoolSettings::default()
        },
    )
    .await
    .unwrap();
    db.migrate_all().await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let status_addr = free_addr().await;
    let issuer = IssuerService::new(
        IssuerConfig::new(PUBLIC_URL),
        MasterKey::generate(),
        db.issuer_store(),
        db.audit_store(),
        clock.clone(),
        StatusListClient::new(channel_to(status_addr)),
    )
    .await
    .unwrap();
    let (issuer_addr, issuer_stop) =
        serve_nodelay(Server::builder().add_service(issuer.grpc_server())).await;
    let svc = StatusListService::new(
        StatusListConfig::new(PUBLIC_URL),
        db.status_store(),
        db.audit_store(),
        clock,
        IssuerClient::new(channel_to(issuer_addr)),
    )
    .unwrap();
    let status_server = GrpcServer::start_on(
        status_addr,
        Server::builder().add_service(svc.clone().grpc_server()),
    )
    .await
    .unwrap();
    let (fast_addr, fast_stop) =
        serve_nodelay(Server::builder().add_service(svc.clone().grpc_server())).await;
    let client = StatusListClient::new(channel_to(fast_addr));
    let testkit_client = StatusListClient::new(status_server.channel());

    println!(
        "status-list benchmark (PostgreSQL, gRPC on loopback, {} cores)",
        num_cpus()
    );
    // Warm up: opens the first list and the connections.
    allocate_many(&client, 50, 1).await;
    let start = Instant::now();
    for _ in 0..500 {
        svc.allocate(Some(uuid::Uuid::new_v4())).await.unwrap();
    }
    let took = start.elapsed();
    println!(
        "allocate in-process (no gRPC), 500 sequential: {:.2} ms each, {:.0} allocations/s",
        took.as_secs_f64() * 1e3 / 500.0,
        500.0 / took.as_secs_f64()
    );
    let mut audited = StatusListConfig::new(PUBLIC_URL);
    audited.audit_allocations = true;
    let audited = StatusListService::new(
        audited,
        db.status_store(),
        db.audit_store(),
        Arc::new(SystemClock),
        IssuerClient::new(channel_to(issuer_addr)),
    )
    .unwrap();
    let start = Instant::now();
    for _ in 0..500 {
        audited.allocate(Some(uuid::Uuid::new_v4())).await.unwrap();
    }
    let took = start.elapsed();
    println!(
        "allocate in-process with audit_allocations, 500 sequential: {:.2} ms each, {:.0} allocations/s",
        took.as_secs_f64() * 1e3 / 500.0,
        500.0 / took.as_secs_f64()
    );
    let took = allocate_many(&testkit_client, 100, 1).await;
    println!(
        "allocate via testkit GrpcServer (no TCP_NODELAY), 100 sequential: {:.1} ms each",
        took.as_secs_f64() * 1e3 / 100.0
    );
    for (total, in_flight) in [(1_000, 1), (2_000, 8), (4_000, 32)] {
        let took = allocate_many(&client, total, in_flight).await;
        println!(
            "allocate: {total} entries, {in_flight:>2} in flight: {:>8.1} ms, {:>7.0} allocations/s",
            took.as_secs_f64() * 1e3,
            total as f64 / took.as_secs_f64()
        );
    }

    // Revoke 1,000 entries so the published list is not trivially compressible.
    let mut c = client.clone();
    let mut refs = Vec::new();
    for _ in 0..1_000 {
        refs.push(
            c.allocate_entry(AllocateEntryRequest::default())
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let start = Instant::now();
    for r in &refs {
        c.set_status(SetStatusRequest {
            list_id: r.list_id.clone(),
            index: r.index,
            status: CredentialStatus::Revoked as i32,
            actor: None,
        })
        .await
        .unwrap();
    }
    let took = start.elapsed();
    println!(
        "revoke: 1000 entries sequentially: {:.1} ms, {:.0} revocations/s",
        took.as_secs_f64() * 1e3,
        1000.0 / took.as_secs_f64()
    );
    let list_id = refs[0].list_id.clone();
    let list_uuid: uuid::Uuid = list_id.parse().unwrap();
    let store = db.status_store();

    // Render only (no signature): snapshot + both encodings.
    let start = Instant::now();
    let snapshot = store.non_valid_entries(list_uuid).await.unwrap();
    let read = start.elapsed();
    let states = states_of(&snapshot).unwrap();
    let now = chrono::Utc::now();
    for (name, format) in [
        ("token status list", PublishedFormat::TokenStatusList),
        (
            "bitstring revocation",
            PublishedFormat::Bitstring(crossauthz_status_list::BitstringPurpose::Revocation),
        ),
    ] {
        let start = Instant::now();
        let payload = render_payload(
            &states,
            format,
            "https://alpha.localhost/status/x",
            300,
            now,
        );
        println!(
            "render {name}: {:.2} ms ({} bytes of payload)",
            start.elapsed().as_secs_f64() * 1e3,
            payload.to_string().len()
        );
    }
    println!(
        "read snapshot ({} non-valid entries): {:.2} ms",
        snapshot.entries.len(),
        read.as_secs_f64() * 1e3
    );

    // Publication through gRPC: first call renders and has the issuer sign; then cache hits.
    for (name, format, purpose) in [
        ("token status list", ListFormat::TokenStatusList, ""),
        (
            "bitstring revocation",
            ListFormat::BitstringStatusList,
            "revocation",
        ),
        (
            "bitstring suspension",
            ListFormat::BitstringStatusList,
            "suspension",
        ),
    ] {
        let req = || GetPublishedListRequest {
            list_id: list_id.clone(),
            format: format as i32,
            purpose: purpose.into(),
        };
        let start = Instant::now();
        let p = c.get_published_list(req()).await.unwrap().into_inner();
        let cold = start.elapsed();
        let n = 200;
        let start = Instant::now();
        for _ in 0..n {
            c.get_published_list(req()).await.unwrap();
        }
        let warm = start.elapsed() / n;
        println!(
            "publish {name}: render+sign {:.2} ms, cached {:.3} ms/request, body {} bytes",
            cold.as_secs_f64() * 1e3,
            warm.as_secs_f64() * 1e3,
            p.body.len()
        );
    }

    status_server.stop().await;
    let _ = fast_stop.send(());
    let _ = issuer_stop.send(());
    db.close().await;
    tdb.cleanup().await.unwrap();
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
