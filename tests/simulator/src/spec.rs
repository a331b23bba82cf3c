//! The OpenAPI description of the API: loading it, matching a request to an operation and
//! validating the request's path, query and JSON body against the operation's schemas.
//!
//! Schemas are JSON Schema 2020-12 (OpenAPI 3.1); `#/components/...` references resolve because
//! every schema is compiled inside a root document that carries the spec's `components`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use http::Method;
use jsonschema::Validator;
use serde_json::{Map, Value, json};

/// Environment variable that overrides where the spec is read from.
pub const SPEC_PATH_ENV: &str = "OPENPHONE_OPENAPI_SPEC";

/// Longest problem text kept; longer ones (a 1,700-character `content` quoted back) are cut.
const MAX_PROBLEM_CHARS: usize = 300;

/// Why the spec could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read the OpenAPI spec at {path}: {source}")]
    Read {
        /// Where it was looked for.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("the OpenAPI spec at {path} is not JSON: {source}")]
    Parse {
        /// Where it was read from.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The document lacks something the simulator relies on.
    #[error("the OpenAPI spec is malformed: {0}")]
    Malformed(String),
    /// One of the operation's schemas is not a valid JSON Schema.
    #[error("schema for {part} of {operation} does not compile: {message}")]
    Schema {
        /// The operation id.
        operation: String,
        /// `path parameters`, `query parameters`, `request body` or a response.
        part: String,
        /// The compiler's message.
        message: String,
    },
}

/// Where the spec is read from when nothing else is said: `$OPENPHONE_OPENAPI_SPEC` if set,
/// otherwise `/work/shared/openphone/openapi.json` as seen from this crate's directory.
#[must_use]
pub fn default_spec_path() -> PathBuf {
    std::env::var_os(SPEC_PATH_ENV).map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/openphone/openapi.json"
            ))
        },
        PathBuf::from,
    )
}

/// A loaded spec: its operations with compiled validators.
#[derive(Debug)]
pub struct Spec {
    operations: Vec<Operation>,
    components: Value,
}

/// One operation (`GET /v1/messages`).
#[derive(Debug)]
pub struct Operation {
    /// HTTP method.
    pub method: Method,
    /// Path template as written in the spec, e.g. `/v1/messages/{id}`.
    pub path_template: String,
    /// The spec's `operationId`, e.g. `listMessages_v1`.
    pub operation_id: String,
    segments: Vec<Segment>,
    path_params: ParamSet,
    query_params: ParamSet,
    body: Option<BodySchema>,
    responses: Value,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug)]
struct ParamSet {
    params: Vec<Param>,
    validator: Option<Validator>,
}

#[derive(Debug)]
struct Param {
    name: String,
    array: bool,
    kind: Kind,
}

/// The JSON type a query value is converted to before validation.
#[derive(Debug, Clone, Copy)]
enum Kind {
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug)]
struct BodySchema {
    required: bool,
    validator: Validator,
}

/// The parts of an HTTP request that validation looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Method, e.g. `POST`.
    pub method: &'a str,
    /// Path without the query, still percent-encoded.
    pub path: &'a str,
    /// Raw query string without `?`.
    pub query: Option<&'a str>,
    /// `Content-Type` header value.
    pub content_type: Option<&'a str>,
    /// Body bytes (empty when there is none).
    pub body: &'a [u8],
}

/// Query parameters as decoded from the query string, in order, keyed by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams(BTreeMap<String, Vec<String>>);

impl QueryParams {
    /// Decodes a raw query string (`application/x-www-form-urlencoded`: `+` is a space).
    #[must_use]
    pub fn parse(raw: Option<&str>) -> Self {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            map.entry(key.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        Self(map)
    }

    /// The first value of `name`.
    #[must_use]
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of `name` (repeated keys), in order.
    #[must_use]
    pub fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.0.iter()
    }
}

/// The result of checking a request against the spec.
#[derive(Debug)]
pub struct CheckedRequest<'s> {
    /// The operation matched by method and path; `None` when nothing in the spec matches.
    pub operation: Option<&'s Operation>,
    /// Decoded path parameters by name (`id` → `AC123`).
    pub path_params: BTreeMap<String, String>,
    /// Decoded query parameters.
    pub query: QueryParams,
    /// The body parsed as JSON, when it is JSON.
    pub body: Option<Value>,
    /// Every way the request departs from the spec; empty when it conforms.
    pub problems: Vec<String>,
}

