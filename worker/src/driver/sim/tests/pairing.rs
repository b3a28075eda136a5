//! QR and code pairing: rotation, exhaustion, expiry, auto-pairing and the `pair` control.

use super::*;
use crate::driver::DriverError;
use crate::driver::sim::journal::SimRecordKind;
use std::time::Instant;
use wagw_common::time::now_ms;

fn assert_qr_shape(code: &str) {
    let rest = code.strip_prefix("2@").expect("QR starts with 2@");
    let parts: Vec<&str> = rest.split(',').collect();
    assert_eq!(parts.len(), 4, "{code}");
    assert!(parts.iter().all(|p| !p.is_empty()), "{code}");
}

#[tokio::test]
async fn qr_codes_rotate_then_pairing_ends_with_qr_exhausted() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let started = Instant::now();
    let mut link = driver.start_qr_pairing(&session()).await.expect("starts");
    let mut codes = Vec::new();
    for (i, validity) in [150i64, 80, 80].into_iter().enumerate() {
        let DriverEvent::Qr { code, expires_at } = next(&mut link).await else {
            panic!("expected QR {i}");
        };
        assert_qr_shape(&code);
        let left = expires_at - now_ms();
        assert!(
            (validity - 40..=validity + 5).contains(&left),
            "QR {i} valid {left} ms"
        );
        codes.push(code);
    }
    assert_eq!(next(&mut link).await, DriverEvent::QrExhausted);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(310),
        "exhausted after {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_millis(1500),
        "exhausted after {elapsed:?}"
    );
    codes.dedup();
    assert_eq!(codes.len(), 3, "codes repeat");
    ends(&mut link).await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn the_phone_auto_pairs_a_qr_pairing_with_a_made_up_number() {
    let world = World::start().await;
    let driver = world.driver(SimConfig {
        auto_pair_after: Some(Duration::from_millis(50)),
        ..fast()
    });
    let session = session();
    let mut link = driver.start_qr_pairing(&session).await.expect("starts");
    assert!(matches!(next(&mut link).await, DriverEvent::Qr { .. }));
    let DriverEvent::Paired {
        identity,
        credentials,
    } = next(&mut link).await
    else {
        panic!("expected Paired");
    };
    assert!(identity.phone_number.starts_with("6280000") && identity.phone_number.len() == 13);
    assert_eq!(
        identity.jid,
        format!("{}@s.whatsapp.net", identity.phone_number)
    );
    assert!(identity.lid.ends_with("@lid") && identity.lid.len() == 15 + 4);
    assert!(!credentials.0.is_empty());
    assert_eq!(next(&mut link).await, DriverEvent::Connected { identity });
    // Connected links have no timers: the QR ones are gone.
    silent_for(&mut link, Duration::from_millis(300)).await;
    let kinds: Vec<_> = driver.journal().into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![SimRecordKind::Connected]);
    link.connection.close().await;
    ends(&mut link).await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn the_pair_control_completes_qr_pairing_with_or_without_a_number() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let (link, identity, _) = pair_by_qr(&driver, &session, "6281234567890").await;
    assert_eq!(identity.phone_number, "6281234567890");
    // Once connected there is nothing to pair.
    let again = driver
        .simulate(&session.session_id, SimAction::Pair, b"{}")
        .await;
    assert_eq!(
        again,
        Err(DriverError::Invalid("no pairing under way".into()))
    );
    link.connection.close().await;

    let other = super::session();
    let mut link = driver.start_qr_pairing(&other).await.expect("starts");
    let bad = driver
        .simulate(
            &other.session_id,
            SimAction::Pair,
            br#"{"phoneNumber":"+62"}"#,
        )
        .await;
    assert!(matches!(bad, Err(DriverError::Invalid(m)) if m.starts_with("phoneNumber")));
    driver
        .simulate(&other.session_id, SimAction::Pair, b"")
        .await
        .expect("pairs");
    assert!(matches!(next(&mut link).await, DriverEvent::Qr { .. }));
    let DriverEvent::Paired { identity, .. } = next(&mut link).await else {
        panic!("expected Paired");
    };
    assert!(identity.phone_number.starts_with("6280000"));
    link.connection.close().await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn pairing_codes_look_like_whatsapps_and_pair_that_number() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let session = session();
    let before = now_ms();
    let (mut link, issued) = driver
        .start_code_pairing(&session, "6281234567890")
        .await
        .expect("code issued");
    let code = issued.code.as_bytes();
    let in_class = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    assert!(code.len() == 9 && code[4] == b'-', "{}", issued.code);
    assert!(code[..4].iter().all(in_class) && code[5..].iter().all(in_class));
    assert!((before + 200..=now_ms() + 200).contains(&issued.expires_at));

    let other_number = br#"{"phoneNumber":"6289999999999"}"#;
    let refused = driver
        .simulate(&session.session_id, SimAction::Pair, other_number)
        .await;
    assert!(
        matches!(refused, Err(DriverError::Invalid(_))),
        "{refused:?}"
    );
    let same = br#"{"phoneNumber":"6281234567890"}"#;
    driver
        .simulate(&session.session_id, SimAction::Pair, same)
        .await
        .expect("pairs");
    let DriverEvent::Paired { identity, .. } = next(&mut link).await else {
        panic!("expected Paired");
    };
    assert_eq!(identity.phone_number, "6281234567890");
    assert_eq!(next(&mut link).await, DriverEvent::Connected { identity });
    // The code's expiry no longer applies.
    silent_for(&mut link, Duration::from_millis(300)).await;
    link.connection.close().await;

    let refused = driver.start_code_pairing(&session, "12ab").await;
    assert!(matches!(refused, Err(DriverError::Invalid(_))));
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn an_unconfirmed_pairing_code_expires_and_ends_the_link() {
    let world = World::start().await;
    let driver = world.driver(fast());
    let started = Instant::now();
    let (mut link, _) = driver
        .start_code_pairing(&session(), "6281234567890")
        .await
        .expect("code issued");
    assert_eq!(next(&mut link).await, DriverEvent::PairingCodeExpired);
    assert!(started.elapsed() >= Duration::from_millis(200));
    ends(&mut link).await;
    no_tasks_left(&driver).await;
}

#[tokio::test]
async fn the_phone_auto_confirms_a_code_with_its_number() {
    let world = World::start().await;
    let driver = world.driver(SimConfig {
        auto_pair_after: Some(Duration::from_millis(30)),
        ..fast()
    });
    let (mut link, _) = driver
        .start_code_pairing(&session(), "6281234567890")
        .await
        .expect("code issued");
    let DriverEvent::Paired { identity, .. } = next(&mut link).await else {
        panic!("expected Paired");
    };
    assert_eq!(identity.phone_number, "6281234567890");
    assert_eq!(next(&mut link).await, DriverEvent::Connected { identity });
    link.connection.close().await;
    no_tasks_left(&driver).await;
}
