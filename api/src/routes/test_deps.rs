//! Test-only: a private `redis-server` and `nats-server` on free ports, killed on drop, and an
//! edge state connected to them.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

use crate::Config;
use crate::state::AppState;

/// One Redis and one NATS for one test.
pub struct Deps {
    children: Vec<Child>,
    pub redis_url: String,
    pub nats_url: String,
}

impl Drop for Deps {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Deps {
    pub fn start() -> Self {
        let (redis_port, nats_port) = (free_port(), free_port());
        let redis = Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let mut deps = Self {
            children: vec![redis],
            redis_url: format!("redis://127.0.0.1:{redis_port}"),
            nats_url: format!("nats://127.0.0.1:{nats_port}"),
        };
        let nats = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &nats_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is installed");
        deps.children.push(nats);
        wait_for_port(redis_port);
        wait_for_port(nats_port);
        deps
    }

    /// An edge config against these servers, with `extra` flags appended.
    pub fn config(&self, extra: &[&str]) -> Config {
        let mut args = vec![
            "wagw-api",
            "--nats-url",
            &self.nats_url,
            "--redis-url",
            &self.redis_url,
            "--gateways",
            "gw-test-1",
        ];
        args.extend_from_slice(extra);
        Config::try_parse_from(args).expect("a valid test config")
    }

    pub async fn state(&self, extra: &[&str]) -> AppState {
        AppState::connect(self.config(extra))
            .await
            .expect("connects")
    }
}
