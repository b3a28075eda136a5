//! The worker's Prometheus endpoint: `GET /metrics` on `WAGW_METRICS_ADDR`, started with the
//! worker's other tasks and stopped when it begins to shut down, plus the upkeep that folds
//! histogram samples into buckets between scrapes.

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use super::{MetricsAddr, Observed};
use crate::Worker;

impl Worker {
    /// Binds `WAGW_METRICS_ADDR` (unless `off`) and serves `GET /metrics` on it until the
    /// worker stops; starts the histogram upkeep either way.
    ///
    /// # Errors
    /// When the address cannot be bound (taken, not local, not permitted).
    pub async fn start_metrics(&self) -> anyhow::Result<()> {
        let MetricsAddr::Listen(addr) = self.config.metrics_addr else {
            tracing::info!("the metrics endpoint is off (WAGW_METRICS_ADDR=off)");
            self.tasks.spawn(self.clone().metrics_upkeep());
            return Ok(());
        };
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("binding the metrics endpoint on {addr} (WAGW_METRICS_ADDR)")
        })?;
        // Only once bound: a worker that cannot start leaves no task behind.
        self.tasks.spawn(self.clone().metrics_upkeep());
        let bound = listener
            .local_addr()
            .context("reading the metrics endpoint's address")?;
        self.metrics.set_addr(bound);
        tracing::info!(metrics.addr = %bound, "metrics endpoint listening on /metrics");
        let router = Router::new()
            .route("/metrics", get(serve_metrics))
            .with_state(self.clone());
        let stop = self.stopping.clone().cancelled_owned();
        self.tasks.spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await;
            match served {
                Ok(()) => tracing::debug!("metrics endpoint stopped"),
                Err(err) => tracing::warn!(error = %err, "the metrics endpoint failed"),
            }
        });
        Ok(())
    }

    /// The Prometheus text of this worker: its own state copied in, then rendered.
    pub fn metrics_text(&self) -> String {
        let observed = Observed {
            sessions: self.sessions.status_counts(),
            shards_held: self.fleet.held_shards().len(),
            counters: self.fleet.counters.snapshot(),
        };
        self.metrics.render(&observed)
    }

    async fn metrics_upkeep(self) {
        let mut tick = tokio::time::interval(wagw_common::metrics::UPKEEP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while self
            .stopping
            .run_until_cancelled(tick.tick())
            .await
            .is_some()
        {
            self.metrics.upkeep();
        }
    }
}

async fn serve_metrics(State(worker): State<Worker>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, wagw_common::metrics::CONTENT_TYPE)],
        worker.metrics_text(),
    )
}
