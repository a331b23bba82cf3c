//! Admin routes under `/__sim/` for driving the simulator over HTTP (no key, not validated
//! against the spec, not recorded):
//!
//! | route | does |
//! |---|---|
//! | `POST /__sim/faults` | inject a [`Fault`] or an array of them; answers `{"active": [...]}` |
//! | `GET /__sim/faults` | faults still waiting |
//! | `DELETE /__sim/faults` | forget waiting faults |
//! | `GET /__sim/requests` | every [`RecordedRequest`](crate::RecordedRequest), in arrival order |
//! | `GET /__sim/violations` | every [`Violation`](crate::Violation) |
//! | `GET /__sim/sent-messages` | `data` of every message sent with `POST /v1/messages` |
//! | `POST /__sim/reset` | back to the seed: data, records, faults, rate limits |

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::faults::Fault;
use crate::state::{Shared, lock};

/// The admin router (state: the simulator).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/__sim/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/__sim/requests", get(requests))
        .route("/__sim/violations", get(violations))
        .route("/__sim/sent-messages", get(sent_messages))
        .route("/__sim/reset", post(reset))
        .route("/__sim/{*rest}", any(unknown))
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FaultInput {
    One(Fault),
    Many(Vec<Fault>),
}

async fn add_faults(State(shared): State<Arc<Shared>>, Json(input): Json<FaultInput>) -> Response {
    let faults = match input {
        FaultInput::One(fault) => vec![fault],
        FaultInput::Many(faults) => faults,
    };
    let mut queue = lock(&shared.faults);
    for fault in faults {
        queue.push(fault);
    }
    Json(json!({"active": queue.active()})).into_response()
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({"active": lock(&shared.faults).active()})).into_response()
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.faults).clear();
    Json(json!({"active": []})).into_response()
}

async fn requests(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.recorded_requests()).into_response()
}

async fn violations(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.recorded_violations()).into_response()
}

async fn sent_messages(State(shared): State<Arc<Shared>>) -> Response {
    Json(lock(&shared.data).sent_messages.clone()).into_response()
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.reset();
    Json(json!({"reset": true})).into_response()
}

async fn unknown() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"message": "unknown admin route; see the openphone-sim docs for /__sim/*"})),
    )
        .into_response()
}
