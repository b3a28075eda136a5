//! Webhook deliveries from a real fleet: signed events of a paired session, filters, retries
//! of a failing endpoint, isolation from a slow one, and an endpoint that goes away and back.

use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use wagw_tests::assertions::assert_status;
use wagw_tests::webhook_receiver::{Behaviour, Received};
use wagw_tests::{ORG_A, ORG_B, SOON, TestApp, TestOptions, WebhookReceiver, id_of, session_path};

use crate::webhooks::create_webhook;

/// How long retried deliveries may take in these tests.
const RETRIED: Duration = Duration::from_secs(30);

/// One gateway, one worker: deliveries do not need more.
pub fn one_gateway() -> TestOptions {
    TestOptions {
        gateways: vec!["gw-a".into()],
        ..TestOptions::default()
    }
}

/// The ids of every event of a session, read back from the event stream.
pub async fn session_event_ids(app: &TestApp, token: &str, session: &str) -> BTreeSet<String> {
    session_event_ids_since(app, token, session, 0).await
}

/// The ids of a session's events that happened at or after `since` (ms): what a webhook
/// created at `since` receives.
pub async fn session_event_ids_since(
    app: &TestApp,
    token: &str,
    session: &str,
    since: i64,
) -> BTreeSet<String> {
    let response = app
        .get(&session_path(session, "/events?pageSize=500"), token)
        .await;
    let page = assert_status(&response, StatusCode::OK);
    page["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|event| event["at"].as_i64().is_some_and(|at| at >= since))
        .map(id_of)
        .collect()
}

/// Whether every id in `ids` arrived answered 2xx.
pub fn all_delivered(received: &[Received], ids: &BTreeSet<String>) -> bool {
    let delivered: BTreeSet<String> = received
        .iter()
        .filter(|r| r.answered < 300)
        .map(|r| id_of(&r.event()))
        .collect();
    ids.is_subset(&delivered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paired_sessions_events_arrive_signed_with_their_id() {
    let app = TestApp::spawn(one_gateway()).await;
    let owner = app.jwt(ORG_A, "owner");
    let receiver = WebhookReceiver::start().await;
    let (_, secret, _) = create_webhook(&app, &owner, &json!({"url": receiver.url()})).await;
    let session = id_of(&app.paired_session(&owner, "6281234567890").await);

    let received = receiver
        .wait_for_delivered(SOON, &["session.status", "session.paired"])
        .await;
    for request in &received {
        let event = request.event();
        assert!(
            request.signature_verifies(&secret),
            "bad signature: {:?}",
            request.headers
        );
        assert_eq!(request.header("x-wagw-event-id"), event["id"].as_str());
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert!(
            request
                .header("user-agent")
                .is_some_and(|ua| ua.contains("wagw"))
        );
        assert_eq!(event["sessionId"], session.as_str());
        assert_eq!(event["organizationId"], ORG_A);
        assert!(!request.signature_verifies("whsec_not_the_secret"));
    }
    let ids = session_event_ids(&app, &owner, &session).await;
    receiver
        .wait_for(SOON, "every event of the session", |r| {
            all_delivered(r, &ids)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_and_session_filters_are_honoured() {
    let app = TestApp::spawn(one_gateway()).await;
    let owner = app.jwt(ORG_A, "owner");
    let (paired_only, one_session, everything) = (
        WebhookReceiver::start().await,
        WebhookReceiver::start().await,
        WebhookReceiver::start().await,
    );
    let watched = id_of(
        &app.create_session(&owner, &json!({"label": "watched"}))
            .await,
    );
    let body = json!({"url": paired_only.url(), "events": ["session.paired"]});
    create_webhook(&app, &owner, &body).await;
    let body = json!({"url": one_session.url(), "sessionId": watched});
    let (_, _, created) = create_webhook(&app, &owner, &body).await;
    let one_session_since = created["createdAt"].as_i64().unwrap_or_default();
    let (_, _, created) = create_webhook(&app, &owner, &json!({"url": everything.url()})).await;
    let everything_since = created["createdAt"].as_i64().unwrap_or_default();

    let (status, qr, _) = app.get(&session_path(&watched, "/qr"), &owner).await;
    assert_eq!(status, StatusCode::OK, "{qr}");
    let pair = json!({"phoneNumber": "6281234567891"});
    let reply = app
        .sim("gw-a", &watched, wagw_common::sim::SimAction::Pair, pair)
        .await;
    assert!(reply.ok, "{reply:?}");
    let other = id_of(&app.paired_session(&owner, "6281234567892").await);

    // The watched session's first event (its creation) came before the webhooks.
    let mut all_ids = session_event_ids_since(&app, &owner, &watched, everything_since).await;
    let watched_ids = session_event_ids_since(&app, &owner, &watched, one_session_since).await;
    all_ids.extend(session_event_ids(&app, &owner, &other).await);
    everything
        .wait_for(SOON, "every event", |r| all_delivered(r, &all_ids))
        .await;
    let paired = paired_only
        .wait_for(SOON, "both pairings", |r| r.len() >= 2)
        .await;
    let sessions: BTreeSet<String> = paired
        .iter()
        .inspect(|r| assert_eq!(r.event()["type"], "session.paired"))
        .map(|r| {
            r.event()["sessionId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(sessions, BTreeSet::from([watched.clone(), other.clone()]));
    let mine = one_session
        .wait_for(SOON, "the watched session's events", |r| {
            all_delivered(r, &watched_ids)
        })
        .await;
    for request in mine {
        assert_eq!(
            request.event()["sessionId"],
            watched.as_str(),
            "another session's event"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_gets_every_event_after_retries() {
    let app = TestApp::spawn(one_gateway()).await;
    let owner = app.jwt(ORG_A, "owner");
    let receiver = WebhookReceiver::start().await;
    receiver.set(Behaviour::FailTimes {
        status: 500,
        times: 2,
    });
    create_webhook(&app, &owner, &json!({"url": receiver.url()})).await;
    let session = id_of(&app.paired_session(&owner, "6281234567893").await);
    let ids = session_event_ids(&app, &owner, &session).await;
    assert!(ids.len() >= 3, "a pairing makes several events: {ids:?}");

    let received = receiver
        .wait_for(RETRIED, "every event after the failures", |r| {
            all_delivered(r, &ids)
        })
        .await;
    let failed: Vec<&Received> = received.iter().filter(|r| r.answered == 500).collect();
    assert_eq!(failed.len(), 2, "the two failures happened");
    for failure in failed {
        let id = id_of(&failure.event());
        assert!(
            received
                .iter()
                .any(|r| r.answered == 200 && id_of(&r.event()) == id),
            "the failed event {id} was delivered later"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endpoint_is_retried_while_another_organization_gets_its_events() {
    let mut options = one_gateway();
    options.webhooks.timeout_ms = 500;
    let app = TestApp::spawn(options).await;
    let (owner_a, owner_b) = (app.jwt(ORG_A, "owner"), app.jwt(ORG_B, "owner"));
    let (slow, prompt) = (
        WebhookReceiver::start().await,
        WebhookReceiver::start().await,
    );
    slow.set(Behaviour::Slow(Duration::from_secs(3)));
    create_webhook(&app, &owner_a, &json!({"url": slow.url()})).await;
    create_webhook(&app, &owner_b, &json!({"url": prompt.url()})).await;

    let session_a = id_of(&app.paired_session(&owner_a, "6281234567894").await);
    let session_b = id_of(&app.paired_session(&owner_b, "6281234567895").await);
    let ids_b = session_event_ids(&app, &owner_b, &session_b).await;
    prompt
        .wait_for(SOON, "organization B's events", |r| {
            all_delivered(r, &ids_b)
        })
        .await;
    let retried = slow
        .wait_for(SOON, "a timed-out delivery tried again", |received| {
            let ids: Vec<String> = received.iter().map(|r| id_of(&r.event())).collect();
            ids.iter()
                .any(|id| ids.iter().filter(|other| *other == id).count() >= 2)
        })
        .await;
    assert!(
        retried.iter().all(|r| r.answered == 599),
        "nothing counted as delivered yet"
    );

    slow.set(Behaviour::Accept);
    let ids_a = session_event_ids(&app, &owner_a, &session_a).await;
    slow.wait_for(
        RETRIED,
        "organization A's events once the endpoint is fast",
        |r| all_delivered(r, &ids_a),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_an_endpoint_that_went_away_once_it_is_back() {
    let app = TestApp::spawn(one_gateway()).await;
    let owner = app.jwt(ORG_A, "owner");
    let mut receiver = WebhookReceiver::start().await;
    let (webhook, _, _) = create_webhook(&app, &owner, &json!({"url": receiver.url()})).await;
    receiver.stop().await;
    let session = id_of(&app.paired_session(&owner, "6281234567896").await);
    // Failed attempts are counted in Redis: wait until the worker has met the closed port.
    let org = wagw_common::OrganizationId::parse(ORG_A).expect("valid");
    let webhook_id = wagw_common::WebhookId::parse(&webhook).expect("valid");
    let attempts = app.keys.webhook_attempts(&org, &webhook_id);
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let counted: usize = redis::cmd("HLEN")
            .arg(&attempts)
            .query_async(&mut app.redis.clone())
            .await
            .expect("redis answers");
        if counted > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "no failed attempt recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(receiver.received().is_empty());

    receiver.restart().await;
    let ids = session_event_ids(&app, &owner, &session).await;
    receiver
        .wait_for(RETRIED, "every event once the endpoint is back", |r| {
            all_delivered(r, &ids)
        })
        .await;
}
