//! The simulated phone's journal as seen from outside: a recorder of every
//! `<root>.simlog.<gw>.>` record of a test, and the "never two owners" checker over it.
//!
//! A record is `{"at","sessionId","workerId","kind",...}`; `connected` opens a link of that
//! worker, `closed` and `logged_out` end it. A process that died ends all its links at the
//! moment it was seen dead ([`SimlogRecorder::process_died`]): a dead process drives nothing,
//! and it cannot say so itself.

use futures::StreamExt;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio_util::sync::{CancellationToken, DropGuard};

/// One journal record, as far as ownership goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkRecord {
    /// Milliseconds since the Unix epoch (the worker's clock; all processes share one host).
    pub at: i64,
    pub session_id: String,
    /// Which worker drove the link; `None` from a worker that does not report it.
    #[serde(default)]
    pub worker_id: Option<String>,
    pub kind: String,
}

impl LinkRecord {
    pub fn opens(&self) -> bool {
        self.kind == "connected"
    }

    pub fn ends(&self) -> bool {
        self.kind == "closed" || self.kind == "logged_out"
    }
}

/// Collects every sim journal record of a gateway from the moment it is started.
#[derive(Debug, Clone)]
pub struct SimlogRecorder {
    records: Arc<Mutex<Vec<LinkRecord>>>,
    /// Workers seen dead, and when (ms).
    deaths: Arc<Mutex<Vec<(String, i64)>>>,
    /// Stops the background task when the last clone is dropped.
    _stop: Arc<DropGuard>,
}

impl SimlogRecorder {
    /// Subscribes to `subject` (flushed, so live when this returns) and records in the background.
    ///
    /// # Errors
    /// When the subscription cannot be made.
    pub async fn start(nats: &async_nats::Client, subject: String) -> anyhow::Result<Self> {
        let mut subscriber = nats.subscribe(subject.clone()).await?;
        nats.flush().await?;
        let stop = CancellationToken::new();
        let recorder = Self {
            records: Arc::default(),
            deaths: Arc::default(),
            _stop: Arc::new(stop.clone().drop_guard()),
        };
        let records = recorder.records.clone();
        // Ends with the subscription or the recorder; nothing to join.
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    () = stop.cancelled() => break,
                    message = subscriber.next() => message,
                };
                let Some(message) = message else { break };
                match serde_json::from_slice::<LinkRecord>(&message.payload) {
                    Ok(record) => lock(&records).push(record),
                    Err(error) => tracing::warn!(error = %error, "unreadable simlog record"),
                }
            }
            tracing::debug!(simlog.subject = %subject, "simlog recorder ended");
        });
        Ok(recorder)
    }

    /// Every record so far, in arrival order.
    pub fn records(&self) -> Vec<LinkRecord> {
        lock(&self.records).clone()
    }

    /// The records after the first `from`, in arrival order (to follow the journal without
    /// copying all of it on every look).
    pub fn records_from(&self, from: usize) -> Vec<LinkRecord> {
        lock(&self.records)
            .get(from..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// How many records so far.
    pub fn len(&self) -> usize {
        lock(&self.records).len()
    }

    /// No record yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Notes that `worker` was seen dead at `at` (ms): its links ended then at the latest.
    pub fn process_died(&self, worker: &str, at: i64) {
        lock(&self.deaths).push((worker.to_owned(), at));
    }

    /// The first `connected` record of `session` at or after `since` (ms), if any.
    pub fn connected_since(&self, session: &str, since: i64) -> Option<LinkRecord> {
        lock(&self.records)
            .iter()
            .filter(|r| r.session_id == session && r.opens() && r.at >= since)
            .min_by_key(|r| r.at)
            .cloned()
    }

    /// The first record of `kind` for `session` at or after `since` (ms), if any.
    pub fn first_since(&self, session: &str, kind: &str, since: i64) -> Option<LinkRecord> {
        lock(&self.records)
            .iter()
            .filter(|r| r.session_id == session && r.kind == kind && r.at >= since)
            .min_by_key(|r| r.at)
            .cloned()
    }

    /// Every violation of "never two owners" so far (see [`overlaps`]).
    pub fn violations(&self) -> Vec<String> {
        overlaps(&self.records(), &lock(&self.deaths))
    }

    /// Asserts no session was ever driven by two workers at once.
    ///
    /// # Panics
    /// When a link record has no `workerId`, or two workers' links of a session overlap.
    #[track_caller]
    pub fn assert_never_two_owners(&self) {
        let records = self.records();
        let anonymous = records
            .iter()
            .filter(|r| (r.opens() || r.ends()) && r.worker_id.is_none())
            .count();
        assert!(
            anonymous == 0,
            "{anonymous} of {} simlog link records carry no workerId: ownership cannot be checked",
            records.len()
        );
        let links = records.iter().filter(|r| r.opens()).count();
        assert!(
            links > 0,
            "no `connected` simlog record at all: nothing was checked"
        );
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "two workers drove one session at once:\n{}",
            violations.join("\n")
        );
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A link of one worker to one session: `[start, end)`, `end` = `i64::MAX` while open.
#[derive(Debug, Clone, Copy)]
struct Link {
    start: i64,
    end: i64,
}

/// For each session, the `[connected, closed)` links of DIFFERENT workers must not overlap.
/// A worker's `connected` while its own link is open continues that link (a reconnect); a
/// worker seen dead at `t` ends its open links at `t`. Returns one line per overlap.
pub fn overlaps(records: &[LinkRecord], deaths: &[(String, i64)]) -> Vec<String> {
    let mut by_session: BTreeMap<&str, Vec<&LinkRecord>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.opens() || r.ends()) {
        by_session
            .entry(&record.session_id)
            .or_default()
            .push(record);
    }
    let mut violations = Vec::new();
    for (session, mut records) in by_session {
        // Stable: records with equal times keep their arrival order.
        records.sort_by_key(|r| r.at);
        let mut links: BTreeMap<&str, Vec<Link>> = BTreeMap::new();
        for record in records {
            let worker = record.worker_id.as_deref().unwrap_or("?");
            let own = links.entry(worker).or_default();
            let open = own.last_mut().filter(|link| link.end == i64::MAX);
            match (record.opens(), open) {
                (true, None) => own.push(Link {
                    start: record.at,
                    end: i64::MAX,
                }),
                (false, Some(link)) => link.end = record.at,
                _ => {}
            }
        }
        for (worker, own) in &mut links {
            for (_, at) in deaths.iter().filter(|(dead, _)| dead == worker) {
                for link in own.iter_mut().filter(|l| l.start <= *at && l.end > *at) {
                    link.end = *at;
                }
            }
        }
        let all: Vec<(&str, Link)> = (links.iter())
            .flat_map(|(worker, own)| own.iter().map(move |link| (*worker, *link)))
            .collect();
        for (i, (a_worker, a)) in all.iter().enumerate() {
            for (b_worker, b) in &all[i + 1..] {
                if a_worker != b_worker && a.start < b.end && b.start < a.end {
                    violations.push(format!(
                        "session {session}: {a_worker} [{}, {}) overlaps {b_worker} [{}, {})",
                        a.start,
                        show_end(a.end),
                        b.start,
                        show_end(b.end)
                    ));
                }
            }
        }
    }
    violations
}

fn show_end(end: i64) -> String {
    if end == i64::MAX {
        "open".into()
    } else {
        end.to_string()
    }
}

#[cfg(test)]
#[path = "simlog_tests.rs"]
mod tests;
