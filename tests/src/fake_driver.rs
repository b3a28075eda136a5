//! Pieces for tests that run a worker in-process on a fake [`Driver`]: a connection that does
//! nothing, and the worker itself started on a [`WorkerStack`]'s servers.

use async_trait::async_trait;
use secrecy::ExposeSecret;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wagw_worker::Worker;
use wagw_worker::driver::{Connection, Driver, DriverError, Presence};
use wagw_worker::store::Store;

use crate::WorkerStack;

/// A live link's controls that do nothing (sending fails: there is no one to send to).
#[derive(Debug)]
pub struct InertConnection;

#[async_trait]
impl Connection for InertConnection {
    async fn close(&self) {}
    async fn logout(&self) -> Result<(), DriverError> {
        Ok(())
    }
    async fn send_text(&self, _: &str, _: &str, _: &str) -> Result<String, DriverError> {
        Err(DriverError::Closed)
    }
    async fn send_presence(&self, _: &str, _: Presence) -> Result<(), DriverError> {
        Ok(())
    }
    async fn mark_read(&self, _: &str, _: &[String]) -> Result<(), DriverError> {
        Ok(())
    }
}

/// A worker `w1` on `driver`, serving until the token is cancelled; returns once it holds
/// every shard.
///
/// # Panics
/// When Redis or NATS cannot be reached.
pub async fn start_worker_on(
    stack: &mut WorkerStack,
    driver: Arc<dyn Driver>,
) -> (CancellationToken, JoinHandle<anyhow::Result<()>>) {
    let config = stack.worker_config("w1", &[]);
    let store = Store::connect(
        config.redis_url.expose_secret(),
        config.keys(),
        config.gateway_id.clone(),
    )
    .await
    .expect("redis");
    let shards = store
        .init_shard_count(config.shards)
        .await
        .expect("shard count");
    let nats = async_nats::connect(config.nats_url.expose_secret())
        .await
        .expect("nats");
    let worker = Worker::new(config, nats, store, driver, None, shards);
    let token = CancellationToken::new();
    let running = tokio::spawn(worker.serve(token.clone()));
    stack.wait_for_all_shards("w1").await;
    (token, running)
}
