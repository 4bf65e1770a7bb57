//! A real HTTPS server on loopback for the fetcher tests: a test CA, a certificate for the test
//! host names and loopback literals, axum routes for every case (good document, 3xx, 201, 204,
//! 404, 500, wrong content type, oversize, slow, Cache-Control), and counters of accepted TCP
//! connections and of requests per path, so tests can assert that NO request reached it.
//!
//! Loopback only: it listens on 127.0.0.1 (and, on the same port, 127.0.0.2 and ::1 when
//! available, so that a failed SSRF guard would be seen as a hit).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crossauthz_tls::DevCa;
// `FetcherConfig` comes from the including module (integration test root, or the in-crate tests).
use super::FetcherConfig;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The test host name the positive tests fetch from (mapped by `resolve_overrides`).
pub const HOST: &str = "alpha.test";

/// Per-path request counters and the accepted-connection counter.
#[derive(Default)]
struct Counters {
    accepts: AtomicUsize,
    hits: Mutex<HashMap<String, usize>>,
    flip: AtomicUsize,
}

/// The running server; stops when dropped.
pub struct TestServer {
    /// The port (the same on every address it listens on).
    pub port: u16,
    /// The test CA certificate, PEM.
    pub ca_pem: String,
    counters: Arc<Counters>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn json(body: impl Into<String>) -> Response {
    let mut response = Response::new(Body::from(body.into()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn good_document() -> String {
    format!(r#"{{"client_id":"https://{HOST}/good","client_name":"alpha"}}"#)
}

/// A JSON body of exactly `n` bytes (n >= 8).
fn json_of_size(n: usize) -> String {
    let pad = n.saturating_sub(8);
    format!(r#"{{"p":"{}"}}"#, "a".repeat(pad))
}

fn with_cache_control(value: &str) -> Response {
    let mut response = json(good_document());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
    response
}

fn router(counters: Arc<Counters>) -> Router {
    let flip_counters = counters.clone();
    let routes = Router::new()
        .route("/good", get(|| async { json(good_document()) }))
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move {
                let mut response = json(good_document());
                *response.status_mut() = StatusCode::from_u16(code).unwrap();
                if (300..400).contains(&code) {
                    response
                        .headers_mut()
                        .insert(header::LOCATION, HeaderValue::from_static("/good"));
                }
                response
            }),
        )
        .route(
            "/html",
            get(|| async {
                let mut r = Response::new(Body::from(good_document()));
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                r
            }),
        )
        .route(
            "/no-content-type",
            get(|| async { Response::new(Body::from(good_document())) }),
        )
        .route(
            "/did-json",
            get(|| async {
                let mut r = json(r#"{"id":"did:web:alpha.test"}"#);
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/did+json; charset=utf-8"),
                );
                r
            }),
        )
        .route(
            "/tsl",
            get(|| async {
                let mut r = Response::new(Body::from("eyJhbGciOiJFUzI1NiJ9.e30.sig"));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/statuslist+jwt"),
                );
                r
            }),
        )
        .route(
            "/size/{n}",
            get(|Path(n): Path<usize>| async move { json(json_of_size(n)) }),
        )
        .route(
            "/stream/{n}",
            get(|Path(n): Path<usize>| async move {
                // No Content-Length: the cap must be enforced while reading.
                let body = json_of_size(n).into_bytes();
                let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                    body.chunks(1000).map(|c| Ok(c.to_vec())).collect();
                let mut r = Response::new(Body::from_stream(futures::stream::iter(chunks)));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }),
        )
        .route(
            "/slow-head",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                json(good_document())
            }),
        )
        .route(
            "/slow-body",
            get(|| async {
                let stream = futures::stream::unfold(0u8, |state| async move {
                    match state {
                        0 => Some((Ok::<_, std::io::Error>(b"{\"a\":".to_vec()), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                            Some((Ok(b"1}".to_vec()), 2))
                        }
                        _ => None,
                    }
                });
                let mut r = Response::new(Body::from_stream(stream));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }),
        )
        .route(
            "/slowish",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                with_cache_control("max-age=600")
            }),
        )
        .route(
            "/max-age/{n}",
            get(|Path(n): Path<u64>| async move { with_cache_control(&format!("max-age={n}")) }),
        )
        .route(
            "/no-store",
            get(|| async { with_cache_control("no-store") }),
        )
        .route(
            "/no-cache",
            get(|| async { with_cache_control("no-cache") }),
        )
        .route(
            "/flip",
            get(move || {
                let counters = flip_counters.clone();
                async move {
                    // First call fails with 500, every later call succeeds.
                    if counters.flip.fetch_add(1, Ordering::SeqCst) == 0 {
                        StatusCode::INTERNAL_SERVER_ERROR.into_response()
                    } else {
                        with_cache_control("max-age=600")
                    }
                }
            }),
        );
    let counting = counters.clone();
    routes.layer(middleware::from_fn(move |request: Request, next: Next| {
        let counters = counting.clone();
        async move {
            *counters
                .hits
                .lock()
                .unwrap()
                .entry(request.uri().path().to_owned())
                .or_default() += 1;
            next.run(request).await
        }
    }))
}

