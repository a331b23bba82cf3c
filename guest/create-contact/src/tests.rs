//! Native tests against a fake API that creates every contact unless told to
//! answer a given request otherwise, and records every request.

use super::*;
use openphone_guest::parse_arguments;
use openphone_guest::{ApiRequest, ApiResponse, Method, UpstreamError};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::HashMap;

/// Creates every contact (`201`, id `CT<n>`) except the requests (numbered
/// from 0) given another answer.
#[derive(Default)]
struct Fake {
    sent: RefCell<Vec<ApiRequest>>,
    answers: HashMap<usize, Result<ApiResponse, UpstreamError>>,
}

impl Fake {
    fn answering(
        answers: impl IntoIterator<Item = (usize, Result<ApiResponse, UpstreamError>)>,
    ) -> Self {
        Fake {
            sent: RefCell::default(),
            answers: answers.into_iter().collect(),
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.sent
            .borrow()
            .iter()
            .map(|r| serde_json::from_str(r.body.as_deref().expect("a body")).expect("JSON body"))
            .collect()
    }
}

impl Api for Fake {
    fn send(&self, request: ApiRequest) -> Result<ApiResponse, UpstreamError> {
        let n = self.sent.borrow().len();
        let body: Value = serde_json::from_str(request.body.as_deref().unwrap_or("null")).unwrap();
        self.sent.borrow_mut().push(request);
        self.answers.get(&n).cloned().unwrap_or_else(|| {
            Ok(ApiResponse {
                status: 201,
                body: created_body(&format!("CT{n}"), &body).to_string(),
            })
        })
    }
}

/// A `201` body as the spec documents it, echoing the request.
fn created_body(id: &str, request: &Value) -> Value {
    let given = &request["defaultFields"];
    let mut default_fields = json!({
        "firstName": null, "lastName": null, "company": null, "role": null,
        "emails": [], "phoneNumbers": [],
    });
    for (key, value) in given.as_object().into_iter().flatten() {
        default_fields[key] = value.clone();
    }
    json!({"data": {
        "id": id,
        "externalId": request.get("externalId").cloned().unwrap_or(Value::Null),
        "source": request.get("source").cloned().unwrap_or(json!("public-api")),
        "sourceUrl": null,
        "defaultFields": default_fields,
        "customFields": [],
        "createdAt": "2025-12-01T10:00:00.000Z",
        "updatedAt": "2025-12-01T10:00:00.000Z",
        "createdByUserId": "USbizOwner001",
    }})
}

fn status(code: u16, body: Value) -> Result<ApiResponse, UpstreamError> {
    Ok(ApiResponse {
        status: code,
        body: body.to_string(),
    })
}

fn bad_request() -> Result<ApiResponse, UpstreamError> {
    status(
        400,
        json!({"message": "Invalid phone number", "code": "0800400", "status": 400,
               "docs": "https://openphone.com/docs", "title": "Bad Request",
               "errors": [{"path": "/defaultFields/phoneNumbers/0/value", "message": "invalid"}]}),
    )
}

fn args(value: Value) -> CreateContact {
    parse_arguments(&value.to_string()).unwrap()
}

fn arg_error(value: Value) -> String {
    parse_arguments::<CreateContact>(&value.to_string())
        .unwrap_err()
        .to_string()
}

fn structured(out: &ToolOutput) -> CreatedContacts {
    serde_json::from_str(out.structured.as_deref().expect("structured content")).unwrap()
}

fn statuses(result: &CreatedContacts) -> Vec<Status> {
    result.contacts.iter().map(|c| c.status).collect()
}

fn three() -> Value {
    json!({"contacts": [
        {"firstName": "Ana", "lastName": "Díaz"},
        {"firstName": "Sam", "lastName": "Lee", "phoneNumbers": [{"value": "+15555550123"}]},
        {"firstName": "Bo"},
    ]})
}

#[test]
fn sends_the_body_the_api_expects() {
    let api = Fake::default();
    let out = create(
        &api,
        args(json!({"contacts": [
            {
                "firstName": "  Sam ",
                "lastName": "Lee",
                "company": "Acme Corp",
                "role": "Buyer",
                "emails": [
                    {"value": " sam.lee@acme.example "},
                    {"name": "personal", "value": "sam@mail.example"},
                ],
                "phoneNumbers": [
                    {"value": "+1 (555) 555-0123"},
                    {"name": "office", "value": "+442079460958"},
                ],
                "externalId": "crm-1042",
                "source": "custom-crm",
            },
            {"firstName": "Ana", "emails": [], "phoneNumbers": null, "lastName": null},
        ]})),
    )
    .unwrap();
    assert!(!out.is_error, "{}", out.text);
    let sent = api.sent.borrow();
    assert_eq!(sent.len(), 2);
    for request in sent.iter() {
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, "/contacts");
        assert!(request.query.is_empty());
    }
    drop(sent);
    assert_eq!(
        api.bodies(),
        vec![
            json!({
                "defaultFields": {
                    "firstName": "Sam",
                    "lastName": "Lee",
                    "company": "Acme Corp",
                    "role": "Buyer",
                    "emails": [
                        {"name": "work", "value": "sam.lee@acme.example"},
                        {"name": "personal", "value": "sam@mail.example"},
                    ],
                    "phoneNumbers": [
                        {"name": "mobile", "value": "+15555550123"},
                        {"name": "office", "value": "+442079460958"},
                    ],
                },
                "externalId": "crm-1042",
                "source": "custom-crm",
            }),
            json!({"defaultFields": {"firstName": "Ana"}}),
        ]
    );
    let result = structured(&out);
    assert_eq!(
        result,
        CreatedContacts {
            requested: 2,
            created: 2,
            failed: 0,
            unknown: 0,
            contacts: vec![
                ContactOutcome {
                    index: 0,
                    name: "Sam Lee".into(),
                    external_id: Some("crm-1042".into()),
                    status: Status::Created,
                    id: Some("CT0".into()),
                    reason: None,
                },
                ContactOutcome {
                    index: 1,
                    name: "Ana".into(),
                    external_id: None,
                    status: Status::Created,
                    id: Some("CT1".into()),
                    reason: None,
                },
            ],
        }
    );
    assert_eq!(
        out.text,
        "Created 2 of 2 contacts: Sam Lee (id CT0), Ana (id CT1)."
    );
}

