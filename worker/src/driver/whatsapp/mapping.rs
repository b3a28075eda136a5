//! What each `whatsapp-rust` event means to the worker: a pure translation of library events
//! into [`DriverEvent`]s, kept free of I/O so every case is tested with synthetic events.
//!
//! The statuses and reasons the worker derives from these are in docs/whatsapp-driver.md.

use std::time::Duration;
use wagw_common::time::now_ms;
use whatsapp_rust::Jid;
use whatsapp_rust::types::events::{ConnectFailureReason, Event};
use whatsapp_rust::types::presence::ReceiptType;
use whatsapp_rust::wacore::proto_helpers::MessageExt;

use crate::driver::{Credentials, DriverEvent, Identity, ReceiptKind};

/// What the worker stores as a real-driver session's credentials: only a marker, because the
/// device's keys already live (sealed, fenced) in the session's Redis state.
pub const CREDENTIALS_MARKER: &[u8] = br#"{"driver":"whatsapp","store":"redis","version":1}"#;

/// Why a link was opened; some events mean something else in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMode {
    /// An already-paired device logging in.
    Resume,
    /// Pairing by QR code.
    QrPairing,
    /// Pairing by a code typed on the phone: the library's QR codes are not shown then.
    CodePairing,
}

/// The identity of a paired device from its phone-number JID and LID.
pub fn identity_of(pn: &Jid, lid: Option<&Jid>) -> Identity {
    let digits = pn.user.to_string();
    Identity {
        jid: format!("{digits}@s.whatsapp.net"),
        lid: lid
            .map(|lid| format!("{}@lid", lid.user))
            .unwrap_or_default(),
        phone_number: digits,
    }
}

/// A stable, lower-case name of a connect failure, used as the session's `statusReason`.
pub fn failure_name(reason: &ConnectFailureReason) -> String {
    match reason {
        ConnectFailureReason::Generic => "generic".to_owned(),
        ConnectFailureReason::LoggedOut => "logged_out".to_owned(),
        ConnectFailureReason::TempBanned => "temporary_ban".to_owned(),
        ConnectFailureReason::AccountLocked => "account_locked".to_owned(),
        ConnectFailureReason::UnknownLogout => "unknown_logout".to_owned(),
        ConnectFailureReason::ClientOutdated => "client_outdated".to_owned(),
        ConnectFailureReason::BadUserAgent => "bad_user_agent".to_owned(),
        ConnectFailureReason::CatExpired => "cat_expired".to_owned(),
        ConnectFailureReason::CatInvalid => "cat_invalid".to_owned(),
        ConnectFailureReason::NotFound => "not_found".to_owned(),
        ConnectFailureReason::ClientUnknown => "client_unknown".to_owned(),
        ConnectFailureReason::InternalServerError => "internal_server_error".to_owned(),
        ConnectFailureReason::Experimental => "experimental".to_owned(),
        ConnectFailureReason::ServiceUnavailable => "service_unavailable".to_owned(),
        ConnectFailureReason::Unknown(code) => format!("unknown_{code}"),
    }
}

/// The reason a session fails with when WhatsApp refuses our client version.
pub const CLIENT_OUTDATED: &str =
    "client_outdated: WhatsApp refused this client version; update or unset WAGW_WA_VERSION";

/// Translates one library event. `identity` is the device's identity as the client knows it
/// now (set once paired); events the worker has no use for map to nothing.
pub fn map_event(event: &Event, mode: LinkMode, identity: Option<Identity>) -> Vec<DriverEvent> {
    match event {
        Event::PairingQrCode(qr) if mode == LinkMode::QrPairing => vec![DriverEvent::Qr {
            code: qr.code.clone(),
            expires_at: now_ms() + millis(qr.timeout),
        }],
        Event::PairingQrCodesExhausted(_) if mode == LinkMode::QrPairing => {
            vec![DriverEvent::QrExhausted]
        }
        Event::PairSuccess(paired) => vec![DriverEvent::Paired {
            identity: identity_of(&paired.id, Some(&paired.lid)),
            credentials: Credentials(CREDENTIALS_MARKER.to_vec()),
        }],
        Event::PairError(failed) => vec![DriverEvent::Failed {
            reason: format!("pairing failed: {}", failed.error),
        }],
        Event::PairingCodeError(failed) if mode == LinkMode::CodePairing => {
            vec![DriverEvent::Failed {
                reason: format!("pairing by code failed: {}", failed.error),
            }]
        }
        Event::Connected(_) => match identity {
            Some(identity) => vec![DriverEvent::Connected { identity }],
            None => vec![DriverEvent::Failed {
                reason: "connected without a paired identity; pair again".to_owned(),
            }],
        },
        Event::Disconnected(dropped) => vec![DriverEvent::Disconnected {
            reason: dropped.reason.to_string(),
        }],
        Event::LoggedOut(out) => vec![DriverEvent::LoggedOut {
            reason: failure_name(&out.reason),
        }],
        Event::StreamReplaced(_) => vec![DriverEvent::StreamReplaced],
        Event::TemporaryBan(ban) => vec![DriverEvent::Failed {
            reason: format!(
                "temporary_ban: {:?} for {} s",
                ban.code,
                ban.expire.num_seconds()
            ),
        }],
        Event::ClientOutdated(_) => vec![DriverEvent::Failed {
            reason: CLIENT_OUTDATED.to_owned(),
        }],
        Event::ConnectFailure(failure) => vec![connect_failure(&failure.reason)],
        Event::Messages(batch) => batch
            .iter()
            .filter(|message| !message.info.source.is_from_me)
            .filter_map(|message| {
                let text = message.message.text_content()?;
                Some(DriverEvent::IncomingMessage {
                    id: message.info.id.clone(),
                    from: message.info.source.sender.to_non_ad_string(),
                    text: text.to_owned(),
                    at: message.info.timestamp.timestamp_millis(),
                })
            })
            .collect(),
        Event::Receipt(receipt) => {
            let kind = match receipt.r#type {
                ReceiptType::Delivered => ReceiptKind::Delivered,
                ReceiptType::Read | ReceiptType::ReadSelf => ReceiptKind::Read,
                _ => return Vec::new(),
            };
            receipt
                .message_ids
                .iter()
                .map(|id| DriverEvent::Receipt {
                    message_id: id.clone(),
                    kind,
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A `<failure>` at login: logged-out reasons void the pairing, the server's own trouble is
/// worth retrying, everything else needs the user.
fn connect_failure(reason: &ConnectFailureReason) -> DriverEvent {
    if reason.is_logged_out() {
        DriverEvent::LoggedOut {
            reason: failure_name(reason),
        }
    } else if reason.should_reconnect() {
        DriverEvent::Disconnected {
            reason: format!("WhatsApp refused the login: {}", failure_name(reason)),
        }
    } else if *reason == ConnectFailureReason::ClientOutdated {
        DriverEvent::Failed {
            reason: CLIENT_OUTDATED.to_owned(),
        }
    } else {
        DriverEvent::Failed {
            reason: failure_name(reason),
        }
    }
}

/// The library's 8-character pairing code as our API shows it, `XXXX-XXXX`.
pub fn dashed_pairing_code(code: &str) -> String {
    let plain: String = code.chars().filter(|c| *c != '-').collect();
    if plain.len() == 8 && plain.is_ascii() {
        format!("{}-{}", &plain[..4], &plain[4..])
    } else {
        code.to_owned()
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
