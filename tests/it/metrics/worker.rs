//! Each worker's own `/metrics` on `WAGW_METRICS_ADDR`: found through its member info, its
//! shards and leases, pairings, sessions moving between statuses, sends and webhook
//! deliveries; `off`, and a taken port refused at boot.

use serde_json::json;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use wagw_common::sim::SimAction;
use wagw_tests::metrics::Scrape;
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions, WebhookReceiver, WorkerStack, id_of};

use super::PHONE;
use crate::webhooks::create_webhook;

const SHARDS: u32 = 8;

fn counter(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match scrape.value(name, labels) {
        Some(value) => value,
        None => panic!("no {name} {labels:?} in {:?}", scrape.samples),
    }
}

fn sessions(scrape: &Scrape, status: &str) -> f64 {
    counter(scrape, "wagw_worker_sessions", &[("status", status)])
}

/// Scrapes `worker` until `check` holds, for at most [`SOON`].
async fn scrape_until(
    app: &TestApp,
    worker: &str,
    what: &str,
    check: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let deadline = Instant::now() + SOON;
    loop {
        let scrape = app.worker_metrics(worker).await;
        if check(&scrape) {
            return scrape;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            scrape.samples
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_endpoint_shows_its_shards_leases_pairings_sessions_sends_and_webhooks() {
    let options = TestOptions {
        gateways: vec!["gw-a".into()],
        shards: SHARDS,
        ..TestOptions::default()
    };
    let app = TestApp::spawn(options).await;
    let worker = app.workers[0].id.clone();
    let owner = app.jwt(ORG_A, "owner");
    let receiver = WebhookReceiver::start().await;
    create_webhook(&app, &owner, &json!({"url": receiver.url()})).await;

    let scrape = app.worker_metrics(&worker).await;
    let held = [("gateway", "gw-a"), ("worker", worker.as_str())];
    assert_eq!(
        counter(&scrape, "wagw_worker_shards_held", &held),
        f64::from(SHARDS)
    );
    let acquired = counter(&scrape, "wagw_worker_lease_acquisitions_total", &[]);
    assert_eq!(acquired, f64::from(SHARDS), "one acquisition per shard");
    assert_eq!(counter(&scrape, "wagw_worker_lease_losses_total", &[]), 0.0);
    assert_eq!(scrape.types["wagw_worker_shards_held"], "gauge");

    let row = app
        .create_session(&owner, &json!({"label": "metered"}))
        .await;
    let id = id_of(&row);
    let (status, qr, _) = app.get(&format!("/api/v1/sessions/{id}/qr"), &owner).await;
    assert_eq!(status, 200, "{qr}");
    let scrape = app.worker_metrics(&worker).await;
    assert_eq!(
        counter(&scrape, "wagw_worker_qr_codes_issued_total", &[]),
        1.0
    );
    assert_eq!(sessions(&scrape, "scan_qr_code"), 1.0);
    assert_eq!(sessions(&scrape, "working"), 0.0);

    let reply = app
        .sim("gw-a", &id, SimAction::Pair, json!({"phoneNumber": PHONE}))
        .await;
    assert!(reply.ok, "{reply:?}");
    app.wait_for_status(&owner, &id, "working", SOON).await;
    let scrape = scrape_until(&app, &worker, "the session working", |s| {
        sessions(s, "working") == 1.0
    })
    .await;
    assert_eq!(sessions(&scrape, "scan_qr_code"), 0.0);

    let hello = json!({"to": PHONE, "text": "hello"});
    let (status, body, _) = app.send_message(&owner, &id, &hello, None).await;
    assert_eq!(status, 202, "{body}");
    let incoming = json!({"from": "6281111111111", "text": "hi"});
    assert!(app.sim("gw-a", &id, SimAction::Incoming, incoming).await.ok);
    let scrape = scrape_until(&app, &worker, "a send, a message and a delivery", |s| {
        let sent = [("outcome", "sent")];
        let delivered = [("outcome", "delivered")];
        counter(s, "wagw_worker_sends_total", &sent) == 1.0
            && counter(s, "wagw_worker_messages_received_total", &[]) == 1.0
            && counter(s, "wagw_worker_webhook_deliveries_total", &delivered) >= 1.0
    })
    .await;
    assert_eq!(
        counter(&scrape, "wagw_worker_sends_total", &[("outcome", "failed")]),
        0.0
    );
    let attempts = "wagw_worker_webhook_attempt_duration_seconds_count";
    let timed = counter(&scrape, attempts, &[("verdict", "delivered")]);
    let delivered = [("outcome", "delivered")];
    let delivered = counter(&scrape, "wagw_worker_webhook_deliveries_total", &delivered);
    assert_eq!(timed, delivered, "every delivered attempt is timed");
    assert!(!receiver.received().is_empty());

    let second = id_of(
        &app.create_session(&owner, &json!({"label": "by code"}))
            .await,
    );
    let path = format!("/api/v1/sessions/{second}/pairing-code");
    let (status, body, _) = app
        .post(&path, &owner, &json!({"phoneNumber": PHONE}))
        .await;
    assert_eq!(status, 200, "{body}");
    let scrape = app.worker_metrics(&worker).await;
    assert_eq!(
        counter(&scrape, "wagw_worker_pairing_codes_issued_total", &[]),
        1.0
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qr_pairing_that_expires_unscanned_is_counted() {
    let options = TestOptions {
        gateways: vec!["gw-a".into()],
        sim_qr_first_ms: 300,
        sim_qr_next_ms: 200,
        sim_qr_count: 2,
        ..TestOptions::default()
    };
    let app = TestApp::spawn(options).await;
    let worker = app.workers[0].id.clone();
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(
        &app.create_session(&owner, &json!({"label": "ignored"}))
            .await,
    );
    let (status, qr, _) = app.get(&format!("/api/v1/sessions/{id}/qr"), &owner).await;
    assert_eq!(status, 200, "{qr}");
    app.wait_for_status(&owner, &id, "stopped", SOON).await;
    let scrape = scrape_until(&app, &worker, "the expired pairing", |s| {
        counter(s, "wagw_worker_qr_pairings_expired_total", &[]) == 1.0
    })
    .await;
    assert_eq!(
        counter(&scrape, "wagw_worker_qr_codes_issued_total", &[]),
        2.0
    );
    assert_eq!(sessions(&scrape, "stopped"), 1.0);
    app.shutdown().await;
}

/// The `metricsAddr` of `worker`'s member info (`null` when it has none).
async fn member_metrics_addr(stack: &mut WorkerStack, worker: &str) -> serde_json::Value {
    let key = stack.keys.member_info(&stack.gw, worker);
    let info: String = redis::AsyncCommands::get(&mut stack.redis, key)
        .await
        .expect("the member info");
    let info: serde_json::Value = serde_json::from_str(&info).expect("JSON");
    info["metricsAddr"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_metrics_off_serves_none_and_publishes_no_address() {
    let mut stack = WorkerStack::start().await;
    let worker = stack.start_worker("w1", &["--metrics-addr", "off"]);
    stack.wait_for_all_shards("w1").await;
    assert_eq!(
        member_metrics_addr(&mut stack, "w1").await,
        serde_json::Value::Null
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_metrics_port_is_taken_fails_at_boot_naming_the_variable() {
    let stack = WorkerStack::start().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("an address").to_string();
    let config = stack.worker_config("w1", &["--metrics-addr", &addr]);
    let run = wagw_worker::run(config, CancellationToken::new());
    let result = tokio::time::timeout(Duration::from_secs(15), run).await;
    let error = match result.expect("the worker gives up promptly") {
        Ok(()) => panic!("the worker ran on a taken metrics port"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains("WAGW_METRICS_ADDR") && error.contains(&addr),
        "{error}"
    );
    assert!(!error.contains('\n'), "one line: {error}");
}
