//! Connected links: stored credentials, logout, forget, stream replacement, close, sending and
//! the journal.

use super::*;
use crate::driver::sim::journal::{SimRecord, SimRecordKind};
use crate::driver::{DriverError, Presence, ReceiptKind};
use futures::StreamExt;

#[tokio::test]
async fn stored_credentials_connect_in_another_driver_instance() {
    let world = World::start().await;
    let first = world.driver(fast());
    let session = session();
    let (link, identity, credentials) = pair_by_qr(&first, &session, "6281234567890").await;
    link.connection.close().await;

    let second = world.driver(fast());
    let mut link = second
        .connect(&session, &credentials)
        .await
        .expect("connects");
    assert_eq!(next(&mut link).await, DriverEvent::Connected { identity });
    link.connection.close().await;

    let garbage = Credentials(b"{\"v\":1}".to_vec());
    let refused = second.connect(&session, &garbage).await.map(|_| ());
    assert_eq!(
        refused,
        Err(DriverError::Fatal(
            "stored credentials are unreadable".into()
        ))
    );
    no_tasks_left(&first).await;
    no_tasks_left(&second).await;
}

#[tokio::test]
async fn logout_ends_the_link_silently_and_voids_the_credentials() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let (mut link, _, credentials) = pair_by_qr(&driver, &session, "6281234567890").await;
    link.connection.logout().await.expect("logs out");
    ends(&mut link).await;
    assert_eq!(link.connection.logout().await, Err(DriverError::Closed));
    assert_eq!(
        link.connection
            .send_text("6281111111111@s.whatsapp.net", "hi", "3EB0AA")
            .await,
        Err(DriverError::Closed)
    );
    let refused = driver.connect(&session, &credentials).await.map(|_| ());
    assert_eq!(
        refused,
        Err(DriverError::Fatal("device was logged out".into()))
    );
    let kinds: Vec<_> = driver.journal().into_iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            SimRecordKind::Connected,
            SimRecordKind::Closed,
            SimRecordKind::LoggedOut
        ]
    );
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn forget_voids_the_credentials_of_a_stopped_session() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let (link, _, credentials) = pair_by_qr(&driver, &session, "6281234567890").await;
    link.connection.close().await;
    driver
        .forget(&session, &credentials)
        .await
        .expect("forgets");
    let refused = driver.connect(&session, &credentials).await.map(|_| ());
    assert_eq!(
        refused,
        Err(DriverError::Fatal("device was logged out".into()))
    );
    // A new pairing of the same number is a new device.
    let (link, _, _) = pair_by_qr(&driver, &session, "6281234567890").await;
    link.connection.close().await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn a_second_connection_of_the_device_replaces_the_first_across_instances() {
    let world = World::start().await;
    let (here, there) = (world.driver(fast()), world.driver(fast()));
    let session = session();
    let (mut first, identity, credentials) = pair_by_qr(&here, &session, "6281234567890").await;
    let mut second = there
        .connect(&session, &credentials)
        .await
        .expect("connects");
    assert_eq!(next(&mut first).await, DriverEvent::StreamReplaced);
    ends(&mut first).await;
    assert_eq!(next(&mut second).await, DriverEvent::Connected { identity });
    // The replaced link is gone from its driver; the new one is unaffected.
    let gone = here
        .simulate(&session.session_id, SimAction::Disconnect, b"")
        .await;
    assert_eq!(gone, Err(DriverError::Closed));
    silent_for(&mut second, Duration::from_millis(200)).await;
    second.connection.close().await;
    no_tasks_left(&here).await;
    no_tasks_left(&there).await;
}

