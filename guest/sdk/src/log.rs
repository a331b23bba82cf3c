//! Logging and progress through the host.
//!
//! Lines go to the host's `log` import, which redacts them before writing.
//! Outside the sandbox (native unit tests) they are discarded.

#[cfg(target_arch = "wasm32")]
use crate::bindings::openphone::mcp::log as host;

pub use crate::bindings::openphone::mcp::log::Level;

/// Writes one line at `level`.
pub fn write(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    host::write(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

/// Writes one line at `info`.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Writes one line at `warn`.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Reports progress of the current call (see the WIT `log.progress`).
pub fn progress(progress: f64, total: Option<f64>, message: Option<&str>) {
    #[cfg(target_arch = "wasm32")]
    host::progress(progress, total, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (progress, total, message);
}
