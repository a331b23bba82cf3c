//! The simulated workspaces' data and how each record is rendered as the API's JSON.
//!
//! Times are milliseconds since the Unix epoch; every list record has a `seq` that is unique
//! within its list, breaking ties between equal timestamps so that pagination is stable.

use serde_json::{Value, json};

use crate::datetime::format_ms;

/// Subscription plan of a workspace; decides what the plan-gated endpoints answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Standard: no call transcripts (`403`, code `0600403`).
    Standard,
    /// Business: call transcripts available.
    Business,
    /// Scale: call transcripts available.
    Scale,
}

impl Plan {
    /// Whether `GET /v1/call-transcripts/{id}` is available on this plan.
    #[must_use]
    pub fn has_transcripts(self) -> bool {
        matches!(self, Self::Business | Self::Scale)
    }

    /// Lower-case name, e.g. `business`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Business => "business",
            Self::Scale => "scale",
        }
    }
}

/// Direction of a message or call, as seen from the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the participant to the workspace's number.
    Incoming,
    /// From the workspace's number to the participant.
    Outgoing,
}

impl Direction {
    /// `incoming` or `outgoing`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
        }
    }
}

/// One API key's workspace and everything in it.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The API key that opens this workspace (sent raw in `Authorization`).
    pub key: String,
    /// Display name (only printed by the binary).
    pub name: String,
    /// Plan.
    pub plan: Plan,
    /// Message credits left; each sent message uses one, `0` makes sending answer `402`.
    pub credits: u64,
    /// Group id shown on phone numbers and users.
    pub group_id: String,
    /// Users (`US…`).
    pub users: Vec<User>,
    /// Phone numbers (`PN…`).
    pub phone_numbers: Vec<PhoneNumber>,
    /// Conversations (`CN…`).
    pub conversations: Vec<Conversation>,
    /// Messages (`AC…`).
    pub messages: Vec<Message>,
    /// Calls (`AC…`).
    pub calls: Vec<Call>,
    /// Transcripts by call; a call without one answers `404`.
    pub transcripts: Vec<Transcript>,
    /// Contacts.
    pub contacts: Vec<Contact>,
    /// Contact custom field definitions.
    pub custom_fields: Vec<CustomField>,
    /// Recipients that sending to answers `400` "A2P Registration Not Approved" (`0206400`).
    pub a2p_unapproved: Vec<String>,
}

impl Workspace {
    /// The phone number with this `PN…` id or E.164 number.
    #[must_use]
    pub fn phone_number(&self, id_or_number: &str) -> Option<&PhoneNumber> {
        self.phone_numbers
            .iter()
            .find(|pn| pn.id == id_or_number || pn.number == id_or_number)
    }

    /// The user with this id.
    #[must_use]
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|user| user.id == id)
    }
}

/// A workspace member.
#[derive(Debug, Clone)]
pub struct User {
    /// `US…`.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
}

/// A workspace phone number.
#[derive(Debug, Clone)]
pub struct PhoneNumber {
    /// `PN…`.
    pub id: String,
    /// E.164.
    pub number: String,
    /// Display name, e.g. `Sales`.
    pub name: String,
    /// Emoji shown next to it.
    pub symbol: Option<String>,
    /// Users who can use this number; sending as someone else answers `403` (`0202403`).
    pub user_ids: Vec<String>,
    /// When it was added.
    pub created_ms: i64,
}

/// A text message.
#[derive(Debug, Clone)]
pub struct Message {
    /// `AC…`.
    pub id: String,
    /// The workspace number it went through.
    pub phone_number_id: String,
    /// The other party (E.164).
    pub participant: String,
    /// Direction.
    pub direction: Direction,
    /// Sender (E.164).
    pub from: String,
    /// Recipients (E.164).
    pub to: Vec<String>,
    /// Text.
    pub text: String,
    /// The user who sent it, or the number's owner for incoming ones.
    pub user_id: String,
    /// `queued`, `sent`, `delivered` or `undelivered`.
    pub status: String,
    /// Created.
    pub created_ms: i64,
    /// Last updated.
    pub updated_ms: i64,
    /// Tie-breaker for ordering.
    pub seq: u64,
}

impl Message {
    /// The API's JSON for this message (`data` of `GET /v1/messages/{id}`).
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "to": self.to,
            "from": self.from,
            "text": self.text,
            "phoneNumberId": self.phone_number_id,
            "direction": self.direction.as_str(),
            "userId": self.user_id,
            "status": self.status,
            "createdAt": format_ms(self.created_ms),
            "updatedAt": format_ms(self.updated_ms),
        })
    }
}

/// A phone call.
#[derive(Debug, Clone)]
pub struct Call {
    /// `AC…`.
    pub id: String,
    /// The workspace number.
    pub phone_number_id: String,
    /// The other party (E.164).
    pub participant: String,
    /// Direction.
    pub direction: Direction,
    /// `completed`, `in-progress`, `missed`, ….
    pub status: String,
    /// The user on the call.
    pub user_id: String,
    /// Created.
    pub created_ms: i64,
    /// Answered, if it was.
    pub answered_ms: Option<i64>,
    /// Completed, if it is over.
    pub completed_ms: Option<i64>,
    /// Seconds.
    pub duration_s: i64,
    /// Tie-breaker for ordering.
    pub seq: u64,
}

