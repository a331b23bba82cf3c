//! The command line: subcommands, refusals, `tools`.

use std::process::Command;

use crate::harness::{self, BIN};

fn run(args: &[&str], key: Option<&str>) -> (bool, String, String) {
    let data_dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("OPENPHONE_MCP_DATA_DIR", data_dir.path())
        .args(args);
    if let Some(key) = key {
        cmd.env("OPENPHONE_API_KEY", key);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn production_mode_refuses_to_start_without_a_secret() {
    let (ok, _, err) = run(
        &["serve", "--listen", "127.0.0.1:0", "--mode", "production"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("OPENPHONE_MCP_SECRET"), "{err}");
    let short = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(short.path(), "only-twenty-bytes-xx").unwrap();
    let (ok, _, err) = run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mode",
            "production",
            "--secret-file",
            harness::path_str(short.path()),
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("at least 32"), "{err}");
}

#[test]
fn oauth_serving_needs_an_https_public_url_off_loopback() {
    let (ok, _, err) = run(&["serve", "--listen", "0.0.0.0:0"], None);
    assert!(!ok);
    assert!(err.contains("--public-url"), "{err}");
    let (ok, _, err) = run(
        &[
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--public-url",
            "http://mcp.example.com",
        ],
        None,
    );
    assert!(!ok);
    assert!(err.contains("must be https"), "{err}");
}

#[test]
fn single_user_refuses_non_loopback_addresses() {
    let (ok, _, err) = run(
        &["serve", "--single-user", "--listen", "0.0.0.0:0"],
        Some("k-123456789"),
    );
    assert!(!ok);
    assert!(err.contains("only listens on loopback"), "{err}");
}

#[test]
fn single_user_needs_a_key() {
    let (ok, _, err) = run(&["serve", "--single-user", "--listen", "127.0.0.1:0"], None);
    assert!(!ok);
    assert!(err.contains("OPENPHONE_API_KEY is not set"), "{err}");
}

#[test]
fn tools_lists_embedded_and_plugin_components() {
    let plugins = harness::hostile_plugins();
    let (ok, out, err) = run(
        &["tools", "--plugins", harness::path_str(plugins.path())],
        None,
    );
    assert!(ok, "{err}");
    assert!(
        out.lines().any(|l| l.starts_with("send-message")
            && l.contains("messages:send")
            && l.contains("embedded:send-message")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("hostile-env") && l.contains("hostile.wasm")),
        "{out}"
    );
}

#[test]
fn a_tool_name_offered_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        openphone_guest_artifacts::HOSTILE_TOOL,
        dir.path().join("a.wasm"),
    )
    .unwrap();
    std::fs::copy(
        openphone_guest_artifacts::HOSTILE_TOOL,
        dir.path().join("b.wasm"),
    )
    .unwrap();
    let (ok, _, err) = run(&["tools", "--plugins", harness::path_str(dir.path())], None);
    assert!(!ok);
    assert!(err.contains("offered twice"), "{err}");
}

#[test]
fn a_file_that_is_not_a_component_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.wasm"), b"not wasm").unwrap();
    let (ok, _, err) = run(&["tools", "--plugins", harness::path_str(dir.path())], None);
    assert!(!ok);
    assert!(err.contains("junk.wasm"), "{err}");
}
