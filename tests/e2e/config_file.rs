//! `--config PATH`: a TOML file holds what flags hold; flags and the
//! environment win over it; mistakes name the key; `config check` prints the
//! effective settings with secrets elided.

use std::process::Command;

use openphone_sim::{BUSINESS_KEY, Simulator};
use serde_json::json;

use crate::harness::{BIN, Server, path_str};
use crate::http_rules::{Session, tool_names};

fn config(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_runs_from_a_file_with_flags_and_environment_winning() {
    let sim = Simulator::start().await.unwrap();
    let file = config(
        r#"
listen = "127.0.0.1:1"                  # the test's --listen wins
tool-profile = ["chatgpt=fetch-messages,send-message"]
rate-limit = ["mcp-grant=6/min"]
shutdown-grace-secs = 3
upstream-timeout-secs = 7               # OPENPHONE-less: the environment cannot set this one
"#,
    );
    let server = Server::start_with_env(
        &sim,
        BUSINESS_KEY,
        &["--config", path_str(file.path())],
        // The environment wins over the file's profile for `claude`.
        &[("OPENPHONE_MCP_TOOL_PROFILES", "claude=create-contact")],
    );
    assert!(server.addr.starts_with("127.0.0.1:") && !server.addr.ends_with(":1"));

    // The environment's profile, not the file's: flags > environment > file.
    let claude = Session::open_as(&server.url(), "2025-11-25", "claude-ai").await;
    assert_eq!(
        tool_names(&claude.request("tools/list", json!({})).await),
        vec!["create-contact"]
    );
    let chatgpt = Session::open_as(&server.url(), "2025-11-25", "openai-ChatGPT").await;
    assert_eq!(
        tool_names(&chatgpt.request("tools/list", json!({})).await).len(),
        5
    );

    // The file's rate limit: 6 authenticated requests a minute.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = chatgpt
            .post(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}))
            .await;
        statuses.push(response.status().as_u16());
    }
    assert!(
        statuses.contains(&429),
        "the file's mcp-grant limit holds: {statuses:?}"
    );

    // One start-up line lists the effective settings, secrets excluded.
    let logs = server.logs();
    let line = logs
        .iter()
        .find(|line| line.contains("effective settings"))
        .expect("an `effective settings` line");
    for expected in [
        "shutdown-grace-secs=3",
        "upstream-timeout-secs=7",
        "tool-profile=claude=create-contact",
        "rate-limit=mcp-grant=6/min",
    ] {
        assert!(line.contains(expected), "{expected} in {line}");
    }
    assert!(!line.contains(BUSINESS_KEY));
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let data_dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env_clear()
        .env("OPENPHONE_MCP_DATA_DIR", data_dir.path())
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn mistakes_in_the_file_are_refused_naming_the_key() {
    for (text, expected) in [
        (
            "lisen = \"127.0.0.1:0\"\n",
            "unknown key `lisen` (did you mean `listen`?)",
        ),
        ("listen = \"nowhere\"\n", "key `listen`"),
        ("max-calls = \"many\"\n", "key `max-calls`"),
        ("single-user = \"yes\"\n", "key `single-user`"),
        ("rate-limit = [\"register=lots\"]\n", "key `rate-limit`"),
        (
            "tool-profile = \"chatgpt=send-message\"\nlisten = [\"a\"]\n",
            "key `listen`",
        ),
        ("listen = \n", "not valid TOML"),
    ] {
        let file = config(text);
        // `config check` parses as `serve` does, and never serves.
        let (code, _, err) = run(&["--config", path_str(file.path()), "config", "check"], &[]);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(err.contains(expected), "{text}: {err}");
        assert!(
            err.contains(path_str(file.path())),
            "the file is named: {err}"
        );
    }
    // `serve` refuses the same file before it starts anything.
    let file = config("listen = \"nowhere\"\n");
    let (code, _, err) = run(
        &["--config", path_str(file.path()), "serve", "--single-user"],
        &[("OPENPHONE_API_KEY", BUSINESS_KEY)],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("key `listen`"), "{err}");
    let (code, _, err) = run(&["--config", "/nonexistent/openphone.toml", "tools"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/openphone.toml"), "{err}");
}

#[test]
fn config_check_prints_the_effective_settings_and_no_secret() {
    let secret = "0123456789abcdef0123456789abcdef-deployment-secret";
    let file = config(
        "mode = \"production\"\npublic-url = \"https://mcp.example.com\"\nlisten = \"0.0.0.0:8787\"\nmax-calls = 12\n",
    );
    let (code, out, err) = run(
        &[
            "--config",
            path_str(file.path()),
            "config",
            "check",
            "--max-calls",
            "16",
        ],
        &[
            ("OPENPHONE_MCP_SECRET", secret),
            ("OPENPHONE_API_KEY", BUSINESS_KEY),
            ("OPENPHONE_MCP_METRICS_LISTEN", "127.0.0.1:9464"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    for expected in [
        "mode = \"production\"  # file",
        "public-url = \"https://mcp.example.com\"  # file",
        "max-calls = 16  # flag",
        "metrics-listen = \"127.0.0.1:9464\"  # environment",
        "shutdown-grace-secs = 30  # default",
        "# deployment secret: OPENPHONE_MCP_SECRET (checked, not shown)",
        "# OPENPHONE_API_KEY: set (not shown)",
    ] {
        assert!(out.contains(expected), "`{expected}` in:\n{out}");
    }
    assert!(!out.contains(secret) && !err.contains(secret));
    assert!(!out.contains(BUSINESS_KEY) && !err.contains(BUSINESS_KEY));
    // What it prints is a configuration the server reads back.
    let printed = config(&out);
    let (code, again, err) = run(
        &["--config", path_str(printed.path()), "config", "check"],
        &[("OPENPHONE_MCP_SECRET", secret)],
    );
    assert_eq!(code, 0, "{err}");
    assert!(again.contains("max-calls = 16  # file"), "{again}");

    // The checks serve makes before it binds.
    let (code, _, err) = run(&["--config", path_str(file.path()), "config", "check"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("OPENPHONE_MCP_SECRET"), "{err}");
}
