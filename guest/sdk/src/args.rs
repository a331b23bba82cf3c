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
///
/// Only standard JSON Schema: schemars marks Rust's number types with formats
/// of its own (`uint`, `uint64`, `int32`, `double`…), which clients' validators
/// do not know and warn about on every `tools/list`. Those formats are
/// dropped, and a bounded integer type gets its bounds as `minimum`/`maximum`
/// instead (tighter bounds a field declares are kept).
pub fn input_schema<T: JsonSchema>() -> String {
    let mut schema = schemars::schema_for!(T);
    // MCP clients show the description of the tool, not of the type.
    schema.remove("title");
    let mut value = schema.to_value();
    standard_formats_only(&mut value);
    value.to_string()
}

/// The formats JSON Schema 2020-12 defines (its "Defined Formats" section).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// The range of the integer type a schemars format stands for, where it fits
/// exactly in a JSON number a client parses as a double (so not 64 bits).
fn integer_range(format: &str) -> Option<(i64, i64)> {
    Some(match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        _ => return None,
    })
}

/// Removes every non-standard `format` in `schema` and its subschemas,
/// turning integer formats into bounds.
fn standard_formats_only(schema: &mut serde_json::Value) {
    use serde_json::Value;
    match schema {
        Value::Object(object) => {
            let non_standard = match object.get("format") {
                Some(Value::String(format)) => !STANDARD_FORMATS.contains(&format.as_str()),
                _ => false,
            };
            if non_standard {
                let format = object.remove("format");
                if let Some((min, max)) = format
                    .as_ref()
                    .and_then(Value::as_str)
                    .and_then(integer_range)
                {
                    tighten(object, "minimum", min, |declared| declared < min as f64);
                    tighten(object, "maximum", max, |declared| declared > max as f64);
                }
            }
            // Examples and defaults are instances, not schemas: left as they are.
            for (keyword, child) in object.iter_mut() {
                if !matches!(keyword.as_str(), "examples" | "default" | "const" | "enum") {
                    standard_formats_only(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(standard_formats_only),
        _ => {}
    }
}

/// Sets `keyword` to `bound` unless a bound at least as tight is declared.
fn tighten(
    object: &mut serde_json::Map<String, serde_json::Value>,
    keyword: &str,
    bound: i64,
    looser: impl Fn(f64) -> bool,
) {
    let keep = object
        .get(keyword)
        .and_then(serde_json::Value::as_f64)
        .is_some_and(|declared| !looser(declared));
    if !keep {
        object.insert(keyword.to_owned(), bound.into());
    }
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

    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code)] // only described
    struct Numbers {
        small: u8,
        count: usize,
        total: u64,
        offset: i32,
        ratio: f64,
        maybe: Option<u16>,
        many: Vec<u32>,
        /// Declares tighter bounds than its type.
        #[schemars(range(min = 1, max = 100))]
        limit: u32,
        when: String,
        #[schemars(example = serde_json::json!({"format": "uint"}))]
        format: Inner,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code)] // only described
    struct Inner {
        format: String,
        seconds: u64,
    }

    fn formats(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(object) => {
                for (key, child) in object {
                    if key == "format" && child.is_string() {
                        found.push(child.as_str().unwrap_or_default().to_owned());
                    }
                    if key != "examples" {
                        formats(child, found);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| formats(item, found)),
            _ => {}
        }
    }

    #[test]
    fn schemas_use_standard_formats_and_integer_bounds() {
        let schema: serde_json::Value =
            serde_json::from_str(&input_schema::<Numbers>()).expect("schema is JSON");
        let mut found = Vec::new();
        formats(&schema, &mut found);
        assert!(
            found.is_empty(),
            "non-standard formats left: {found:?} in {schema}"
        );

        let property = |name: &str| &schema["properties"][name];
        assert_eq!(property("small")["minimum"], 0);
        assert_eq!(property("small")["maximum"], 255);
        assert_eq!(property("count")["minimum"], 0);
        assert_eq!(property("total")["minimum"], 0);
        assert_eq!(property("offset")["minimum"], i32::MIN);
        assert_eq!(property("offset")["maximum"], i32::MAX);
        assert_eq!(property("ratio")["type"], "number");
        assert_eq!(property("maybe")["maximum"], 65535);
        assert_eq!(property("many")["items"]["maximum"], u32::MAX);
        assert_eq!(property("limit")["minimum"], 1, "declared bounds are kept");
        assert_eq!(
            property("limit")["maximum"],
            100,
            "declared bounds are kept"
        );
        // Instances are not touched.
        assert_eq!(property("format")["examples"][0]["format"], "uint");
        let inner = &schema["$defs"]["Inner"]["properties"];
        assert_eq!(
            inner["format"]["type"], "string",
            "a property named `format` is kept"
        );
        assert_eq!(inner["seconds"]["minimum"], 0);
    }

    #[test]
    fn standard_formats_are_kept() {
        let mut schema = serde_json::json!({"type": "string", "format": "date-time"});
        standard_formats_only(&mut schema);
        assert_eq!(schema["format"], "date-time");
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
