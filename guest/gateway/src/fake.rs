//! A backend for unit tests: a sealing that is checked but trivial, a clock
//! the test moves, and tools that answer from a script.

use std::cell::{Cell, RefCell};

use openphone_gateway_bindings::openphone::mcp::types::{
    CallContext, Principal, TokenError, ToolAnnotations, ToolDescriptor, ToolError, ToolOutput,
};

use std::collections::HashMap;

use crate::{Backend, CallRefusal, Claim, ClaimKey, Mode, Reply, Request, Settings};

/// The token the fake auth component accepts, and the grant it speaks for.
pub const TOKEN: &str = "token-of-grant-1";
/// A second grant's token (scope `messages:read` only).
pub const READ_ONLY_TOKEN: &str = "token-of-grant-2";

/// What a fake tool call answers.
pub type Answer = fn(&str, &str) -> Result<ToolOutput, ToolError>;

/// One `begin-call`: tool, grant, idempotency key.
pub type Begun = (String, Option<String>, Option<String>);

pub struct Fake {
    pub settings: Result<Settings, String>,
    pub slots: Vec<Vec<ToolDescriptor>>,
    pub answer: Answer,
    pub now: Cell<u64>,
    /// (tool, grant, idempotency key) of every `begin-call`.
    pub begun: RefCell<Vec<Begun>>,
    /// Claimed keys and their recorded outcome (`None`: running).
    pub claims: RefCell<HashMap<String, (String, Option<String>)>>,
    /// Times `after_auth_request` ran.
    pub sweeps: Cell<u32>,
    /// (path, query) of every request handed to the auth component.
    pub auth_requests: RefCell<Vec<(String, String)>>,
    /// (slot, name, arguments, context) of every call.
    pub calls: RefCell<Vec<(usize, String, String, CallContext)>>,
}

pub fn descriptor(name: &str, scope: &str) -> ToolDescriptor {
    ToolDescriptor {
        name: name.into(),
        title: name.into(),
        description: format!("{name} does things"),
        input_schema: r#"{"type":"object"}"#.into(),
        output_schema: None,
        annotations: ToolAnnotations {
            read_only: false,
            destructive: false,
            idempotent: false,
            open_world: true,
        },
        scope: scope.into(),
        resumable: false,
    }
}

impl Default for Fake {
    fn default() -> Self {
        Fake {
            settings: Ok(Settings {
                mode: Mode::SingleUser,
                public_url: Some("https://mcp.example.com".into()),
                profiles: Vec::new(),
            }),
            slots: vec![
                vec![descriptor("send-message", "messages:send")],
                vec![descriptor("fetch-messages", "messages:read")],
            ],
            answer: |name, arguments| {
                Ok(ToolOutput {
                    text: format!("{name} ran with {arguments}"),
                    structured: Some(r#"{"ok":true}"#.into()),
                    is_error: false,
                })
            },
            now: Cell::new(1_800_000_000),
            begun: RefCell::default(),
            claims: RefCell::default(),
            sweeps: Cell::new(0),
            auth_requests: RefCell::default(),
            calls: RefCell::default(),
        }
    }
}

impl Fake {
    /// A backend in OAuth mode at `https://mcp.example.com`.
    pub fn oauth() -> Self {
        Fake {
            settings: Ok(Settings {
                mode: Mode::OAuth,
                public_url: Some("https://mcp.example.com".into()),
                profiles: Vec::new(),
            }),
            ..Fake::default()
        }
    }
}

impl Backend for Fake {
    fn settings(&self) -> Result<Settings, String> {
        self.settings.clone()
    }

    fn seal(&self, state: &str) -> Result<String, String> {
        let hex: String = state.bytes().map(|b| format!("{b:02x}")).collect();
        Ok(format!("sealed.{hex}"))
    }

    fn open(&self, id: &str) -> Option<String> {
        let hex = id.strip_prefix("sealed.")?;
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        String::from_utf8(bytes?).ok()
    }

    fn descriptors(&self) -> Vec<Vec<ToolDescriptor>> {
        self.slots.clone()
    }

    fn begin_call(
        &self,
        tool: &str,
        grant: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<(), CallRefusal> {
        (self.begun.borrow_mut()).push((
            tool.into(),
            grant.map(str::to_owned),
            idempotency_key.map(str::to_owned),
        ));
        Ok(())
    }

    fn call(
        &self,
        slot: usize,
        name: &str,
        arguments: &str,
        context: &CallContext,
    ) -> Result<ToolOutput, ToolError> {
        (self.calls.borrow_mut()).push((slot, name.into(), arguments.into(), context.clone()));
        (self.answer)(name, arguments)
    }

    fn claim(&self, key: ClaimKey<'_>, arguments: &str, _resumable: bool) -> Result<Claim, String> {
        let mut claims = self.claims.borrow_mut();
        let key = format!("{key:?}");
        Ok(match claims.get(&key) {
            None => {
                claims.insert(key, (arguments.to_owned(), None));
                Claim::Run { resumed: false }
            }
            Some((claimed, _)) if claimed != arguments => Claim::Conflict,
            Some((_, Some(outcome))) => Claim::Replay(outcome.clone()),
            Some((_, None)) => Claim::Busy,
        })
    }

    fn settle(&self, key: ClaimKey<'_>, outcome: Option<&str>) -> Result<(), String> {
        let mut claims = self.claims.borrow_mut();
        let key = format!("{key:?}");
        match outcome {
            None => {
                claims.remove(&key);
            }
            Some(outcome) => {
                if let Some(claim) = claims.get_mut(&key) {
                    claim.1 = Some(outcome.to_owned());
                }
            }
        }
        Ok(())
    }

    fn now(&self) -> u64 {
        self.now.get()
    }

    fn auth_routes(&self) -> Vec<String> {
        vec!["/token".into(), "/authorize".into()]
    }

    fn auth_handle(&self, request: &Request) -> Reply {
        (self.auth_requests.borrow_mut()).push((request.path.clone(), request.query.clone()));
        Reply {
            status: 200,
            headers: vec![
                ("content-type".into(), "text/html".into()),
                ("referrer-policy".into(), "same-origin".into()),
                ("x-frame-options".into(), "SAMEORIGIN".into()),
            ],
            body: b"<p>consent</p>".to_vec(),
        }
    }

    fn after_auth_request(&self) {
        self.sweeps.set(self.sweeps.get() + 1);
    }

    fn verify(&self, bearer: &str, resource: &str) -> Result<Principal, TokenError> {
        if resource != "https://mcp.example.com/mcp" {
            return Err(TokenError::WrongResource);
        }
        let (grant, scopes) = match bearer {
            TOKEN => ("grant-1", vec!["messages:send", "messages:read"]),
            READ_ONLY_TOKEN => ("grant-2", vec!["messages:read"]),
            "unavailable" => return Err(TokenError::Unavailable("store down".into())),
            _ => return Err(TokenError::Unknown),
        };
        Ok(Principal {
            grant: grant.into(),
            client_id: "client-1".into(),
            scopes: scopes.into_iter().map(str::to_owned).collect(),
        })
    }
}
