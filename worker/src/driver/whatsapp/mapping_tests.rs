//! Library events → driver events, with synthetic events built by the library's builders.

use super::*;
use whatsapp_rust::types::events::{
    ClientOutdated, ConnectFailure, Connected, Disconnected, LoggedOut, PairError, PairSuccess,
    PairingCodeError, PairingQrCode, PairingQrCodesExhausted, StreamReplaced, TempBanReason,
    TemporaryBan,
};
use whatsapp_rust::wacore::net::DisconnectReason;

fn me() -> Identity {
    Identity {
        phone_number: "6281234567890".to_owned(),
        jid: "6281234567890@s.whatsapp.net".to_owned(),
        lid: "123456789012345@lid".to_owned(),
    }
}

fn jid(text: &str) -> Jid {
    text.parse().expect("a valid JID")
}

fn one(event: Event, mode: LinkMode) -> DriverEvent {
    let mut mapped = map_event(&event, mode, Some(me()));
    assert_eq!(mapped.len(), 1, "one event expected, got {mapped:?}");
    mapped.remove(0)
}

#[test]
fn qr_codes_carry_their_expiry_and_only_show_in_qr_pairing() {
    let qr = || {
        Event::PairingQrCode(
            PairingQrCode::builder()
                .code("2@abc,def,ghi".to_owned())
                .timeout(Duration::from_secs(60))
                .build(),
        )
    };
    let before = now_ms();
    let DriverEvent::Qr { code, expires_at } = one(qr(), LinkMode::QrPairing) else {
        panic!("a QR event");
    };
    assert_eq!(code, "2@abc,def,ghi");
    assert!((before + 60_000..=now_ms() + 60_000).contains(&expires_at));
    assert!(map_event(&qr(), LinkMode::CodePairing, None).is_empty());
    assert!(map_event(&qr(), LinkMode::Resume, None).is_empty());
    let exhausted = Event::PairingQrCodesExhausted(
        PairingQrCodesExhausted::builder()
            .disconnected(true)
            .build(),
    );
    assert_eq!(
        one(exhausted, LinkMode::QrPairing),
        DriverEvent::QrExhausted
    );
}

#[test]
fn pairing_gives_the_identity_and_the_store_marker() {
    let paired = PairSuccess::builder()
        .id(jid("6281234567890:3@s.whatsapp.net"))
        .lid(jid("123456789012345:3@lid"))
        .business_name(String::new())
        .platform("android".to_owned())
        .build();
    let DriverEvent::Paired {
        identity,
        credentials,
    } = one(Event::PairSuccess(paired), LinkMode::QrPairing)
    else {
        panic!("a Paired event");
    };
    assert_eq!(
        identity,
        me(),
        "the device part is not part of the identity"
    );
    assert_eq!(credentials.0, CREDENTIALS_MARKER);
}

#[test]
fn pairing_failures_fail_the_link() {
    let error = PairError::builder()
        .id(jid("1@s.whatsapp.net"))
        .lid(jid("1@lid"))
        .business_name(String::new())
        .platform(String::new())
        .error("bad signature".to_owned())
        .build();
    let mapped = one(Event::PairError(error), LinkMode::QrPairing);
    assert_eq!(
        mapped,
        DriverEvent::Failed {
            reason: "pairing failed: bad signature".to_owned()
        }
    );
    let code_error = || {
        Event::PairingCodeError(
            PairingCodeError::builder()
                .error("rate-overlimit".to_owned())
                .build(),
        )
    };
    assert!(matches!(
        one(code_error(), LinkMode::CodePairing),
        DriverEvent::Failed { reason } if reason.contains("rate-overlimit")
    ));
    assert!(map_event(&code_error(), LinkMode::QrPairing, None).is_empty());
}

#[test]
fn connected_carries_the_clients_identity() {
    let connected = || Event::Connected(Connected::builder().build());
    assert_eq!(
        one(connected(), LinkMode::Resume),
        DriverEvent::Connected { identity: me() }
    );
    let orphan = map_event(&connected(), LinkMode::Resume, None);
    assert!(matches!(&orphan[..], [DriverEvent::Failed { .. }]));
}

