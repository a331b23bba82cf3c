//! A backend for unit tests: a sealing that is checked but trivial, a clock
//! the test moves, and tools that answer from a script.

use std::cell::{Cell, RefCell};

use openphone_gateway_bindings::openphone::mcp::types::{
    CallContext, ToolAnnotations, ToolDescriptor, ToolError, ToolOutput,
};

use crate::{Backend, Mode, Settings};

/// What a fake tool call answers.
pub type Answer = fn(&str, &str) -> Result<ToolOutput, ToolError>;

pub struct Fake {
    pub settings: Result<Settings, String>,
    pub slots: Vec<Vec<ToolDescriptor>>,
    pub answer: Answer,
    pub now: Cell<u64>,
    /// (tool, idempotency key) of every `begin-call`.
    pub begun: RefCell<Vec<(String, Option<String>)>>,
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
                public_url: Some("https://mcp.example.com/mcp".into()),
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
            calls: RefCell::default(),
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

    fn begin_call(&self, tool: &str, idempotency_key: Option<&str>) -> Result<(), String> {
        (self.begun.borrow_mut()).push((tool.into(), idempotency_key.map(str::to_owned)));
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

    fn now(&self) -> u64 {
        self.now.get()
    }
}