/// What the path and method of a request match.
#[derive(Debug)]
pub enum Lookup<'s> {
    /// An operation, with its decoded path parameters.
    Found(&'s Operation, BTreeMap<String, String>),
    /// The path exists but not with this method; the methods it has.
    WrongMethod(Vec<Method>),
    /// No path template matches.
    NoPath,
}

/// Reads and compiles the spec at `path`, once per path for the whole process.
///
/// # Errors
/// When the file cannot be read or parsed, or its schemas do not compile.
pub fn load_cached(path: &Path) -> Result<Arc<Spec>, SpecError> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Spec>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(spec) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(path)
    {
        return Ok(Arc::clone(spec));
    }
    let spec = Arc::new(Spec::load(path)?);
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(path.to_path_buf(), Arc::clone(&spec));
    Ok(spec)
}

impl Spec {
    /// Reads and compiles the spec at `path`.
    ///
    /// # Errors
    /// When the file cannot be read or parsed, or its schemas do not compile.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let document: Value = serde_json::from_str(&text).map_err(|source| SpecError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_document(&document)
    }

    /// Compiles an already parsed OpenAPI document.
    ///
    /// # Errors
    /// When `paths` is missing or a schema does not compile.
    pub fn from_document(document: &Value) -> Result<Self, SpecError> {
        let components = document.get("components").cloned().unwrap_or(json!({}));
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| SpecError::Malformed("no `paths` object".to_owned()))?;
        let mut operations = Vec::new();
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method_name, operation) in item {
                let Ok(method) = Method::from_bytes(method_name.to_ascii_uppercase().as_bytes())
                else {
                    continue;
                };
                if !operation.is_object() || method_name == "parameters" {
                    continue;
                }
                operations.push(Operation::compile(
                    method,
                    template,
                    operation,
                    &components,
                )?);
            }
        }
        Ok(Self {
            operations,
            components,
        })
    }

    /// Every operation in the spec.
    #[must_use]
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation for `method` and a (percent-encoded) `path`. A template with more literal
    /// segments wins over one with parameters (`/v1/webhooks/messages` over `/v1/webhooks/{id}`).
    #[must_use]
    pub fn lookup(&self, method: &str, path: &str) -> Lookup<'_> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(usize, &Operation, BTreeMap<String, String>)> = None;
        let mut other_methods = Vec::new();
        for operation in &self.operations {
            let Some(params) = operation.match_path(&segments) else {
                continue;
            };
            if operation.method.as_str() != method {
                other_methods.push(operation.method.clone());
                continue;
            }
            let literals = operation.literal_count();
            if best.as_ref().is_none_or(|(count, ..)| literals > *count) {
                best = Some((literals, operation, params));
            }
        }
        match best {
            Some((_, operation, params)) => Lookup::Found(operation, params),
            None if other_methods.is_empty() => Lookup::NoPath,
            None => Lookup::WrongMethod(other_methods),
        }
    }

    /// Matches the request to an operation and lists every way it departs from the spec:
    /// unknown path or method, path parameters, query parameters (required, type, pattern,
    /// bounds, enums, repeated keys), content type and JSON body.
    #[must_use]
    pub fn check(&self, request: &RequestParts<'_>) -> CheckedRequest<'_> {
        let query = QueryParams::parse(request.query);
        let mut checked = CheckedRequest {
            operation: None,
            path_params: BTreeMap::new(),
            query,
            body: None,
            problems: Vec::new(),
        };
        let (operation, path_params) = match self.lookup(request.method, request.path) {
            Lookup::Found(operation, params) => (operation, params),
            Lookup::WrongMethod(allowed) => {
                let allowed: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                checked.problems.push(format!(
                    "the spec has no {} operation on {}; it documents {}",
                    request.method,
                    request.path,
                    allowed.join(", ")
                ));
                return checked;
            }
            Lookup::NoPath => {
                checked.problems.push(format!(
                    "no path in the spec matches {} {}",
                    request.method, request.path
                ));
                return checked;
            }
        };
        checked.operation = Some(operation);
        operation.check_path(&path_params, &mut checked.problems);
        checked.path_params = path_params;
        operation.check_query(&checked.query, &mut checked.problems);
        checked.body = operation.check_body(request, &mut checked.problems);
        checked
    }

    /// Checks a response the simulator (or anything else) produced against the operation's
    /// documented response schema for `status`; lists the problems (empty when it conforms,
    /// or when the spec documents no JSON body for that status).
    #[must_use]
    pub fn response_problems(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Vec<String> {
        let Lookup::Found(operation, _) = self.lookup(method, path) else {
            return vec![format!("no operation in the spec for {method} {path}")];
        };
        let Some(response) = operation.responses.get(status.to_string()) else {
            return vec![format!(
                "{} documents no {status} response",
                operation.operation_id
            )];
        };
        let Some(schema) = response.pointer("/content/application~1json/schema") else {
            return Vec::new();
        };
        match compile(schema, &self.components) {
            Ok(validator) => validator
                .iter_errors(body)
                .map(|error| describe("response", &error))
                .collect(),
            Err(message) => vec![format!("response schema does not compile: {message}")],
        }
    }
}

impl Operation {
    fn compile(
        method: Method,
        template: &str,
        operation: &Value,
        components: &Value,
    ) -> Result<Self, SpecError> {
        let operation_id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .map_or_else(|| format!("{method} {template}"), str::to_owned);
        let segments = template
            .trim_start_matches('/')
            .split('/')
            .map(|segment| {
                segment
                    .strip_prefix('{')
                    .and_then(|s| s.strip_suffix('}'))
                    .map_or_else(
                        || Segment::Literal(segment.to_owned()),
                        |name| Segment::Param(name.to_owned()),
                    )
            })
            .collect();
        let parameters = operation
            .get("parameters")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let schema_error = |part: &str, message: String| SpecError::Schema {
            operation: operation_id.clone(),
            part: part.to_owned(),
            message,
        };
        let path_params = ParamSet::compile(parameters, "path", components)
            .map_err(|message| schema_error("path parameters", message))?;
        let query_params = ParamSet::compile(parameters, "query", components)
            .map_err(|message| schema_error("query parameters", message))?;
        let body = match operation.get("requestBody") {
            Some(request_body) => {
                let schema = request_body
                    .pointer("/content/application~1json/schema")
                    .ok_or_else(|| {
                        schema_error("request body", "no application/json schema".to_owned())
                    })?;
                Some(BodySchema {
                    required: request_body
                        .get("required")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    validator: compile(schema, components)
                        .map_err(|message| schema_error("request body", message))?,
                })
            }
            None => None,
        };
        Ok(Self {
            method,
            path_template: template.to_owned(),
            operation_id,
            segments,
            path_params,
            query_params,
            body,
            responses: operation.get("responses").cloned().unwrap_or(json!({})),
        })
    }

    fn match_path(&self, segments: &[&str]) -> Option<BTreeMap<String, String>> {
        if segments.len() != self.segments.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        for (expected, actual) in self.segments.iter().zip(segments) {
            match expected {
                Segment::Literal(literal) if literal == actual => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if actual.is_empty() => return None,
                Segment::Param(name) => {
                    let decoded = percent_encoding::percent_decode_str(actual)
                        .decode_utf8_lossy()
                        .into_owned();
                    params.insert(name.clone(), decoded);
                }
            }
        }
        Some(params)
    }

    fn literal_count(&self) -> usize {
        self.segments
            .iter()
            .filter(|segment| matches!(segment, Segment::Literal(_)))
            .count()
    }

    /// Whether the spec documents a request body for this operation.
    #[must_use]
    pub fn has_body(&self) -> bool {
        self.body.is_some()
    }

    /// The `code` and `title` constants the spec documents for an error `status` of this
    /// operation, and the `description` its schema requires, if any.
    #[must_use]
    pub fn documented_error(&self, status: u16) -> Option<DocumentedError> {
        let schema = self
            .responses
            .get(status.to_string())?
            .pointer("/content/application~1json/schema")?;
        let properties = schema.get("properties")?;
        let code = properties.pointer("/code/const")?.as_str()?.to_owned();
        let title = properties.pointer("/title/const")?.as_str()?.to_owned();
        let requires_description = schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|required| required.iter().any(|name| name == "description"));
        let description = requires_description.then(|| {
            properties
                .pointer("/description/const")
                .and_then(Value::as_str)
                .unwrap_or(&title)
                .to_owned()
        });
        Some(DocumentedError {
            code,
            title,
            description,
        })
    }

    /// The two-digit resource prefix of this operation's error codes (`02` for messages).
    #[must_use]
    pub fn error_resource(&self) -> String {
        self.documented_error(401)
            .or_else(|| {
                self.responses
                    .as_object()
                    .into_iter()
                    .flat_map(|map| map.keys())
                    .filter_map(|status| status.parse().ok())
                    .find_map(|status| self.documented_error(status))
            })
            .and_then(|documented| documented.code.get(..2).map(str::to_owned))
            .unwrap_or_else(|| "00".to_owned())
    }

    fn check_path(&self, params: &BTreeMap<String, String>, problems: &mut Vec<String>) {
        let Some(validator) = &self.path_params.validator else {
            return;
        };
        let instance = Value::Object(
            params
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect(),
        );
        problems.extend(
            validator
                .iter_errors(&instance)
                .map(|error| describe("path parameter", &error)),
        );
    }

    fn check_query(&self, query: &QueryParams, problems: &mut Vec<String>) {
        let mut instance = Map::new();
        let mut hints = Vec::new();
        for (name, values) in query.iter() {
            for value in values {
                if looks_like_unencoded_plus(value) {
                    hints.push(truncate(format!(
                        "query parameter `{name}` value {value:?} looks like an E.164 number whose \
                         `+` was sent unencoded (a literal `+` in a query decodes to a space; send `%2B`)"
                    )));
                }
            }
            let Some(param) = self.query_params.params.iter().find(|p| &p.name == name) else {
                problems.push(format!(
                    "query parameter `{name}` is not documented for {} {}",
                    self.method, self.path_template
                ));
                continue;
            };
            let converted = if param.array {
                Value::Array(values.iter().map(|v| param.kind.convert(v)).collect())
            } else {
                if values.len() > 1 {
                    problems.push(format!(
                        "query parameter `{name}` is given {} times but takes a single value",
                        values.len()
                    ));
                }
                values
                    .first()
                    .map_or(Value::Null, |value| param.kind.convert(value))
            };
            instance.insert(name.clone(), converted);
        }
        if let Some(validator) = &self.query_params.validator {
            let instance = Value::Object(instance);
            problems.extend(
                validator
                    .iter_errors(&instance)
                    .map(|error| describe("query parameter", &error)),
            );
        }
        problems.extend(hints);
    }

    fn check_body(&self, request: &RequestParts<'_>, problems: &mut Vec<String>) -> Option<Value> {
        let Some(schema) = &self.body else {
            if !request.body.is_empty() {
                problems.push(format!(
                    "{} {} takes no request body but one of {} bytes was sent",
                    self.method,
                    self.path_template,
                    request.body.len()
                ));
            }
            return None;
        };
        if request.body.is_empty() {
            if schema.required {
                problems.push("the request body is required (a JSON object)".to_owned());
            }
            return None;
        }
        let media_type = request
            .content_type
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase());
        if media_type.as_deref() != Some("application/json") {
            problems.push(format!(
                "Content-Type must be application/json, got {}",
                request
                    .content_type
                    .map_or_else(|| "none".to_owned(), |value| format!("{value:?}"))
            ));
        }
        let body: Value = match serde_json::from_slice(request.body) {
            Ok(body) => body,
            Err(error) => {
                problems.push(format!("the request body is not valid JSON: {error}"));
                return None;
            }
        };
        problems.extend(
            schema
                .validator
                .iter_errors(&body)
                .map(|error| describe("body", &error)),
        );
        Some(body)
    }
}

