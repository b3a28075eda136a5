//! One delivery attempt: `POST url` with the event as the body, signed, within the timeout,
//! redirects not followed; its outcome as a [`Verdict`].

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use std::time::Duration;
use wagw_common::events::Event;
use wagw_common::webhooks::{EVENT_ID_HEADER, SIGNATURE_HEADER, Webhook};

use super::retry::{Verdict, parse_retry_after};
use super::signature::sign;

/// How long connecting may take, at most (the whole attempt has its own timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `wagw-webhooks/<version>`.
const USER_AGENT: &str = concat!("wagw-webhooks/", env!("CARGO_PKG_VERSION"));

/// The HTTP client of every attempt of a worker.
///
/// # Errors
/// When the TLS back end cannot be set up.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .build()
}

/// POSTs `event` to the webhook's current url, signed with its current secret.
pub async fn attempt(
    client: &reqwest::Client,
    webhook: &Webhook,
    event: &Event,
    timeout: Duration,
) -> Verdict {
    let body = match serde_json::to_vec(event) {
        Ok(body) => body,
        Err(err) => {
            return Verdict::Refused {
                status: None,
                error: format!("the event could not be serialized: {err}"),
            };
        }
    };
    let Ok(signature) = sign(&webhook.secret, wagw_common::time::now_ms(), &body) else {
        return Verdict::Refused {
            status: None,
            error: "the secret cannot key an HMAC".to_owned(),
        };
    };
    let request = client
        .post(&webhook.url)
        .header(CONTENT_TYPE, "application/json")
        .header(EVENT_ID_HEADER, &event.id)
        .header(SIGNATURE_HEADER, signature)
        .body(body);
    // The client's own timeout also bounds the body; this one is the belt to its braces.
    let sent = tokio::time::timeout(timeout + Duration::from_secs(1), request.send()).await;
    let response = match sent {
        Ok(Ok(response)) => response,
        Ok(Err(err)) if err.is_builder() => {
            return Verdict::Refused {
                status: None,
                error: "the url cannot be requested".to_owned(),
            };
        }
        Ok(Err(err)) => return failure(describe(&err, timeout)),
        Err(_) => return failure(format!("timed out after {} ms", timeout.as_millis())),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_retry_after);
    Verdict::of_status(status, retry_after)
}

fn failure(error: String) -> Verdict {
    Verdict::Failed {
        status: None,
        error,
        retry_after: None,
    }
}

/// A short, credential-free description of a transport failure.
fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        "the request failed".to_owned()
    }
}
