//! Test-only: a private `redis-server` on a free port, killed on drop, and backends on it.

use super::{RedisBackend, Scope, StateKey, WaKeys};
use redis::aio::ConnectionManager;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wagw_common::keys::Keys;
use wagw_common::shard::ShardRef;
use wagw_common::{GatewayId, SessionId};

/// The lease token the tests hold.
pub const TOKEN: &str = "worker-a 1";

/// One Redis for one test, with a shard lease held by [`TOKEN`].
pub struct TestRedis {
    child: Child,
    pub conn: ConnectionManager,
    pub keys: Keys,
    pub shard: ShardRef,
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

impl TestRedis {
    pub async fn start() -> Self {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis on {port} never opened");
            std::thread::sleep(Duration::from_millis(20));
        }
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("url");
        let conn = ConnectionManager::new(client).await.expect("connects");
        let redis = Self {
            child,
            conn,
            keys: Keys::new("wagwtest").expect("valid prefix"),
            shard: ShardRef::new(GatewayId::parse("gw-t").expect("valid"), 5),
        };
        redis.set_lease(TOKEN).await;
        redis
    }

    pub async fn set_lease(&self, token: &str) {
        let _: () = redis::cmd("SET")
            .arg(self.keys.lease(&self.shard))
            .arg(token)
            .query_async(&mut self.conn.clone())
            .await
            .expect("SET lease");
    }

    /// A backend of `session` writing with `token`, sealing with `key`.
    pub fn backend(&self, session: &SessionId, token: &str, key: [u8; 32]) -> RedisBackend {
        let scope = Scope {
            keys: WaKeys::new(&self.keys, &self.shard, session),
            lease_key: self.keys.lease(&self.shard),
            token: token.to_owned(),
        };
        RedisBackend::new(self.conn.clone(), scope, StateKey::from_bytes(key))
    }

    /// Every key in the database, except the lease.
    pub async fn state_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut self.conn.clone())
            .await
            .expect("KEYS");
        keys.retain(|k| *k != self.keys.lease(&self.shard));
        keys.sort();
        keys
    }
}
