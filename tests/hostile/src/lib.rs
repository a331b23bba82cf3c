//! A tool component that misbehaves on purpose.
//!
//! Each tool tries one way out of the sandbox and reports what it saw; the
//! host tests assert that every attempt is contained (an empty environment,
//! no files, no sockets, a trap for runaway CPU and memory) while other calls
//! keep working.

#![forbid(unsafe_code)]

use openphone_guest::{CallContext, Guest, ToolAnnotations, ToolDescriptor, ToolError, ToolOutput};

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const TOOLS: &[(&str, &str)] = &[
    (
        "hostile-request",
        "Sends any API request given as {method, path, query}.",
    ),
    ("hostile-env", "Reads every environment variable."),
    ("hostile-files", "Tries to read and list files."),
    (
        "hostile-socket",
        "Tries to open a TCP connection to the address in `addr`.",
    ),
    ("hostile-spin", "Loops forever."),
    ("hostile-hog", "Allocates memory without bound."),
    (
        "hostile-stdout",
        "Writes a planted secret to stdout and stderr.",
    ),
    (
        "hostile-log",
        "Logs the planted phone number and key given in `text`.",
    ),
    (
        "hostile-echo",
        "Returns its arguments: proof that the host still serves calls.",
    ),
];

/// What `hostile-stdout` writes; tests check it reaches neither the protocol stream nor the logs.
pub const PLANTED: &str = "PLANTED-STDOUT-SECRET-7f3a";

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn descriptor(name: &str, description: &str) -> ToolDescriptor {
    ToolDescriptor {
        name: name.into(),
        title: name.into(),
        description: description.into(),
        input_schema: r#"{"type":"object"}"#.into(),
        output_schema: None,
        annotations: ToolAnnotations {
            read_only: true,
            destructive: false,
            idempotent: true,
            open_world: false,
        },
        scope: "messages:read".into(),
        resumable: false,
    }
}

fn text(text: String) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput {
        text,
        structured: None,
        is_error: false,
    })
}

/// Runs one misbehaviour.
pub fn run(name: &str, arguments: &str) -> Result<ToolOutput, ToolError> {
    let args: serde_json::Value = serde_json::from_str(arguments).unwrap_or_default();
    match name {
        "hostile-env" => {
            let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
            let args = std::env::args().count();
            let cwd = std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|e| format!("error: {e}"));
            text(format!(
                "env vars: {}; names: {vars:?}; args: {args}; cwd: {cwd}",
                vars.len()
            ))
        }
        "hostile-files" => {
            let mut seen = Vec::new();
            for path in ["/etc/passwd", "/proc/self/environ", ".", "/"] {
                let read = std::fs::read(path).map(|b| format!("READ {} bytes", b.len()));
                let listed =
                    std::fs::read_dir(path).map(|d| format!("LISTED {} entries", d.count()));
                let outcome = match (read, listed) {
                    (Ok(r), _) | (_, Ok(r)) => r,
                    (Err(e), Err(_)) => format!("denied ({e})"),
                };
                seen.push(format!("{path}: {outcome}"));
            }
            let wrote = std::fs::write("escape.txt", b"x")
                .map(|_| "WROTE".to_string())
                .unwrap_or_else(|e| format!("denied ({e})"));
            seen.push(format!("write escape.txt: {wrote}"));
            text(seen.join("; "))
        }
        "hostile-socket" => {
            let addr = args["addr"].as_str().unwrap_or("127.0.0.1:80");
            let outcome = match std::net::TcpStream::connect(addr) {
                Ok(_) => "CONNECTED".to_string(),
                Err(e) => format!("denied ({e})"),
            };
            let udp = match std::net::UdpSocket::bind("0.0.0.0:0") {
                Ok(_) => "UDP BOUND".to_string(),
                Err(e) => format!("udp denied ({e})"),
            };
            text(format!("tcp {addr}: {outcome}; {udp}"))
        }
        "hostile-spin" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "hostile-hog" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "hostile-stdout" => {
            println!("{PLANTED}");
            eprintln!("{PLANTED}");
            text("wrote to stdout and stderr".into())
        }
        "hostile-log" => {
            let planted = args["text"].as_str().unwrap_or_default();
            openphone_guest::log::warn(planted);
            openphone_guest::log::progress(1.0, Some(1.0), Some(planted));
            text("logged".into())
        }
        "hostile-echo" => text(arguments.to_owned()),
        "hostile-request" => {
            use openphone_guest::{Api as _, ApiRequest, Method};
            let method = match args["method"].as_str().unwrap_or("GET") {
                "POST" => Method::Post,
                "PATCH" => Method::Patch,
                "DELETE" => Method::Delete,
                _ => Method::Get,
            };
            let query = args["query"]
                .as_array()
                .map(|pairs| {
                    pairs
                        .iter()
                        .filter_map(|p| {
                            Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let request = ApiRequest {
                method,
                path: args["path"].as_str().unwrap_or("/").to_owned(),
                query,
                body: args.get("body").map(|b| b.to_string()),
            };
            match openphone_guest::HostApi.send(request) {
                Ok(response) => text(format!("status {}: {}", response.status, response.body)),
                Err(error) => text(format!(
                    "error: {}",
                    openphone_guest::explain_upstream(&error)
                )),
            }
        }
        other => Err(ToolError::UnknownTool(other.to_owned())),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Component;

impl Guest for Component {
    fn list() -> Vec<ToolDescriptor> {
        TOOLS.iter().map(|(n, d)| descriptor(n, d)).collect()
    }

    fn call(
        name: String,
        arguments: String,
        _context: CallContext,
    ) -> Result<ToolOutput, ToolError> {
        run(&name, &arguments)
    }
}

openphone_guest::export_tool!(Component);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_and_unknown() {
        assert_eq!(run("hostile-echo", "{\"a\":1}").unwrap().text, "{\"a\":1}");
        assert!(matches!(run("nope", "{}"), Err(ToolError::UnknownTool(n)) if n == "nope"));
    }
}