/// Every body sent is valid against the request schema of `POST /v1/contacts`
/// in the published spec: only its keys, its required keys, its types and
/// lengths.
#[test]
fn bodies_conform_to_the_spec() {
    let path = std::env::var_os("OPENPHONE_OPENAPI_SPEC").map_or_else(
        || {
            std::path::PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/openphone/openapi.json"
            ))
        },
        std::path::PathBuf::from,
    );
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the spec at {}: {e}", path.display()));
    let spec: Value = serde_json::from_str(&text).unwrap();
    let operation = &spec["paths"]["/v1/contacts"]["post"];
    let request = &operation["requestBody"]["content"]["application/json"]["schema"];
    let response = &operation["responses"]["201"]["content"]["application/json"]["schema"];
    assert!(request.is_object() && response.is_object());

    let api = Fake::default();
    create(&api, args(json!({"contacts": example_contacts()}))).unwrap();
    create(&api, args(json!({"contacts": [{"firstName": "Bo"}]}))).unwrap();
    let bodies = api.bodies();
    assert_eq!(bodies.len(), 3);
    for (i, body) in bodies.iter().enumerate() {
        let errors = check(&spec, request, body, "");
        assert!(errors.is_empty(), "body {i} {body}: {errors:?}");
        // The fake's answer is what the spec documents, too.
        let answer = created_body("CT", body);
        let errors = check(&spec, response, &answer, "");
        assert!(errors.is_empty(), "answer {i}: {errors:?}");
    }
}

