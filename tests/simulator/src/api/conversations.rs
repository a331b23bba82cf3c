//! `GET /v1/conversations`.

use http::StatusCode;

use super::{ApiRequest, Outcome, within};
use crate::model::Workspace;
use crate::pagination::page;

/// Conversations, most recent activity first. Filters: `phoneNumbers` (and the deprecated
/// `phoneNumber`; ids or E.164 numbers of this workspace, others match nothing), `userId`
/// (a user of the conversation's number, or its assignee), `createdAfter`/`createdBefore`,
/// `updatedAfter`/`updatedBefore` (last activity) and `excludeInactive` (leaves out archived
/// conversations, those with `deletedAt`).
pub(super) fn list(workspace: &Workspace, request: &ApiRequest<'_>) -> Outcome {
    let wanted: Vec<&str> = request
        .query
        .all("phoneNumbers")
        .iter()
        .chain(request.query.all("phoneNumber"))
        .map(String::as_str)
        .collect();
    let phone_ids: Vec<&str> = wanted
        .iter()
        .filter_map(|wanted| workspace.phone_number(wanted))
        .map(|pn| pn.id.as_str())
        .collect();
    let user_id = request.query.first("userId");
    let exclude_inactive = request.query.first("excludeInactive") == Some("true");
    let (created_after, created_before) =
        (request.time("createdAfter"), request.time("createdBefore"));
    let (updated_after, updated_before) =
        (request.time("updatedAfter"), request.time("updatedBefore"));
    let items = workspace
        .conversations
        .iter()
        .filter(|conversation| {
            let number_users = workspace
                .phone_number(&conversation.phone_number_id)
                .map(|pn| pn.user_ids.as_slice())
                .unwrap_or_default();
            (wanted.is_empty() || phone_ids.contains(&conversation.phone_number_id.as_str()))
                && user_id.is_none_or(|user| {
                    number_users.iter().any(|id| id == user)
                        || conversation.assigned_to.as_deref() == Some(user)
                })
                && !(exclude_inactive && conversation.deleted_ms.is_some())
                && within(conversation.created_ms, created_after, created_before)
                && within(conversation.last_activity_ms, updated_after, updated_before)
        })
        .map(|conversation| {
            (
                (conversation.last_activity_ms, conversation.seq),
                conversation,
            )
        })
        .collect();
    let body = page(
        items,
        request.max_results(),
        request.page_token(),
        |conversation| conversation.to_json(),
    )?;
    Ok((StatusCode::OK, body))
}
