//! Walks every operation of the generated document: descriptions, examples, and error lists
//! that match the operation and the contract's status table.

use serde_json::Value;

use super::DOCUMENT;
use super::code_samples::resolve;
use crate::extract::parse_json;

/// The error table of api.md: each status and the one code it carries.
const CONTRACT: [(&str, &str); 12] = [
    ("400", "invalid_argument"),
    ("401", "unauthorized"),
    ("403", "forbidden"),
    ("404", "not_found"),
    ("405", "method_not_allowed"),
    ("409", "failed_precondition"),
    ("413", "payload_too_large"),
    ("415", "unsupported_media_type"),
    ("429", "rate_limited"),
    ("500", "internal"),
    ("503", "unavailable"),
    ("504", "deadline_exceeded"),
];

/// `(method, path, operation)` of every operation in the document.
fn operations() -> Vec<(String, String, &'static Value)> {
    let paths = DOCUMENT["paths"].as_object().expect("paths");
    let mut all = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            all.push((method.to_uppercase(), path.clone(), operation));
        }
    }
    assert!(all.len() >= 27, "only {} operations", all.len());
    all
}

fn responses(operation: &Value) -> &serde_json::Map<String, Value> {
    operation["responses"].as_object().expect("responses")
}

fn is_public(operation: &Value) -> bool {
    operation["security"].as_array().is_some_and(Vec::is_empty)
}

/// Every example a media type carries: `example`, each of `examples`, else its schema's.
fn examples_of(media: &Value) -> Vec<&Value> {
    if let Some(example) = media.get("example") {
        return vec![example];
    }
    if let Some(named) = media.get("examples").and_then(Value::as_object) {
        return named.values().map(|example| &example["value"]).collect();
    }
    resolve(&media["schema"], &DOCUMENT["components"])
        .get("example")
        .into_iter()
        .collect()
}

#[test]
fn every_operation_has_a_summary_and_a_seed_style_description() {
    for (method, path, operation) in operations() {
        let summary = operation["summary"].as_str().unwrap_or_default();
        assert!(!summary.is_empty(), "{method} {path}: no summary");
        let description = operation["description"].as_str().unwrap_or_default();
        assert!(
            description.len() > 150,
            "{method} {path}: description too short"
        );
        for status in responses(operation).keys().filter(|s| s.starts_with('2')) {
            assert!(
                description.contains(&format!("**{status}**")),
                "{method} {path}: the description does not say it returns **{status}**"
            );
        }
        let has_errors = responses(operation).keys().any(|s| s.as_str() >= "400");
        assert_eq!(
            description.contains("**Errors.**"),
            has_errors,
            "{method} {path}: an **Errors.** paragraph exactly when it lists errors"
        );
        if !is_public(operation) {
            assert!(
                description.contains("capability"),
                "{method} {path}: the description does not name the capability it needs"
            );
        }
        assert!(
            description.contains("```sh\ncurl "),
            "{method} {path}: no curl example"
        );
    }
}

#[test]
fn every_parameter_is_described_and_path_and_header_ones_have_examples() {
    for (method, path, operation) in operations() {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().unwrap_or_default();
            let description = parameter["description"].as_str().unwrap_or_default();
            assert!(
                !description.is_empty(),
                "{method} {path}: {name} undescribed"
            );
            // Optional query filters have none on purpose: Swagger UI pre-fills "Try it out"
            // with examples, which would filter every first try.
            if parameter["in"] != "query" {
                assert!(
                    parameter.get("example").is_some(),
                    "{method} {path}: {name} has no example"
                );
            }
        }
        let curl = operation["x-codeSamples"][0]["source"]
            .as_str()
            .unwrap_or_default();
        let url_line = curl.lines().next().unwrap_or_default();
        assert!(url_line.starts_with("curl "), "{method} {path}: {curl}");
        assert!(
            !url_line.contains('{'),
            "{method} {path}: unfilled path in {curl}"
        );
    }
}

/// The example must be a body the handler's extractor accepts.
fn assert_body_example_parses(schema: &str, example: &Value) {
    use crate::routes::{api_keys, messages, pairing, sessions, webhook_bodies};
    let bytes = example.to_string().into_bytes();
    let parsed = match schema {
        "CreateSessionBody" => parse_json::<sessions::CreateSessionBody>(&bytes).map(drop),
        "SessionPatch" => parse_json::<wagw_common::session::SessionPatch>(&bytes).map(drop),
        "PairingCodeBody" => parse_json::<pairing::PairingCodeBody>(&bytes).map(drop),
        "SendMessageBody" => parse_json::<messages::SendMessageBody>(&bytes).map(drop),
        "CreateApiKeyBody" => parse_json::<api_keys::CreateApiKeyBody>(&bytes).map(drop),
        "CreateWebhookBody" => parse_json::<webhook_bodies::CreateWebhookBody>(&bytes).map(drop),
        "UpdateWebhookBody" => parse_json::<webhook_bodies::UpdateWebhookBody>(&bytes).map(drop),
        other => panic!("request body {other}: add its type to this test"),
    };
    assert!(
        parsed.is_ok(),
        "{schema} example {example} refused: {parsed:?}"
    );
}

