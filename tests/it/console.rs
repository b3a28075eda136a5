//! The web console end to end in headless Chromium: sign in, create a session, see its QR,
//! pair it through the sim, watch it turn `working` live, stop, start, restart, log out and
//! delete it, pair by code; the QR's refresh; the status stream's reconnect.
//! Needs `node`, Debian's `chromium` and `tests/console/node_modules` (`scripts/install-deps.sh`).

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use wagw_api::Capability::{Manage, Read};
use wagw_common::SessionStatus::{Starting, Stopped, Working};
use wagw_tests::console::{ConsoleScript, artifacts_dir, require_prerequisites};
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions, session_path};

/// Launching Chromium and signing in; generous for a loaded 2-core machine.
const FIRST_STEP: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_secs(20);
const PHONE: &str = "6281234567890";
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

#[track_caller]
fn assert_png(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(
        bytes.len() > 1000 && bytes.starts_with(PNG_MAGIC),
        "{} is not a non-empty PNG ({} bytes)",
        path.display(),
        bytes.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_pairs_a_session_by_qr_and_shows_it_working_live() {
    require_prerequisites();
    // No auto pairing: the session pairs only when this test sends the sim's `pair`.
    let app = TestApp::spawn(TestOptions::default()).await;
    let key = app.api_key(ORG_A, &[Read, Manage]).await;
    let artifacts = artifacts_dir();
    let screenshot = artifacts.join("console-working.png");
    let _ = std::fs::remove_file(&screenshot);
    // The test's own view of the statuses, to check what each button did, in order.
    let mut changes = app.watch(&key).await;
    let mut script = ConsoleScript::start(&app.base_url, &key, &artifacts);

    let id = script.expect("qr-shown", FIRST_STEP).await;
    let (status, row, _) = app.get(&session_path(&id, ""), &key).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the console's session {id:?}: {row}"
    );
    assert_eq!(row["label"], "Front desk");
    assert_eq!(row["status"], "scan_qr_code", "{row}");

    let gateway = row["gatewayId"].as_str().expect("a gateway").to_owned();
    app.sim_pair(&gateway, &id, PHONE).await;
    script.say("paired").await;

    script.expect("working", STEP).await;
    changes.wait_for_status(&id, Working, SOON).await;
    assert_png(&screenshot);
    script.expect("stopped", STEP).await;
    changes.wait_for_status(&id, Stopped, SOON).await;
    let row = app.wait_for_status(&key, &id, "stopped", SOON).await;
    assert_eq!(row["phoneNumber"], PHONE, "stop keeps the pairing: {row}");
    for step in ["started", "restarted"] {
        script.expect(step, STEP).await;
        changes.wait_for_status(&id, Starting, SOON).await;
        changes.wait_for_status(&id, Working, SOON).await;
    }
    script.expect("logged-out", STEP).await;
    changes.wait_for_status(&id, Stopped, SOON).await;
    let row = app.wait_for_status(&key, &id, "stopped", SOON).await;
    assert!(
        row["phoneNumber"].is_null(),
        "log out detaches the number: {row}"
    );

    script.expect("deleted", STEP).await;
    let (status, body, _) = app.get(&session_path(&id, ""), &key).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "deleted through the console: {body}"
    );

    let code = script.expect("code-shown", STEP).await;
    assert!(
        code.len() == 9 && code.as_bytes()[4] == b'-',
        "pairing code {code:?}"
    );
    assert_png(&artifacts.join("console-pairing-code.png"));
    script.expect("done", STEP).await;
    script.finish(STEP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_refreshes_the_qr_when_it_expires_and_offers_a_new_one_after_the_last() {
    require_prerequisites();
    // Two short QR codes, then the pairing gives up (`stopped`, `qr_expired`).
    let options = TestOptions {
        sim_qr_first_ms: 4000,
        sim_qr_next_ms: 3000,
        sim_qr_count: 2,
        ..TestOptions::default()
    };
    let app = TestApp::spawn(options).await;
    let key = app.api_key(ORG_A, &[Read, Manage]).await;
    let mut script =
        ConsoleScript::start_scenario("rotation", &app.base_url, &key, &artifacts_dir());
    script.expect("rotated", FIRST_STEP).await;
    script.expect("ended", STEP).await;
    script.expect("restarted", STEP).await;
    script.expect("done", STEP).await;
    script.finish(STEP).await;
    let (status, page, _) = app.get("/api/v1/sessions", &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["sessions"][0]["status"], "scan_qr_code",
        "pairing begun again: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reconnects_its_status_stream_after_the_edge_restarts() {
    require_prerequisites();
    let app = TestApp::spawn(TestOptions::default()).await;
    let key = app.api_key(ORG_A, &[Read, Manage]).await;
    let edge = app.start_edge(&app.options).await;
    let addr = edge.base_url.trim_start_matches("http://").to_owned();
    let mut script =
        ConsoleScript::start_scenario("reconnect", &edge.base_url, &key, &artifacts_dir());
    script.expect("live", FIRST_STEP).await;
    // A graceful stop with the console's stream open: `stop` asserts it returns in time.
    edge.stop().await;
    let shown = script.expect("down", STEP).await;
    assert!(shown.starts_with("reconnecting in"), "{shown:?}");
    let _successor = app.start_edge_at(&app.options, &addr).await;
    script.expect("live", STEP).await;
    let row = app
        .create_session(&key, &json!({"label": "after the restart"}))
        .await;
    script
        .say(&format!("created {}", wagw_tests::id_of(&row)))
        .await;
    script.expect("seen", STEP).await;
    script.expect("done", STEP).await;
    script.finish(STEP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_page_and_assets_carry_a_strict_policy_and_unknown_assets_are_404() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    for (path, media) in [
        ("/console", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/api.js", "text/javascript"),
        ("/console/pair.js", "text/javascript"),
        ("/console/live.js", "text/javascript"),
        ("/console/confirm.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ] {
        let response = app.http.get(app.url(path)).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            (response.headers().get(name))
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            header("content-type").starts_with(media),
            "{path}: {}",
            header("content-type")
        );
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("img-src 'self' blob: data:"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    }
    let missing = app
        .http
        .get(app.url("/console/nope.js"))
        .send()
        .await
        .expect("sent");
    let missing = wagw_tests::http::read_response(missing).await;
    wagw_tests::assertions::assert_error(&missing, StatusCode::NOT_FOUND, "not_found");
}