#[tokio::test]
async fn close_is_silent_idempotent_and_refuses_later_calls() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let (mut link, _, _) = pair_by_qr(&driver, &session, "6281234567890").await;
    // The delivery receipt due 50 ms later never comes.
    link.connection
        .send_text("6281111111111@s.whatsapp.net", "hi", "3EB0AA")
        .await
        .expect("sent");
    link.connection.close().await;
    link.connection.close().await;
    ends(&mut link).await;
    let to = "6281111111111@s.whatsapp.net";
    assert_eq!(
        link.connection.send_text(to, "x", "3EB0AA").await,
        Err(DriverError::Closed)
    );
    assert_eq!(
        link.connection.send_presence(to, Presence::Paused).await,
        Err(DriverError::Closed)
    );
    assert_eq!(
        link.connection.mark_read(to, &[]).await,
        Err(DriverError::Closed)
    );
    assert_eq!(link.connection.logout().await, Err(DriverError::Closed));
    let closed = driver
        .journal()
        .into_iter()
        .filter(|r| r.kind == SimRecordKind::Closed)
        .count();
    assert_eq!(closed, 1);

    // Closing while still connecting: no Connected either.
    let (_, _, credentials) = pair_by_qr(&driver, &super::session(), "6282222222222").await;
    let mut link = driver
        .connect(&session, &credentials)
        .await
        .expect("connects");
    link.connection.close().await;
    ends(&mut link).await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn sending_returns_whatsapp_ids_receipts_follow_and_the_journal_records_it() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let subject = world
        .subjects
        .sim_journal(&session.gateway_id, &session.session_id);
    let mut simlog = world.client.subscribe(subject).await.expect("subscribes");
    world.client.flush().await.expect("flushes");

    let link = driver.start_qr_pairing(&session).await.expect("starts");
    let early = link
        .connection
        .send_text("6281111111111@s.whatsapp.net", "hi", "3EB0AA")
        .await;
    assert!(matches!(early, Err(DriverError::Transient(_))), "{early:?}");
    link.connection.close().await;

    let (mut link, _, _) = pair_by_qr(&driver, &session, "6281234567890").await;
    let to = "6281111111111@s.whatsapp.net";
    let chosen = "3EB0C0FFEE0123456789ABCD";
    let id = (link.connection.send_text(to, "hello", chosen).await).expect("sent");
    assert_eq!(id, chosen, "the sim sends under the id it is given");
    let receipt = DriverEvent::Receipt {
        message_id: id.clone(),
        kind: ReceiptKind::Delivered,
    };
    assert_eq!(next(&mut link).await, receipt);
    link.connection
        .send_presence(to, Presence::Composing)
        .await
        .expect("presence");
    link.connection
        .mark_read(to, &["ABC".to_owned()])
        .await
        .expect("read");
    link.connection.close().await;

    // The pairing link never connected, so it records no `closed`.
    let expected = vec![
        SimRecordKind::Connected,
        SimRecordKind::SentText {
            to: to.into(),
            text: "hello".into(),
            message_id: id,
        },
        SimRecordKind::Presence {
            to: to.into(),
            presence: Presence::Composing,
        },
        SimRecordKind::MarkedRead {
            chat: to.into(),
            ids: vec!["ABC".into()],
        },
        SimRecordKind::Closed,
    ];
    let journal: Vec<_> = driver.journal().into_iter().map(|r| r.kind).collect();
    assert_eq!(journal, expected);
    for kind in expected {
        let message = tokio::time::timeout(PATIENCE, simlog.next())
            .await
            .expect("a simlog record in time")
            .expect("subscription open");
        let record: SimRecord = serde_json::from_slice(&message.payload).expect("a SimRecord");
        assert_eq!((record.session_id, record.kind), (session.session_id, kind));
    }
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn dropping_the_event_stream_ends_the_link_task() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let link = driver.start_qr_pairing(&session()).await.expect("starts");
    drop(link.events);
    no_tasks_left(&driver).await;
    assert_eq!(
        link.connection
            .send_text("6281111111111@s.whatsapp.net", "x", "3EB0AA")
            .await,
        Err(DriverError::Closed)
    );
}

#[tokio::test]
async fn shutdown_ends_every_link_silently() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let shared = session();
    // Two pairings of one session: the registry only knows the second; both must end.
    let mut links = vec![
        driver.start_qr_pairing(&shared).await.expect("starts"),
        driver.start_qr_pairing(&shared).await.expect("starts"),
        driver.start_qr_pairing(&session()).await.expect("starts"),
    ];
    driver.shutdown().await;
    for link in &mut links {
        // The first QR may have been emitted before the shutdown; nothing after.
        while let Some(event) = link.events.recv().await {
            assert!(matches!(event, DriverEvent::Qr { .. }), "{event:?}");
        }
    }
    no_tasks_left(&driver).await;
    let mut late = driver.start_qr_pairing(&session()).await.expect("starts");
    ends(&mut late).await;
}