/// An error response the spec documents for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentedError {
    /// Seven-digit code, e.g. `0206400`.
    pub code: String,
    /// Title, e.g. `A2P Registration Not Approved`.
    pub title: String,
    /// The `description` the schema requires (its `const`), when it requires one.
    pub description: Option<String>,
}

impl ParamSet {
    fn compile(parameters: &[Value], location: &str, components: &Value) -> Result<Self, String> {
        let mut params = Vec::new();
        let mut properties = Map::new();
        let mut required = Vec::new();
        for parameter in parameters {
            if parameter.get("in").and_then(Value::as_str) != Some(location) {
                continue;
            }
            let Some(name) = parameter.get("name").and_then(Value::as_str) else {
                continue;
            };
            let schema = parameter.get("schema").cloned().unwrap_or(json!({}));
            let array = schema.get("type").and_then(Value::as_str) == Some("array");
            let kind = Kind::of(if array {
                schema.get("items").unwrap_or(&Value::Null)
            } else {
                &schema
            });
            if parameter.get("required").and_then(Value::as_bool) == Some(true) {
                required.push(Value::String(name.to_owned()));
            }
            properties.insert(name.to_owned(), schema);
            params.push(Param {
                name: name.to_owned(),
                array,
                kind,
            });
        }
        let validator = if params.is_empty() {
            None
        } else {
            let schema = json!({"type": "object", "properties": properties, "required": required});
            Some(compile(&schema, components)?)
        };
        Ok(Self { params, validator })
    }
}

