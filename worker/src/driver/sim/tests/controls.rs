//! The sim controls on live links: their effects and their refusals.

use super::*;
use crate::driver::DriverError;
use crate::driver::sim::journal::SimRecordKind;

fn invalid(message: &str) -> Result<(), DriverError> {
    Err(DriverError::Invalid(message.to_owned()))
}

#[tokio::test]
async fn disconnect_drops_a_connected_link_and_keeps_the_device() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let id = session.session_id;
    let (mut link, identity, credentials) = pair_by_qr(&driver, &session, "6281234567890").await;
    driver
        .simulate(&id, SimAction::Disconnect, b"{}")
        .await
        .expect("applies");
    let reason = "connection lost (simulated)".to_owned();
    assert_eq!(next(&mut link).await, DriverEvent::Disconnected { reason });
    ends(&mut link).await;
    assert_eq!(
        driver.simulate(&id, SimAction::Disconnect, b"").await,
        Err(DriverError::Closed)
    );
    // The worker reconnects with the same credentials.
    let mut link = driver
        .connect(&session, &credentials)
        .await
        .expect("reconnects");
    let refused = driver.simulate(&id, SimAction::Disconnect, b"").await;
    assert_eq!(refused, invalid("the link is not connected"));
    assert_eq!(next(&mut link).await, DriverEvent::Connected { identity });
    link.connection.close().await;
    no_tasks_left(&driver).await;
    // A link that ends by itself records `closed` too: every `connected` has its `closed`,
    // each stamped with the worker.
    let journal = driver.journal();
    let kinds: Vec<_> = journal.iter().map(|r| r.kind.clone()).collect();
    use SimRecordKind::{Closed, Connected};
    assert_eq!(kinds, vec![Connected, Closed, Connected, Closed]);
    assert!(journal.iter().all(|r| r.worker_id.as_str() == "w-test"));
}