impl Call {
    /// The API's JSON for this call (an item of `GET /v1/calls`).
    #[must_use]
    pub fn to_json(&self, workspace_number: &str) -> Value {
        let answered_by = self.answered_ms.map(|_| self.user_id.clone());
        let initiated_by = match self.direction {
            Direction::Outgoing => Some(self.user_id.clone()),
            Direction::Incoming => None,
        };
        let participants = match self.direction {
            Direction::Outgoing => vec![workspace_number.to_owned(), self.participant.clone()],
            Direction::Incoming => vec![self.participant.clone(), workspace_number.to_owned()],
        };
        json!({
            "answeredAt": self.answered_ms.map(format_ms),
            "answeredBy": answered_by,
            "initiatedBy": initiated_by,
            "direction": self.direction.as_str(),
            "status": self.status,
            "completedAt": self.completed_ms.map(format_ms),
            "createdAt": format_ms(self.created_ms),
            "duration": self.duration_s,
            "forwardedFrom": null,
            "forwardedTo": null,
            "id": self.id,
            "phoneNumberId": self.phone_number_id,
            "participants": participants,
            "updatedAt": format_ms(self.completed_ms.unwrap_or(self.created_ms)),
            "userId": self.user_id,
        })
    }
}

/// A call transcript.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// The call it belongs to.
    pub call_id: String,
    /// `absent`, `in-progress`, `completed` or `failed`.
    pub status: String,
    /// The lines; `None` (JSON `null`) unless the transcript is completed.
    pub dialogue: Option<Vec<DialogueLine>>,
    /// Created.
    pub created_ms: i64,
    /// Seconds covered.
    pub duration_s: f64,
}

impl Transcript {
    /// The API's JSON (`data` of `GET /v1/call-transcripts/{id}`).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let dialogue = self.dialogue.as_ref().map(|lines| {
            lines
                .iter()
                .map(|line| {
                    json!({
                        "content": line.content,
                        "start": line.start,
                        "end": line.end,
                        "identifier": line.identifier,
                        "userId": line.user_id,
                    })
                })
                .collect::<Vec<_>>()
        });
        json!({
            "callId": self.call_id,
            "createdAt": format_ms(self.created_ms),
            "dialogue": dialogue,
            "duration": self.duration_s,
            "status": self.status,
        })
    }
}

/// One utterance of a transcript.
#[derive(Debug, Clone)]
pub struct DialogueLine {
    /// What was said.
    pub content: String,
    /// Seconds from the start of the call.
    pub start: f64,
    /// Seconds from the start of the call.
    pub end: f64,
    /// Speaker's phone number.
    pub identifier: String,
    /// Speaker's user id when it is a workspace user.
    pub user_id: Option<String>,
}

/// A conversation between a workspace number and participants.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// `CN…`.
    pub id: String,
    /// The workspace number.
    pub phone_number_id: String,
    /// External participants (E.164).
    pub participants: Vec<String>,
    /// Display name.
    pub name: Option<String>,
    /// Assigned user.
    pub assigned_to: Option<String>,
    /// Created.
    pub created_ms: i64,
    /// Latest message or call.
    pub last_activity_ms: i64,
    /// Id of the latest message or call.
    pub last_activity_id: Option<String>,
    /// Set when archived; `excludeInactive=true` leaves such conversations out.
    pub deleted_ms: Option<i64>,
    /// Tie-breaker for ordering.
    pub seq: u64,
}

impl Conversation {
    /// The API's JSON (an item of `GET /v1/conversations`).
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "assignedTo": self.assigned_to,
            "createdAt": format_ms(self.created_ms),
            "deletedAt": self.deleted_ms.map(format_ms),
            "id": self.id,
            "lastActivityAt": format_ms(self.last_activity_ms),
            "lastActivityId": self.last_activity_id,
            "mutedUntil": null,
            "name": self.name,
            "participants": self.participants,
            "phoneNumberId": self.phone_number_id,
            "snoozedUntil": null,
            "updatedAt": format_ms(self.last_activity_ms),
        })
    }
}

/// A contact.
#[derive(Debug, Clone)]
pub struct Contact {
    /// 24 hex digits.
    pub id: String,
    /// The caller's own id for it.
    pub external_id: Option<String>,
    /// Where it came from (`public-api` when created through the API without one).
    pub source: Option<String>,
    /// Link back to the source.
    pub source_url: Option<String>,
    /// Standard fields.
    pub fields: ContactFields,
    /// Custom field values, by custom field key.
    pub custom: Vec<CustomValue>,
    /// Created.
    pub created_ms: i64,
    /// Last updated.
    pub updated_ms: i64,
    /// Creator.
    pub created_by_user_id: String,
    /// Tie-breaker for ordering.
    pub seq: u64,
}

/// A contact's standard fields.
#[derive(Debug, Clone, Default)]
pub struct ContactFields {
    /// First name (the API requires the key but allows `null`).
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// E-mail addresses.
    pub emails: Vec<LabeledValue>,
    /// Phone numbers.
    pub phone_numbers: Vec<LabeledValue>,
}

