//! `GET /v1/phone-numbers`.

use http::StatusCode;
use serde_json::{Value, json};

use super::{ApiRequest, Outcome};
use crate::model::Workspace;

/// Every number of the workspace (not paginated); `userId` keeps the numbers that user is on.
pub(super) fn list(workspace: &Workspace, request: &ApiRequest<'_>) -> Outcome {
    let user_id = request.query.first("userId");
    let data: Vec<Value> = workspace
        .phone_numbers
        .iter()
        .filter(|pn| user_id.is_none_or(|user| pn.user_ids.iter().any(|id| id == user)))
        .map(|pn| pn.to_json(workspace))
        .collect();
    Ok((StatusCode::OK, json!({ "data": data })))
}
