//! `/metrics`, read as Prometheus would: the edge's requests under their route templates, NATS
//! outcomes and latency, JWKS fetches and rate-limit rejections; each worker's own endpoint
//! (`worker.rs`) with its shards, leases, pairings, sessions by status, sends and webhooks.

mod worker;

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use wagw_common::GatewayId;
use wagw_tests::metrics::Scrape;
use wagw_tests::tokens::{Claims, TestKey, mint_with};
use wagw_tests::{ORG_A, TestApp, TestOptions, id_of, session_path};

const REQUESTS: &str = "wagw_http_requests_total";
const COMMANDS: &str = "wagw_nats_commands_total";
const COMMAND_SECONDS: &str = "wagw_nats_request_duration_seconds";
const JWKS_FETCHES: &str = "wagw_jwks_fetches_total";
const PHONE: &str = "6281234567890";

fn request(method: &str, route: &str, status: &str) -> [(&'static str, String); 3] {
    [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_owned()),
    ]
}

fn count(scrape: &Scrape, name: &str, labels: &[(&str, String)]) -> f64 {
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
    scrape.value(name, &labels).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_counts_requests_under_their_route_template_with_the_status() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let missing = ulid::Ulid::generate().to_string();
    let (status, body, _) = app.get(&session_path(&missing, ""), &app.admin_key).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    for _ in 0..2 {
        let (status, body, _) = app.get("/api/v1/sessions", &app.admin_key).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _, _) = app.get("/no/such/route", &app.admin_key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let scrape = app.edge_metrics().await;
    let one = request("GET", "/api/v1/sessions/{session}", "404");
    assert_eq!(count(&scrape, REQUESTS, &one), 1.0);
    let list = request("GET", "/api/v1/sessions", "200");
    assert_eq!(count(&scrape, REQUESTS, &list), 2.0);
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert_eq!(scrape.value(REQUESTS, &unmatched), Some(1.0));
    let timed = [("method", "GET"), ("route", "/api/v1/sessions/{session}")];
    let histogram = "wagw_http_request_duration_seconds_count";
    assert_eq!(scrape.value(histogram, &timed), Some(1.0));
    let no_raw_path = scrape
        .samples
        .iter()
        .all(|sample| (sample.labels.get("route")).is_none_or(|route| !route.contains(&missing)));
    assert!(no_raw_path, "a raw session id leaked into a route label");
    assert_eq!(scrape.types[REQUESTS], "counter");
    assert_eq!(
        scrape.types["wagw_http_request_duration_seconds"],
        "histogram"
    );
    app.shutdown().await;
}

/// Records `gateway`'s shard count as its first worker would, so the edge routes to it.
async fn record_shard_count(app: &TestApp, gateway: &str, shards: u32) {
    let gw = GatewayId::parse(gateway).expect("valid");
    let set: redis::RedisResult<()> = redis::cmd("SET")
        .arg(app.keys.shard_count(&gw))
        .arg(shards)
        .query_async(&mut app.redis.clone())
        .await;
    set.expect("SET shard count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_requests_are_counted_and_timed_by_op_and_outcome() {
    let options = TestOptions {
        command_timeout_ms: 800,
        ..TestOptions::edge_only()
    };
    let mut app = TestApp::spawn(options).await;
    app.start_worker("gw-a").await;
    app.wait_for_fleet("gw-a", Duration::from_secs(20))
        .await
        .expect("gw-a is served");
    let owner = app.jwt(ORG_A, "owner");
    app.create_session(&owner, &json!({"label": "served"}))
        .await;
    // gw-b had workers (its shard count is recorded) and has none now: no responders.
    record_shard_count(&app, "gw-b", 8).await;
    let orphan = json!({"label": "orphan", "gatewayId": "gw-b"});
    let (status, body, _) = app.post("/api/v1/sessions", &owner, &orphan).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // A fake worker of gw-b takes every command and never answers: a timeout.
    let _silent = app
        .subscribe(format!("{}.cmd.gw-b.>", app.subjects.root()))
        .await;
    let (status, body, _) = app.post("/api/v1/sessions", &owner, &orphan).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");

    let scrape = app.edge_metrics().await;
    for outcome in ["ok", "no_responders", "timeout"] {
        let labels = [("op", "create"), ("outcome", outcome)];
        assert_eq!(scrape.value(COMMANDS, &labels), Some(1.0), "{outcome}");
        let timed = scrape.value(&format!("{COMMAND_SECONDS}_count"), &labels);
        assert_eq!(timed, Some(1.0), "{outcome}");
    }
    let waited = [("op", "create"), ("outcome", "timeout")];
    let waited = scrape.value(&format!("{COMMAND_SECONDS}_sum"), &waited);
    assert!(
        waited.is_some_and(|s| s >= 0.7),
        "a timeout waits the command timeout: {waited:?}"
    );
    let fast = [("op", "create"), ("outcome", "ok"), ("le", "0.5")];
    let fast = scrape.value(&format!("{COMMAND_SECONDS}_bucket"), &fast);
    assert_eq!(fast, Some(1.0), "a served create is fast");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_fetches_are_counted_by_reason_and_outcome() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let jwks = app.jwks.as_ref().expect("the stack serves a JWKS");
    let before = app.edge_metrics().await;
    assert_eq!(before.sum(JWKS_FETCHES, &[]), 0.0, "no JWT yet, no fetch");
    let first = [("reason", "first"), ("outcome", "ok")];
    assert_eq!(
        before.value(JWKS_FETCHES, &first),
        Some(0.0),
        "series start at zero"
    );

    let owner = app.jwt(ORG_A, "owner");
    let (status, body, _) = app.get("/api/v1/sessions", &owner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after_first = app.edge_metrics().await;
    assert_eq!(after_first.value(JWKS_FETCHES, &first), Some(1.0));

    jwks.set_keys(&[TestKey::Rsa1, TestKey::Rsa2, TestKey::Ec1, TestKey::Ed1]);
    let rotated = mint_with(&Claims::new(ORG_A, "owner"), TestKey::Rsa2);
    let (status, body, _) = app.get("/api/v1/sessions", &rotated).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after_rotation = app.edge_metrics().await;
    let unknown = [("reason", "unknown_kid"), ("outcome", "ok")];
    assert_eq!(after_rotation.value(JWKS_FETCHES, &unknown), Some(1.0));
    assert_eq!(after_rotation.value(JWKS_FETCHES, &first), Some(1.0));
    let counted = after_rotation.sum(JWKS_FETCHES, &[]);
    assert_eq!(counted, jwks.fetches() as f64, "as many as the JWKS served");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_send_is_counted_by_its_window() {
    let options = TestOptions {
        gateways: vec!["gw-a".into()],
        ..TestOptions::default()
    };
    let app = TestApp::spawn(options).await;
    let owner = app.jwt(ORG_A, "owner");
    let create = json!({"label": "limited", "ratePerMin": 1});
    let id = id_of(&app.paired_session_from(&owner, &create, PHONE).await);
    let hello = json!({"to": PHONE, "text": "hello"});
    let (status, body, _) = app.send_message(&owner, &id, &hello, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body, _) = app.send_message(&owner, &id, &hello, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");

    let scrape = app.edge_metrics().await;
    let limited = "wagw_send_rate_limited_total";
    assert_eq!(scrape.value(limited, &[("window", "minute")]), Some(1.0));
    assert_eq!(scrape.value(limited, &[("window", "hour")]), Some(0.0));
    let refused = request("POST", "/api/v1/sessions/{session}/messages", "429");
    assert_eq!(count(&scrape, REQUESTS, &refused), 1.0);
    let published = [("op", "send"), ("outcome", "ok")];
    assert_eq!(
        scrape.value(COMMANDS, &published),
        Some(1.0),
        "one job queued"
    );
    app.shutdown().await;
}
