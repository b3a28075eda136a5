//! The jobs a shard's consumer holds: each one in hand until it is settled (acked, `nak`ed or
//! terminated), kept alive meanwhile by "in progress" acks, and queued per session: one task per
//! session with jobs drains its FIFO in order and ends when it is empty.

use async_nats::jetstream::{self, AckKind};
use futures::future::join_all;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wagw_common::SessionId;
use wagw_common::wire::REQUEST_ID_HEADER;

use crate::Worker;

/// How long handing an acknowledgement to the NATS client may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every job a consumer holds, by a local number, for the "in progress" acks.
#[derive(Debug, Default)]
pub struct InHand {
    next: AtomicU64,
    jobs: Mutex<HashMap<u64, Arc<jetstream::Message>>>,
}

impl InHand {
    /// Takes a fetched message in hand.
    pub fn take(self: &Arc<Self>, message: jetstream::Message) -> Job {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let message = Arc::new(message);
        lock(&self.jobs).insert(number, Arc::clone(&message));
        Job {
            number,
            message,
            in_hand: Arc::clone(self),
        }
    }

    /// Tells JetStream every job in hand is still being worked on, so none is redelivered.
    pub async fn extend_all(&self) {
        let jobs: Vec<_> = lock(&self.jobs).values().cloned().collect();
        let extend = jobs
            .iter()
            .map(|message| settle(message, AckKind::Progress));
        join_all(extend).await;
    }

    pub fn len(&self) -> usize {
        lock(&self.jobs).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One fetched send job; settle it exactly once with [`Job::settle`].
#[derive(Debug)]
pub struct Job {
    number: u64,
    pub message: Arc<jetstream::Message>,
    in_hand: Arc<InHand>,
}

impl Job {
    pub fn subject(&self) -> &str {
        self.message.subject.as_str()
    }

    /// The id of the HTTP request that queued the job, as the edge put it in the headers.
    pub fn request_id(&self) -> Option<&str> {
        let headers = self.message.headers.as_ref()?;
        headers.get(REQUEST_ID_HEADER).map(|value| value.as_str())
    }

    /// Acks, `nak`s or terminates the job and lets go of it.
    pub async fn settle(self, kind: AckKind) {
        lock(&self.in_hand.jobs).remove(&self.number);
        settle(&self.message, kind).await;
    }
}

/// Sends one acknowledgement; a failure only means JetStream redelivers after `ack_wait`.
async fn settle(message: &jetstream::Message, kind: AckKind) {
    let label = match kind {
        AckKind::Ack => "ack",
        AckKind::Nak(_) => "nak",
        AckKind::Progress => "progress",
        AckKind::Term => "term",
        AckKind::Next => "next",
    };
    match tokio::time::timeout(ACK_TIMEOUT, message.ack_with(kind)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::debug!(ack = label, error = %err, "could not acknowledge a send job")
        }
        Err(_) => tracing::debug!(ack = label, "acknowledging a send job timed out"),
    }
}

/// The per-session FIFOs of one shard and the tasks draining them.
#[derive(Debug)]
pub struct SessionQueues {
    worker: Worker,
    queues: Mutex<HashMap<SessionId, mpsc::UnboundedSender<Job>>>,
    tasks: TaskTracker,
    /// Cancelled when the shard is given up: queued jobs are `nak`ed, not started.
    stop: CancellationToken,
}

impl SessionQueues {
    pub fn new(worker: Worker, stop: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            worker,
            queues: Mutex::default(),
            tasks: TaskTracker::new(),
            stop,
        })
    }

    /// Appends a job to its session's FIFO, starting the session's task when it has none.
    pub fn push(self: &Arc<Self>, session: SessionId, job: Job) {
        let mut queues = lock(&self.queues);
        let job = match queues.get(&session) {
            Some(queue) => match queue.send(job) {
                Ok(()) => return,
                // The task ended after its last look at the map; start a new one.
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        // A fresh channel whose receiver is alive: the send cannot fail.
        let _ = sender.send(job);
        queues.insert(session, sender);
        self.tasks.spawn(Arc::clone(self).drain(session, receiver));
    }

    /// Runs a session's jobs one after the other; ends (leaving the map) once its FIFO is empty.
    async fn drain(
        self: Arc<Self>,
        session: SessionId,
        mut receiver: mpsc::UnboundedReceiver<Job>,
    ) {
        loop {
            let job = match receiver.try_recv() {
                Ok(job) => job,
                Err(_) => {
                    // Look again under the lock `push` holds, so no job slips in unseen.
                    let mut queues = lock(&self.queues);
                    match receiver.try_recv() {
                        Ok(job) => job,
                        Err(_) => {
                            queues.remove(&session);
                            return;
                        }
                    }
                }
            };
            if self.stop.is_cancelled() {
                // Not started: the shard's next owner gets it at once.
                job.settle(AckKind::Nak(None)).await;
                continue;
            }
            let outcome = self.worker.process_send(&job, &self.stop).await;
            job.settle(outcome).await;
        }
    }

    /// After `stop`: waits (at most `deadline`) for the sends in progress to finish and the
    /// queued jobs to be `nak`ed; true when all did.
    pub async fn wind_down(&self, deadline: Duration) -> bool {
        self.tasks.close();
        tokio::time::timeout(deadline, self.tasks.wait())
            .await
            .is_ok()
    }
}
