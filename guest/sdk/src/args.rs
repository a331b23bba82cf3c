//! Arguments in, schemas out.
//!
//! A tool declares its arguments as a `Deserialize + JsonSchema` struct: the
//! same type yields the input schema in `tools/list` and parses the call, so
//! the two cannot drift apart.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::ToolError;

/// Parses a call's arguments, naming the offending field on failure
/// (`to: `12` is not an E.164 phone number…`).
pub fn parse_arguments<T: DeserializeOwned>(arguments: &str) -> Result<T, ToolError> {
    let mut de = serde_json::Deserializer::from_str(arguments);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // serde_json appends " at line 1 column 42", which means nothing to a model.
        let inner = match inner.find(" at line ") {
            Some(at) => inner[..at].to_owned(),
            None => inner,
        };
        ToolError::InvalidArguments(if path == "." {
            inner
        } else {
            format!("`{path}`: {inner}")
        })
    })
}

/// The JSON Schema (2020-12) of `T`, as the JSON text `tool-descriptor` carries.
pub fn input_schema<T: JsonSchema>() -> String {
    let mut schema = schemars::schema_for!(T);
    // MCP clients show the description of the tool, not of the type.
    schema.remove("title");
    schema.to_value().to_string()
}

/// The JSON Schema of a tool's structured output.
pub fn output_schema<T: JsonSchema>() -> String {
    input_schema::<T>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::E164;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)] // only parsed
    struct Args {
        /// Who to text.
        to: E164,
        content: String,
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse_arguments::<Args>(r#"{"to":"555","content":"hi"}"#).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`to`"), "{msg}");
        assert!(msg.contains("E.164"), "{msg}");
        assert!(!msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn missing_and_unknown_fields_are_reported() {
        let msg = parse_arguments::<Args>(r#"{"to":"+15555550123"}"#)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("missing field `content`"), "{msg}");
        let msg = parse_arguments::<Args>(r#"{"to":"+15555550123","content":"x","cc":1}"#)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown field `cc`"), "{msg}");
    }

    #[test]
    fn schema_is_an_object_with_descriptions() {
        let schema: serde_json::Value = serde_json::from_str(&input_schema::<Args>()).unwrap();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["to"]["description"], "Who to text.");
        assert_eq!(schema["properties"]["to"]["pattern"], r"^\+[1-9]\d{1,14}$");
        assert!(schema.get("title").is_none());
    }
}
