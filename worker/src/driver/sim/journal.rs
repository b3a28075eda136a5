//! What the simulated phone saw a worker do, kept for tests and published on `<root>.simlog.…`.
//!
//! Each record is also published, in order per session, as JSON on
//! `<root>.simlog.<gw>.<sessionId>`, so black-box tests in another process can observe it:
//! `{"at":1700000000000,"sessionId":"01J…","workerId":"w-1","kind":"sent_text","to":"…","text":"…","messageId":"3EB0…"}`.
//!
//! Every link that recorded `connected` records `closed` when it ends, however it ends (closed
//! by the worker, dropped, replaced, failed, logged out), so the `connected`..`closed`
//! intervals of one session show which worker drove it when. The worker flushes NATS after
//! closing links and before giving up a lease.

use crate::driver::Presence;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use wagw_common::{SessionId, WorkerId};

/// How many records a driver instance keeps; older ones are dropped first.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// One thing that happened on a sim link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimRecord {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub session_id: SessionId,
    /// The worker whose driver saw it.
    pub worker_id: WorkerId,
    #[serde(flatten)]
    pub kind: SimRecordKind,
}

/// What happened; `kind` on the wire, snake_case, with camelCase fields beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum SimRecordKind {
    /// A link came up (after connecting or pairing).
    Connected,
    /// A link that had recorded `connected` ended, however it ended.
    Closed,
    /// The device was voided: `logout()`, `forget()` or the `unlink` control.
    LoggedOut,
    SentText {
        to: String,
        text: String,
        message_id: String,
    },
    Presence {
        to: String,
        #[serde(with = "presence_wire")]
        presence: Presence,
    },
    MarkedRead {
        chat: String,
        ids: Vec<String>,
    },
}

impl SimRecordKind {
    /// The `kind` token, for logs.
    pub fn token(&self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Closed => "closed",
            Self::LoggedOut => "logged_out",
            Self::SentText { .. } => "sent_text",
            Self::Presence { .. } => "presence",
            Self::MarkedRead { .. } => "marked_read",
        }
    }
}

/// `"composing"` / `"paused"` on the wire.
mod presence_wire {
    use crate::driver::Presence;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(presence: &Presence, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match presence {
            Presence::Composing => "composing",
            Presence::Paused => "paused",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Presence, D::Error> {
        match String::deserialize(d)?.as_str() {
            "composing" => Ok(Presence::Composing),
            "paused" => Ok(Presence::Paused),
            other => Err(serde::de::Error::unknown_variant(
                other,
                &["composing", "paused"],
            )),
        }
    }
}

/// The bounded, in-memory record of one driver instance.
#[derive(Debug, Default)]
pub(super) struct Journal {
    records: Mutex<VecDeque<SimRecord>>,
}

impl Journal {
    pub fn push(&self, record: SimRecord) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() == JOURNAL_CAPACITY {
            records.pop_front();
        }
        records.push_back(record);
    }

    pub fn snapshot(&self) -> Vec<SimRecord> {
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_serialize_flat_with_a_kind_tag() {
        let id = SessionId::generate();
        let record = SimRecord {
            at: 5,
            session_id: id,
            worker_id: WorkerId::parse("w-1").expect("valid"),
            kind: SimRecordKind::SentText {
                to: "628@s.whatsapp.net".into(),
                text: "hi".into(),
                message_id: "3EB0".into(),
            },
        };
        let json = serde_json::to_value(&record).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"at": 5, "sessionId": id.to_string(), "workerId": "w-1", "kind": "sent_text",
                "to": "628@s.whatsapp.net", "text": "hi", "messageId": "3EB0"})
        );
        assert_eq!(serde_json::from_value::<SimRecord>(json).ok(), Some(record));
        let presence = SimRecordKind::Presence {
            to: "x".into(),
            presence: Presence::Composing,
        };
        let json = serde_json::to_value(&presence).expect("serializes");
        assert_eq!(json["presence"], "composing");
        assert_eq!(
            serde_json::to_value(SimRecordKind::Closed).expect("serializes"),
            serde_json::json!({"kind": "closed"})
        );
    }

    #[test]
    fn the_journal_keeps_only_the_newest_records() {
        let journal = Journal::default();
        let id = SessionId::generate();
        for at in 0..(JOURNAL_CAPACITY as i64 + 5) {
            journal.push(SimRecord {
                at,
                session_id: id,
                worker_id: WorkerId::parse("w").expect("valid"),
                kind: SimRecordKind::Connected,
            });
        }
        let records = journal.snapshot();
        assert_eq!(records.len(), JOURNAL_CAPACITY);
        assert_eq!(records.first().map(|r| r.at), Some(5));
    }
}
