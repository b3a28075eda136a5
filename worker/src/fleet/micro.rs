//! The NATS micro service `wagw-worker`, so `nats micro ls` / `nats micro info` / `nats micro
//! stats` show the live fleet.
//!
//! - metadata: `gatewayId`, `workerId`, `driver`;
//! - endpoint `shards` on `<root>.fleet.<gw>.<worker>.shards`: answers
//!   `{"workerId":"…","gatewayId":"…","shards":[0,3,…],"counters":{…}}`;
//! - stats: each endpoint's `data` is `{"shards":[…],"counters":{…}}` (the shards held change
//!   over time, so they live here rather than in the fixed metadata).

use async_nats::service::ServiceExt;
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

use crate::Worker;

/// The service's name, shared by every worker of every gateway.
pub const SERVICE_NAME: &str = "wagw-worker";
/// How long registering the service or answering a request may take.
const MICRO_TIMEOUT: Duration = Duration::from_secs(5);

impl Worker {
    /// What the `shards` endpoint answers.
    pub fn shards_report(&self) -> Value {
        json!({
            "workerId": self.id,
            "gatewayId": self.gateway,
            "shards": self.fleet.held_shards(),
            "counters": self.fleet.counters.snapshot(),
        })
    }

    /// Registers the micro service and answers its `shards` endpoint until the worker stops.
    /// A failure to register is logged; the worker runs on without it.
    pub async fn micro_service(self) {
        let metadata = HashMap::from([
            ("gatewayId".to_owned(), self.gateway.to_string()),
            ("workerId".to_owned(), self.id.to_string()),
            ("driver".to_owned(), self.driver.name().to_owned()),
        ]);
        let stats_worker = self.clone();
        let builder = self
            .nats
            .service_builder()
            .description("A shard-owning worker of the WhatsApp gateway")
            .metadata(metadata)
            .stats_handler(move |_endpoint, _stats| {
                json!({
                    "shards": stats_worker.fleet.held_shards(),
                    "counters": stats_worker.fleet.counters.snapshot(),
                })
            });
        let started = tokio::time::timeout(
            MICRO_TIMEOUT,
            builder.start(SERVICE_NAME, env!("CARGO_PKG_VERSION")),
        )
        .await;
        let service = match started {
            Ok(Ok(service)) => service,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "could not register the micro service");
                return;
            }
            Err(_) => {
                tracing::warn!("registering the micro service timed out");
                return;
            }
        };
        let subject = self.subjects.worker_shards(&self.gateway, self.id.as_str());
        let endpoint = service.endpoint_builder().name("shards").add(subject);
        let endpoint = tokio::time::timeout(MICRO_TIMEOUT, endpoint);
        match endpoint.await {
            Ok(Ok(mut endpoint)) => loop {
                let request = tokio::select! {
                    () = self.stopping.cancelled() => break,
                    request = endpoint.next() => request,
                };
                let Some(request) = request else { break };
                let body = self.shards_report().to_string().into_bytes().into();
                let answered = tokio::time::timeout(MICRO_TIMEOUT, request.respond(Ok(body))).await;
                if !matches!(answered, Ok(Ok(()))) {
                    tracing::debug!("could not answer a shards request");
                }
            },
            Ok(Err(err)) => tracing::warn!(error = %err, "could not add the shards endpoint"),
            Err(_) => tracing::warn!("adding the shards endpoint timed out"),
        }
        if let Err(err) = tokio::time::timeout(MICRO_TIMEOUT, service.stop()).await {
            tracing::debug!(error = %err, "stopping the micro service timed out");
        }
        tracing::debug!(worker.id = %self.id, "micro service stopped");
    }
}