#[test]
fn every_request_body_has_an_example_its_handler_accepts() {
    let mut bodies = 0;
    for (method, path, operation) in operations() {
        let Some(body) = operation.get("requestBody") else {
            continue;
        };
        let media = &body["content"]["application/json"];
        let examples = examples_of(media);
        assert!(
            !examples.is_empty(),
            "{method} {path}: request body without example"
        );
        let reference = media["schema"]["$ref"].as_str().unwrap_or_default();
        let schema = reference.rsplit('/').next().unwrap_or_default();
        for example in examples {
            assert_body_example_parses(schema, example);
        }
        bodies += 1;
    }
    assert_eq!(bodies, 7, "request bodies");
}

#[test]
fn every_success_response_with_content_has_an_example() {
    for (method, path, operation) in operations() {
        for (status, response) in responses(operation)
            .iter()
            .filter(|(s, _)| s.starts_with('2'))
        {
            for (media_type, media) in response["content"].as_object().into_iter().flatten() {
                // A PNG has no meaningful text example.
                if media_type.starts_with("image/") {
                    continue;
                }
                assert!(
                    !examples_of(media).is_empty(),
                    "{method} {path} {status} {media_type}: no example"
                );
            }
        }
    }
}

#[test]
fn every_error_response_has_envelope_examples_whose_code_matches_the_contract() {
    for (method, path, operation) in operations() {
        if !is_public(operation) {
            for status in ["401", "403", "500", "503"] {
                assert!(
                    responses(operation).contains_key(status),
                    "{method} {path}: an authenticated operation without {status}"
                );
            }
        }
        for (status, response) in responses(operation)
            .iter()
            .filter(|(s, _)| s.as_str() >= "400")
        {
            let (_, code) = CONTRACT
                .iter()
                .find(|(contract_status, _)| contract_status == status)
                .unwrap_or_else(|| panic!("{method} {path}: {status} is not in the contract"));
            let description = response["description"].as_str().unwrap_or_default();
            assert!(
                description.contains(code),
                "{method} {path} {status}: {description}"
            );
            let media = &response["content"]["application/json"];
            assert_eq!(
                media["schema"]["$ref"],
                "#/components/schemas/ErrorEnvelope"
            );
            let examples = examples_of(media);
            assert!(!examples.is_empty(), "{method} {path} {status}: no example");
            for example in examples {
                let error = &example["error"];
                assert_eq!(error["code"], *code, "{method} {path} {status}: {example}");
                assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
                assert!(
                    error["details"].is_object(),
                    "{method} {path} {status}: {example}"
                );
                if *status == "400" {
                    assert!(
                        error["details"]["field"].is_string(),
                        "{method} {path}: {example}"
                    );
                }
                if *status == "429" {
                    assert!(error["details"]["retryAfterMs"].is_u64(), "{example}");
                }
            }
        }
    }
}

/// The statuses an operation documents among `statuses`.
fn documented(operation: &Value, statuses: &[&str]) -> Vec<String> {
    statuses
        .iter()
        .filter(|status| responses(operation).contains_key(**status))
        .map(|status| (*status).to_owned())
        .collect()
}

#[test]
fn each_operation_lists_only_the_errors_it_can_give() {
    let preconditioned = [
        "POST /api/v1/sessions/{session}:start",
        "POST /api/v1/sessions/{session}:restart",
        "GET /api/v1/sessions/{session}/qr",
        "POST /api/v1/sessions/{session}/pairing-code",
        "POST /api/v1/sessions/{session}/messages",
    ];
    let worker_commands = [
        "POST /api/v1/sessions",
        "PATCH /api/v1/sessions/{session}",
        "DELETE /api/v1/sessions/{session}",
        "POST /api/v1/sessions/{session}:start",
        "POST /api/v1/sessions/{session}:stop",
        "POST /api/v1/sessions/{session}:restart",
        "POST /api/v1/sessions/{session}:logout",
        "GET /api/v1/sessions/{session}/qr",
        "POST /api/v1/sessions/{session}/pairing-code",
    ];
    for (method, path, operation) in operations() {
        let name = format!("{method} {path}");
        let has_body = operation.get("requestBody").is_some();
        let body_errors = documented(operation, &["413", "415"]);
        assert_eq!(
            body_errors.len(),
            if has_body { 2 } else { 0 },
            "{name}: {body_errors:?}"
        );
        let has_path_id = operation["parameters"]
            .as_array()
            .is_some_and(|params| params.iter().any(|p| p["in"] == "path"));
        if has_path_id {
            assert_eq!(
                documented(operation, &["400", "404"]).len(),
                2,
                "{name}: 400/404"
            );
        } else {
            assert!(
                documented(operation, &["404"]).is_empty(),
                "{name}: 404 without an id"
            );
        }
        let conflict = !documented(operation, &["409"]).is_empty();
        assert_eq!(
            conflict,
            preconditioned.contains(&name.as_str()),
            "{name}: 409"
        );
        let timeout = !documented(operation, &["504"]).is_empty();
        assert_eq!(
            timeout,
            worker_commands.contains(&name.as_str()),
            "{name}: 504"
        );
        let limited = !documented(operation, &["429"]).is_empty();
        assert_eq!(
            limited,
            name == "POST /api/v1/sessions/{session}/messages",
            "{name}: 429"
        );
        if is_public(operation) {
            let errors: Vec<&String> = responses(operation)
                .keys()
                .filter(|s| s.as_str() >= "400")
                .collect();
            let expected: &[&str] = if path == "/readyz" { &["503"] } else { &[] };
            assert_eq!(errors, expected, "{name}: a probe's errors");
        }
    }
}
