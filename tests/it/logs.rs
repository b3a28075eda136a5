//! Structured logs: the real `wagw-api` and `wagw-worker` binaries write one JSON object per
//! line, the request id travels from the edge to the worker (commands and send jobs), and a
//! failure is logged once, by the layer that handles it.

use std::time::Duration;

use serde_json::{Value, json};
use wagw_tests::edge_procs::{EdgeProcess, json_lines};
use wagw_tests::{FleetApp, FleetOptions, SOON, session_path};

/// Successes are logged at DEBUG (the access log and `command handled`), refusals and failures
/// at INFO and WARN; these turn the success lines on, as an operator would.
const EDGE_LOG: &str = "info,wagw_api::access=debug";
const WORKER_LOG: &str = "info,wagw_worker::handlers=debug";

/// A fleet of one worker process and an edge process in front of it, logging `levels`
/// (`EDGE_LOG` / `WORKER_LOG`, or the defaults: `info`).
async fn stack_logging(gateways: &[&str], levels: (&str, &str)) -> (FleetApp, EdgeProcess) {
    let fleet = FleetApp::spawn(FleetOptions {
        workers: 1,
        command_timeout_ms: 1500,
        worker_log: levels.1.to_owned(),
        ..FleetOptions::default()
    })
    .await;
    let mut options = fleet.app.options.clone();
    options.gateways = gateways.iter().map(|gw| (*gw).to_owned()).collect();
    let edge = fleet
        .app
        .start_edge_process_logging(&options, levels.0)
        .await
        .expect("the edge process is ready");
    (fleet, edge)
}

/// [`stack_logging`] with successes logged too.
async fn stack(gateways: &[&str]) -> (FleetApp, EdgeProcess) {
    stack_logging(gateways, (EDGE_LOG, WORKER_LOG)).await
}

fn fresh_request_id() -> String {
    format!("logs-{}", ulid::Ulid::generate())
}

/// `POST path` on the edge process with `x-request-id: request_id`; the status and the echoed id.
async fn post(
    fleet: &FleetApp,
    edge: &EdgeProcess,
    path: &str,
    body: &Value,
    request_id: &str,
) -> (u16, String) {
    let response = (fleet.app.http.post(edge.url(path)))
        .bearer_auth(&fleet.token)
        .header("x-request-id", request_id)
        .json(body)
        .send()
        .await
        .expect("the edge answers");
    let echoed = (response.headers().get("x-request-id"))
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (response.status().as_u16(), echoed)
}

/// The lines logged in the span of `request_id`.
fn lines_of(lines: Vec<Value>, request_id: &str) -> Vec<Value> {
    (lines.into_iter())
        .filter(|line| line["span"]["request_id"] == request_id)
        .collect()
}

fn worker_lines(fleet: &FleetApp, request_id: &str) -> Vec<Value> {
    let log = &fleet.workers[0].log;
    lines_of(json_lines(log).expect("the worker's log"), request_id)
}

fn edge_lines(edge: &EdgeProcess, request_id: &str) -> Vec<Value> {
    lines_of(edge.log_lines().expect("the edge's log"), request_id)
}

fn failures(lines: &[Value]) -> Vec<&Value> {
    (lines.iter())
        .filter(|line| matches!(line["level"].as_str(), Some("WARN" | "ERROR")))
        .collect()
}

