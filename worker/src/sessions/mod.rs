//! The in-memory runtime of the sessions this worker holds: per-session locks, the live link (or
//! pending connection) of each session with its generation number, reconnect budgets, and the
//! status of every session of the held shards (for the membership heartbeat).
//!
//! Everything here is plain data behind short synchronous locks; the async work (pumping link
//! events, reconnecting, reconciling a shard) lives in the submodules as methods of
//! [`crate::Worker`].

pub mod budget;
pub mod connector;
pub mod events;
pub mod links;
pub mod locks;
pub mod pump;
pub mod reconcile;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use budget::ReconnectBudget;
use locks::SessionLocks;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use wagw_common::wire::QrCode;
use wagw_common::{SessionId, SessionStatus};

use crate::driver::Connection;

/// How long a driver call that talks to WhatsApp may take.
pub const DRIVER_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting a paired session may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long closing a link may take before we stop waiting for it.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a live link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A paired session's connection (also a pairing link once it paired).
    Connect,
    QrPairing,
    CodePairing,
}

/// The link side of a session: waiting to (re)connect, or connected.
#[derive(Debug)]
pub enum LinkState {
    Connecting,
    Live {
        connection: Arc<dyn Connection>,
        kind: LinkKind,
        /// The current QR of a QR pairing, replayed to a repeated `GET /qr`.
        qr: Option<QrCode>,
    },
}

/// One session's runtime. Its generation changes with every new link or connection attempt;
/// events and tasks of an older generation are ignored.
#[derive(Debug)]
struct Slot {
    shard: u32,
    generation: u64,
    /// Stops the pump or connector of this generation.
    cancel: CancellationToken,
    state: LinkState,
    budget: ReconnectBudget,
    backoff: ExponentialBackoff,
}

/// What is needed to close a removed slot: stop its task, close its connection.
#[derive(Debug)]
pub struct Closer {
    cancel: CancellationToken,
    connection: Option<Arc<dyn Connection>>,
}

impl Closer {
    /// Stops the slot's task and closes its link (keeping the pairing).
    pub async fn close(self) {
        self.cancel.cancel();
        if let Some(connection) = self.connection
            && tokio::time::timeout(CLOSE_TIMEOUT, connection.close())
                .await
                .is_err()
        {
            tracing::warn!(
                timeout_ms = CLOSE_TIMEOUT.as_millis(),
                "closing a link timed out"
            );
        }
    }

    /// The live connection, for a logout instead of a plain close.
    pub fn connection(&self) -> Option<&Arc<dyn Connection>> {
        self.connection.as_ref()
    }
}

impl Closer {
    fn new(cancel: CancellationToken, state: LinkState) -> Self {
        let connection = match state {
            LinkState::Live { connection, .. } => Some(connection),
            LinkState::Connecting => None,
        };
        Self { cancel, connection }
    }
}

impl Slot {
    fn closer(self) -> Closer {
        Closer::new(self.cancel, self.state)
    }
}

/// The runtime state of every session this worker holds.
#[derive(Debug)]
pub struct Sessions {
    pub locks: SessionLocks,
    slots: Mutex<HashMap<SessionId, Slot>>,
    statuses: Mutex<HashMap<SessionId, (u32, SessionStatus)>>,
    generations: AtomicU64,
    backoff: ExponentialBuilder,
    reconnect_max: Duration,
}

