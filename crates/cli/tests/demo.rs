//! The README's first command: `crossauthz demo` runs two domains and every step of the story
//! to success, with no database server (issue 8 "Done when").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn the_demo_runs_every_step_to_success_and_exits_zero() {
    let keep = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crossauthz"))
        .arg("demo")
        .arg("--keep")
        .arg(keep.path())
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    for step in 1..=8 {
        assert!(
            stdout.contains(&format!("[{step}/8]")),
            "step {step} missing:\n{stdout}"
        );
    }
    assert!(!stdout.contains('✗'), "{stdout}");
    assert!(
        stdout.contains("invalid_client \"the credential is revoked\""),
        "{stdout}"
    );
    assert!(stdout.contains("reason policy_denied"), "{stdout}");
    assert!(stdout.contains("scope.outside_credential"), "{stdout}");
    assert!(stdout.contains("(reason credential_suspended)"), "{stdout}");
    assert!(stdout.contains("demo passed: 8 steps"), "{stdout}");
    // Each domain kept its state in its own SQLite file: no database server was used.
    for domain in ["alpha", "beta"] {
        assert!(keep.path().join(domain).join("crossauthz.sqlite").is_file());
    }
    assert!(keep.path().join("dev-ca").join("ca.pem").is_file());
}
