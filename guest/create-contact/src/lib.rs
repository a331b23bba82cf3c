//! `create-contact`: create contacts in the OpenPhone workspace, 1 to 50 per call.
//!
//! The component is a thin [`Guest`] over [`create`], which takes any [`Api`]
//! so it is unit-tested natively.
//!
//! The API creates one contact per `POST /v1/contacts`, so a batch can end
//! partly done. Three rules keep that visible and safe:
//!
//! - Every field of every contact is checked while the arguments are parsed
//!   (see [`fields`]): a bad field refuses the whole call before anything is
//!   sent, with the exact path (`contacts[2].emails[0].value`).
//! - Each contact gets its own outcome, in input order: `created` (with the
//!   new id), `failed` (nothing was created: safe to retry) or `unknown`
//!   (OpenPhone gave no usable answer to the write, so the contact may exist:
//!   check before retrying). A failure does not stop the rest.
//! - Writes are never retried (the API has no idempotency key: a retry could
//!   create a duplicate). After [`MAX_NO_ANSWER`] writes without an answer the
//!   rest are not sent: each could wait for the host's request timeout, and a
//!   call stopped at its deadline would lose the outcomes of those already
//!   created.
//!
//! The call is an error (`isError`) only when no contact was created; when
//! some were, it succeeds and lists the others.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![forbid(unsafe_code)]

pub mod fields;

use openphone_guest::schemars::{self, JsonSchema};
use openphone_guest::{
    Api, ApiError, E164, ToolAnnotations, ToolDescriptor, ToolError, ToolOutput, UpstreamError,
    input_schema, log, output_schema,
};
use serde::{Deserialize, Serialize};

pub use fields::{ContactList, EmailAddress, ExternalId, MAX_CONTACTS, Source, Text};

/// The tool's name, as clients call it.
pub const NAME: &str = "create-contact";

/// Label sent for an email address given without one: the API requires a
/// `name` on every email item.
pub const DEFAULT_EMAIL_LABEL: &str = "work";

/// Label sent for a phone number given without one: the API requires a
/// `name` on every phone number item.
pub const DEFAULT_PHONE_LABEL: &str = "mobile";

/// Writes without an answer (timeout, connection failure) after which the
/// remaining contacts are not sent. The host waits up to 20 s for each answer
/// and stops a call after 60 s.
pub const MAX_NO_ANSWER: usize = 2;

/// Arguments of `create-contact`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateContact {
    /// The contacts to create: 1 to 50, each created separately, in this order.
    #[schemars(example = example_contacts())]
    pub contacts: ContactList,
}

/// One contact to create.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewContact {
    /// First name (required): 1 to 100 characters, not only whitespace. Use the whole name
    /// here when only one name is known.
    #[schemars(example = &"Sam")]
    pub first_name: Text,
    /// Last name: 1 to 100 characters.
    #[serde(default)]
    #[schemars(example = &"Lee")]
    pub last_name: Option<Text>,
    /// Company name: 1 to 100 characters.
    #[serde(default)]
    #[schemars(example = &"Acme Corp")]
    pub company: Option<Text>,
    /// Role or job title: 1 to 100 characters.
    #[serde(default)]
    #[schemars(example = &"Purchasing manager")]
    pub role: Option<Text>,
    /// Email addresses, each with an optional label.
    #[serde(default)]
    #[schemars(example = serde_json::json!([{"name": "work", "value": "sam.lee@acme.example"}]))]
    pub emails: Option<Vec<EmailItem>>,
    /// Phone numbers in E.164 format, each with an optional label.
    #[serde(default)]
    #[schemars(example = serde_json::json!([{"name": "mobile", "value": "+15555550123"}]))]
    pub phone_numbers: Option<Vec<PhoneItem>>,
    /// The contact's id in another system (e.g. a CRM), 1 to 75 characters. OpenPhone lists
    /// contacts by it later; keep it unique: no two contacts of a call may share one.
    #[serde(default)]
    #[schemars(example = &"crm-1042")]
    pub external_id: Option<ExternalId>,
    /// Where the contact comes from, 1 to 72 characters (OpenPhone records `public-api` when it
    /// is left out). Reserved and refused: openphone, device, csv, zapier, google-people, other,
    /// and anything starting with openphone or csv.
    #[serde(default)]
    #[schemars(example = &"custom-crm")]
    pub source: Option<Source>,
}

