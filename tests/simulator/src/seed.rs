//! The deterministic data the simulator starts with: three workspaces, one per API key.
//!
//! Nothing here is random and every timestamp is fixed (October 2025 – February 2026), so tests
//! may rely on the constants below and on the exact contents of [`Seed::default`].
//!
//! | key | plan | credits | numbers |
//! |---|---|---|---|
//! | [`BUSINESS_KEY`] | Business (transcripts) | 10 000 | Sales [`SALES_NUMBER`], Support [`SUPPORT_NUMBER`] |
//! | [`STANDARD_KEY`] | Standard (transcripts → `403` `0600403`) | 10 000 | Main [`STANDARD_MAIN_NUMBER`], Support [`STANDARD_SUPPORT_NUMBER`] |
//! | [`NO_CREDITS_KEY`] | Standard | 0 (sending → `402` `0200402`) | Main [`NO_CREDITS_NUMBER`] |

use serde_json::json;

use crate::datetime::utc_ms;
use crate::model::{
    Call, Contact, ContactFields, Conversation, CustomField, CustomValue, DialogueLine, Direction,
    LabeledValue, Message, PhoneNumber, Plan, Transcript, User, Workspace,
};

/// API key of the Business-plan workspace "Acme Business".
pub const BUSINESS_KEY: &str = "sim-business-key-0000000000000001";
/// API key of the Standard-plan workspace "Bolt Standard".
pub const STANDARD_KEY: &str = "sim-standard-key-0000000000000002";
/// API key of the workspace "Cobalt Trial", which has no credits left.
pub const NO_CREDITS_KEY: &str = "sim-nocredit-key-0000000000000003";

/// Business workspace owner; member of both Business numbers.
pub const BUSINESS_OWNER_ID: &str = "USbizOwner001";
/// Business workspace member of [`SUPPORT_PHONE_ID`] only: sending from [`SALES_PHONE_ID`] with
/// this `userId` answers `403` "Not Phone Number User" (`0202403`).
pub const BUSINESS_AGENT_ID: &str = "USbizAgent002";
/// Business number "Sales".
pub const SALES_PHONE_ID: &str = "PNbizSales001";
/// E.164 of [`SALES_PHONE_ID`].
pub const SALES_NUMBER: &str = "+12125550100";
/// Business number "Support".
pub const SUPPORT_PHONE_ID: &str = "PNbizSupport2";
/// E.164 of [`SUPPORT_PHONE_ID`].
pub const SUPPORT_NUMBER: &str = "+12125550101";

/// Standard workspace owner.
pub const STANDARD_OWNER_ID: &str = "USstdOwner001";
/// Standard number "Main".
pub const STANDARD_MAIN_PHONE_ID: &str = "PNstdMain0001";
/// E.164 of [`STANDARD_MAIN_PHONE_ID`].
pub const STANDARD_MAIN_NUMBER: &str = "+13125550100";
/// Standard number "Support".
pub const STANDARD_SUPPORT_PHONE_ID: &str = "PNstdSupport2";
/// E.164 of [`STANDARD_SUPPORT_PHONE_ID`].
pub const STANDARD_SUPPORT_NUMBER: &str = "+13125550101";

/// Owner of the no-credits workspace.
pub const NO_CREDITS_OWNER_ID: &str = "USnocOwner001";
/// The no-credits workspace's only number, "Main".
pub const NO_CREDITS_PHONE_ID: &str = "PNnocMain0001";
/// E.164 of [`NO_CREDITS_PHONE_ID`].
pub const NO_CREDITS_NUMBER: &str = "+16175550100";

/// External participant "Alice Adams" (contact `crm-1001` in the Business workspace).
pub const ALICE: &str = "+14155550111";
/// External participant "Bob Brown" (contact `crm-1002`).
pub const BOB: &str = "+14155550122";
/// External participant "Carol Chen" (contact without external id).
pub const CAROL: &str = "+14155550133";
/// External participant "Dave Diaz" (Standard and no-credits workspaces).
pub const DAVE: &str = "+14155550144";
/// A recipient in every workspace's A2P-unapproved set: sending to it answers `400`
/// "A2P Registration Not Approved" (`0206400`).
pub const A2P_UNAPPROVED_NUMBER: &str = "+14155550199";

