//! A held shard's send consumer: fetch the shard's jobs in batches, hand each to its session's
//! FIFO, and keep every job in hand alive with "in progress" acks. When the shard is given up
//! (released, lost, worker stopping) it stops fetching, `nak`s what it fetched but did not
//! start, lets a send in progress finish (bounded), so the next owner gets the rest at once.
//! After a SIGKILL nothing is `nak`ed: the jobs come back after `ack_wait`.

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::PullConsumer;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use super::queue::{InHand, SessionQueues};
use crate::Worker;

/// Jobs asked for in one pull request.
const FETCH_BATCH: usize = 100;
/// How long one pull request waits for jobs before a new one is made.
const FETCH_EXPIRES: Duration = Duration::from_secs(2);
/// After stopping, how long to wait for jobs of the last pull already on their way.
const LATE_JOB_WAIT: Duration = Duration::from_millis(100);
/// How long a send in progress gets to finish when the shard is given up; the shard's release
/// waits for it (within its own 3 s deadline).
const WIND_DOWN_DEADLINE: Duration = Duration::from_millis(2500);
/// The shortest interval between two rounds of "in progress" acks.
const MIN_PROGRESS_PERIOD: Duration = Duration::from_millis(200);

impl Worker {
    /// Consumes shard `shard`'s send jobs until `stop` or the worker stops.
    pub async fn consume_sends(self, shard: u32, stop: CancellationToken) {
        if !self.sends_enabled.load(Ordering::Acquire) {
            return;
        }
        // Stop when the shard goes or the worker stops, whichever is first.
        let stop = {
            let either = stop.child_token();
            let (worker_stop, child) = (self.stopping.clone(), either.clone());
            self.tasks.spawn(async move {
                tokio::select! {
                    () = worker_stop.cancelled() => child.cancel(),
                    () = child.cancelled() => {}
                }
            });
            either
        };
        let Some(consumer) = self.connect_consumer(shard, &stop).await else {
            return;
        };
        let in_hand = Arc::new(InHand::default());
        let queues = SessionQueues::new(self.clone(), stop.clone());
        self.fetch_until_stopped(shard, &consumer, &in_hand, &queues, &stop)
            .await;
        if !queues.wind_down(WIND_DOWN_DEADLINE).await {
            tracing::warn!(
                shard,
                jobs = in_hand.len(),
                "a send in progress did not finish in time; it is redelivered after ack_wait"
            );
        }
        tracing::debug!(shard, "send consumer stopped");
    }

    /// The shard's consumer, retried with capped backoff until it exists or `stop`.
    async fn connect_consumer(&self, shard: u32, stop: &CancellationToken) -> Option<PullConsumer> {
        let mut delays = retry_delays().build();
        let mut failing = false;
        loop {
            match self.send_consumer(shard).await {
                Ok(consumer) => return Some(consumer),
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(
                        shard,
                        error,
                        "could not open the shard's send consumer; retrying"
                    );
                }
                Err(_) => {}
            }
            let delay = delays.next().unwrap_or(Duration::from_secs(5));
            tokio::select! {
                () = stop.cancelled() => return None,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Pulls batches and dispatches their jobs until `stop`; then `nak`s what is still
    /// arriving from the last pull.
    async fn fetch_until_stopped(
        &self,
        shard: u32,
        consumer: &PullConsumer,
        in_hand: &Arc<InHand>,
        queues: &Arc<SessionQueues>,
        stop: &CancellationToken,
    ) {
        let ack_wait = Duration::from_secs(self.config.send_ack_wait_secs);
        let mut progress = tokio::time::interval((ack_wait / 3).max(MIN_PROGRESS_PERIOD));
        progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut delays = retry_delays().build();
        loop {
            let request = consumer
                .batch()
                .max_messages(FETCH_BATCH)
                .expires(FETCH_EXPIRES)
                .messages();
            let mut batch = tokio::select! {
                () = stop.cancelled() => return,
                batch = request => match batch {
                    Ok(batch) => batch,
                    Err(err) => {
                        tracing::debug!(shard, error = %err, "pulling send jobs failed");
                        let delay = delays.next().unwrap_or(Duration::from_secs(5));
                        tokio::select! {
                            () = stop.cancelled() => return,
                            () = tokio::time::sleep(delay) => continue,
                        }
                    }
                },
            };
            delays = retry_delays().build();
            loop {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => {
                        while let Ok(Some(Ok(message))) =
                            tokio::time::timeout(LATE_JOB_WAIT, batch.next()).await
                        {
                            in_hand.take(message).settle(AckKind::Nak(None)).await;
                        }
                        return;
                    }
                    _ = progress.tick() => in_hand.extend_all().await,
                    next = batch.next() => match next {
                        Some(Ok(message)) => self.dispatch_send(in_hand.take(message), queues).await,
                        Some(Err(err)) => {
                            tracing::debug!(shard, error = %err, "a pull of send jobs ended");
                            break;
                        }
                        None => break,
                    },
                }
            }
        }
    }

    /// Queues a job behind its session's earlier ones; a job on a subject that is not a send
    /// of ours can never be processed and is terminated.
    async fn dispatch_send(&self, job: super::queue::Job, queues: &Arc<SessionQueues>) {
        match self.subjects.parse_command(job.subject()) {
            Some(parsed) => queues.push(parsed.session, job),
            None => {
                tracing::warn!(
                    subject = job.subject(),
                    "dropped a send job on a foreign subject"
                );
                job.settle(AckKind::Term).await;
            }
        }
    }
}

/// Capped exponential backoff with jitter for reopening the consumer and pulling again.
fn retry_delays() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
}
