//! The floor: the same path as the edge's with none of our logic, run as two processes of this
//! binary. The floor edge is an axum server with two handlers. `POST /floor/{id}` makes one NATS
//! request to the floor responder, which does one Redis write (`SET`) and replies; the edge then
//! reads the row back with one Redis `GET` and returns it. `GET /floor/{id}` does only the
//! `GET`. No auth, no validation, no logging, no metrics: what our edge and worker cost above
//! this is our logic. [`start`] launches both processes next to a running stack.

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures::StreamExt;
use redis::aio::ConnectionManager;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use wagw_tests::FleetApp;
use wagw_tests::procs::free_port;

/// How long the floor edge waits for the responder, like our edge's command timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The subject the floor edge sends `id`'s command on.
pub fn subject(root: &str, id: &str) -> String {
    format!("{root}.floor.{id}")
}

/// The Redis key of `id`'s floor row.
pub fn row_key(root: &str, id: &str) -> String {
    format!("{root}:floor:{{{id}}}")
}

#[derive(Clone)]
struct Floor {
    root: String,
    nats: async_nats::Client,
    redis: ConnectionManager,
}

/// Serves the floor edge on `listen` until the process is killed.
///
/// # Errors
/// When NATS, Redis or the listener cannot be reached or bound.
pub async fn serve_edge(nats: &str, redis: &str, root: &str, listen: &str) -> anyhow::Result<()> {
    let floor = Floor {
        root: root.to_owned(),
        nats: async_nats::connect(nats).await?,
        redis: redis::Client::open(redis)?.get_connection_manager().await?,
    };
    let app = Router::new()
        .route("/floor/{id}", get(read_row).post(command))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// One NATS request, then one Redis read of the row the responder wrote.
async fn command(State(floor): State<Floor>, Path(id): Path<String>) -> Response {
    let request = floor
        .nats
        .request(subject(&floor.root, &id), Bytes::from(id.clone()));
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(Ok(_)) => read_row(State(floor), Path(id)).await,
        _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// One Redis read, the row returned as it is stored.
async fn read_row(State(mut floor): State<Floor>, Path(id): Path<String>) -> Response {
    let row: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("GET")
        .arg(row_key(&floor.root, &id))
        .query_async(&mut floor.redis)
        .await;
    match row {
        Ok(Some(row)) => ([(header::CONTENT_TYPE, "application/json")], row).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Serves the floor responder until the process is killed: each request's `id` gets `row`
/// written at its key (one `SET`), then an empty reply. Each message is handled in its own
/// task, as our worker does.
///
/// # Errors
/// When NATS or Redis cannot be reached.
pub async fn serve_responder(
    nats: &str,
    redis: &str,
    root: &str,
    row: Vec<u8>,
) -> anyhow::Result<()> {
    let client = async_nats::connect(nats).await?;
    let redis = redis::Client::open(redis)?.get_connection_manager().await?;
    let row = Bytes::from(row);
    let mut requests = client.subscribe(format!("{root}.floor.*")).await?;
    while let Some(message) = requests.next().await {
        let (client, mut redis, row, root) =
            (client.clone(), redis.clone(), row.clone(), root.to_owned());
        tokio::spawn(async move {
            let Some(reply) = message.reply else { return };
            let id = String::from_utf8_lossy(&message.payload);
            let written: redis::RedisResult<()> = redis::cmd("SET")
                .arg(row_key(&root, &id))
                .arg(row.as_ref())
                .query_async(&mut redis)
                .await;
            if written.is_ok() {
                let _ = client.publish(reply, Bytes::new()).await;
            }
        });
    }
    Ok(())
}

/// A child process killed and reaped on drop.
#[derive(Debug)]
pub struct Reaped(Child);

impl Reaped {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the floor's responder and edge on the stack's NATS and Redis, with a copy of a real
/// session row as what the responder writes, and seeds every session's floor row so the read
/// path finds one; returns the floor edge's address.
pub async fn start(fleet: &FleetApp, ids: &[String]) -> anyhow::Result<(SocketAddr, Vec<Reaped>)> {
    let (status, row, _) = fleet
        .app
        .get(&wagw_tests::session_path(&ids[0], ""), &fleet.token)
        .await;
    anyhow::ensure!(status == 200, "reading a row for the floor: {status}");
    let row = serde_json::to_vec(&row)?;
    let root = fleet.app.subjects.root().to_owned();
    let row_file = wagw_tests::worker_procs::logs_dir()?.join(format!("{root}-floor-row.json"));
    std::fs::write(&row_file, &row)?;
    let mut redis = fleet.app.redis.clone();
    let mut seed = redis::pipe();
    for id in ids {
        seed.cmd("SET").arg(row_key(&root, id)).arg(&row).ignore();
    }
    seed.query_async::<()>(&mut redis).await?;
    let (nats, redis_url) = (fleet.app.nats_server.url(), fleet.app.redis_server.url());
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let exe = std::env::current_exe()?;
    let spawn = |args: &[&str]| -> anyhow::Result<Reaped> {
        let child = Command::new(&exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting a floor process")?;
        Ok(Reaped(child))
    };
    let row_path = row_file.to_string_lossy().into_owned();
    let children = vec![
        spawn(&["floor-responder", &nats, &redis_url, &root, &row_path])?,
        spawn(&["floor-edge", &nats, &redis_url, &root, &listen])?,
    ];
    let probe = format!("http://{listen}/floor/{}", ids[0]);
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answered = fleet.app.http.post(&probe).send().await;
        if answered.is_ok_and(|response| response.status().is_success()) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < until,
            "the floor did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((listen.parse()?, children))
}
