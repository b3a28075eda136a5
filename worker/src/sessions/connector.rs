//! The background connection of a paired session: wait, connect with its stored credentials,
//! and on a transient error retry after the next backoff delay until the reconnect budget runs
//! out. Connecting itself happens outside the session lock, so commands are never blocked by
//! a slow WhatsApp; the result is installed only if the attempt is still current.

use backon::{ExponentialBuilder, Retryable};
use futures::future::BoxFuture;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use wagw_common::SessionId;

use super::CONNECT_TIMEOUT;
use crate::Worker;
use crate::driver::{Credentials, DriverError, Link};
use crate::error::HandlerError;
use crate::store::StoreError;

/// What to do after one connection attempt.
enum Attempt {
    Done,
    RetryAfter(Duration),
}

impl Worker {
    /// Runs the connection attempts of one generation until connected, failed or cancelled.
    /// Boxed, because pumps and connectors spawn each other.
    pub fn run_connector(
        self,
        id: SessionId,
        generation: u64,
        cancel: CancellationToken,
        mut delay: Duration,
        mut bounded: bool,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
                // Only the first attempt of a reconciliation waits for a permit; a link that
                // comes up keeps it until it is connected (see `run_pump`).
                let mut permit = if std::mem::take(&mut bounded) {
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        permit = self.reconcile_permits.clone().acquire_owned() => permit.ok(),
                    }
                } else {
                    None
                };
                match self
                    .connect_once(id, generation, &cancel, &mut permit)
                    .await
                {
                    Attempt::Done => break,
                    Attempt::RetryAfter(next) => delay = next,
                }
                drop(permit);
            }
            tracing::debug!(session.id = %id, generation, "connector ended");
        })
    }

    async fn connect_once(
        &self,
        id: SessionId,
        generation: u64,
        cancel: &CancellationToken,
        permit: &mut Option<OwnedSemaphorePermit>,
    ) -> Attempt {
        let credentials = match self.credentials_for_attempt(id, generation).await {
            Ok(credentials) => credentials,
            Err(next) => return next,
        };
        let session = self.driver_session(&id);
        let result = tokio::select! {
            () = cancel.cancelled() => return Attempt::Done,
            result = tokio::time::timeout(CONNECT_TIMEOUT, self.driver.connect(&session, &credentials)) => result,
        };
        let _guard = self.sessions.locks.lock(id).await;
        if !self.sessions.is_current(&id, generation) {
            if let Ok(Ok(link)) = result {
                link.connection.close().await;
            }
            return Attempt::Done;
        }
        match result {
            Ok(Ok(link)) => {
                crate::fleet::counters::bump(&self.fleet.counters.reconnects);
                self.go_live(id, generation, link, cancel.clone(), permit.take())
                    .await;
                Attempt::Done
            }
            Ok(Err(DriverError::Transient(reason))) => self.attempt_failed(id, &reason).await,
            Err(_) => self.attempt_failed(id, "connecting timed out").await,
            Ok(Err(err)) => {
                self.fail_by_id(id, &err.to_string()).await;
                Attempt::Done
            }
        }
    }

    /// Under the lock: checks the attempt is current and loads the credentials. Without them
    /// the session fails; a store error counts as a failed attempt.
    async fn credentials_for_attempt(
        &self,
        id: SessionId,
        generation: u64,
    ) -> Result<Credentials, Attempt> {
        let _guard = self.sessions.locks.lock(id).await;
        if !self.sessions.is_current(&id, generation) {
            return Err(Attempt::Done);
        }
        match self.store.load_credentials(self.shard_of(&id), &id).await {
            Ok(Some(credentials)) => Ok(credentials),
            Ok(None) => {
                self.fail_by_id(id, "credentials missing").await;
                Err(Attempt::Done)
            }
            Err(err) => {
                tracing::warn!(session.id = %id, error = %err, "could not load credentials to connect");
                Err(self.attempt_failed(id, "session store unavailable").await)
            }
        }
    }

    async fn go_live(
        &self,
        id: SessionId,
        generation: u64,
        link: Link,
        cancel: CancellationToken,
        admission: Option<OwnedSemaphorePermit>,
    ) {
        if self
            .sessions
            .go_live(&id, generation, link.connection.clone())
        {
            self.tasks.spawn(
                self.clone()
                    .run_pump(id, generation, link.events, cancel, admission),
            );
        } else {
            link.connection.close().await;
        }
    }

    /// Counts a failed attempt against the budget: retry after the next delay, or fail.
    async fn attempt_failed(&self, id: SessionId, reason: &str) -> Attempt {
        tracing::info!(session.id = %id, reason, "connecting a session failed");
        match self.sessions.record_failure(&id, Instant::now()) {
            Some((false, delay)) => Attempt::RetryAfter(delay),
            Some((true, _)) => {
                self.fail_by_id(id, &format!("too many reconnect failures: {reason}"))
                    .await;
                Attempt::Done
            }
            None => Attempt::Done,
        }
    }

    /// Loads the row and fails it. A Redis error is retried briefly, so a blip does not leave
    /// the session `starting` with no connector behind it; a fenced write is not retried (the
    /// shard is gone, and its new owner reconciles the session).
    async fn fail_by_id(&self, id: SessionId, reason: &str) {
        let attempt = || async {
            match self.store.load_row(self.shard_of(&id), &id).await? {
                Some(mut row) => self.fail_session(&mut row, reason).await,
                None => {
                    self.close_link(&id).await;
                    Ok(())
                }
            }
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1))
            .with_jitter()
            .with_max_times(5);
        let result = attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|err| matches!(err, HandlerError::Store(StoreError::Redis(_))))
            .await;
        if let Err(err) = result {
            tracing::warn!(session.id = %id, error = %err, "could not mark a session failed");
        }
    }
}
