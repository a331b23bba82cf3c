//! Logging, as a trait so tests can read every line and check that none
//! carries a secret. The host redacts lines too; this component logs only
//! ids (client, grant) and outcomes, never a token, code, key or `state`.

/// Severity of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// Where log lines go.
pub trait Log {
    /// Records one line.
    fn write(&self, level: Level, message: &str);
}
