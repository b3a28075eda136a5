//! The real driver's failure paths, offline: the library's own WebSocket transport dialling
//! loopback peers that refuse, stay silent, or drop the connection mid-handshake, with the
//! session state in a real Redis. Nothing here reaches WhatsApp.

use futures::StreamExt;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use wagw_common::keys::Keys;
use wagw_common::shard::ShardRef;
use wagw_common::{GatewayId, SessionId};

use super::store::{StateKey, WaKeys};
use super::{WhatsappConfig, WhatsappDriver};
use crate::driver::version::WaVersion;
use crate::driver::{Credentials, Driver, DriverError, DriverSession};
use crate::store::test_redis::RedisProcess;

const TOKEN: &str = "worker-a 7";
/// Short, so a silent peer is given up on quickly; the library's own limits are 20 s.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

struct Fixture {
    conn: redis::aio::ConnectionManager,
    keys: Keys,
    session: DriverSession,
    _redis: RedisProcess,
}

impl Fixture {
    async fn start() -> Self {
        let redis = RedisProcess::start();
        let client = redis::Client::open(redis.url()).expect("url");
        let conn = redis::aio::ConnectionManager::new(client)
            .await
            .expect("connects");
        let keys = Keys::new("wagwloop").expect("valid prefix");
        let session = DriverSession {
            session_id: SessionId::generate(),
            gateway_id: GatewayId::parse("gw-loop").expect("valid"),
            shard: 3,
            lease_token: Some(TOKEN.to_owned()),
        };
        let fixture = Self {
            conn,
            keys,
            session,
            _redis: redis,
        };
        let lease = fixture.keys.lease(&fixture.shard());
        fixture.set(&lease, TOKEN).await;
        fixture
    }

    fn shard(&self) -> ShardRef {
        ShardRef::new(self.session.gateway_id.clone(), self.session.shard)
    }

    /// A driver dialling `url`, with the version pinned so nothing is fetched over HTTP.
    fn driver(&self, url: &str) -> WhatsappDriver {
        let mut config = WhatsappConfig::new(
            StateKey::from_bytes([7; 32]),
            Some(WaVersion(2, 3000, 1_026_131_876)),
        );
        config.connect_timeout = CONNECT_TIMEOUT;
        WhatsappDriver::new(config, self.keys.clone(), self.conn.clone(), Some(url))
    }

    async fn set(&self, key: &str, value: &str) {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(&mut self.conn.clone())
            .await
            .expect("SET");
    }

    /// A leftover of an earlier pairing under the session's state prefix.
    async fn leave_old_state(&self) -> String {
        let wa = WaKeys::new(&self.keys, &self.shard(), &self.session.session_id);
        let key = wa.hash("device");
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg("stale")
            .arg("x")
            .query_async(&mut self.conn.clone())
            .await
            .expect("HSET");
        key
    }

    /// Whether the leftover of [`Self::leave_old_state`] is still there.
    async fn stale_left(&self, key: &str) -> bool {
        redis::cmd("HEXISTS")
            .arg(key)
            .arg("stale")
            .query_async::<bool>(&mut self.conn.clone())
            .await
            .expect("HEXISTS")
    }
}

/// A loopback address nothing listens on.
async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("ws://127.0.0.1:{port}/ws/chat")
}

fn transient(result: Result<impl std::fmt::Debug, DriverError>) -> String {
    match result {
        Err(DriverError::Transient(reason)) => reason,
        other => panic!("expected a transient error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_transient_error_naming_the_cause() {
    let fixture = Fixture::start().await;
    let driver = fixture.driver(&refused_url().await);
    let started = Instant::now();
    let reason = transient(driver.start_qr_pairing(&fixture.session).await);
    assert!(reason.contains("cannot open a connection"), "{reason}");
    assert!(
        started.elapsed() < CONNECT_TIMEOUT,
        "a refusal is reported at once, not after the connect timeout ({:?})",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_silent_peer_is_given_up_on_after_the_connect_timeout() {
    let fixture = Fixture::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/ws/chat", listener.local_addr().expect("addr"));
    // Accepts and never answers, not even the WebSocket upgrade.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let reason = transient(
        fixture
            .driver(&url)
            .start_qr_pairing(&fixture.session)
            .await,
    );
    assert!(reason.contains("timed out"), "{reason}");
    silent.abort();
}

#[tokio::test]
async fn a_peer_dropping_mid_handshake_is_a_transient_error() {
    let fixture = Fixture::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/ws/chat", listener.local_addr().expect("addr"));
    // Completes the WebSocket upgrade, reads the client's first noise frame, then hangs up.
    let peer = tokio::spawn(async move {
        let mut hellos = 0;
        while let Ok((stream, _)) = listener.accept().await {
            let server = tokio_websockets::ServerBuilder::new();
            let Ok((_, mut socket)) = server.accept(stream).await else {
                continue;
            };
            if let Some(Ok(_hello)) = socket.next().await {
                hellos += 1;
            }
            drop(socket);
            if hellos > 0 {
                return hellos;
            }
        }
        hellos
    });
    let reason = transient(
        fixture
            .driver(&url)
            .start_qr_pairing(&fixture.session)
            .await,
    );
    assert!(reason.contains("closed"), "{reason}");
    let hellos = tokio::time::timeout(Duration::from_secs(5), peer)
        .await
        .expect("the peer saw the client")
        .expect("the peer task");
    assert!(hellos >= 1, "the client got as far as its handshake");
}

#[tokio::test]
async fn a_new_pairing_purges_what_an_earlier_one_left() {
    let fixture = Fixture::start().await;
    let stale = fixture.leave_old_state().await;
    let driver = fixture.driver(&refused_url().await);
    let _ = driver.start_qr_pairing(&fixture.session).await;
    // The library writes a fresh device into the same hash; the old field must be gone.
    assert!(
        !fixture.stale_left(&stale).await,
        "old device state was purged"
    );
}

#[tokio::test]
async fn a_lost_lease_stops_the_driver_from_touching_the_state() {
    let fixture = Fixture::start().await;
    let stale = fixture.leave_old_state().await;
    fixture
        .set(&fixture.keys.lease(&fixture.shard()), "worker-b 8")
        .await;
    let driver = fixture.driver(&refused_url().await);
    let reason = transient(driver.start_qr_pairing(&fixture.session).await);
    assert!(reason.contains("no longer held"), "{reason}");
    assert!(
        fixture.stale_left(&stale).await,
        "nothing was written without the lease"
    );
    let mut unleased = fixture.session.clone();
    unleased.lease_token = None;
    let reason = transient(driver.start_qr_pairing(&unleased).await);
    assert!(reason.contains("does not hold"), "{reason}");
}

#[tokio::test]
async fn resuming_needs_this_drivers_credentials_and_a_stored_device() {
    let fixture = Fixture::start().await;
    let driver = fixture.driver(&refused_url().await);
    let foreign = Credentials(b"sim-device".to_vec());
    let outcome = driver.connect(&fixture.session, &foreign).await;
    assert!(
        matches!(&outcome, Err(DriverError::Fatal(reason)) if reason.contains("pair again")),
        "{outcome:?}"
    );
    let ours = Credentials(super::mapping::CREDENTIALS_MARKER.to_vec());
    let outcome = driver.connect(&fixture.session, &ours).await;
    assert!(
        matches!(&outcome, Err(DriverError::Fatal(reason)) if reason.contains("state is gone")),
        "{outcome:?}"
    );
}