/// Messages between [`SALES_PHONE_ID`] and [`ALICE`]: three pages at `maxResults=50`.
pub const SALES_ALICE_MESSAGES: usize = 120;
/// Messages between [`SALES_PHONE_ID`] and [`BOB`].
pub const SALES_BOB_MESSAGES: usize = 8;
/// Messages between [`SUPPORT_PHONE_ID`] and [`CAROL`].
pub const SUPPORT_CAROL_MESSAGES: usize = 12;
/// Messages between [`SUPPORT_PHONE_ID`] and [`ALICE`] (an archived conversation).
pub const SUPPORT_ALICE_MESSAGES: usize = 4;
/// Messages between [`STANDARD_MAIN_PHONE_ID`] and [`ALICE`].
pub const STANDARD_MAIN_ALICE_MESSAGES: usize = 30;

/// Conversation [`SALES_PHONE_ID`] ↔ [`ALICE`].
pub const SALES_ALICE_CONVERSATION_ID: &str = "CNbizConv001";
/// Conversation [`SUPPORT_PHONE_ID`] ↔ [`ALICE`], archived (`deletedAt` set; left out by
/// `excludeInactive=true`).
pub const ARCHIVED_CONVERSATION_ID: &str = "CNbizConv004";
/// Number of conversations in the Business workspace.
pub const BUSINESS_CONVERSATIONS: usize = 4;

/// Business call Sales ↔ Alice whose transcript is `completed`, with dialogue.
pub const CALL_TRANSCRIPT_COMPLETED: &str = "ACbizCall0001";
/// Business call Sales ↔ Alice whose transcript is `in-progress` (`dialogue: null`).
pub const CALL_TRANSCRIPT_IN_PROGRESS: &str = "ACbizCall0002";
/// Business call Sales ↔ Alice whose transcript is `absent` (`dialogue: null`).
pub const CALL_TRANSCRIPT_ABSENT: &str = "ACbizCall0003";
/// Business call Sales ↔ Alice (missed) with no transcript at all: `404` (`0600404`).
pub const CALL_WITHOUT_TRANSCRIPT: &str = "ACbizCall0004";
/// Business call Support ↔ Carol whose transcript is `failed` (`dialogue: null`).
pub const CALL_TRANSCRIPT_FAILED: &str = "ACbizCall0006";
/// Number of Business calls between [`SALES_PHONE_ID`] and [`ALICE`].
pub const SALES_ALICE_CALLS: usize = 4;
/// Standard call Main ↔ Alice; it has a completed transcript, but the plan answers `403`.
pub const STANDARD_CALL_ID: &str = "ACstdCall0001";

/// Business contact "Alice Adams".
pub const CONTACT_ALICE_ID: &str = "66a1b2c3d4e5f60718293a01";
/// External id of [`CONTACT_ALICE_ID`].
pub const CONTACT_ALICE_EXTERNAL_ID: &str = "crm-1001";
/// Business contact "Bob Brown", external id `crm-1002`.
pub const CONTACT_BOB_ID: &str = "66a1b2c3d4e5f60718293a02";

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// The data every workspace starts with.
#[derive(Debug, Clone)]
pub struct Seed {
    /// One workspace per API key.
    pub workspaces: Vec<Workspace>,
}

impl Default for Seed {
    /// The three documented workspaces.
    fn default() -> Self {
        Self {
            workspaces: vec![business(), standard(), no_credits()],
        }
    }
}

impl Seed {
    /// The workspace opened by `key`.
    #[must_use]
    pub fn workspace(&self, key: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|ws| ws.key == key)
    }

    /// The workspace opened by `key`, to change before starting a simulator with it.
    #[must_use]
    pub fn workspace_mut(&mut self, key: &str) -> Option<&mut Workspace> {
        self.workspaces.iter_mut().find(|ws| ws.key == key)
    }
}

/// Builds one workspace, numbering its records.
struct Builder {
    workspace: Workspace,
    tag: &'static str,
    next_seq: u64,
    messages: usize,
}

/// One seeded message thread.
struct Thread<'a> {
    phone_number_id: &'a str,
    participant: &'a str,
    name: &'a str,
    count: usize,
    start_ms: i64,
    step_ms: i64,
    user_id: &'a str,
    archived: bool,
}