/// A named value of a contact (`{name: "work", value: "…"}`).
#[derive(Debug, Clone)]
pub struct LabeledValue {
    /// Id of the entry.
    pub id: String,
    /// Label.
    pub name: String,
    /// Value.
    pub value: Option<String>,
}

/// A custom contact field definition.
#[derive(Debug, Clone)]
pub struct CustomField {
    /// Display name.
    pub name: String,
    /// Key used when writing values.
    pub key: String,
    /// `address`, `boolean`, `date`, `multi-select`, `number`, `string` or `url`.
    pub kind: String,
}

/// A contact's value for one custom field.
#[derive(Debug, Clone)]
pub struct CustomValue {
    /// The custom field's key.
    pub key: String,
    /// The value as JSON.
    pub value: Value,
}

impl LabeledValue {
    fn to_json(&self) -> Value {
        json!({"name": self.name, "value": self.value, "id": self.id})
    }
}

impl Contact {
    /// The API's JSON for this contact; custom values are described by `fields`.
    #[must_use]
    pub fn to_json(&self, fields: &[CustomField]) -> Value {
        let custom: Vec<Value> = self
            .custom
            .iter()
            .filter_map(|value| {
                let field = fields.iter().find(|field| field.key == value.key)?;
                Some(json!({
                    "name": field.name,
                    "key": field.key,
                    "id": format!("{}-{}", self.id, field.key),
                    "type": field.kind,
                    "value": value.value,
                }))
            })
            .collect();
        json!({
            "id": self.id,
            "externalId": self.external_id,
            "source": self.source,
            "sourceUrl": self.source_url,
            "defaultFields": {
                "company": self.fields.company,
                "emails": self.fields.emails.iter().map(LabeledValue::to_json).collect::<Vec<_>>(),
                "firstName": self.fields.first_name,
                "lastName": self.fields.last_name,
                "phoneNumbers": self.fields.phone_numbers.iter().map(LabeledValue::to_json).collect::<Vec<_>>(),
                "role": self.fields.role,
            },
            "customFields": custom,
            "createdAt": format_ms(self.created_ms),
            "updatedAt": format_ms(self.updated_ms),
            "createdByUserId": self.created_by_user_id,
        })
    }
}

impl PhoneNumber {
    /// The API's JSON (an item of `GET /v1/phone-numbers`), with its users expanded.
    #[must_use]
    pub fn to_json(&self, workspace: &Workspace) -> Value {
        let users: Vec<Value> = self
            .user_ids
            .iter()
            .filter_map(|id| workspace.user(id))
            .map(|user| {
                json!({
                    "email": user.email,
                    "firstName": user.first_name,
                    "groupId": workspace.group_id,
                    "id": user.id,
                    "lastName": user.last_name,
                    "role": user.role,
                })
            })
            .collect();
        let unrestricted =
            json!({"CA": "unrestricted", "US": "unrestricted", "Intl": "restricted"});
        json!({
            "id": self.id,
            "groupId": workspace.group_id,
            "createdAt": format_ms(self.created_ms),
            "updatedAt": format_ms(self.created_ms),
            "name": self.name,
            "number": self.number,
            "formattedNumber": format_us_number(&self.number),
            "forward": null,
            "portRequestId": null,
            "portingStatus": null,
            "symbol": self.symbol,
            "users": users,
            "restrictions": {"messaging": unrestricted, "calling": unrestricted},
        })
    }
}

/// `+12125550100` → `(212) 555-0100`; other numbers are shown as they are.
fn format_us_number(number: &str) -> String {
    match number.strip_prefix("+1") {
        Some(rest) if rest.len() == 10 && rest.bytes().all(|b| b.is_ascii_digit()) => {
            format!("({}) {}-{}", &rest[..3], &rest[3..6], &rest[6..])
        }
        _ => number.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_north_american_numbers() {
        assert_eq!(format_us_number("+12125550100"), "(212) 555-0100");
        assert_eq!(format_us_number("+442071838750"), "+442071838750");
    }

    #[test]
    fn only_business_and_scale_have_transcripts() {
        assert!(!Plan::Standard.has_transcripts());
        assert!(Plan::Business.has_transcripts());
        assert!(Plan::Scale.has_transcripts());
    }

    #[test]
    fn an_outgoing_call_lists_the_workspace_number_first() {
        let call = Call {
            id: "AC1".to_owned(),
            phone_number_id: "PN1".to_owned(),
            participant: "+14155550111".to_owned(),
            direction: Direction::Outgoing,
            status: "completed".to_owned(),
            user_id: "US1".to_owned(),
            created_ms: 0,
            answered_ms: Some(1_000),
            completed_ms: Some(61_000),
            duration_s: 60,
            seq: 0,
        };
        let json = call.to_json("+12125550100");
        assert_eq!(
            json["participants"],
            json!(["+12125550100", "+14155550111"])
        );
        assert_eq!(json["initiatedBy"], "US1");
        assert_eq!(json["updatedAt"], "1970-01-01T00:01:01.000Z");
    }
}