fn guard<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sessions {
    pub fn new(reconnect_min: Duration, reconnect_max: Duration) -> Self {
        let reconnect_max = reconnect_max.max(reconnect_min);
        let backoff = ExponentialBuilder::new()
            .with_min_delay(reconnect_min)
            .with_max_delay(reconnect_max)
            .with_jitter()
            .without_max_times();
        Self {
            locks: SessionLocks::default(),
            slots: Mutex::default(),
            statuses: Mutex::default(),
            generations: AtomicU64::new(1),
            backoff,
            reconnect_max,
        }
    }

    /// Starts a new generation for a session; a reconnect keeps the budget and backoff of the
    /// previous one. Returns the generation, its cancel token, and the replaced slot to close.
    pub fn start(
        &self,
        id: SessionId,
        shard: u32,
        state: LinkState,
    ) -> (u64, CancellationToken, Option<Closer>) {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let cancel = CancellationToken::new();
        let mut slots = guard(&self.slots);
        let previous = slots.remove(&id);
        let (budget, backoff, replaced) = match previous {
            Some(slot) => {
                let Slot {
                    budget,
                    backoff,
                    cancel,
                    state,
                    ..
                } = slot;
                (budget, backoff, Some(Closer::new(cancel, state)))
            }
            None => (ReconnectBudget::default(), self.backoff.build(), None),
        };
        let slot = Slot {
            shard,
            generation,
            cancel: cancel.clone(),
            state,
            budget,
            backoff,
        };
        slots.insert(id, slot);
        (generation, cancel, replaced)
    }

    /// Turns a pending connection into a live link; false when the attempt is stale.
    pub fn go_live(
        &self,
        id: &SessionId,
        generation: u64,
        connection: Arc<dyn Connection>,
    ) -> bool {
        let mut slots = guard(&self.slots);
        match slots.get_mut(id) {
            Some(slot) if slot.generation == generation => {
                slot.state = LinkState::Live {
                    connection,
                    kind: LinkKind::Connect,
                    qr: None,
                };
                true
            }
            _ => false,
        }
    }

    pub fn is_current(&self, id: &SessionId, generation: u64) -> bool {
        guard(&self.slots)
            .get(id)
            .is_some_and(|slot| slot.generation == generation)
    }

    pub fn has_slot(&self, id: &SessionId) -> bool {
        guard(&self.slots).contains_key(id)
    }

    /// The live link of a session: its connection, kind and current QR.
    pub fn live(&self, id: &SessionId) -> Option<(Arc<dyn Connection>, LinkKind, Option<QrCode>)> {
        match &guard(&self.slots).get(id)?.state {
            LinkState::Live {
                connection,
                kind,
                qr,
            } => Some((Arc::clone(connection), *kind, qr.clone())),
            LinkState::Connecting => None,
        }
    }

    /// Records the latest QR of a current QR pairing.
    pub fn set_qr(&self, id: &SessionId, generation: u64, new_qr: Option<QrCode>) {
        if let Some(slot) = guard(&self.slots)
            .get_mut(id)
            .filter(|s| s.generation == generation)
            && let LinkState::Live { qr, .. } = &mut slot.state
        {
            *qr = new_qr;
        }
    }

    /// A pairing link that paired is now the session's connection.
    pub fn mark_connected(&self, id: &SessionId, generation: u64) {
        if let Some(slot) = guard(&self.slots)
            .get_mut(id)
            .filter(|s| s.generation == generation)
        {
            if let LinkState::Live { kind, qr, .. } = &mut slot.state {
                *kind = LinkKind::Connect;
                *qr = None;
            }
            slot.budget.reset();
            slot.backoff = self.backoff.build();
        }
    }

    /// Counts a connection failure; returns whether the budget is exhausted and the delay
    /// before the next attempt. `None` when the session has no slot.
    pub fn record_failure(&self, id: &SessionId, now: Instant) -> Option<(bool, Duration)> {
        let mut slots = guard(&self.slots);
        let slot = slots.get_mut(id)?;
        let exhausted = slot.budget.record_failure(now);
        // The backoff has no limit on attempts (the budget is the limit), so it always yields.
        let delay = slot.backoff.next().unwrap_or(self.reconnect_max);
        Some((exhausted, delay))
    }

    /// Removes a session's slot; the caller closes it.
    pub fn remove(&self, id: &SessionId) -> Option<Closer> {
        guard(&self.slots).remove(id).map(Slot::closer)
    }

    /// Removes the slots of one shard, or of every shard.
    pub fn remove_where(&self, shard: Option<u32>) -> Vec<Closer> {
        let mut slots = guard(&self.slots);
        let ids: Vec<SessionId> = slots
            .iter()
            .filter(|(_, slot)| shard.is_none_or(|s| slot.shard == s))
            .map(|(id, _)| *id)
            .collect();
        ids.iter()
            .filter_map(|id| slots.remove(id))
            .map(Slot::closer)
            .collect()
    }

    /// Remembers a session's status, for the heartbeat's counts.
    pub fn note_status(&self, id: SessionId, shard: u32, status: SessionStatus) {
        guard(&self.statuses).insert(id, (shard, status));
    }

    pub fn forget_status(&self, id: &SessionId) {
        guard(&self.statuses).remove(id);
    }

    pub fn forget_shard_statuses(&self, shard: u32) {
        guard(&self.statuses).retain(|_, (s, _)| *s != shard);
    }

    /// How many sessions of the held shards are in each status.
    pub fn status_counts(&self) -> HashMap<SessionStatus, usize> {
        let mut counts: HashMap<SessionStatus, usize> =
            SessionStatus::ALL.iter().map(|s| (*s, 0)).collect();
        for (_, status) in guard(&self.statuses).values() {
            *counts.entry(*status).or_default() += 1;
        }
        counts
    }
}
