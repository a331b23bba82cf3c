//! `POST /v1/contacts`, `GET /v1/contacts`, `GET|PATCH|DELETE /v1/contacts/{id}` and
//! `GET /v1/contact-custom-fields`.

use http::StatusCode;
use serde_json::{Value, json};

use super::{ApiRequest, Outcome};
use crate::datetime::now_ms;
use crate::error_body::ApiError;
use crate::model::{Contact, ContactFields, CustomField, CustomValue, LabeledValue, Workspace};
use crate::pagination::page;
use crate::state::Data;

/// Creates a contact (`201`). `source` defaults to `public-api`, `createdByUserId` to the
/// workspace owner; a custom field key the workspace does not define, or a value of the wrong
/// type for it, answers `400` "Invalid Custom Field Item" (`0801400`).
pub(super) fn create(data: &mut Data, request: &ApiRequest<'_>) -> Outcome {
    let body = request.body.cloned().unwrap_or(Value::Null);
    let seq = data.next_seq();
    let workspace = request.workspace_mut(data)?;
    let id = format!("66b{seq:021x}");
    let custom = custom_values(&workspace.custom_fields, body.get("customFields"))?;
    let mut fields = ContactFields::default();
    if let Some(default_fields) = body.get("defaultFields") {
        apply_fields(&mut fields, default_fields, &id);
    }
    let now = now_ms();
    let owner = workspace
        .users
        .first()
        .map(|user| user.id.clone())
        .unwrap_or_default();
    let contact = Contact {
        id,
        external_id: text(&body, "externalId"),
        source: Some(text(&body, "source").unwrap_or_else(|| "public-api".to_owned())),
        source_url: text(&body, "sourceUrl"),
        fields,
        custom,
        created_ms: now,
        updated_ms: now,
        created_by_user_id: text(&body, "createdByUserId").unwrap_or(owner),
        seq,
    };
    let rendered = contact.to_json(&workspace.custom_fields);
    workspace.contacts.push(contact);
    Ok((StatusCode::CREATED, json!({ "data": rendered })))
}

/// Contacts whose external id is one of `externalIds` (and source one of `sources`, when
/// given), newest first.
pub(super) fn list(workspace: &Workspace, request: &ApiRequest<'_>) -> Outcome {
    let external_ids = request.query.all("externalIds");
    let sources = request.query.all("sources");
    let items = workspace
        .contacts
        .iter()
        .filter(|contact| {
            contact
                .external_id
                .as_ref()
                .is_some_and(|id| external_ids.contains(id))
                && (sources.is_empty()
                    || contact.source.as_ref().is_some_and(|s| sources.contains(s)))
        })
        .map(|contact| ((contact.created_ms, contact.seq), contact))
        .collect();
    let body = page(
        items,
        request.max_results(),
        request.page_token(),
        |contact| contact.to_json(&workspace.custom_fields),
    )?;
    Ok((StatusCode::OK, body))
}

/// One contact (`404` `0800404` when unknown).
pub(super) fn get(workspace: &Workspace, request: &ApiRequest<'_>) -> Outcome {
    let id = request.path_param("id");
    let contact = find(&workspace.contacts, id)?;
    Ok((
        StatusCode::OK,
        json!({"data": contact.to_json(&workspace.custom_fields)}),
    ))
}

/// Changes the fields present in the body; custom values are set by key.
pub(super) fn update(workspace: &mut Workspace, request: &ApiRequest<'_>) -> Outcome {
    let id = request.path_param("id").to_owned();
    let body = request.body.cloned().unwrap_or(Value::Null);
    let custom = custom_values(&workspace.custom_fields, body.get("customFields"))?;
    let index = workspace
        .contacts
        .iter()
        .position(|contact| contact.id == id)
        .ok_or_else(|| not_found(&id))?;
    let contact = &mut workspace.contacts[index];
    for (name, slot) in [
        ("externalId", &mut contact.external_id),
        ("source", &mut contact.source),
        ("sourceUrl", &mut contact.source_url),
    ] {
        if body.get(name).is_some() {
            *slot = text(&body, name);
        }
    }
    if let Some(default_fields) = body.get("defaultFields") {
        apply_fields(&mut contact.fields, default_fields, &id);
    }
    for value in custom {
        contact.custom.retain(|existing| existing.key != value.key);
        contact.custom.push(value);
    }
    contact.updated_ms = now_ms();
    let rendered = workspace.contacts[index].to_json(&workspace.custom_fields);
    Ok((StatusCode::OK, json!({ "data": rendered })))
}

