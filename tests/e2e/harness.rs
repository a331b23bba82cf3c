//! Starting the server and the simulator, and reading what the server logged.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openphone_sim::Simulator;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_openphone-mcp");

/// Pass as the key to start the server for OAuth clients (no `--single-user`,
/// no `OPENPHONE_API_KEY`).
pub const OAUTH: &str = "";

/// A running `openphone-mcp serve` (`--single-user`, or OAuth with [`OAUTH`]).
pub struct Server {
    child: Child,
    pub addr: String,
    logs: Arc<Mutex<Vec<String>>>,
    data_dir: tempfile::TempDir,
    key: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts the server against `sim` with `key`, plus `extra` arguments.
    pub fn start(sim: &Simulator, key: &str, extra: &[&str]) -> Server {
        Server::start_with_env(sim, key, extra, &[])
    }

    /// Like [`Server::start`], with extra environment variables.
    pub fn start_with_env(
        sim: &Simulator,
        key: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let args: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let (child, addr, logs) = launch(sim, key, data_dir.path(), &args, &env);
        Server {
            child,
            addr,
            logs,
            data_dir,
            key: key.to_owned(),
            args,
            env,
        }
    }

    /// Kills the process at once (as a crash or power loss would) and starts
    /// it again on the same data directory and arguments. Logs of both runs
    /// are kept.
    pub fn crash_and_restart(&mut self, sim: &Simulator) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let before = self.logs();
        let (child, addr, logs) =
            launch(sim, &self.key, self.data_dir.path(), &self.args, &self.env);
        logs.lock().unwrap().splice(0..0, before);
        self.child = child;
        self.addr = addr;
        self.logs = logs;
    }

    /// Kills the process at once (`kill -9`), without starting it again.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM; returns when.
    pub fn sigterm(&self) -> Instant {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        Instant::now()
    }

    /// Waits for the process to exit (at most 60 s after `started`);
    /// returns how it exited and how long after `started`.
    pub fn wait_for_exit(&mut self, started: Instant) -> (std::process::ExitStatus, Duration) {
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not exit within 60 s: {}",
                self.logs().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again (after it exited) on the same
    /// data directory and arguments; logs of both runs are kept.
    pub fn restart(&mut self, sim: &Simulator) {
        self.crash_and_restart(sim);
    }

    /// Like [`Server::restart`], with other arguments.
    pub fn restart_with(&mut self, sim: &Simulator, extra: &[&str]) {
        self.args = extra.iter().map(|a| (*a).to_owned()).collect();
        self.crash_and_restart(sim);
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Everything the server wrote to stderr so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }
}

/// Spawns the server and waits until it listens.
fn launch(
    sim: &Simulator,
    key: &str,
    data_dir: &Path,
    args: &[String],
    env: &[(String, String)],
) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut cmd = command(sim, key, data_dir);
    cmd.arg("serve");
    if !args.iter().any(|arg| arg == "--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    // Without a key, the server serves OAuth clients.
    if key != OAUTH {
        cmd.arg("--single-user");
    }
    cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let logs = collect_lines(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        if let Some(addr) = logs.lock().unwrap().iter().find_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            (v["message"].as_str()?.starts_with("serving MCP at"))
                .then(|| v["address"].as_str().map(str::to_owned))?
        }) {
            break addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "server exited with {status}: {}",
                logs.lock().unwrap().join("\n")
            );
        }
        assert!(
            Instant::now() < deadline,
            "server did not start: {}",
            logs.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    (child, addr, logs)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Every server of the suite: not one line may carry a planted
        // secret, and every line is a JSON object with its level and message.
        if !std::thread::panicking() {
            let planted = lock(&PLANTED).clone();
            let planted: Vec<&str> = planted.iter().map(String::as_str).collect();
            let logs = self.logs();
            assert_no_secret(&logs, &planted);
            assert_json_lines(&logs);
        }
    }
}

/// Secrets the tests have seen (API keys, tokens, codes): no server may log
/// any of them. Checked for every server when it stops.
static PLANTED: std::sync::LazyLock<Mutex<Vec<String>>> = std::sync::LazyLock::new(|| {
    Mutex::new(
        [
            openphone_sim::BUSINESS_KEY,
            openphone_sim::STANDARD_KEY,
            openphone_sim::NO_CREDITS_KEY,
        ]
        .map(str::to_owned)
        .to_vec(),
    )
});

/// A loopback port nothing listens on just now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Adds `secret` to the values no server may log.
pub fn plant(secret: &str) {
    lock(&PLANTED).push(secret.to_owned());
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `openphone-mcp admin ARGS` on `server`'s data directory (through
/// its socket while it runs); returns whether it succeeded, and its stdout
/// and stderr.
pub fn admin(sim: &Simulator, server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = command(sim, OAUTH, server.data_dir())
        .arg("admin")
        .args(args)
        .output()
        .expect("run admin");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The binary with a clean environment pointing at `sim`.
pub fn command(sim: &Simulator, key: &str, data_dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OPENPHONE_API_BASE_URL", sim.base_url())
        .env("OPENPHONE_MCP_DATA_DIR", data_dir)
        // One compilation cache for every server the tests start.
        .env(
            "OPENPHONE_MCP_CACHE_DIR",
            std::env::temp_dir().join("openphone-mcp-e2e-cache"),
        )
        .env("OPENPHONE_MCP_LOG", "info,openphone_mcp=debug")
        .args(["--log-format", "json"]);
    if key != OAUTH {
        cmd.env("OPENPHONE_API_KEY", key);
    }
    cmd
}

/// `openphone-mcp [extra…] stdio` against `sim`, its stdin, stdout and
/// stderr piped.
pub fn stdio(sim: &Simulator, key: &str, data_dir: &Path, extra: &[&str]) -> Child {
    let mut cmd = command(sim, key, data_dir);
    cmd.args(extra).arg("stdio");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stdio server")
}

/// Reads `stream` line by line on a thread.
pub fn collect_lines(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// A directory holding only the hostile test component, for `--plugins`.
pub fn hostile_plugins() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        openphone_guest_artifacts::HOSTILE_TOOL,
        dir.path().join("hostile.wasm"),
    )
    .expect("copy component");
    dir
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Fails if any line contains one of `secrets`.
pub fn assert_no_secret(lines: &[String], secrets: &[&str]) {
    for line in lines {
        for secret in secrets {
            assert!(!line.contains(secret), "log line leaks `{secret}`: {line}");
        }
    }
}

/// Fails unless every line is a JSON object with a `level` and a `message`
/// (or `fields.message`): nothing a client sends may garble the log.
pub fn assert_json_lines(lines: &[String]) {
    for line in lines {
        let parsed: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("log line is not JSON ({error}): {line}"));
        assert!(
            parsed["level"].is_string(),
            "log line without a level: {line}"
        );
        let message = parsed
            .get("message")
            .or_else(|| parsed["fields"].get("message"));
        assert!(
            message.is_some_and(serde_json::Value::is_string),
            "log line without a message: {line}"
        );
    }
}
