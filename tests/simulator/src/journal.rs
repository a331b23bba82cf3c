//! What the simulator saw: every request received and every departure from the spec.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::faults::FaultAction;

/// One request as received (admin `/__sim/*` requests are not recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// Order of arrival, from 1; shared with [`Violation::seq`].
    pub seq: u64,
    /// Method, e.g. `POST`.
    pub method: String,
    /// Path as sent (percent-encoded), without the query.
    pub path: String,
    /// Raw query string as sent, without `?`.
    pub query: Option<String>,
    /// Body as text (lossy UTF-8); `None` when there was none.
    pub body: Option<String>,
    /// The `Authorization` header value as sent (`None` when absent).
    pub api_key: Option<String>,
    /// The spec operation matched, e.g. `sendMessage_v1`.
    pub operation_id: Option<String>,
    /// When it arrived (RFC 3339, UTC).
    pub received_at: String,
    /// Status answered; `None` when the connection was dropped without an answer.
    pub status: Option<u16>,
    /// The injected fault applied to it, if any.
    pub fault: Option<FaultAction>,
}

impl RecordedRequest {
    /// The body parsed as JSON, when it is JSON.
    #[must_use]
    pub fn json_body(&self) -> Option<Value> {
        self.body
            .as_deref()
            .and_then(|body| serde_json::from_str(body).ok())
    }
}

/// A request that departs from the spec, with every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The [`RecordedRequest::seq`] of the offending request.
    pub seq: u64,
    /// Method.
    pub method: String,
    /// Path as sent.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Human-readable problems, one per departure from the spec.
    pub problems: Vec<String>,
}

/// The record itself.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    next_seq: u64,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) violations: Vec<Violation>,
}

impl Journal {
    /// Hands out the next sequence number.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Forgets everything, sequence numbers included.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_start_at_one_and_reset() {
        let mut journal = Journal::default();
        assert_eq!(journal.next_seq(), 1);
        assert_eq!(journal.next_seq(), 2);
        journal.clear();
        assert_eq!(journal.next_seq(), 1);
    }

    #[test]
    fn json_bodies_parse() {
        let request = RecordedRequest {
            seq: 1,
            method: "POST".to_owned(),
            path: "/v1/messages".to_owned(),
            query: None,
            body: Some(r#"{"content":"hi"}"#.to_owned()),
            api_key: None,
            operation_id: None,
            received_at: String::new(),
            status: Some(202),
            fault: None,
        };
        assert_eq!(
            request.json_body(),
            Some(serde_json::json!({"content": "hi"}))
        );
        let round_trip: RecordedRequest =
            serde_json::from_value(serde_json::to_value(&request).expect("serialises"))
                .expect("deserialises");
        assert_eq!(round_trip, request);
    }
}
