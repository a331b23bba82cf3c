//! Injected faults: answer with a status, answer late, or drop the connection.
//!
//! A fault applies to the next `times` API requests whose method and path prefix match (both
//! optional). Faults are tried in the order they were injected; the first match is used and
//! counted down. Admin routes (`/__sim/*`) are never faulted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A fault to inject.
///
/// As JSON (`POST /__sim/faults`, a single object or an array):
/// `{"kind": "status", "status": 503, "method": "POST", "pathPrefix": "/v1/messages", "times": 2}`,
/// `{"kind": "delay", "ms": 1500}`, `{"kind": "drop"}`, `{"kind": "drop", "afterProcessing": true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// Only requests with this method (case-insensitive); any method when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only requests whose path starts with this; any path when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// How many matching requests it applies to (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// What happens to them.
    #[serde(flatten)]
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

/// What a fault does to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FaultAction {
    /// Answer `status` without processing the request. The body is `body` when given,
    /// otherwise the spec's error shape for the operation (code `<resource>00<status>` unless
    /// the spec documents one). No `Retry-After` header is sent.
    Status {
        /// HTTP status, e.g. 429, 500, 502, 503.
        status: u16,
        /// Response body to send instead of the default error body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
    },
    /// Process the request normally (side effects such as a sent message happen at once), then
    /// hold the response for `ms` milliseconds.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the TCP connection without sending any response. With `afterProcessing` the
    /// request is processed first (a message is sent, but the client never learns it).
    Drop {
        /// Process the request before dropping.
        #[serde(default)]
        after_processing: bool,
    },
}

impl Fault {
    /// Answer `status` (with the default error body) to the next matching request.
    #[must_use]
    pub fn status(status: u16) -> Self {
        Self::new(FaultAction::Status { status, body: None })
    }

    /// Answer `status` with `body` to the next matching request.
    #[must_use]
    pub fn status_with_body(status: u16, body: Value) -> Self {
        Self::new(FaultAction::Status {
            status,
            body: Some(body),
        })
    }

    /// Delay the response of the next matching request by `ms` milliseconds.
    #[must_use]
    pub fn delay(ms: u64) -> Self {
        Self::new(FaultAction::Delay { ms })
    }

    /// Drop the connection of the next matching request without answering (unprocessed).
    #[must_use]
    pub fn drop_connection() -> Self {
        Self::new(FaultAction::Drop {
            after_processing: false,
        })
    }

    /// Process the next matching request, then drop the connection without answering.
    #[must_use]
    pub fn drop_after_processing() -> Self {
        Self::new(FaultAction::Drop {
            after_processing: true,
        })
    }

    fn new(action: FaultAction) -> Self {
        Self {
            method: None,
            path_prefix: None,
            times: 1,
            action,
        }
    }

    /// Restricts the fault to `method` requests whose path starts with `path_prefix`.
    #[must_use]
    pub fn on(mut self, method: &str, path_prefix: &str) -> Self {
        self.method = Some(method.to_owned());
        self.path_prefix = Some(path_prefix.to_owned());
        self
    }

    /// Applies the fault to the next `times` matching requests instead of one.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|expected| expected.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
    }
}

/// Faults waiting to be applied.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    active: Vec<Fault>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.active.push(fault);
        }
    }

    /// The action for this request, counting the fault down (and removing it when used up).
    pub(crate) fn take(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        let index = self
            .active
            .iter()
            .position(|fault| fault.matches(method, path))?;
        let fault = &mut self.active[index];
        fault.times -= 1;
        let action = fault.action.clone();
        if fault.times == 0 {
            self.active.remove(index);
        }
        Some(action)
    }

    pub(crate) fn active(&self) -> Vec<Fault> {
        self.active.clone()
    }

    pub(crate) fn clear(&mut self) {
        self.active.clear();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_shapes_round_trip() {
        let fault: Fault = serde_json::from_value(json!({
            "kind": "status", "status": 503, "method": "POST", "pathPrefix": "/v1/messages", "times": 2
        }))
        .expect("parses");
        assert_eq!(
            fault,
            Fault::status(503).on("POST", "/v1/messages").times(2)
        );
        let drop: Fault = serde_json::from_value(json!({"kind": "drop", "afterProcessing": true}))
            .expect("parses");
        assert_eq!(drop, Fault::drop_after_processing());
        let delay: Fault =
            serde_json::from_value(json!({"kind": "delay", "ms": 250})).expect("parses");
        assert_eq!(delay, Fault::delay(250));
        assert_eq!(
            serde_json::to_value(Fault::drop_connection()).expect("serialises"),
            json!({"kind": "drop", "afterProcessing": false, "times": 1})
        );
        assert!(serde_json::from_value::<Fault>(json!({"kind": "explode"})).is_err());
    }

    #[test]
    fn faults_match_method_and_prefix_and_count_down() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::status(500).on("post", "/v1/messages").times(2));
        queue.push(Fault::delay(10));
        assert_eq!(
            queue.take("GET", "/v1/messages"),
            Some(FaultAction::Delay { ms: 10 })
        );
        assert_eq!(queue.take("GET", "/v1/calls"), None);
        let status = Some(FaultAction::Status {
            status: 500,
            body: None,
        });
        assert_eq!(queue.take("POST", "/v1/messages"), status);
        assert_eq!(queue.take("POST", "/v1/messages"), status);
        assert_eq!(queue.take("POST", "/v1/messages"), None);
        assert!(queue.active().is_empty());
    }

    #[test]
    fn zero_times_is_ignored() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::status(503).times(0));
        assert_eq!(queue.take("GET", "/v1/calls"), None);
    }
}