impl Builder {
    fn new(key: &str, name: &str, plan: Plan, credits: u64, tag: &'static str) -> Self {
        Self {
            workspace: Workspace {
                key: key.to_owned(),
                name: name.to_owned(),
                plan,
                credits,
                group_id: format!("GR{tag}0001"),
                users: Vec::new(),
                phone_numbers: Vec::new(),
                conversations: Vec::new(),
                messages: Vec::new(),
                calls: Vec::new(),
                transcripts: Vec::new(),
                contacts: Vec::new(),
                custom_fields: Vec::new(),
                a2p_unapproved: vec![A2P_UNAPPROVED_NUMBER.to_owned()],
            },
            tag,
            next_seq: 1,
            messages: 0,
        }
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn user(&mut self, id: &str, first: &str, last: &str, role: &str) {
        self.workspace.users.push(User {
            id: id.to_owned(),
            email: format!(
                "{}@{}.example",
                first.to_ascii_lowercase(),
                self.workspace.name.to_ascii_lowercase().replace(' ', "-")
            ),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            role: role.to_owned(),
        });
    }

    fn phone_number(&mut self, id: &str, number: &str, name: &str, symbol: &str, users: &[&str]) {
        self.workspace.phone_numbers.push(PhoneNumber {
            id: id.to_owned(),
            number: number.to_owned(),
            name: name.to_owned(),
            symbol: Some(symbol.to_owned()),
            user_ids: users.iter().map(|&u| u.to_owned()).collect(),
            created_ms: utc_ms(2025, 6, 2, 9, 0, 0),
        });
    }

    /// Messages alternating outgoing / incoming, oldest first, and their conversation.
    fn thread(&mut self, thread: &Thread<'_>) {
        let Some(number) = self
            .workspace
            .phone_number(thread.phone_number_id)
            .map(|pn| pn.number.clone())
        else {
            return;
        };
        let mut last_id = None;
        let mut last_ms = thread.start_ms;
        for index in 0..thread.count {
            self.messages += 1;
            let id = format!("AC{}Msg{:05}", self.tag, self.messages);
            let created_ms = thread.start_ms + thread.step_ms * index as i64;
            let direction = if index % 2 == 0 {
                Direction::Outgoing
            } else {
                Direction::Incoming
            };
            let (from, to) = match direction {
                Direction::Outgoing => (number.clone(), thread.participant.to_owned()),
                Direction::Incoming => (thread.participant.to_owned(), number.clone()),
            };
            let seq = self.seq();
            self.workspace.messages.push(Message {
                id: id.clone(),
                phone_number_id: thread.phone_number_id.to_owned(),
                participant: thread.participant.to_owned(),
                direction,
                from,
                to: vec![to],
                text: format!(
                    "Message {} of {} between {} and {}",
                    index + 1,
                    thread.count,
                    thread.name,
                    number
                ),
                user_id: thread.user_id.to_owned(),
                status: "delivered".to_owned(),
                created_ms,
                updated_ms: created_ms,
                seq,
            });
            last_id = Some(id);
            last_ms = created_ms;
        }
        let seq = self.seq();
        let conversation_number = self.workspace.conversations.len() + 1;
        self.workspace.conversations.push(Conversation {
            id: format!("CN{}Conv{conversation_number:03}", self.tag),
            phone_number_id: thread.phone_number_id.to_owned(),
            participants: vec![thread.participant.to_owned()],
            name: Some(thread.name.to_owned()),
            assigned_to: None,
            created_ms: thread.start_ms,
            last_activity_ms: last_ms,
            last_activity_id: last_id,
            deleted_ms: thread.archived.then_some(last_ms + 24 * HOUR),
            seq,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        id: &str,
        phone_number_id: &str,
        participant: &str,
        direction: Direction,
        status: &str,
        user_id: &str,
        created_ms: i64,
        duration_s: i64,
    ) {
        let answered = matches!(status, "completed" | "in-progress");
        let seq = self.seq();
        self.workspace.calls.push(Call {
            id: id.to_owned(),
            phone_number_id: phone_number_id.to_owned(),
            participant: participant.to_owned(),
            direction,
            status: status.to_owned(),
            user_id: user_id.to_owned(),
            created_ms,
            answered_ms: answered.then_some(created_ms + 8_000),
            completed_ms: (status != "in-progress")
                .then_some(created_ms + 8_000 + duration_s * 1_000),
            duration_s,
            seq,
        });
    }

    fn transcript(&mut self, call_id: &str, status: &str, dialogue: Option<Vec<DialogueLine>>) {
        let Some(call) = self.workspace.calls.iter().find(|call| call.id == call_id) else {
            return;
        };
        self.workspace.transcripts.push(Transcript {
            call_id: call_id.to_owned(),
            status: status.to_owned(),
            dialogue,
            created_ms: call.completed_ms.unwrap_or(call.created_ms) + MINUTE,
            duration_s: call.duration_s as f64,
        });
    }

    fn contact(
        &mut self,
        id: &str,
        external_id: Option<&str>,
        first: &str,
        last: &str,
        phone: &str,
    ) {
        let created_ms =
            utc_ms(2025, 9, 15, 12, 0, 0) + self.workspace.contacts.len() as i64 * HOUR;
        let seq = self.seq();
        let owner = self
            .workspace
            .users
            .first()
            .map(|user| user.id.clone())
            .unwrap_or_default();
        self.workspace.contacts.push(Contact {
            id: id.to_owned(),
            external_id: external_id.map(str::to_owned),
            source: Some(
                if external_id.is_some() {
                    "crm-sync"
                } else {
                    "public-api"
                }
                .to_owned(),
            ),
            source_url: None,
            fields: ContactFields {
                first_name: Some(first.to_owned()),
                last_name: Some(last.to_owned()),
                company: Some(format!("{last} & Co")),
                role: None,
                emails: vec![LabeledValue {
                    id: format!("{id}-e1"),
                    name: "work".to_owned(),
                    value: Some(format!("{}@example.com", first.to_ascii_lowercase())),
                }],
                phone_numbers: vec![LabeledValue {
                    id: format!("{id}-p1"),
                    name: "mobile".to_owned(),
                    value: Some(phone.to_owned()),
                }],
            },
            custom: Vec::new(),
            created_ms,
            updated_ms: created_ms,
            created_by_user_id: owner,
            seq,
        });
    }

    fn custom_field(&mut self, name: &str, key: &str, kind: &str) {
        self.workspace.custom_fields.push(CustomField {
            name: name.to_owned(),
            key: key.to_owned(),
            kind: kind.to_owned(),
        });
    }
}

fn line(
    content: &str,
    start: f64,
    end: f64,
    identifier: &str,
    user_id: Option<&str>,
) -> DialogueLine {
    DialogueLine {
        content: content.to_owned(),
        start,
        end,
        identifier: identifier.to_owned(),
        user_id: user_id.map(str::to_owned),
    }
}

fn business() -> Workspace {
    let mut b = Builder::new(BUSINESS_KEY, "Acme Business", Plan::Business, 10_000, "biz");
    b.user(BUSINESS_OWNER_ID, "Olivia", "Ortiz", "owner");
    b.user(BUSINESS_AGENT_ID, "Aaron", "Abbott", "member");
    b.phone_number(
        SALES_PHONE_ID,
        SALES_NUMBER,
        "Sales",
        "💼",
        &[BUSINESS_OWNER_ID],
    );
    b.phone_number(
        SUPPORT_PHONE_ID,
        SUPPORT_NUMBER,
        "Support",
        "🛟",
        &[BUSINESS_OWNER_ID, BUSINESS_AGENT_ID],
    );
    b.thread(&Thread {
        phone_number_id: SALES_PHONE_ID,
        participant: ALICE,
        name: "Alice Adams",
        count: SALES_ALICE_MESSAGES,
        start_ms: utc_ms(2025, 11, 3, 14, 0, 0),
        step_ms: 47 * MINUTE,
        user_id: BUSINESS_OWNER_ID,
        archived: false,
    });
    b.thread(&Thread {
        phone_number_id: SALES_PHONE_ID,
        participant: BOB,
        name: "Bob Brown",
        count: SALES_BOB_MESSAGES,
        start_ms: utc_ms(2025, 12, 1, 9, 0, 0),
        step_ms: 2 * HOUR,
        user_id: BUSINESS_OWNER_ID,
        archived: false,
    });
    b.thread(&Thread {
        phone_number_id: SUPPORT_PHONE_ID,
        participant: CAROL,
        name: "Carol Chen",
        count: SUPPORT_CAROL_MESSAGES,
        start_ms: utc_ms(2026, 1, 12, 10, 0, 0),
        step_ms: 30 * MINUTE,
        user_id: BUSINESS_AGENT_ID,
        archived: false,
    });
    b.thread(&Thread {
        phone_number_id: SUPPORT_PHONE_ID,
        participant: ALICE,
        name: "Alice Adams",
        count: SUPPORT_ALICE_MESSAGES,
        start_ms: utc_ms(2025, 10, 20, 16, 0, 0),
        step_ms: HOUR,
        user_id: BUSINESS_AGENT_ID,
        archived: true,
    });
    let owner = BUSINESS_OWNER_ID;
    b.call(
        CALL_TRANSCRIPT_COMPLETED,
        SALES_PHONE_ID,
        ALICE,
        Direction::Outgoing,
        "completed",
        owner,
        utc_ms(2025, 11, 5, 15, 0, 0),
        184,
    );
    b.call(
        CALL_TRANSCRIPT_IN_PROGRESS,
        SALES_PHONE_ID,
        ALICE,
        Direction::Incoming,
        "completed",
        owner,
        utc_ms(2026, 1, 20, 17, 0, 0),
        95,
    );
    b.call(
        CALL_TRANSCRIPT_ABSENT,
        SALES_PHONE_ID,
        ALICE,
        Direction::Incoming,
        "completed",
        owner,
        utc_ms(2025, 11, 10, 11, 30, 0),
        42,
    );
    b.call(
        CALL_WITHOUT_TRANSCRIPT,
        SALES_PHONE_ID,
        ALICE,
        Direction::Incoming,
        "missed",
        owner,
        utc_ms(2025, 11, 12, 8, 15, 0),
        0,
    );
    b.call(
        "ACbizCall0005",
        SALES_PHONE_ID,
        BOB,
        Direction::Outgoing,
        "completed",
        owner,
        utc_ms(2025, 12, 2, 10, 0, 0),
        300,
    );
    b.call(
        CALL_TRANSCRIPT_FAILED,
        SUPPORT_PHONE_ID,
        CAROL,
        Direction::Incoming,
        "completed",
        BUSINESS_AGENT_ID,
        utc_ms(2026, 1, 13, 9, 45, 0),
        61,
    );
    b.transcript(
        CALL_TRANSCRIPT_COMPLETED,
        "completed",
        Some(vec![
            line(
                "Hi Alice, this is Olivia from Acme sales.",
                0.0,
                3.2,
                SALES_NUMBER,
                Some(owner),
            ),
            line("Hi Olivia! Thanks for calling back.", 3.5, 5.9, ALICE, None),
            line(
                "I wanted to confirm the renewal for next quarter.",
                6.3,
                9.8,
                SALES_NUMBER,
                Some(owner),
            ),
            line(
                "Yes, please send the paperwork over by email.",
                10.1,
                13.4,
                ALICE,
                None,
            ),
        ]),
    );
    b.transcript(CALL_TRANSCRIPT_IN_PROGRESS, "in-progress", None);
    b.transcript(CALL_TRANSCRIPT_ABSENT, "absent", None);
    b.transcript(
        "ACbizCall0005",
        "completed",
        Some(vec![
            line(
                "Bob, quick question about your order.",
                0.0,
                2.8,
                SALES_NUMBER,
                Some(owner),
            ),
            line("Sure, go ahead.", 3.0, 4.1, BOB, None),
        ]),
    );
    b.transcript(CALL_TRANSCRIPT_FAILED, "failed", None);
    b.custom_field("Lifecycle stage", "lifecycle", "string");
    b.custom_field("Lead score", "leadScore", "number");
    b.custom_field("VIP", "vip", "boolean");
    b.custom_field("Renewal date", "renewalDate", "date");
    b.contact(
        CONTACT_ALICE_ID,
        Some(CONTACT_ALICE_EXTERNAL_ID),
        "Alice",
        "Adams",
        ALICE,
    );
    b.contact(CONTACT_BOB_ID, Some("crm-1002"), "Bob", "Brown", BOB);
    b.contact("66a1b2c3d4e5f60718293a03", None, "Carol", "Chen", CAROL);
    if let Some(alice) = b.workspace.contacts.first_mut() {
        alice.custom.push(CustomValue {
            key: "lifecycle".to_owned(),
            value: json!("customer"),
        });
        alice.custom.push(CustomValue {
            key: "leadScore".to_owned(),
            value: json!(87),
        });
    }
    b.workspace
}

fn standard() -> Workspace {
    let mut b = Builder::new(STANDARD_KEY, "Bolt Standard", Plan::Standard, 10_000, "std");
    b.user(STANDARD_OWNER_ID, "Sam", "Stone", "owner");
    b.phone_number(
        STANDARD_MAIN_PHONE_ID,
        STANDARD_MAIN_NUMBER,
        "Main",
        "🏠",
        &[STANDARD_OWNER_ID],
    );
    b.phone_number(
        STANDARD_SUPPORT_PHONE_ID,
        STANDARD_SUPPORT_NUMBER,
        "Support",
        "🛠",
        &[STANDARD_OWNER_ID],
    );
    b.thread(&Thread {
        phone_number_id: STANDARD_MAIN_PHONE_ID,
        participant: ALICE,
        name: "Alice Adams",
        count: STANDARD_MAIN_ALICE_MESSAGES,
        start_ms: utc_ms(2025, 12, 15, 12, 0, 0),
        step_ms: HOUR,
        user_id: STANDARD_OWNER_ID,
        archived: false,
    });
    b.thread(&Thread {
        phone_number_id: STANDARD_SUPPORT_PHONE_ID,
        participant: DAVE,
        name: "Dave Diaz",
        count: 6,
        start_ms: utc_ms(2026, 2, 2, 8, 0, 0),
        step_ms: 20 * MINUTE,
        user_id: STANDARD_OWNER_ID,
        archived: false,
    });
    let owner = STANDARD_OWNER_ID;
    b.call(
        STANDARD_CALL_ID,
        STANDARD_MAIN_PHONE_ID,
        ALICE,
        Direction::Outgoing,
        "completed",
        owner,
        utc_ms(2025, 12, 16, 10, 0, 0),
        120,
    );
    b.call(
        "ACstdCall0002",
        STANDARD_SUPPORT_PHONE_ID,
        DAVE,
        Direction::Incoming,
        "missed",
        owner,
        utc_ms(2026, 2, 2, 9, 0, 0),
        0,
    );
    b.transcript(
        STANDARD_CALL_ID,
        "completed",
        Some(vec![line(
            "Hello from Bolt.",
            0.0,
            1.5,
            STANDARD_MAIN_NUMBER,
            Some(owner),
        )]),
    );
    b.custom_field("Lifecycle stage", "lifecycle", "string");
    b.contact(
        "66a1b2c3d4e5f60718293b01",
        Some("crm-2001"),
        "Dave",
        "Diaz",
        DAVE,
    );
    b.workspace
}

fn no_credits() -> Workspace {
    let mut b = Builder::new(NO_CREDITS_KEY, "Cobalt Trial", Plan::Standard, 0, "noc");
    b.user(NO_CREDITS_OWNER_ID, "Nora", "Nash", "owner");
    b.phone_number(
        NO_CREDITS_PHONE_ID,
        NO_CREDITS_NUMBER,
        "Main",
        "📞",
        &[NO_CREDITS_OWNER_ID],
    );
    b.thread(&Thread {
        phone_number_id: NO_CREDITS_PHONE_ID,
        participant: DAVE,
        name: "Dave Diaz",
        count: 3,
        start_ms: utc_ms(2026, 1, 5, 15, 0, 0),
        step_ms: 5 * MINUTE,
        user_id: NO_CREDITS_OWNER_ID,
        archived: false,
    });
    b.workspace
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_seed_is_deterministic() {
        let first = format!("{:?}", Seed::default());
        let second = format!("{:?}", Seed::default());
        assert_eq!(first, second);
    }

    #[test]
    fn constants_point_at_seeded_records() {
        let seed = Seed::default();
        let business = seed.workspace(BUSINESS_KEY).expect("business");
        assert_eq!(business.plan, Plan::Business);
        assert_eq!(
            business
                .phone_number(SALES_PHONE_ID)
                .map(|pn| pn.number.as_str()),
            Some(SALES_NUMBER)
        );
        assert_eq!(
            business
                .phone_number(SUPPORT_NUMBER)
                .map(|pn| pn.id.as_str()),
            Some(SUPPORT_PHONE_ID)
        );
        let sales_alice = business
            .messages
            .iter()
            .filter(|m| m.phone_number_id == SALES_PHONE_ID && m.participant == ALICE)
            .count();
        assert_eq!(sales_alice, SALES_ALICE_MESSAGES);
        assert!(business.messages.len() >= 120);
        assert_eq!(business.conversations.len(), BUSINESS_CONVERSATIONS);
        let conversation = &business.conversations[0];
        assert_eq!(conversation.id, SALES_ALICE_CONVERSATION_ID);
        assert_eq!(conversation.participants, vec![ALICE.to_owned()]);
        let archived = business
            .conversations
            .iter()
            .find(|c| c.id == ARCHIVED_CONVERSATION_ID)
            .expect("archived conversation");
        assert!(archived.deleted_ms.is_some());
        let transcript = |id: &str| business.transcripts.iter().find(|t| t.call_id == id);
        assert_eq!(
            transcript(CALL_TRANSCRIPT_COMPLETED).map(|t| t.status.as_str()),
            Some("completed")
        );
        assert!(transcript(CALL_TRANSCRIPT_COMPLETED).is_some_and(|t| t.dialogue.is_some()));
        assert_eq!(
            transcript(CALL_TRANSCRIPT_IN_PROGRESS).map(|t| t.status.as_str()),
            Some("in-progress")
        );
        assert_eq!(
            transcript(CALL_TRANSCRIPT_ABSENT).map(|t| t.status.as_str()),
            Some("absent")
        );
        assert_eq!(
            transcript(CALL_TRANSCRIPT_FAILED).map(|t| t.status.as_str()),
            Some("failed")
        );
        assert!(transcript(CALL_WITHOUT_TRANSCRIPT).is_none());
        let sales_alice_calls = business
            .calls
            .iter()
            .filter(|c| c.phone_number_id == SALES_PHONE_ID && c.participant == ALICE)
            .count();
        assert_eq!(sales_alice_calls, SALES_ALICE_CALLS);
        assert!(business.contacts.iter().any(|c| c.id == CONTACT_ALICE_ID
            && c.external_id.as_deref() == Some(CONTACT_ALICE_EXTERNAL_ID)));
        let sales = business.phone_number(SALES_PHONE_ID).expect("sales");
        assert!(!sales.user_ids.iter().any(|u| u == BUSINESS_AGENT_ID));

        let standard = seed.workspace(STANDARD_KEY).expect("standard");
        assert_eq!(standard.plan, Plan::Standard);
        assert!(standard.calls.iter().any(|c| c.id == STANDARD_CALL_ID));
        assert_eq!(seed.workspace(NO_CREDITS_KEY).map(|w| w.credits), Some(0));
    }

    #[test]
    fn ids_are_unique_and_prefixed() {
        let seed = Seed::default();
        let mut seen = HashSet::new();
        for ws in &seed.workspaces {
            for id in ws
                .messages
                .iter()
                .map(|m| &m.id)
                .chain(ws.calls.iter().map(|c| &c.id))
            {
                assert!(id.starts_with("AC"), "{id}");
                assert!(seen.insert(id.clone()), "duplicate {id}");
            }
            for c in &ws.conversations {
                assert!(c.id.starts_with("CN"));
                assert!(seen.insert(c.id.clone()));
            }
            for pn in &ws.phone_numbers {
                assert!(pn.id.starts_with("PN"));
                assert!(seen.insert(pn.id.clone()));
            }
            for user in &ws.users {
                assert!(user.id.starts_with("US"));
            }
        }
    }

    #[test]
    fn timestamps_lie_in_2025_and_2026() {
        let low = utc_ms(2025, 1, 1, 0, 0, 0);
        let high = utc_ms(2026, 3, 1, 0, 0, 0);
        for ws in Seed::default().workspaces {
            for m in &ws.messages {
                assert!((low..high).contains(&m.created_ms), "{}", m.id);
            }
            for c in &ws.calls {
                assert!((low..high).contains(&c.created_ms), "{}", c.id);
            }
        }
    }
}
