//! The `palmkit` binary as a user runs it.

use std::process::Command;

fn palmkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_palmkit"))
}

#[test]
fn demo_runs_every_step_and_passes() {
    let out = palmkit().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Health check over pinned TLS ... ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("a client pinned to another CA was refused"),
        "{stdout}"
    );
    assert!(stdout.contains("Demo passed"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
}

#[test]
fn help_points_a_newcomer_at_the_demo() {
    let out = palmkit().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for verb in ["demo", "serve", "health"] {
        assert!(text.contains(verb), "{text}");
    }
    assert!(text.contains("palmkit demo"), "{text}");
}

#[test]
fn health_without_a_server_explains_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = palmkit()
        .args(["health", "--config"])
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("palmkit serve"), "{err}");
}

#[test]
fn serve_init_only_prepares_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = palmkit()
        .args(["serve", "--init-only", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("tls/ca.pem").exists());
    assert!(dir.path().join("palmkit.sqlite3").exists());
}

#[test]
fn serve_answers_health_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut server = palmkit()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("listening on https://127.0.0.1:"), "{first}");

    let out = palmkit()
        .args(["health", "--config"])
        .arg(dir.path().join("client-config.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("healthy"), "{stdout}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait().unwrap();
    assert!(status.success(), "server exit after SIGTERM: {status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("Stopping")), "{rest:?}");
}