#[tokio::test]
async fn unlink_logs_the_device_out_for_good() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let id = session.session_id;
    let mut pairing = driver.start_qr_pairing(&session).await.expect("starts");
    assert!(matches!(next(&mut pairing).await, DriverEvent::Qr { .. }));
    assert_eq!(
        driver.simulate(&id, SimAction::Unlink, b"").await,
        invalid("no device is paired on this link")
    );
    pairing.connection.close().await;
    ends(&mut pairing).await;

    let (mut link, _, credentials) = pair_by_qr(&driver, &session, "6281234567890").await;
    driver
        .simulate(&id, SimAction::Unlink, b"")
        .await
        .expect("applies");
    let reason = "device removed on the phone".to_owned();
    assert_eq!(next(&mut link).await, DriverEvent::LoggedOut { reason });
    ends(&mut link).await;
    let refused = driver.connect(&session, &credentials).await.map(|_| ());
    assert_eq!(
        refused,
        Err(DriverError::Fatal("device was logged out".into()))
    );
    assert!(
        driver
            .journal()
            .iter()
            .any(|r| r.kind == SimRecordKind::LoggedOut)
    );
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn unlink_applies_right_after_pairing_before_connected() {
    let world = World::start().await;
    let driver = world.driver(SimConfig {
        connect_latency: Duration::from_millis(500),
        ..fast()
    });
    let session = session();
    let id = session.session_id;
    let mut link = driver.start_qr_pairing(&session).await.expect("starts");
    driver
        .simulate(&id, SimAction::Pair, b"")
        .await
        .expect("pairs");
    assert!(matches!(next(&mut link).await, DriverEvent::Qr { .. }));
    assert!(matches!(next(&mut link).await, DriverEvent::Paired { .. }));
    driver
        .simulate(&id, SimAction::Unlink, b"{}")
        .await
        .expect("applies");
    assert!(matches!(
        next(&mut link).await,
        DriverEvent::LoggedOut { .. }
    ));
    ends(&mut link).await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn incoming_delivers_a_message_to_a_connected_link_only() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let id = session.session_id;
    let mut pairing = driver.start_qr_pairing(&session).await.expect("starts");
    assert!(matches!(next(&mut pairing).await, DriverEvent::Qr { .. }));
    let body = br#"{"from":"6281111111111","text":"hi"}"#;
    let refused = driver.simulate(&id, SimAction::Incoming, body).await;
    assert_eq!(refused, invalid("the link is not connected"));
    pairing.connection.close().await;
    ends(&mut pairing).await;

    let (mut link, _, _) = pair_by_qr(&driver, &session, "6281234567890").await;
    let before = wagw_common::time::now_ms();
    driver
        .simulate(&id, SimAction::Incoming, body)
        .await
        .expect("applies");
    let DriverEvent::IncomingMessage {
        id: message_id,
        from,
        text,
        at,
    } = next(&mut link).await
    else {
        panic!("expected IncomingMessage");
    };
    assert_eq!(
        (from.as_str(), text.as_str()),
        ("6281111111111@s.whatsapp.net", "hi")
    );
    assert!(message_id.starts_with("3EB0") && at >= before);
    let from_jid = br#"{"from":"120363@g.us","text":"group"}"#;
    driver
        .simulate(&id, SimAction::Incoming, from_jid)
        .await
        .expect("applies");
    assert!(
        matches!(next(&mut link).await, DriverEvent::IncomingMessage { from, .. } if from == "120363@g.us")
    );
    for bad in [
        &br#"{"from":"+62811","text":"x"}"#[..],
        br#"{"text":"x"}"#,
        b"nope",
    ] {
        let refused = driver.simulate(&id, SimAction::Incoming, bad).await;
        assert!(
            matches!(refused, Err(DriverError::Invalid(_))),
            "{refused:?}"
        );
    }
    // Still connected after refusals.
    silent_for(&mut link, Duration::from_millis(100)).await;
    link.connection.close().await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn fail_ends_any_live_link_with_its_reason() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let id = session.session_id;
    let mut pairing = driver.start_qr_pairing(&session).await.expect("starts");
    assert!(matches!(next(&mut pairing).await, DriverEvent::Qr { .. }));
    driver
        .simulate(&id, SimAction::Fail, b"")
        .await
        .expect("applies");
    let reason = "simulated connection failure".to_owned();
    assert_eq!(next(&mut pairing).await, DriverEvent::Failed { reason });
    ends(&mut pairing).await;

    let (mut link, _, _) = pair_by_qr(&driver, &session, "6281234567890").await;
    let body = br#"{"reason":"account banned"}"#;
    driver
        .simulate(&id, SimAction::Fail, body)
        .await
        .expect("applies");
    let reason = "account banned".to_owned();
    assert_eq!(next(&mut link).await, DriverEvent::Failed { reason });
    ends(&mut link).await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn controls_without_a_live_link_or_with_bad_bodies_are_refused() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let id = session.session_id;
    for action in SimAction::ALL {
        let body = match action {
            SimAction::Incoming => &br#"{"from":"6281111111111","text":"x"}"#[..],
            _ => b"{}",
        };
        let refused = driver.simulate(&id, action, body).await;
        assert_eq!(refused, Err(DriverError::Closed), "{action:?}");
    }
    let mut link = driver.start_qr_pairing(&session).await.expect("starts");
    for (action, body) in [
        (SimAction::Pair, &b"{"[..]),
        (SimAction::Disconnect, br#"{"x":1}"#),
        (SimAction::Unlink, b"[]"),
        (SimAction::Fail, br#"{"reason":7}"#),
    ] {
        let refused = driver.simulate(&id, action, body).await;
        assert!(
            matches!(refused, Err(DriverError::Invalid(_))),
            "{action:?}: {refused:?}"
        );
    }
    // Nothing happened to the link: it still only shows QR codes.
    assert!(matches!(next(&mut link).await, DriverEvent::Qr { .. }));
    link.connection.close().await;
    ends(&mut link).await;
    no_tasks_left(&driver).await;
}