/// One email address of a contact.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmailItem {
    /// Label of the address, 1 to 100 characters (default `work`).
    #[serde(default)]
    #[schemars(example = &"work", example = &"personal")]
    pub name: Option<Text>,
    /// The address, e.g. sam@example.com: one @, a name before it, a domain with a dot after
    /// it, no spaces.
    #[schemars(example = &"sam.lee@acme.example")]
    pub value: EmailAddress,
}

/// One phone number of a contact.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PhoneItem {
    /// Label of the number, 1 to 100 characters (default `mobile`).
    #[serde(default)]
    #[schemars(example = &"mobile", example = &"office")]
    pub name: Option<Text>,
    /// The number in E.164 format: + then country code and number, e.g. +15555550123.
    #[schemars(example = &"+15555550123")]
    pub value: E164,
}

fn example_contacts() -> serde_json::Value {
    serde_json::json!([
        {
            "firstName": "Sam",
            "lastName": "Lee",
            "company": "Acme Corp",
            "role": "Purchasing manager",
            "emails": [{"name": "work", "value": "sam.lee@acme.example"}],
            "phoneNumbers": [{"value": "+15555550123"}],
            "externalId": "crm-1042"
        },
        {"firstName": "Ana", "phoneNumbers": [{"name": "office", "value": "+442079460958"}]}
    ])
}

/// What `create-contact` returns as structured content.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedContacts {
    /// How many contacts were asked for.
    pub requested: usize,
    /// How many were created.
    pub created: usize,
    /// How many were not created (safe to retry once the reason is dealt with).
    pub failed: usize,
    /// How many may or may not have been created (check before retrying).
    pub unknown: usize,
    /// One outcome per contact, in the order given.
    pub contacts: Vec<ContactOutcome>,
}

/// What happened to one contact.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContactOutcome {
    /// Its position in `contacts`, from 0.
    pub index: usize,
    /// Its name as given (first and last name).
    pub name: String,
    /// Its externalId, when one was given.
    pub external_id: Option<String>,
    /// The outcome.
    pub status: Status,
    /// OpenPhone's id for the new contact, when created.
    pub id: Option<String>,
    /// Why it failed or is unknown.
    pub reason: Option<String>,
}

/// The outcome of one contact.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// OpenPhone created it.
    Created,
    /// It was not created: OpenPhone refused it, or it was not sent.
    Failed,
    /// OpenPhone gave no usable answer: it may have been created. Check before retrying.
    Unknown,
}

/// The body of `POST /v1/contacts`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ContactBody<'a> {
    default_fields: DefaultFields<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DefaultFields<'a> {
    first_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emails: Option<Vec<LabeledValue<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_numbers: Option<Vec<LabeledValue<'a>>>,
}

/// An email or phone item: the API requires both `name` and `value`.
#[derive(Debug, Serialize)]
struct LabeledValue<'a> {
    name: &'a str,
    value: &'a str,
}

/// The API's `201` answer (the fields this tool reads).
#[derive(Debug, Deserialize)]
struct Created {
    data: CreatedContact,
}

#[derive(Debug, Deserialize)]
struct CreatedContact {
    id: String,
}

