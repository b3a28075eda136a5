//! A `curl` example for every operation, generated from its method, path, parameter examples and
//! request body example: appended to the description (what a reader sees) and given as
//! `x-codeSamples` (what renderers such as Redoc pick up).

use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Adds the samples to every operation of `document`.
pub fn add_curl_samples(document: &mut Value) {
    let components = document["components"].clone();
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            let sample = curl(method, path, operation, &components);
            let description = operation
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let description = format!("{description}\n\n**Example**\n\n```sh\n{sample}\n```");
            operation.insert("description".to_owned(), Value::String(description));
            operation.insert(
                "x-codeSamples".to_owned(),
                json!([{ "lang": "Shell", "label": "curl", "source": sample }]),
            );
        }
    }
}

/// `curl` with the base URL and token left to the shell (`$BASE_URL`, `$TOKEN`).
fn curl(method: &str, path: &str, operation: &Map<String, Value>, components: &Value) -> String {
    let parameters = operation
        .get("parameters")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut url = path.to_owned();
    let mut headers = Vec::new();
    for parameter in parameters {
        let (Some(name), Some(example)) = (parameter["name"].as_str(), example_text(parameter))
        else {
            continue;
        };
        match parameter["in"].as_str() {
            Some("path") => url = url.replace(&format!("{{{name}}}"), &example),
            Some("header") => headers.push(format!("{name}: {example}")),
            _ => {}
        }
    }
    let mut lines = vec![if method == "get" {
        format!("curl \"$BASE_URL{url}\"")
    } else {
        format!("curl -X {} \"$BASE_URL{url}\"", method.to_uppercase())
    }];
    let public = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty);
    if !public {
        lines.push("-H \"Authorization: Bearer $TOKEN\"".to_owned());
    }
    lines.extend(headers.iter().map(|header| format!("-H \"{header}\"")));
    if let Some(body) = body_example(operation, components) {
        lines.push("-H \"Content-Type: application/json\"".to_owned());
        lines.push(format!("-d '{}'", body.to_string().replace('\'', "'\\''")));
    }
    lines.join(" \\\n  ")
}

/// A parameter's example as text.
fn example_text(parameter: &Value) -> Option<String> {
    let example = parameter
        .get("example")
        .or_else(|| parameter["schema"].get("example"))?;
    Some(match example {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

/// The JSON request body's example: the media type's, else its schema's (through a `$ref`).
fn body_example(operation: &Map<String, Value>, components: &Value) -> Option<Value> {
    let media = operation
        .get("requestBody")?
        .get("content")?
        .get("application/json")?;
    if let Some(example) = media.get("example") {
        return Some(example.clone());
    }
    resolve(&media["schema"], components)
        .get("example")
        .cloned()
}

/// `schema` itself, or the component schema its `$ref` names.
pub fn resolve<'a>(schema: &'a Value, components: &'a Value) -> &'a Value {
    match schema["$ref"]
        .as_str()
        .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
    {
        Some(name) => &components["schemas"][name],
        None => schema,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_fill_path_and_header_examples_and_quote_the_body() {
        let mut document = json!({
            "paths": {"/api/v1/sessions/{session}/messages": {"post": {
                "description": "Sends.",
                "parameters": [
                    {"name": "session", "in": "path", "example": "01J9ZX8K2QHV0M3T6R7P4N5W8C"},
                    {"name": "Idempotency-Key", "in": "header", "example": "order-1042"}
                ],
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Body"}}}}
            }}, "/healthz": {"get": {"security": []}}},
            "components": {"schemas": {"Body": {"example": {"text": "it's here"}}}}
        });
        add_curl_samples(&mut document);
        let send = &document["paths"]["/api/v1/sessions/{session}/messages"]["post"];
        let sample = send["x-codeSamples"][0]["source"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(
            sample,
            "curl -X POST \"$BASE_URL/api/v1/sessions/01J9ZX8K2QHV0M3T6R7P4N5W8C/messages\" \\\n  \
             -H \"Authorization: Bearer $TOKEN\" \\\n  -H \"Idempotency-Key: order-1042\" \\\n  \
             -H \"Content-Type: application/json\" \\\n  -d '{\"text\":\"it'\\''s here\"}'"
        );
        assert!(
            send["description"]
                .as_str()
                .unwrap_or_default()
                .contains(sample)
        );
        let probe = &document["paths"]["/healthz"]["get"]["x-codeSamples"][0]["source"];
        assert_eq!(probe, "curl \"$BASE_URL/healthz\"");
    }
}