/// Where `value` breaks `schema` (the subset of JSON Schema the spec uses
/// for this operation; unknown object keys count as breaks).
fn check(root: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        return check(
            root,
            &root.pointer(pointer).expect("resolvable $ref").clone(),
            value,
            at,
        );
    }
    if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
        if branches
            .iter()
            .any(|b| check(root, b, value, at).is_empty())
        {
            return Vec::new();
        }
        return vec![format!("{at}: matches no anyOf branch")];
    }
    let mut errors = Vec::new();
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            errors.extend(check(root, part, value, at));
        }
    }
    let kind = schema.get("type").and_then(Value::as_str);
    let fits = match kind {
        Some("string") => value.is_string(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("null") => value.is_null(),
        _ => true,
    };
    if !fits {
        errors.push(format!("{at}: expected {kind:?}, got {value}"));
        return errors;
    }
    if let Some(s) = value.as_str() {
        let chars = s.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| chars < m)
        {
            errors.push(format!("{at}: too short"));
        }
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| chars > m)
        {
            errors.push(format!("{at}: too long"));
        }
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema.get("properties")) {
        for key in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(key.as_str().unwrap()) {
                errors.push(format!("{at}: missing required {key}"));
            }
        }
        for (key, item) in object {
            match properties.get(key) {
                Some(sub) => errors.extend(check(root, sub, item, &format!("{at}/{key}"))),
                None => errors.push(format!("{at}: `{key}` is not in the spec")),
            }
        }
    }
    if let (Some(items), Some(item_schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            errors.extend(check(root, item_schema, item, &format!("{at}/{i}")));
        }
    }
    errors
}