/// The descriptor listed in `tools/list`.
pub fn descriptor() -> ToolDescriptor {
    ToolDescriptor {
        name: NAME.into(),
        title: "Create contacts".into(),
        description: "Create 1 to 50 contacts in the OpenPhone workspace. Use it when the user asks to \
            add or save people as contacts. Each contact needs a `firstName`; `lastName`, `company`, \
            `role`, `emails`, `phoneNumbers` (E.164, e.g. +15555550123), `externalId` (the id in another \
            system) and `source` are optional. Every field is checked before anything is created. Each \
            contact is created separately, so some may succeed while others fail: the result lists every \
            contact in order as `created` (with its OpenPhone id), `failed` (not created, with the reason; \
            safe to retry) or `unknown` (OpenPhone did not answer: it may exist, check before retrying). \
            Calling again creates duplicates: retry only the contacts that failed."
            .into(),
        input_schema: input_schema::<CreateContact>(),
        output_schema: Some(output_schema::<CreatedContacts>()),
        annotations: ToolAnnotations {
            read_only: false,
            destructive: false,
            idempotent: false,
            open_world: true,
        },
        scope: "contacts:write".into(),
        resumable: false,
    }
}

/// Creates the contacts described by `args`, one request each.
pub fn create(api: &impl Api, args: CreateContact) -> Result<ToolOutput, ToolError> {
    let contacts = args.contacts.as_slice();
    check_unique_external_ids(contacts)?;
    let total = contacts.len();
    let mut outcomes = Vec::with_capacity(total);
    let mut no_answer = 0;
    // Once set, the remaining contacts are not sent, for this reason.
    let mut stopped: Option<String> = None;
    for (index, contact) in contacts.iter().enumerate() {
        log::progress(
            index as f64,
            Some(total as f64),
            Some(&format!("creating contact {} of {total}", index + 1)),
        );
        let (status, id, reason) = match &stopped {
            Some(why) => (Status::Failed, None, Some(why.clone())),
            None => match api.post::<_, Created>("/contacts", &body(contact)) {
                Ok(Created { data }) => (Status::Created, Some(data.id), None),
                Err(error) => {
                    let (status, reason) = classify(&error);
                    stopped = match &error {
                        ApiError::Upstream(
                            UpstreamError::Timeout | UpstreamError::Unavailable(_),
                        ) => {
                            no_answer += 1;
                            (no_answer >= MAX_NO_ANSWER).then(|| {
                                format!(
                                    "Not sent: OpenPhone did not answer {no_answer} requests, so the \
                                     remaining contacts were not attempted. Nothing was created for \
                                     it; retry later."
                                )
                            })
                        }
                        // Every further request would be refused the same way.
                        ApiError::Upstream(UpstreamError::BudgetExhausted) => {
                            Some(format!("Not sent: {error}"))
                        }
                        _ => None,
                    };
                    (status, None, Some(reason))
                }
            },
        };
        outcomes.push(ContactOutcome {
            index,
            name: display_name(contact),
            external_id: contact.external_id.as_ref().map(|e| e.as_str().to_owned()),
            status,
            id,
            reason,
        });
    }
    log::progress(total as f64, Some(total as f64), Some("done"));
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    let result = CreatedContacts {
        requested: total,
        created: count(Status::Created),
        failed: count(Status::Failed),
        unknown: count(Status::Unknown),
        contacts: outcomes,
    };
    let text = render(&result);
    Ok(if result.created == 0 {
        ToolOutput::failure(text, Some(&result))
    } else {
        ToolOutput::success(text, &result)
    })
}

/// Two contacts of one call with the same externalId are a mistake: the id
/// is how OpenPhone finds a contact later.
fn check_unique_external_ids(contacts: &[NewContact]) -> Result<(), ToolError> {
    for (index, contact) in contacts.iter().enumerate() {
        let Some(id) = &contact.external_id else {
            continue;
        };
        if let Some(first) = contacts[..index]
            .iter()
            .position(|c| c.external_id.as_ref() == Some(id))
        {
            return Err(ToolError::InvalidArguments(format!(
                "`contacts[{index}].externalId`: `{}` is also the externalId of contacts[{first}]; \
                 each contact needs its own",
                id.as_str()
            )));
        }
    }
    Ok(())
}

