//! A simulator of the OpenPhone (Quo) public API for tests.
//!
//! It serves the `/v1` endpoints the MCP server uses (phone numbers, messages, conversations,
//! calls, call transcripts, contacts) from deterministic seeded workspaces ([`seed`]), checks
//! every request against the published OpenAPI spec (path, query parameters, JSON body) and
//! records the request and any violation, enforces the per-key rate limit, and lets tests inject
//! faults (error statuses, slow answers, dropped connections).
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use openphone_sim::{BUSINESS_KEY, Fault, Simulator};
//!
//! let sim = Simulator::start().await?;
//! let base = sim.base_url(); // "http://127.0.0.1:PORT", no "/v1"
//! sim.inject(Fault::status(503).on("POST", "/v1/messages"));
//! // ... drive the code under test against `base` with key BUSINESS_KEY ...
//! sim.assert_conformant();
//! # let _ = (base, BUSINESS_KEY);
//! # Ok(())
//! # }
//! ```
//!
//! The spec is read at run time from [`spec::default_spec_path`] (overridable with
//! `OPENPHONE_OPENAPI_SPEC` or [`SimConfig::spec_path`]); it is not copied into this crate.

mod admin;
mod api;
pub mod datetime;
mod error_body;
pub mod faults;
pub mod journal;
mod limits;
pub mod model;
mod pagination;
pub mod seed;
mod server;
pub mod spec;
mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultAction};
pub use journal::{RecordedRequest, Violation};
pub use seed::*;
pub use spec::{Spec, SpecError};

use state::{Shared, lock};

/// The real API's limit: requests per second per key.
pub const DEFAULT_RATE_LIMIT: u32 = 10;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The OpenAPI spec could not be loaded.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// How to start a simulator; [`Default`] is what [`Simulator::start`] uses.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on; default `127.0.0.1:0` (an ephemeral port).
    pub listen: SocketAddr,
    /// Where the OpenAPI spec is; default [`spec::default_spec_path`].
    pub spec_path: PathBuf,
    /// Initial data; default [`Seed::default`]. Change it (e.g. a workspace's `credits` or
    /// `a2p_unapproved`) before starting.
    pub seed: Seed,
    /// Requests per second per key before `429`; default 10, `None` disables the limit.
    pub rate_limit_per_second: Option<u32>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            spec_path: spec::default_spec_path(),
            seed: Seed::default(),
            rate_limit_per_second: Some(DEFAULT_RATE_LIMIT),
        }
    }
}

/// A running simulator. Dropping it stops the server and closes its connections.
///
/// All methods are cheap and may be called while requests are in flight.
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Starts with the default seed and spec on an ephemeral port of 127.0.0.1.
    /// Must be called inside a tokio runtime, which then runs the server.
    ///
    /// # Errors
    /// When the spec cannot be loaded or the port cannot be bound.
    pub async fn start() -> Result<Self, SimError> {
        Self::start_with(SimConfig::default()).await
    }

    /// Starts with `config`. Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// When the spec cannot be loaded or the address cannot be bound.
    pub async fn start_with(config: SimConfig) -> Result<Self, SimError> {
        let spec = spec::load_cached(&config.spec_path)?;
        let shared = Arc::new(Shared::new(spec, config.seed, config.rate_limit_per_second));
        let (listener, addr) =
            server::bind(config.listen)
                .await
                .map_err(|source| SimError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let (shutdown, stopped) = oneshot::channel();
        let task = tokio::spawn(server::serve(
            listener,
            server::router(Arc::clone(&shared)),
            stopped,
        ));
        Ok(Self {
            shared,
            addr,
            shutdown: Some(shutdown),
            task,
        })
    }

    /// `http://127.0.0.1:PORT` — the API base URL, without `/v1` and without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The loaded spec, e.g. to check responses with [`Spec::response_problems`].
    #[must_use]
    pub fn spec(&self) -> &Spec {
        &self.shared.spec
    }

    /// Every API request received so far (admin routes excluded), in arrival order.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorded_requests()
    }

    /// Every request that departed from the spec, in arrival order.
    #[must_use]
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.recorded_violations()
    }

    /// Panics listing every violation, if there is any.
    ///
    /// # Panics
    /// When a request departed from the spec.
    #[track_caller]
    pub fn assert_conformant(&self) {
        let violations = self.violations();
        if violations.is_empty() {
            return;
        }
        let mut report = format!(
            "{} request(s) to the OpenPhone simulator departed from the spec:",
            violations.len()
        );
        for violation in &violations {
            let query = violation
                .query
                .as_deref()
                .map(|query| format!("?{query}"))
                .unwrap_or_default();
            report.push_str(&format!(
                "\n#{} {} {}{query}",
                violation.seq, violation.method, violation.path
            ));
            for problem in &violation.problems {
                report.push_str(&format!("\n    - {problem}"));
            }
        }
        panic!("{report}");
    }

    /// Queues a fault; see [`Fault`].
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// `data` of every `202` answer to `POST /v1/messages`, in order.
    #[must_use]
    pub fn sent_messages(&self) -> Vec<Value> {
        lock(&self.shared.data).sent_messages.clone()
    }

    /// Back to the seed: data, recorded requests and violations, faults and rate limits.
    pub fn reset(&self) {
        self.shared.reset();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already be gone with its runtime; nothing to do then.
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}
