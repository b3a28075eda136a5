//! Sim controls decoded from their JSON bodies and validated, before they reach a link.

use crate::driver::DriverError;
use crate::driver::sim::device::user_jid;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use wagw_common::session::validate_phone_number;
use wagw_common::sim::{FailControl, IncomingControl, PairControl, SimAction};

/// A validated control of the simulated phone or network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Control {
    /// The phone scans the QR or confirms the code; a number of 8-15 digits when given.
    Pair {
        phone_number: Option<String>,
    },
    Disconnect,
    Unlink,
    /// `from` is a JID: a bare number was turned into `<digits>@s.whatsapp.net`.
    Incoming {
        from: String,
        text: String,
    },
    Fail {
        reason: String,
    },
}

impl Control {
    /// Decodes and validates the body of `action`.
    ///
    /// # Errors
    /// [`DriverError::Invalid`] naming what is wrong with the body.
    pub fn parse(action: SimAction, body: &[u8]) -> Result<Self, DriverError> {
        match action {
            SimAction::Pair => {
                let PairControl { phone_number } = decode(body)?;
                if let Some(number) = &phone_number {
                    validate_phone_number("phoneNumber", number).map_err(invalid)?;
                }
                Ok(Self::Pair { phone_number })
            }
            SimAction::Disconnect => no_fields(body).map(|()| Self::Disconnect),
            SimAction::Unlink => no_fields(body).map(|()| Self::Unlink),
            SimAction::Incoming => {
                let IncomingControl { from, text } = decode(body)?;
                Ok(Self::Incoming {
                    from: sender_jid(&from)?,
                    text,
                })
            }
            SimAction::Fail => {
                let FailControl { reason } = decode(body)?;
                Ok(Self::Fail { reason })
            }
        }
    }
}

/// An empty body reads as `{}`.
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, DriverError> {
    let body = if body.trim_ascii().is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|err| DriverError::Invalid(format!("bad body: {err}")))
}

/// The body of a control that takes no fields: empty, or `{}`.
fn no_fields(body: &[u8]) -> Result<(), DriverError> {
    let fields: Map<String, Value> = decode(body)?;
    match fields.keys().next() {
        None => Ok(()),
        Some(field) => Err(DriverError::Invalid(format!(
            "bad body: unknown field `{field}`"
        ))),
    }
}

/// `from` as digits (a phone number) or as a JID with `@`.
fn sender_jid(from: &str) -> Result<String, DriverError> {
    if let Some((user, server)) = from.split_once('@') {
        if user.is_empty() || server.is_empty() || from.chars().any(char::is_whitespace) {
            return Err(DriverError::Invalid(
                "from: must be a phone number or a JID like 6281234567890@s.whatsapp.net".into(),
            ));
        }
        return Ok(from.to_owned());
    }
    validate_phone_number("from", from).map_err(invalid)?;
    Ok(user_jid(from))
}

fn invalid(err: impl std::fmt::Display) -> DriverError {
    DriverError::Invalid(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(action: SimAction, body: &str) -> Result<Control, DriverError> {
        Control::parse(action, body.as_bytes())
    }

    #[test]
    fn empty_bodies_read_as_empty_objects() {
        assert_eq!(parse(SimAction::Disconnect, ""), Ok(Control::Disconnect));
        assert_eq!(parse(SimAction::Unlink, " {} "), Ok(Control::Unlink));
        assert_eq!(
            parse(SimAction::Pair, ""),
            Ok(Control::Pair { phone_number: None })
        );
        assert_eq!(
            parse(SimAction::Fail, "{}"),
            Ok(Control::Fail {
                reason: "simulated connection failure".into()
            })
        );
    }

    #[test]
    fn bad_bodies_are_invalid() {
        for (action, body) in [
            (SimAction::Pair, "{"),
            (SimAction::Pair, r#"{"phoneNumber":"+62812"}"#),
            (SimAction::Pair, r#"{"phone":"6281234567890"}"#),
            (SimAction::Disconnect, r#"{"x":1}"#),
            (SimAction::Unlink, "[]"),
            (SimAction::Incoming, "{}"),
            (SimAction::Incoming, r#"{"from":"12ab","text":"hi"}"#),
            (
                SimAction::Incoming,
                r#"{"from":"@s.whatsapp.net","text":"hi"}"#,
            ),
            (SimAction::Fail, r#"{"reason":1}"#),
        ] {
            assert!(
                matches!(parse(action, body), Err(DriverError::Invalid(_))),
                "{action:?} {body} accepted"
            );
        }
    }

    #[test]
    fn incoming_senders_become_jids() {
        let from_digits = parse(
            SimAction::Incoming,
            r#"{"from":"6281111111111","text":"hi"}"#,
        );
        assert_eq!(
            from_digits,
            Ok(Control::Incoming {
                from: "6281111111111@s.whatsapp.net".into(),
                text: "hi".into()
            })
        );
        let from_group = parse(SimAction::Incoming, r#"{"from":"1203@g.us","text":"yo"}"#);
        assert!(matches!(from_group, Ok(Control::Incoming { from, .. }) if from == "1203@g.us"));
    }
}
