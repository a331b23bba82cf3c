//! `POST /v1/messages`, `GET /v1/messages`, `GET /v1/messages/{id}`.

use http::StatusCode;
use serde_json::{Value, json};

use super::{ApiRequest, Outcome, within};
use crate::datetime::now_ms;
use crate::error_body::ApiError;
use crate::model::{Conversation, Direction, Message, Workspace};
use crate::pagination::page;
use crate::state::Data;

/// Sends a message: checks, in order, that `from` is a workspace number (`404`), that the
/// sending user belongs to it (`403` `0202403`), that no recipient is A2P-unapproved
/// (`400` `0206400`) and that credits are left (`402` `0200402`). Then stores the message
/// (`status: queued`, newest in its conversation) and answers `202`.
pub(super) fn send(data: &mut Data, request: &ApiRequest<'_>) -> Outcome {
    let content = request.body_str("content").unwrap_or_default().to_owned();
    let from = request.body_str("from").unwrap_or_default().to_owned();
    let to: Vec<String> = request
        .body
        .and_then(|body| body.get("to"))
        .and_then(Value::as_array)
        .map(|to| {
            to.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let requested_user = request.body_str("userId").map(str::to_owned);
    let seq = data.next_seq();
    let workspace = request.workspace_mut(data)?;
    let phone_number = workspace.phone_number(&from).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Phone number {from} was not found in this workspace"),
        )
    })?;
    let user_id = match requested_user {
        Some(user) if phone_number.user_ids.contains(&user) => user,
        Some(user) => {
            return Err(ApiError::documented(
                StatusCode::FORBIDDEN,
                "0202403",
                "Not Phone Number User",
                format!(
                    "User {user} is not a user of phone number {}",
                    phone_number.id
                ),
            ));
        }
        None => phone_number
            .user_ids
            .first()
            .or_else(|| workspace.users.first().map(|user| &user.id))
            .cloned()
            .unwrap_or_default(),
    };
    if let Some(blocked) = to.iter().find(|to| workspace.a2p_unapproved.contains(to)) {
        return Err(ApiError::documented(
            StatusCode::BAD_REQUEST,
            "0206400",
            "A2P Registration Not Approved",
            format!("Messages to {blocked} require an approved A2P 10DLC registration"),
        ));
    }
    if workspace.credits == 0 {
        return Err(ApiError::documented(
            StatusCode::PAYMENT_REQUIRED,
            "0200402",
            "Not Enough Credits",
            "The workspace does not have enough credits to send this message",
        ));
    }
    workspace.credits -= 1;
    let now = now_ms();
    let participant = to.first().cloned().unwrap_or_default();
    let message = Message {
        id: format!("ACsim{seq:010}"),
        phone_number_id: phone_number.id.clone(),
        participant: participant.clone(),
        direction: Direction::Outgoing,
        from: phone_number.number.clone(),
        to,
        text: content,
        user_id,
        status: "queued".to_owned(),
        created_ms: now,
        updated_ms: now,
        seq,
    };
    touch_conversation(workspace, &message, seq);
    let rendered = message.to_json();
    workspace.messages.push(message);
    data.sent_messages.push(rendered.clone());
    Ok((StatusCode::ACCEPTED, json!({ "data": rendered })))
}

/// Moves the message's conversation to the top (creating it, or un-archiving it).
fn touch_conversation(workspace: &mut Workspace, message: &Message, seq: u64) {
    let existing = workspace.conversations.iter_mut().find(|conversation| {
        conversation.phone_number_id == message.phone_number_id
            && conversation.participants == [message.participant.clone()]
    });
    match existing {
        Some(conversation) => {
            conversation.last_activity_ms = message.created_ms;
            conversation.last_activity_id = Some(message.id.clone());
            conversation.deleted_ms = None;
        }
        None => workspace.conversations.push(Conversation {
            id: format!("CNsim{seq:010}"),
            phone_number_id: message.phone_number_id.clone(),
            participants: vec![message.participant.clone()],
            name: None,
            assigned_to: None,
            created_ms: message.created_ms,
            last_activity_ms: message.created_ms,
            last_activity_id: Some(message.id.clone()),
            deleted_ms: None,
            seq,
        }),
    }
}

/// Messages between `phoneNumberId` and exactly the `participants`, newest first.
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
    let mut participants: Vec<&str> = request
        .query
        .all("participants")
        .iter()
        .map(String::as_str)
        .collect();
    participants.sort_unstable();
    participants.dedup();
    let user_id = request.query.first("userId");
    let after = request
        .time("createdAfter")
        .or_else(|| request.time("since"));
    let before = request.time("createdBefore");
    let items = workspace
        .messages
        .iter()
        .filter(|message| {
            message.phone_number_id == phone_number.id
                && participants == [message.participant.as_str()]
                && user_id.is_none_or(|user| message.user_id == user)
                && within(message.created_ms, after, before)
        })
        .map(|message| ((message.created_ms, message.seq), message))
        .collect();
    let body = page(
        items,
        request.max_results(),
        request.page_token(),
        |message| message.to_json(),
    )?;
    Ok((StatusCode::OK, body))
}

/// One message by id (`404` when it is not in this workspace).
pub(super) fn get(workspace: &Workspace, request: &ApiRequest<'_>) -> Outcome {
    let id = request.path_param("id");
    workspace
        .messages
        .iter()
        .find(|message| message.id == id)
        .map(|message| (StatusCode::OK, json!({"data": message.to_json()})))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Message {id} not found")))
}
