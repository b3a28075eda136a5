//! Fleet-change notices: a worker that joins, leaves or releases shards publishes a tiny JSON
//! notice on `<root>.fleet.<gw>.changed` (`{"workerId":"…","event":"join"|"leave"|"release"}`);
//! every worker wakes its lease loop for an extra, debounced pass, so takeovers do not wait
//! for the next tick.

use futures::StreamExt;

use crate::Worker;

impl Worker {
    /// Wakes the lease loop on every notice of another worker, until the worker stops.
    pub async fn notice_listener(self, mut subscriber: async_nats::Subscriber) {
        loop {
            let message = tokio::select! {
                () = self.stopping.cancelled() => break,
                message = subscriber.next() => message,
            };
            let Some(message) = message else { break };
            // Our own notices need no extra pass.
            let own = serde_json::from_slice::<serde_json::Value>(&message.payload)
                .is_ok_and(|notice| notice["workerId"].as_str() == Some(self.id.as_str()));
            if !own {
                self.fleet.wake.notify_one();
            }
        }
        tracing::debug!(worker.id = %self.id, "fleet notice listener stopped");
    }
}