#[test]
fn checker_catches_what_the_spec_refuses() {
    let schema = json!({"type": "object", "required": ["defaultFields"], "properties": {
        "defaultFields": {"type": "object", "required": ["firstName"], "properties": {
            "firstName": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "emails": {"type": "array", "items": {"type": "object", "required": ["name", "value"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}}},
        "externalId": {"type": "string", "maxLength": 3}}});
    let root = json!({});
    assert!(
        check(
            &root,
            &schema,
            &json!({"defaultFields": {"firstName": "A"}}),
            ""
        )
        .is_empty()
    );
    for bad in [
        json!({}),
        json!({"defaultFields": {}}),
        json!({"defaultFields": {"firstName": 1}}),
        json!({"defaultFields": {"firstName": "A", "emails": [{"value": "a@b.c"}]}}),
        json!({"defaultFields": {"firstName": "A"}, "nickname": "x"}),
        json!({"defaultFields": {"firstName": "A"}, "externalId": "abcd"}),
    ] {
        assert!(!check(&root, &schema, &bad, "").is_empty(), "{bad}");
    }
}

#[test]
fn validation_names_the_field() {
    let cases = [
        (
            json!({"contacts": [{"firstName": "Ana"}, {"firstName": "   "}]}),
            "`contacts[1].firstName`",
            "whitespace",
        ),
        (
            json!({"contacts": [{"lastName": "Lee"}]}),
            "`contacts[0]`",
            "missing field `firstName`",
        ),
        (
            json!({"contacts": [{"firstName": "x".repeat(101)}]}),
            "`contacts[0].firstName`",
            "101 characters",
        ),
        (
            json!({"contacts": [{"firstName": "A"}, {"firstName": "B"}, {"firstName": "C",
                "emails": [{"value": "sam.example.com"}]}]}),
            "`contacts[2].emails[0].value`",
            "no @",
        ),
        (
            json!({"contacts": [{"firstName": "A", "emails": [{"value": "sam@localhost"}]}]}),
            "`contacts[0].emails[0].value`",
            "no dot",
        ),
        (
            json!({"contacts": [{"firstName": "A", "phoneNumbers": [{"value": "+15555550123"},
                {"value": "555-0123"}]}]}),
            "`contacts[0].phoneNumbers[1].value`",
            "E.164",
        ),
        (
            json!({"contacts": [{"firstName": "A", "phoneNumbers": [{"name": " ", "value": "+15555550123"}]}]}),
            "`contacts[0].phoneNumbers[0].name`",
            "whitespace",
        ),
        (
            json!({"contacts": [{"firstName": "A", "externalId": "x".repeat(76)}]}),
            "`contacts[0].externalId`",
            "at most 75",
        ),
        (
            json!({"contacts": [{"firstName": "A", "source": "csv"}]}),
            "`contacts[0].source`",
            "reserved",
        ),
        (json!({"contacts": []}), "`contacts`", "no contacts given"),
        (
            json!({"contacts": vec![json!({"firstName": "A"}); 51]}),
            "`contacts`",
            "51 contacts given; one call creates at most 50",
        ),
        (
            json!({"contacts": [{"firstName": "A", "nickname": "Al"}]}),
            "`contacts[0].nickname`",
            "unknown field `nickname`",
        ),
        (
            json!({"contacts": [{"firstName": "A", "emails": [{"value": "a@b.co", "primary": true}]}]}),
            "`contacts[0].emails[0].primary`",
            "unknown field `primary`",
        ),
        (
            json!({"contacts": [{"firstName": "A"}], "dryRun": true}),
            "`dryRun`",
            "unknown field `dryRun`",
        ),
        (json!({}), "", "missing field `contacts`"),
    ];
    for (input, path, needle) in cases {
        let err = arg_error(input.clone());
        assert!(
            err.contains(path) && err.contains(needle),
            "{input}: expected {path} / {needle}, got: {err}"
        );
    }
    assert!(
        parse_arguments::<CreateContact>(
            &json!({"contacts": vec![json!({"firstName": "A"}); 50]}).to_string()
        )
        .is_ok()
    );
}

#[test]
fn duplicate_external_ids_are_refused_before_sending() {
    let api = Fake::default();
    let err = create(
        &api,
        args(json!({"contacts": [
            {"firstName": "A", "externalId": "crm-1"},
            {"firstName": "B", "externalId": "crm-2"},
            {"firstName": "C", "externalId": "crm-1"},
        ]})),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ToolError::InvalidArguments(m)
            if m.contains("`contacts[2].externalId`") && m.contains("contacts[0]")),
        "{err:?}"
    );
    assert!(api.sent.borrow().is_empty());
}

#[test]
fn partial_failure_is_reported_and_the_rest_still_created() {
    let api = Fake::answering([(1, bad_request())]);
    let out = create(&api, args(three())).unwrap();
    assert!(!out.is_error, "some were created: {}", out.text);
    assert_eq!(api.sent.borrow().len(), 3);
    let result = structured(&out);
    assert_eq!(
        statuses(&result),
        [Status::Created, Status::Failed, Status::Created]
    );
    assert_eq!((result.created, result.failed, result.unknown), (2, 1, 0));
    let failed = &result.contacts[1];
    assert_eq!(failed.id, None);
    let reason = failed.reason.as_deref().unwrap();
    assert!(
        reason.contains("rejected the request as invalid (400)"),
        "{reason}"
    );
    assert!(reason.contains("Invalid phone number"), "{reason}");
    assert_eq!(result.contacts[2].id.as_deref(), Some("CT2"));
    assert!(
        out.text
            .starts_with("Created 2 of 3 contacts: Ana Díaz (id CT0), Bo (id CT2)."),
        "{}",
        out.text
    );
    assert!(
        out.text
            .contains("\nFailed: Sam Lee (OpenPhone rejected the request as invalid (400)."),
        "{}",
        out.text
    );
}

#[test]
fn all_failed_is_an_error_with_every_reason() {
    let refused = status(
        403,
        json!({"message": "Not Phone Number User", "code": "0801403", "status": 403}),
    );
    let api = Fake::answering((0..3).map(|n| (n, refused.clone())));
    let out = create(&api, args(three())).unwrap();
    assert!(out.is_error);
    let result = structured(&out);
    assert_eq!(statuses(&result), [Status::Failed; 3]);
    assert_eq!((result.created, result.failed), (0, 3));
    assert!(
        out.text
            .starts_with("Created 0 of 3 contacts.\nFailed: Ana Díaz ("),
        "{}",
        out.text
    );
    assert_eq!(
        out.text.matches("[code 0801403]").count(),
        3,
        "{}",
        out.text
    );
}

#[test]
fn no_answer_is_unknown_and_the_rest_continue() {
    let api = Fake::answering([(0, Err(UpstreamError::Timeout))]);
    let out = create(&api, args(three())).unwrap();
    assert!(!out.is_error);
    assert_eq!(
        api.sent.borrow().len(),
        3,
        "one request per contact, no retry"
    );
    let result = structured(&out);
    assert_eq!(
        statuses(&result),
        [Status::Unknown, Status::Created, Status::Created]
    );
    assert_eq!((result.created, result.failed, result.unknown), (2, 0, 1));
    let reason = result.contacts[0].reason.as_deref().unwrap();
    assert!(reason.contains("did not answer in time"), "{reason}");
    assert!(reason.contains("may have been created"), "{reason}");
    assert!(
        out.text.contains("\nOutcome unknown: Ana Díaz (OpenPhone did not answer in time. It may have been created"),
        "{}",
        out.text
    );
}

#[test]
fn only_unknown_outcomes_are_an_error_that_says_so() {
    let api = Fake::answering([(0, status(503, json!({"message": "busy"})))]);
    let out = create(&api, args(json!({"contacts": [{"firstName": "Ana"}]}))).unwrap();
    assert!(out.is_error);
    let result = structured(&out);
    assert_eq!(statuses(&result), [Status::Unknown]);
    assert!(
        out.text.contains("server error") && out.text.contains("may have been created"),
        "{}",
        out.text
    );
}

#[test]
fn repeated_silence_stops_sending() {
    let api = Fake::answering([
        (
            0,
            Err(UpstreamError::Unavailable(
                "could not connect to OpenPhone".into(),
            )),
        ),
        (2, Err(UpstreamError::Timeout)),
    ]);
    let contacts: Vec<Value> = (0..5)
        .map(|i| json!({"firstName": format!("P{i}")}))
        .collect();
    let out = create(&api, args(json!({"contacts": contacts}))).unwrap();
    assert_eq!(
        api.sent.borrow().len(),
        3,
        "nothing sent after the second silence"
    );
    let result = structured(&out);
    assert_eq!(
        statuses(&result),
        [
            Status::Unknown,
            Status::Created,
            Status::Unknown,
            Status::Failed,
            Status::Failed
        ]
    );
    for skipped in &result.contacts[3..] {
        let reason = skipped.reason.as_deref().unwrap();
        assert!(reason.starts_with("Not sent"), "{reason}");
    }
}

#[test]
fn rate_limited_fails_that_contact_only() {
    let api = Fake::answering([(0, Err(UpstreamError::RateLimited))]);
    let out = create(&api, args(three())).unwrap();
    assert_eq!(api.sent.borrow().len(), 3);
    let result = structured(&out);
    assert_eq!(
        statuses(&result),
        [Status::Failed, Status::Created, Status::Created]
    );
    assert!(
        result.contacts[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("rate-limiting")
    );
}

#[test]
fn exhausted_budget_stops_sending() {
    let api = Fake::answering([(1, Err(UpstreamError::BudgetExhausted))]);
    let out = create(&api, args(three())).unwrap();
    assert_eq!(api.sent.borrow().len(), 2);
    let result = structured(&out);
    assert_eq!(
        statuses(&result),
        [Status::Created, Status::Failed, Status::Failed]
    );
    assert!(
        result.contacts[2]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("Not sent")
    );
}

#[test]
fn unreadable_success_counts_as_created() {
    let api = Fake::answering([(0, status(201, json!({"data": {}})))]);
    let out = create(&api, args(json!({"contacts": [{"firstName": "Ana"}]}))).unwrap();
    assert!(!out.is_error);
    let result = structured(&out);
    assert_eq!(statuses(&result), [Status::Created]);
    assert_eq!(result.contacts[0].id, None);
    assert!(
        result.contacts[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("id is unknown")
    );
}

/// Resolves a local `$ref` of the input schema.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => root
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolvable {reference}")),
        None => schema,
    }
}

/// The object schemas nested in `schema`: itself, array items, `anyOf` branches.
fn objects_within<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let schema = resolve(root, schema);
    let mut found = Vec::new();
    if schema.get("properties").is_some() {
        found.push(schema);
    }
    if let Some(items) = schema.get("items") {
        found.extend(objects_within(root, items));
    }
    for key in ["anyOf", "oneOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            found.extend(objects_within(root, branch));
        }
    }
    found
}