/// The request body for `contact`, labels defaulted where the API requires one.
fn body(contact: &NewContact) -> ContactBody<'_> {
    let emails = contact.emails.as_ref().filter(|e| !e.is_empty()).map(|e| {
        e.iter()
            .map(|item| LabeledValue {
                name: text(&item.name).unwrap_or(DEFAULT_EMAIL_LABEL),
                value: item.value.as_str(),
            })
            .collect()
    });
    let phone_numbers = contact
        .phone_numbers
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.iter()
                .map(|item| LabeledValue {
                    name: text(&item.name).unwrap_or(DEFAULT_PHONE_LABEL),
                    value: item.value.as_str(),
                })
                .collect()
        });
    ContactBody {
        default_fields: DefaultFields {
            first_name: contact.first_name.as_str(),
            last_name: text(&contact.last_name),
            company: text(&contact.company),
            role: text(&contact.role),
            emails,
            phone_numbers,
        },
        external_id: contact.external_id.as_ref().map(ExternalId::as_str),
        source: contact.source.as_ref().map(Source::as_str),
    }
}

fn text(value: &Option<Text>) -> Option<&str> {
    value.as_ref().map(Text::as_str)
}

/// The outcome of a write that did not return the new contact, and why.
fn classify(error: &ApiError) -> (Status, String) {
    const MAY_EXIST: &str =
        "It may have been created: check OpenPhone for it before creating it again.";
    match error {
        // No answer: the API may have acted on the write.
        ApiError::Upstream(UpstreamError::Timeout | UpstreamError::Unavailable(_)) => {
            (Status::Unknown, format!("{error} {MAY_EXIST}"))
        }
        // A server error may come after the contact was stored.
        ApiError::Status(s) if s.status >= 500 => (Status::Unknown, format!("{error} {MAY_EXIST}")),
        // Only a 2xx answer is decoded: the contact exists, its id is unknown.
        ApiError::Decode(_) => (
            Status::Created,
            format!("OpenPhone created it, but its id is unknown: {error}"),
        ),
        // Refused (4xx), rate-limited (a write answered 429 is not acted on),
        // or never sent.
        _ => (Status::Failed, error.to_string()),
    }
}

fn display_name(contact: &NewContact) -> String {
    match &contact.last_name {
        Some(last) => format!("{} {}", contact.first_name.as_str(), last.as_str()),
        None => contact.first_name.as_str().to_owned(),
    }
}

/// A summary a model can relay: what was created, then what was not and why.
fn render(result: &CreatedContacts) -> String {
    let plural = if result.requested == 1 { "" } else { "s" };
    let mut out = format!(
        "Created {} of {} contact{plural}",
        result.created, result.requested
    );
    let of = |status: Status| result.contacts.iter().filter(move |o| o.status == status);
    let created: Vec<String> = of(Status::Created)
        .map(|o| match &o.id {
            Some(id) => format!("{} (id {id})", o.name),
            None => format!("{} ({})", o.name, o.reason.as_deref().unwrap_or_default()),
        })
        .collect();
    if created.is_empty() {
        out.push('.');
    } else {
        out.push_str(&format!(": {}.", created.join(", ")));
    }
    let with_reason = |o: &ContactOutcome| {
        format!(
            "{} ({})",
            o.name,
            o.reason.as_deref().unwrap_or("no reason given")
        )
    };
    let failed: Vec<String> = of(Status::Failed).map(with_reason).collect();
    if !failed.is_empty() {
        out.push_str(&format!("\nFailed: {}", failed.join("; ")));
    }
    let unknown: Vec<String> = of(Status::Unknown).map(with_reason).collect();
    if !unknown.is_empty() {
        out.push_str(&format!("\nOutcome unknown: {}", unknown.join("; ")));
    }
    out
}

openphone_guest::export_single_tool!(name: NAME, descriptor: descriptor, run: create);

#[cfg(test)]
mod tests;