impl Kind {
    fn of(schema: &Value) -> Self {
        match schema.get("type").and_then(Value::as_str) {
            Some("integer") => Self::Integer,
            Some("number") => Self::Number,
            Some("boolean") => Self::Boolean,
            _ => Self::String,
        }
    }

    /// Turns query text into the JSON value the schema expects; text that does not convert
    /// stays a string so that the schema's `type` reports it.
    fn convert(self, text: &str) -> Value {
        let converted = match self {
            Self::String => None,
            Self::Integer => text.parse::<i64>().ok().map(Value::from),
            Self::Number => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            Self::Boolean => match text {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
        };
        converted.unwrap_or_else(|| Value::String(text.to_owned()))
    }
}

/// A space followed only by digits: what `+15555550123` becomes when `+` is not encoded.
fn looks_like_unencoded_plus(value: &str) -> bool {
    value
        .strip_prefix(' ')
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
}

/// Compiles `schema` inside a root document holding the spec's `components`.
fn compile(schema: &Value, components: &Value) -> Result<Validator, String> {
    let mut root = match schema {
        Value::Object(map) => map.clone(),
        other => {
            let mut map = Map::new();
            map.insert("allOf".to_owned(), json!([other]));
            map
        }
    };
    root.insert("components".to_owned(), components.clone());
    let mut root = Value::Object(root);
    strip_examples(&mut root);
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .map_err(|error| error.to_string())
}

/// Removes `examples`/`example` annotations: they do not affect validation, and the published
/// spec has some that break the meta-schema (`"examples": "U55wgP5I5"`, not an array).
/// Keys of `properties`-like maps are property names, not keywords, and are kept.
fn strip_examples(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("examples");
            map.remove("example");
            for (keyword, value) in map.iter_mut() {
                match keyword.as_str() {
                    "properties" | "patternProperties" | "$defs" | "definitions"
                    | "dependentSchemas" | "schemas" => {
                        if let Value::Object(children) = value {
                            children.values_mut().for_each(strip_examples);
                        }
                    }
                    "const" | "enum" | "default" => {}
                    _ => strip_examples(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_examples),
        _ => {}
    }
}

fn describe(part: &str, error: &jsonschema::ValidationError<'_>) -> String {
    let location = error.instance_path().as_str();
    let text = if location.is_empty() {
        format!("{part}: {error}")
    } else if part == "body" || part == "response" {
        format!("{part} {location}: {error}")
    } else {
        let name = location.trim_start_matches('/').replacen('/', "[", 1);
        let name = if name.contains('[') {
            format!("{name}]")
        } else {
            name
        };
        format!("{part} `{name}`: {error}")
    };
    truncate(text)
}

fn truncate(text: String) -> String {
    if text.chars().count() <= MAX_PROBLEM_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_PROBLEM_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Arc<Spec> {
        load_cached(&default_spec_path()).expect("the shared OpenAPI spec loads")
    }

    fn check(method: &str, path_and_query: &str, body: Option<&Value>) -> Vec<String> {
        let spec = spec();
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let bytes = body.map(|b| serde_json::to_vec(b).expect("serialises"));
        let checked = spec.check(&RequestParts {
            method,
            path,
            query,
            content_type: body.map(|_| "application/json"),
            body: bytes.as_deref().unwrap_or_default(),
        });
        assert!(checked.operation.is_some(), "{path} matched");
        checked.problems
    }

    fn good_message() -> Value {
        json!({"content": "Hello", "from": "PNabc123", "to": ["+15555550123"]})
    }

    #[test]
    fn loads_every_operation_of_the_spec() {
        let spec = spec();
        assert_eq!(spec.operations().len(), 22);
        assert!(
            spec.operations()
                .iter()
                .any(|op| op.operation_id == "sendMessage_v1" && op.has_body())
        );
    }

    #[test]
    fn literal_segments_win_and_unknown_paths_are_reported() {
        let spec = spec();
        match spec.lookup("POST", "/v1/webhooks/messages") {
            Lookup::Found(op, params) => {
                assert_eq!(op.operation_id, "createMessageWebhook_v1");
                assert!(params.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        match spec.lookup("GET", "/v1/messages/AC%31") {
            Lookup::Found(op, params) => {
                assert_eq!(op.operation_id, "getMessageById_v1");
                assert_eq!(params.get("id").map(String::as_str), Some("AC1"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            spec.lookup("PUT", "/v1/messages"),
            Lookup::WrongMethod(_)
        ));
        assert!(matches!(spec.lookup("GET", "/v1/nothing"), Lookup::NoPath));
        assert!(matches!(
            spec.lookup("GET", "/v1/messages/"),
            Lookup::NoPath
        ));
    }

    #[test]
    fn a_good_list_request_passes() {
        let problems = check(
            "GET",
            "/v1/messages?phoneNumberId=PNabc&participants=%2B15555550123&participants=%2B15555550124&maxResults=50&createdAfter=2025-11-01T00%3A00%3A00Z",
            None,
        );
        assert_eq!(problems, Vec::<String>::new());
    }

    #[test]
    fn a_literal_plus_in_participants_fails() {
        let problems = check(
            "GET",
            "/v1/messages?phoneNumberId=PNabc&participants=+15555550123&maxResults=10",
            None,
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("participants[0]") && p.contains("does not match")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("%2B")), "{problems:?}");
        // On /v1/calls the spec has no pattern, but the unencoded `+` is still reported.
        let problems = check(
            "GET",
            "/v1/calls?phoneNumberId=PNabc&participants=+15555550123&maxResults=10",
            None,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn missing_or_out_of_range_max_results_fails() {
        let problems = check(
            "GET",
            "/v1/messages?phoneNumberId=PNabc&participants=%2B15555550123",
            None,
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"maxResults\" is a required property")),
            "{problems:?}"
        );
        for bad in ["0", "101", "ten", "5.5"] {
            let problems = check("GET", &format!("/v1/conversations?maxResults={bad}"), None);
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert!(problems[0].contains("maxResults"), "{problems:?}");
        }
    }

    #[test]
    fn query_shape_problems_are_reported() {
        let problems = check(
            "GET",
            "/v1/calls?phoneNumberId=PNabc&phoneNumberId=PNdef&participants=%2B15555550123&participants=%2B15555550124&maxResults=10&createdAfter=yesterday&participant=x",
            None,
        );
        let joined = problems.join("\n");
        assert!(
            joined.contains("`phoneNumberId` is given 2 times"),
            "{joined}"
        );
        assert!(
            joined.contains("`participant` is not documented"),
            "{joined}"
        );
        assert!(joined.contains("`participants`"), "{joined}");
        assert!(joined.contains("createdAfter"), "{joined}");
        assert_eq!(problems.len(), 4, "{joined}");
        let problems = check(
            "GET",
            "/v1/conversations?maxResults=5&excludeInactive=yes",
            None,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            check(
                "GET",
                "/v1/conversations?maxResults=5&excludeInactive=true",
                None
            )
            .is_empty()
        );
    }

    #[test]
    fn a_good_message_body_passes() {
        assert_eq!(
            check("POST", "/v1/messages", Some(&good_message())),
            Vec::<String>::new()
        );
        let mut with_number = good_message();
        with_number["from"] = json!("+15555550100");
        with_number["userId"] = json!("USabc");
        with_number["setInboxStatus"] = json!("done");
        assert_eq!(
            check("POST", "/v1/messages", Some(&with_number)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn message_bodies_that_break_the_schema_fail() {
        let mut long = good_message();
        long["content"] = json!("x".repeat(1601));
        let problems = check("POST", "/v1/messages", Some(&long));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("body /content"), "{problems:?}");
        assert!(problems[0].chars().count() <= MAX_PROBLEM_CHARS + 1);

        let mut two = good_message();
        two["to"] = json!(["+15555550123", "+15555550124"]);
        let problems = check("POST", "/v1/messages", Some(&two));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("/to"), "{problems:?}");

        let mut blank = good_message();
        blank["content"] = json!("   ");
        assert_eq!(check("POST", "/v1/messages", Some(&blank)).len(), 1);

        let missing = json!({"content": "hi", "to": ["+15555550123"]});
        let problems = check("POST", "/v1/messages", Some(&missing));
        assert!(
            problems[0].contains("\"from\" is a required property"),
            "{problems:?}"
        );
    }

    #[test]
    fn body_needs_json_content_type_and_must_exist() {
        let spec = spec();
        let body = serde_json::to_vec(&good_message()).expect("serialises");
        let mut parts = RequestParts {
            method: "POST",
            path: "/v1/messages",
            query: None,
            content_type: Some("text/plain"),
            body: &body,
        };
        let problems = spec.check(&parts).problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("Content-Type"));
        parts.content_type = Some("application/json; charset=utf-8");
        assert!(spec.check(&parts).problems.is_empty());
        parts.body = b"";
        assert_eq!(spec.check(&parts).problems.len(), 1);
        parts.body = b"{not json";
        assert!(spec.check(&parts).problems[0].contains("not valid JSON"));
    }

    #[test]
    fn path_parameters_are_validated() {
        let problems = check("GET", "/v1/messages/XY123", None);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("`id`"), "{problems:?}");
        assert!(check("GET", "/v1/call-transcripts/AC123", None).is_empty());
    }

    #[test]
    fn contact_bodies_are_validated_with_nested_schemas() {
        let good = json!({"defaultFields": {"firstName": "Ada", "emails": [{"name": "work", "value": "ada@example.com"}]}});
        assert!(check("POST", "/v1/contacts", Some(&good)).is_empty());
        let bad = json!({"defaultFields": {"lastName": "Lovelace"}, "sourceUrl": "not a uri"});
        let problems = check("POST", "/v1/contacts", Some(&bad));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn documented_errors_and_resources_come_from_the_spec() {
        let spec = spec();
        let Lookup::Found(send, _) = spec.lookup("POST", "/v1/messages") else {
            panic!("sendMessage_v1 exists");
        };
        let a2p = send.documented_error(400).expect("400 documented");
        assert_eq!(a2p.code, "0206400");
        assert_eq!(a2p.title, "A2P Registration Not Approved");
        assert_eq!(
            a2p.description.as_deref(),
            Some("A2P Registration Not Approved")
        );
        assert_eq!(send.error_resource(), "02");
        let Lookup::Found(transcript, _) = spec.lookup("GET", "/v1/call-transcripts/AC1") else {
            panic!("getCallTranscript_v1 exists");
        };
        assert_eq!(
            transcript.documented_error(403).map(|e| e.code),
            Some("0600403".to_owned())
        );
    }

    #[test]
    fn response_validation_resolves_component_refs() {
        let spec = spec();
        assert!(
            spec.response_problems("GET", "/v1/phone-numbers", 200, &json!({"data": []}))
                .is_empty()
        );
        let problems = spec.response_problems(
            "GET",
            "/v1/phone-numbers",
            200,
            &json!({"data": [{"id": "XX"}]}),
        );
        assert!(!problems.is_empty());
    }
}
