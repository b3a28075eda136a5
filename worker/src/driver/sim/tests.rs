//! Test harness of the sim driver: a real `nats-server` per test on a free port, fast timings,
//! and helpers that wait for events with a deadline.

mod controls;
mod links;
mod pairing;

use super::{SimConfig, SimDriver};
use crate::driver::{Credentials, Driver, DriverEvent, DriverSession, Identity, Link};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use wagw_common::sim::SimAction;
use wagw_common::subjects::Subjects;
use wagw_common::{GatewayId, SessionId};

/// How long a test waits for an event that must come.
const PATIENCE: Duration = Duration::from_secs(3);

/// A `nats-server` of this test alone, killed on drop.
#[derive(Debug)]
struct NatsServer {
    child: Child,
    url: String,
}

impl NatsServer {
    /// Starts a server on a free port and connects to it; tries another port when the one
    /// picked was taken meanwhile.
    async fn start() -> (Self, async_nats::Client) {
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            let child = Command::new("nats-server")
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nats-server is installed");
            let mut server = Self {
                child,
                url: format!("nats://127.0.0.1:{port}"),
            };
            if let Some(client) = server.connect().await {
                return (server, client);
            }
        }
        panic!("nats-server did not start on any of 5 ports");
    }

    /// A client of this very server, or `None` when it exited (its port was taken).
    async fn connect(&mut self) -> Option<async_nats::Client> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return None;
            }
            if let Ok(client) = async_nats::connect(&self.url).await {
                return Some(client);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("nats-server did not accept connections in time");
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One test's world: its NATS and a client on it.
#[derive(Debug)]
struct World {
    _server: NatsServer,
    client: async_nats::Client,
    subjects: Subjects,
}

impl World {
    async fn start() -> Self {
        let (server, client) = NatsServer::start().await;
        Self {
            _server: server,
            client,
            subjects: Subjects::new("t.wagw").expect("valid root"),
        }
    }

    fn driver(&self, config: SimConfig) -> SimDriver {
        let worker = wagw_common::WorkerId::parse("w-test").expect("valid worker id");
        SimDriver::new(config, self.client.clone(), self.subjects.clone(), worker)
    }
}

/// Timings short enough for real-time tests; no auto-pairing.
fn fast() -> SimConfig {
    SimConfig {
        connect_latency: Duration::from_millis(20),
        auto_pair_after: None,
        qr_first_validity: Duration::from_millis(150),
        qr_next_validity: Duration::from_millis(80),
        qr_count: 3,
        pairing_code_validity: Duration::from_millis(200),
    }
}

fn session() -> DriverSession {
    DriverSession {
        session_id: SessionId::generate(),
        gateway_id: GatewayId::parse("gw-test").expect("valid gateway id"),
        shard: 0,
        lease_token: None,
    }
}

async fn next(link: &mut Link) -> DriverEvent {
    tokio::time::timeout(PATIENCE, link.events.recv())
        .await
        .expect("an event in time")
        .expect("the link is still open")
}

/// The event stream ends (the link is closed) without another event.
async fn ends(link: &mut Link) {
    let last = tokio::time::timeout(PATIENCE, link.events.recv())
        .await
        .expect("the link ends in time");
    assert_eq!(last, None, "an event after the link should have ended");
}

/// No event for `quiet`.
async fn silent_for(link: &mut Link, quiet: Duration) {
    if let Ok(event) = tokio::time::timeout(quiet, link.events.recv()).await {
        panic!("unexpected {event:?}");
    }
}

/// Pairs `session` by QR with the `pair` control, up to `Connected`.
async fn pair_by_qr(
    driver: &SimDriver,
    session: &DriverSession,
    phone: &str,
) -> (Link, Identity, Credentials) {
    let mut link = driver
        .start_qr_pairing(session)
        .await
        .expect("pairing starts");
    assert!(matches!(next(&mut link).await, DriverEvent::Qr { .. }));
    let body = format!(r#"{{"phoneNumber":"{phone}"}}"#);
    driver
        .simulate(&session.session_id, SimAction::Pair, body.as_bytes())
        .await
        .expect("pair applies");
    let DriverEvent::Paired {
        identity,
        credentials,
    } = next(&mut link).await
    else {
        panic!("expected Paired");
    };
    assert_eq!(
        next(&mut link).await,
        DriverEvent::Connected {
            identity: identity.clone()
        }
    );
    (link, identity, credentials)
}

/// Every link task of `driver` has ended (they end right after their last event).
async fn no_tasks_left(driver: &SimDriver) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !driver.inner.tasks.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "link tasks leaked");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(driver.inner.lock_links().is_empty(), "registry not emptied");
}

#[test]
fn the_default_config_is_whatsapps_timing() {
    let config = SimConfig::default();
    assert_eq!(config.connect_latency, Duration::from_millis(300));
    assert_eq!(config.auto_pair_after, Some(Duration::from_secs(3)));
    assert_eq!(
        (
            config.qr_first_validity,
            config.qr_next_validity,
            config.qr_count
        ),
        (Duration::from_secs(60), Duration::from_secs(20), 6)
    );
    assert_eq!(config.pairing_code_validity, Duration::from_secs(180));
}
