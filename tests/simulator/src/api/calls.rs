//! `GET /v1/calls`, `GET /v1/call-transcripts/{id}`.

use http::StatusCode;
use serde_json::json;

use super::{ApiRequest, Outcome, within};
use crate::error_body::ApiError;
use crate::model::Workspace;
use crate::pagination::page;

/// Calls between `phoneNumberId` and the one participant, newest first; `userId`,
/// `createdAfter` (or the deprecated `since`) and `createdBefore` filter further.
pub(super) fn list(workspace: &Workspace, request: &ApiRequest<'_>) -> Outcome {
    let phone_number_id = request.query.first("phoneNumberId").unwrap_or_default();
    let phone_number = workspace
        .phone_numbers
        .iter()
        .find(|pn| pn.id == phone_number_id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("Phone number {phone_number_id} was not found in this workspace"),
            )
        })?;
    let participant = request.query.first("participants").unwrap_or_default();
    let user_id = request.query.first("userId");
    let after = request
        .time("createdAfter")
        .or_else(|| request.time("since"));
    let before = request.time("createdBefore");
    let items = workspace
        .calls
        .iter()
        .filter(|call| {
            call.phone_number_id == phone_number.id
                && call.participant == participant
                && user_id.is_none_or(|user| call.user_id == user)
                && within(call.created_ms, after, before)
        })
        .map(|call| ((call.created_ms, call.seq), call))
        .collect();
    let body = page(items, request.max_results(), request.page_token(), |call| {
        call.to_json(&phone_number.number)
    })?;
    Ok((StatusCode::OK, body))
}

/// A call's transcript: `403` (`0600403`) below the Business plan, `404` (`0600404`) for an
/// unknown call or a call without transcript; otherwise `200` with `dialogue` `null` unless
/// the transcript is completed.
pub(super) fn transcript(workspace: &Workspace, request: &ApiRequest<'_>) -> Outcome {
    if !workspace.plan.has_transcripts() {
        return Err(ApiError::documented(
            StatusCode::FORBIDDEN,
            "0600403",
            "Forbidden",
            "Call transcripts are only available on the Business and Scale plans",
        ));
    }
    let id = request.path_param("id");
    if !workspace.calls.iter().any(|call| call.id == id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Call {id} not found"),
        ));
    }
    workspace
        .transcripts
        .iter()
        .find(|transcript| transcript.call_id == id)
        .map(|transcript| (StatusCode::OK, json!({"data": transcript.to_json()})))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("No transcript exists for call {id}"),
            )
        })
}
