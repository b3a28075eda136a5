//! `GET /docs`: the API reference rendered as one self-contained HTML page from the OpenAPI
//! document, with no script and no CDN, so it works on closed networks.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::response::Html;
use serde_json::Value;

use super::openapi::DOCUMENT;

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;\
padding:0 1rem;color:#1b1f23}h2{border-bottom:1px solid #ddd;margin-top:2.5rem}\
.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
.m{font-weight:700;text-transform:uppercase;margin-right:.5rem}code{background:#f4f4f4;\
padding:0 .25rem}ul{margin:.25rem 0}";

static PAGE: LazyLock<String> = LazyLock::new(|| render(&DOCUMENT));

/// Serves the rendered reference.
pub async fn docs_page() -> Html<&'static str> {
    Html(PAGE.as_str())
}

fn render(doc: &Value) -> String {
    let title = escape(doc["info"]["title"].as_str().unwrap_or("API reference"));
    let mut page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1><p>{}</p>\
         <p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a></p>",
        escape(doc["info"]["description"].as_str().unwrap_or_default())
    );
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    for (path, item) in paths {
        let _ = write!(page, "<h2><code>{}</code></h2>", escape(path));
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                render_operation(&mut page, method, path, operation);
            }
        }
    }
    page.push_str("</body></html>");
    page
}

fn render_operation(page: &mut String, method: &str, path: &str, operation: &Value) {
    let text = |key: &str| escape(operation[key].as_str().unwrap_or_default());
    let _ = write!(
        page,
        "<div class=\"op\"><p><span class=\"m\">{method}</span><code>{}</code> {}</p>",
        escape(path),
        text("summary")
    );
    for paragraph in text("description").split("\n\n") {
        let _ = write!(page, "<p>{paragraph}</p>");
    }
    if let Some(responses) = operation["responses"].as_object() {
        page.push_str("<ul>");
        for (status, response) in responses {
            let description = escape(response["description"].as_str().unwrap_or_default());
            let _ = write!(page, "<li><b>{}</b> {description}</li>", escape(status));
        }
        page.push_str("</ul>");
    }
    page.push_str("</div>");
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_documented_path_escaped() {
        let page = render(&DOCUMENT);
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains("/api/v1/sessions/{session}:restart"));
        assert!(!page.contains("<script"));
        assert_eq!(escape("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
