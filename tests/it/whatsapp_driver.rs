//! The real WhatsApp driver in the `wagw-worker` binary, offline: it refuses to start without a
//! state key (and says why, without echoing a bad one), and with WhatsApp unreachable a pairing
//! answers `503 unavailable` promptly and leaves the session as it was.

use serde_json::json;
use std::time::Duration;
use wagw_tests::worker_procs::{WorkerProcess, logs_dir};
use wagw_tests::{FleetApp, FleetOptions, session_path};

const STATE_KEY: &str = "5b1e3a0f9c2d4e6f8a7b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f";

/// A loopback WebSocket address nothing listens on.
fn unreachable_whatsapp() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    format!("ws://127.0.0.1:{port}/ws/chat")
}

fn real_driver_env(state_key: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        ("WAGW_DRIVER".to_owned(), "whatsapp".to_owned()),
        ("WAGW_WA_URL".to_owned(), unreachable_whatsapp()),
        ("WAGW_WA_VERSION".to_owned(), "2.3000.1026131876".to_owned()),
        ("WAGW_METRICS_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
    ];
    if let Some(key) = state_key {
        env.push(("WAGW_STATE_KEY".to_owned(), key.to_owned()));
    }
    env
}

/// Runs the worker binary with `env` until it exits; returns its exit code and output.
async fn run_to_exit(name: &str, env: Vec<(String, String)>) -> (Option<i32>, String) {
    let log = logs_dir().expect("logs dir").join(format!("{name}.log"));
    let mut worker = WorkerProcess::spawn(name, &env, log.clone()).expect("spawns");
    let status = worker
        .wait_exit(Duration::from_secs(20))
        .await
        .expect("the worker exits by itself");
    let output = std::fs::read_to_string(&log).expect("the worker's log");
    (status.code(), output)
}

#[tokio::test]
async fn the_real_driver_refuses_to_start_without_a_state_key() {
    let (code, output) = run_to_exit("wa-no-key", real_driver_env(None)).await;
    assert_ne!(code, Some(0), "{output}");
    assert!(output.contains("WAGW_STATE_KEY is required"), "{output}");

    let bad = "not-a-key-but-a-secret-value";
    let (code, output) = run_to_exit("wa-bad-key", real_driver_env(Some(bad))).await;
    assert_ne!(code, Some(0), "{output}");
    assert!(output.contains("WAGW_STATE_KEY"), "{output}");
    assert!(
        !output.contains(bad),
        "the bad key is never echoed: {output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_with_whatsapp_unreachable_answers_unavailable_and_changes_nothing() {
    let fleet = FleetApp::spawn(FleetOptions {
        workers: 1,
        extra_env: real_driver_env(Some(STATE_KEY)),
        ..FleetOptions::default()
    })
    .await;
    let ids = fleet
        .try_create_sessions(1, "real")
        .await
        .expect("a session");
    let id = &ids[0];

    let (status, body, _) = fleet.app.get(&session_path(id, "/qr"), &fleet.token).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    let phone = json!({"phoneNumber": "6281234567890"});
    let path = session_path(id, "/pairing-code");
    let (status, body, _) = fleet.app.post(&path, &fleet.token, &phone).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    let (status, row, _) = fleet.app.get(&session_path(id, ""), &fleet.token).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["status"], "stopped", "{row}");
    assert!(row["phoneNumber"].is_null(), "{row}");
    fleet.stop().await;
}