#[test]
fn drops_are_worth_a_retry_and_say_why() {
    let dropped = Disconnected::builder()
        .reason(DisconnectReason::ReadError("connection reset".to_owned()))
        .build();
    let DriverEvent::Disconnected { reason } = one(Event::Disconnected(dropped), LinkMode::Resume)
    else {
        panic!("a Disconnected event");
    };
    assert!(reason.contains("connection reset"), "{reason}");
}

#[test]
fn the_phone_unlinking_logs_out_and_a_replaced_stream_is_reported() {
    let out = LoggedOut::builder()
        .on_connect(false)
        .reason(ConnectFailureReason::LoggedOut)
        .build();
    assert_eq!(
        one(Event::LoggedOut(out), LinkMode::Resume),
        DriverEvent::LoggedOut {
            reason: "logged_out".to_owned()
        }
    );
    let replaced = Event::StreamReplaced(StreamReplaced::builder().build());
    assert_eq!(one(replaced, LinkMode::Resume), DriverEvent::StreamReplaced);
}

#[test]
fn bans_and_outdated_clients_fail_with_a_reason() {
    let ban = TemporaryBan::builder()
        .code(TempBanReason::SentToTooManyPeople)
        .expire(whatsapp_rust::wacore::chrono::TimeDelta::seconds(3600))
        .build();
    assert!(matches!(
        one(Event::TemporaryBan(ban), LinkMode::Resume),
        DriverEvent::Failed { reason } if reason.starts_with("temporary_ban") && reason.contains("3600")
    ));
    let outdated = Event::ClientOutdated(ClientOutdated::builder().build());
    assert_eq!(
        one(outdated, LinkMode::Resume),
        DriverEvent::Failed {
            reason: CLIENT_OUTDATED.to_owned()
        }
    );
}

#[test]
fn login_failures_split_into_logout_retry_and_failure() {
    let failure = |reason| Event::ConnectFailure(ConnectFailure::builder().reason(reason).build());
    assert!(matches!(
        one(failure(ConnectFailureReason::AccountLocked), LinkMode::Resume),
        DriverEvent::LoggedOut { reason } if reason == "account_locked"
    ));
    assert!(matches!(
        one(failure(ConnectFailureReason::ServiceUnavailable), LinkMode::Resume),
        DriverEvent::Disconnected { reason } if reason.contains("service_unavailable")
    ));
    assert_eq!(
        one(failure(ConnectFailureReason::TempBanned), LinkMode::Resume),
        DriverEvent::Failed {
            reason: "temporary_ban".to_owned()
        }
    );
    assert_eq!(
        one(
            failure(ConnectFailureReason::ClientOutdated),
            LinkMode::Resume
        ),
        DriverEvent::Failed {
            reason: CLIENT_OUTDATED.to_owned()
        }
    );
    assert!(matches!(
        one(failure(ConnectFailureReason::Unknown(499)), LinkMode::Resume),
        DriverEvent::Failed { reason } if reason == "unknown_499"
    ));
}

#[test]
fn every_terminal_mapping_ends_the_link() {
    let terminal = [
        DriverEvent::QrExhausted,
        DriverEvent::Failed {
            reason: String::new(),
        },
        DriverEvent::LoggedOut {
            reason: String::new(),
        },
        DriverEvent::StreamReplaced,
        DriverEvent::Disconnected {
            reason: String::new(),
        },
    ];
    assert!(terminal.iter().all(DriverEvent::ends_link));
    assert!(!DriverEvent::Connected { identity: me() }.ends_link());
}

#[test]
fn pairing_codes_are_shown_as_xxxx_xxxx() {
    assert_eq!(dashed_pairing_code("ABCD1234"), "ABCD-1234");
    assert_eq!(dashed_pairing_code("ABCD-1234"), "ABCD-1234");
    assert_eq!(
        dashed_pairing_code("odd"),
        "odd",
        "anything else is left as it came"
    );
}
