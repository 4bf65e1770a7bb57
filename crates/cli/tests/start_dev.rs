//! The `start-dev` command line is a contract (issue 8): scripts and tests outside the repository
//! drive it. These tests drive the real binary: `ready <public-url>` on stdout once it serves,
//! HTTPS with the development CA in `--dev-ca`, the admin token from `--admin-token` (or generated
//! and printed once), a clean stop on SIGTERM, and state (the domain's keys) kept across restarts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout, Command};

const TOKEN: &str = "start-dev-contract-admin-token-0123456789";

fn free_port() -> u16 {
    // Bound and released: start-dev needs the port in its public URL before it listens.
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Running {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Lines<BufReader<ChildStderr>>,
    base: String,
    addr: SocketAddr,
}

fn start_dev(port: u16, data: &Path, ca: &Path, token: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crossauthz"));
    c.arg("start-dev")
        .arg("--public-url")
        .arg(format!("https://alpha.localhost:{port}"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data)
        .arg("--dev-ca")
        .arg(ca)
        .env_remove("CROSSAUTHZ_ADMIN_TOKEN")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(token) = token {
        c.arg("--admin-token").arg(token);
    }
    c
}

async fn spawn(mut command: Command, port: u16) -> Running {
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = format!("https://alpha.localhost:{port}");
    let line = tokio::time::timeout(Duration::from_secs(120), stdout.next_line())
        .await
        .expect("start-dev printed nothing within 120 s")
        .unwrap();
    assert_eq!(line.as_deref(), Some(format!("ready {base}").as_str()));
    Running {
        child,
        stdout,
        stderr,
        base,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

impl Running {
    fn client(&self, ca: &Path) -> reqwest::Client {
        let pem = std::fs::read(ca.join("ca.pem")).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .resolve("alpha.localhost", self.addr)
            .build()
            .unwrap()
    }

    async fn get(&self, http: &reqwest::Client, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut r = http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// SIGTERM, then the exit status and the rest of stderr.
    async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("start-dev did not stop within 30 s of SIGTERM")
            .unwrap();
        let mut rest = String::new();
        while let Ok(Some(line)) = self.stderr.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        assert_eq!(self.stdout.next_line().await.unwrap(), None);
        (status, rest)
    }
}

#[tokio::test]
async fn start_dev_serves_https_with_its_ca_stops_on_sigterm_and_keeps_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (data, ca) = (dir.path().join("alpha"), dir.path().join("dev-ca"));
    let port = free_port();

    let run = spawn(start_dev(port, &data, &ca, Some(TOKEN)), port).await;
    let http = run.client(&ca);
    let (status, ready) = run.get(&http, "/readyz", None).await;
    assert_eq!(status, 200, "{ready}");
    let (status, did) = run.get(&http, "/.well-known/did.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(did["id"], format!("did:web:alpha.localhost%3A{port}"));
    let (status, metadata) = run
        .get(&http, "/.well-known/oauth-authorization-server", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(metadata["issuer"], run.base.as_str());
    // The admin API takes the token given on the command line, and only it.
    assert_eq!(run.get(&http, "/admin/v1/agents", None).await.0, 401);
    let wrong = "another-admin-token-of-sufficient-length-0000";
    assert_eq!(run.get(&http, "/admin/v1/agents", Some(wrong)).await.0, 401);
    assert_eq!(run.get(&http, "/admin/v1/agents", Some(TOKEN)).await.0, 200);

    let (status, stderr) = run.terminate().await;
    assert!(status.success(), "{status:?} {stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(
        !stderr.contains(TOKEN),
        "a given token is never printed: {stderr}"
    );

    // Restarted on the same data directory: the same domain, the same keys.
    let run = spawn(start_dev(port, &data, &ca, Some(TOKEN)), port).await;
    let http = run.client(&ca);
    let (status, again) = run.get(&http, "/.well-known/did.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(again["verificationMethod"], did["verificationMethod"]);
    let (status, _) = run.terminate().await;
    assert!(status.success());
}

#[tokio::test]
async fn without_a_token_start_dev_generates_one_and_prints_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (data, ca) = (dir.path().join("alpha"), dir.path().join("dev-ca"));
    let port = free_port();
    let mut run = spawn(start_dev(port, &data, &ca, None), port).await;
    let mut token = None;
    while let Some(line) = run.stderr.next_line().await.unwrap() {
        if let Some(t) = line.strip_prefix("admin token (shown once): ") {
            token = Some(t.trim().to_owned());
            break;
        }
    }
    let token = token.expect("the generated admin token on stderr");
    assert!(token.len() >= 32);
    let http = run.client(&ca);
    assert_eq!(
        run.get(&http, "/admin/v1/agents", Some(&token)).await.0,
        200
    );
    let (status, rest) = run.terminate().await;
    assert!(status.success());
    assert!(!rest.contains(&token), "printed once only");
}

#[tokio::test]
async fn start_dev_refuses_a_short_admin_token_and_serves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (data, ca) = (dir.path().join("alpha"), dir.path().join("dev-ca"));
    let port = free_port();
    let out = start_dev(port, &data, &ca, Some("short"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("admin"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ready"));
}
