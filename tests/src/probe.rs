//! Telling our own freshly spawned server from whatever else answers on its port.
//!
//! A free port can be taken by another test between the probe and the spawn; then our server
//! fails to bind and someone else's answers. Each server is asked who it is before it is used.

use std::net::TcpStream;
use std::time::Duration;

/// How to recognise our own server on a port.
#[derive(Debug)]
pub(crate) enum Probe {
    /// nats-server started with `--name <name>`: its INFO line names it.
    NatsServerName(String),
    /// redis-server: `INFO server` reports its `process_id`.
    RedisPid,
}

impl Probe {
    pub(crate) fn is_ours(&self, mut stream: TcpStream, pid: u32) -> bool {
        use std::io::{Read, Write};
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request: &[u8] = match self {
            Self::NatsServerName(_) => b"",
            Self::RedisPid => b"INFO server\r\n",
        };
        if stream.write_all(request).is_err() {
            return false;
        }
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        while seen.len() < 64 * 1024 {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return false,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
            if let Some(verdict) = self.verdict(&String::from_utf8_lossy(&seen), pid) {
                return verdict;
            }
        }
        false
    }

    /// `Some` once `seen` holds enough of the greeting or reply to decide.
    fn verdict(&self, seen: &str, pid: u32) -> Option<bool> {
        match self {
            Self::NatsServerName(name) => {
                let (line, _) = seen.split_once("\r\n")?;
                Some(
                    line.starts_with("INFO ")
                        && line.contains(&format!("\"server_name\":\"{name}\"")),
                )
            }
            Self::RedisPid => {
                let (_, rest) = seen.split_once("process_id:")?;
                let (value, _) = rest.split_once("\r\n")?;
                Some(value == pid.to_string())
            }
        }
    }
}