/// Waits until `read` finds a line whose `message` is `message`; returns every line it read.
async fn wait_for_message(read: impl Fn() -> Vec<Value>, message: &str) -> Vec<Value> {
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let lines = read();
        if lines.iter().any(|line| line["message"] == message) {
            return lines;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "no {message:?} line within {SOON:?}; lines of the request: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_logged_as_json_by_the_edge_and_the_worker_under_one_request_id() {
    let (fleet, edge) = stack(&["gw-a"]).await;
    let session = fleet.stopped_sessions(1).await.remove(0);
    let request_id = fresh_request_id();

    let (status, echoed) = post(
        &fleet,
        &edge,
        &session_path(&session, ":stop"),
        &json!({}),
        &request_id,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(echoed, request_id);

    let edge_said = wait_for_message(
        || edge_lines(&edge, &request_id),
        "finished processing request",
    )
    .await;
    let response_line = edge_said
        .iter()
        .find(|line| line["message"] == "finished processing request");
    let response_line = response_line.expect("the response line");
    assert_eq!(
        response_line["span"]["http.matched_path"],
        "/api/v1/sessions/{session}"
    );
    assert_eq!(response_line["status"], 200);
    let worker_said =
        wait_for_message(|| worker_lines(&fleet, &request_id), "command handled").await;
    let handled = worker_said
        .iter()
        .find(|line| line["message"] == "command handled");
    let handled = handled.expect("the worker's line");
    assert_eq!(handled["span"]["command.kind"], "stop");
    assert_eq!(handled["span"]["session.id"], session.as_str());
    assert!(failures(&edge_said).is_empty() && failures(&worker_said).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_refusal_is_one_line_in_the_worker_and_no_failure_line_at_the_edge() {
    let (fleet, edge) = stack(&["gw-a"]).await;
    let session = fleet.stopped_sessions(1).await.remove(0);
    let request_id = fresh_request_id();

    let (status, _) = post(
        &fleet,
        &edge,
        &session_path(&session, ":start"),
        &json!({}),
        &request_id,
    )
    .await;
    assert_eq!(status, 409, "an unpaired session cannot start");

    let worker_said =
        wait_for_message(|| worker_lines(&fleet, &request_id), "command refused").await;
    assert_eq!(
        worker_said.len(),
        1,
        "one line for the refusal: {worker_said:#?}"
    );
    assert_eq!(worker_said[0]["code"], "failed_precondition");
    let reason = worker_said[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("no number attached"), "{reason:?}");
    let edge_said = wait_for_message(
        || edge_lines(&edge, &request_id),
        "finished processing request",
    )
    .await;
    assert!(
        failures(&edge_said).is_empty(),
        "a refusal is the client's problem, not a failure of the edge: {edge_said:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_failure_is_one_warn_line_at_the_edge_and_nothing_in_the_worker() {
    // `gw-void` has no worker: the edge cannot reach one and answers 503.
    let (fleet, edge) = stack(&["gw-a", "gw-void"]).await;
    let request_id = fresh_request_id();
    let body = json!({"label": "nowhere", "gatewayId": "gw-void"});

    let (status, _) = post(&fleet, &edge, "/api/v1/sessions", &body, &request_id).await;
    assert_eq!(status, 503);

    let edge_said = wait_for_message(
        || edge_lines(&edge, &request_id),
        "finished processing request",
    )
    .await;
    let failed = failures(&edge_said);
    assert_eq!(failed.len(), 1, "exactly one failure line: {edge_said:#?}");
    assert_eq!(failed[0]["http.status"], 503);
    assert!(worker_lines(&fleet, &request_id).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_is_logged_by_the_worker_under_the_request_id_of_its_post() {
    let (fleet, edge) = stack(&["gw-a"]).await;
    let session = fleet.working_sessions(1).await.remove(0);
    let request_id = fresh_request_id();
    let body = json!({"to": "6281234567890", "text": "hello"});

    let path = session_path(&session, "/messages");
    let (status, _) = post(&fleet, &edge, &path, &body, &request_id).await;
    assert_eq!(status, 202);

    let worker_said = wait_for_message(|| worker_lines(&fleet, &request_id), "message sent").await;
    let sent = worker_said
        .iter()
        .find(|line| line["message"] == "message sent");
    assert_eq!(
        sent.expect("the sent line")["span"]["session.id"],
        session.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_default_level_a_success_logs_nothing_and_a_refusal_logs_its_lines() {
    let (fleet, edge) = stack_logging(&["gw-a"], ("info", "info")).await;
    let session = fleet.stopped_sessions(1).await.remove(0);
    let (stop_id, start_id) = (fresh_request_id(), fresh_request_id());

    let (stop, start) = (
        session_path(&session, ":stop"),
        session_path(&session, ":start"),
    );
    let stopped = post(&fleet, &edge, &stop, &json!({}), &stop_id).await;
    assert_eq!(stopped.0, 200);
    let started = post(&fleet, &edge, &start, &json!({}), &start_id).await;
    assert_eq!(started.0, 409, "an unpaired session cannot start");

    // Each process writes its lines in order: once the refusal's are out, the success's
    // would be too.
    let refused = wait_for_message(
        || edge_lines(&edge, &start_id),
        "finished processing request",
    )
    .await;
    let response_line = (refused.iter())
        .find(|line| line["message"] == "finished processing request")
        .expect("the response line");
    assert_eq!(response_line["level"], "INFO");
    assert_eq!(response_line["status"], 409);
    wait_for_message(|| worker_lines(&fleet, &start_id), "command refused").await;
    assert!(
        edge_lines(&edge, &stop_id).is_empty(),
        "no access line for a success at info: {:#?}",
        edge_lines(&edge, &stop_id)
    );
    assert!(
        worker_lines(&fleet, &stop_id).is_empty(),
        "no command line for a success at info: {:#?}",
        worker_lines(&fleet, &stop_id)
    );
}