impl TestServer {
    /// Starts the server with a fresh CA.
    pub async fn start() -> Self {
        let ca = DevCa::generate("fetch test CA").unwrap();
        let cert = ca
            .issue_server(&[
                HOST,
                "alpha.localhost",
                "127.0.0.1",
                "127.0.0.2",
                "::1",
                "0.0.0.0",
            ])
            .unwrap();
        let tls = crossauthz_tls::server_config(&cert.chain_pem, &cert.key_pem).unwrap();
        let counters = Arc::new(Counters::default());
        let app = router(counters.clone());

        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = first.local_addr().unwrap().port();
        let mut listeners = vec![first];
        for extra in [format!("127.0.0.2:{port}"), format!("[::1]:{port}")] {
            if let Ok(l) = TcpListener::bind(extra.parse::<SocketAddr>().unwrap()).await {
                listeners.push(l);
            }
        }
        let tasks = listeners
            .into_iter()
            .map(|listener| {
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.clone());
                let app = app.clone();
                let counters = counters.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        counters.accepts.fetch_add(1, Ordering::SeqCst);
                        let acceptor = acceptor.clone();
                        let app = app.clone();
                        tokio::spawn(async move {
                            let Ok(tls_stream) = acceptor.accept(stream).await else {
                                return;
                            };
                            let _ =
                                hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                                    .serve_connection(
                                        TokioIo::new(tls_stream),
                                        TowerToHyperService::new(app),
                                    )
                                    .await;
                        });
                    }
                })
            })
            .collect();
        Self {
            port,
            ca_pem: ca.cert_pem().to_owned(),
            counters,
            tasks,
        }
    }

    /// `https://alpha.test:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.port)
    }

    /// TCP connections accepted so far (on any of its addresses).
    pub fn accepts(&self) -> usize {
        self.counters.accepts.load(Ordering::SeqCst)
    }

    /// Requests that reached the router for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.counters
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests that reached the router, all paths.
    pub fn total_hits(&self) -> usize {
        self.counters.hits.lock().unwrap().values().sum()
    }

    /// A hermetic development configuration: loopback allowed, `alpha.test` → this server,
    /// only the test CA trusted, no system resolver, short timeouts.
    pub fn config(&self) -> FetcherConfig {
        let mut resolve_overrides = HashMap::new();
        resolve_overrides.insert(
            HOST.to_owned(),
            vec![SocketAddr::from(([127, 0, 0, 1], self.port))],
        );
        FetcherConfig {
            allow_loopback: true,
            extra_roots_pem: Some(self.ca_pem.clone()),
            system_roots: false,
            system_resolver: false,
            resolve_overrides,
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_millis(400),
            total_timeout: Duration::from_secs(2),
            ..FetcherConfig::default()
        }
    }

    /// [`config`](Self::config) with the production address policy (no loopback).
    pub fn production_config(&self) -> FetcherConfig {
        FetcherConfig {
            allow_loopback: false,
            ..self.config()
        }
    }
}