/// Checks every property of `object` and of objects nested in it; returns their paths.
fn documented(root: &Value, object: &Value, at: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for (name, property) in object["properties"].as_object().unwrap() {
        let here = format!("{at}.{name}");
        let description = property.get("description").and_then(Value::as_str);
        assert!(
            description.is_some_and(|d| !d.is_empty()),
            "{here} has no description"
        );
        let examples = property.get("examples").and_then(Value::as_array);
        assert!(
            examples.is_some_and(|e| !e.is_empty()),
            "{here} has no example"
        );
        seen.push(here.clone());
        for nested in objects_within(root, property) {
            seen.extend(documented(root, nested, &format!("{here}[]")));
        }
    }
    seen
}

#[test]
fn descriptor_schema_documents_every_field() {
    let d = descriptor();
    let schema: Value = serde_json::from_str(&d.input_schema).unwrap();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["contacts"]));
    assert_eq!(schema["additionalProperties"], false);
    let mut seen = documented(&schema, &schema, "");
    seen.sort();
    assert_eq!(
        seen,
        [
            ".contacts",
            ".contacts[].company",
            ".contacts[].emails",
            ".contacts[].emails[].name",
            ".contacts[].emails[].value",
            ".contacts[].externalId",
            ".contacts[].firstName",
            ".contacts[].lastName",
            ".contacts[].phoneNumbers",
            ".contacts[].phoneNumbers[].name",
            ".contacts[].phoneNumbers[].value",
            ".contacts[].role",
            ".contacts[].source",
        ]
    );
    let contacts = &schema["properties"]["contacts"];
    assert_eq!(
        (contacts["minItems"].as_u64(), contacts["maxItems"].as_u64()),
        (Some(1), Some(50))
    );
    let contact = resolve(&schema, &contacts["items"]);
    assert_eq!(contact["required"], json!(["firstName"]));
    assert_eq!(contact["additionalProperties"], false);
    // The examples are valid arguments.
    let example = json!({"contacts": contacts["examples"][0]});
    assert!(parse_arguments::<CreateContact>(&example.to_string()).is_ok());

    assert_eq!(d.name, NAME);
    assert_eq!(d.scope, "contacts:write");
    assert!(!d.annotations.read_only);
    assert!(!d.annotations.destructive);
    assert!(!d.annotations.idempotent);
    assert!(d.annotations.open_world);
    let output: Value = serde_json::from_str(d.output_schema.as_deref().unwrap()).unwrap();
    assert_eq!(output["type"], "object");
    for key in ["requested", "created", "failed", "unknown", "contacts"] {
        assert!(
            output["properties"].get(key).is_some(),
            "output lacks {key}"
        );
    }
}

#[test]
fn the_component_rejects_other_tool_names() {
    use openphone_guest::{CallContext, Guest};
    let context = CallContext {
        request_id: "r1".into(),
        idempotency_key: None,
    };
    let err = Component::call("send-message".into(), "{}".into(), context.clone()).unwrap_err();
    assert!(matches!(err, ToolError::UnknownTool(_)));
    let err = Component::call(NAME.into(), r#"{"contacts":[]}"#.into(), context).unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(m) if m.contains("no contacts")));
    assert_eq!(Component::list(), vec![descriptor()]);
}