/// Deletes a contact (`204`; `404` when unknown).
pub(super) fn delete(workspace: &mut Workspace, request: &ApiRequest<'_>) -> Outcome {
    let id = request.path_param("id");
    let before = workspace.contacts.len();
    workspace.contacts.retain(|contact| contact.id != id);
    if workspace.contacts.len() == before {
        return Err(not_found(id));
    }
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

/// The workspace's custom field definitions.
pub(super) fn custom_fields(workspace: &Workspace) -> Outcome {
    let data: Vec<Value> = workspace
        .custom_fields
        .iter()
        .map(|field| json!({"name": field.name, "key": field.key, "type": field.kind}))
        .collect();
    Ok((StatusCode::OK, json!({ "data": data })))
}

fn find<'c>(contacts: &'c [Contact], id: &str) -> Result<&'c Contact, ApiError> {
    contacts
        .iter()
        .find(|contact| contact.id == id)
        .ok_or_else(|| not_found(id))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("Contact {id} not found"))
}

fn text(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// Copies the standard fields present in `source` onto `fields`.
fn apply_fields(fields: &mut ContactFields, source: &Value, contact_id: &str) {
    for (name, slot) in [
        ("firstName", &mut fields.first_name),
        ("lastName", &mut fields.last_name),
        ("company", &mut fields.company),
        ("role", &mut fields.role),
    ] {
        if source.get(name).is_some() {
            *slot = text(source, name);
        }
    }
    if let Some(emails) = source.get("emails") {
        fields.emails = labeled(emails, &format!("{contact_id}-e"));
    }
    if let Some(numbers) = source.get("phoneNumbers") {
        fields.phone_numbers = labeled(numbers, &format!("{contact_id}-p"));
    }
}

fn labeled(values: &Value, id_prefix: &str) -> Vec<LabeledValue> {
    values
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, item)| LabeledValue {
            id: text(item, "id").unwrap_or_else(|| format!("{id_prefix}{}", index + 1)),
            name: text(item, "name").unwrap_or_default(),
            value: text(item, "value"),
        })
        .collect()
}

/// Custom values of a request body, checked against the workspace's definitions.
fn custom_values(
    definitions: &[CustomField],
    items: Option<&Value>,
) -> Result<Vec<CustomValue>, ApiError> {
    let Some(items) = items.and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|item| {
            let key = item.get("key").and_then(Value::as_str).unwrap_or_default();
            let value = item.get("value").cloned().unwrap_or(Value::Null);
            let definition = definitions
                .iter()
                .find(|definition| definition.key == key)
                .ok_or_else(|| invalid_custom_field(format!("Unknown custom field key {key:?}")))?;
            let fits = match definition.kind.as_str() {
                _ if value.is_null() => true,
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "multi-select" => value.is_array(),
                _ => value.is_string(),
            };
            if !fits {
                return Err(invalid_custom_field(format!(
                    "Custom field {key:?} is of type {} and cannot hold {value}",
                    definition.kind
                )));
            }
            Ok(CustomValue {
                key: key.to_owned(),
                value,
            })
        })
        .collect()
}

fn invalid_custom_field(message: String) -> ApiError {
    ApiError::documented(
        StatusCode::BAD_REQUEST,
        "0801400",
        "Invalid Custom Field Item",
        message,
    )
}
