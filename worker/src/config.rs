//! The worker's configuration: every setting is a `--flag` with a `WAGW_*` environment variable,
//! parsed and validated once at start-up and passed down.
//!
//! Each value name is its environment variable, so a bad value fails with one line that names
//! the variable, e.g. `invalid value '0' for '--shards <WAGW_SHARDS>'`.

use clap::{Parser, ValueEnum};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use wagw_common::keys::Keys;
use wagw_common::subjects::Subjects;
pub use wagw_common::telemetry::LogFormat;
use wagw_common::{GatewayId, WorkerId};

use crate::driver::version::WaVersion;
use crate::metrics::MetricsAddr;

/// Which driver talks to WhatsApp's side of the sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriverKind {
    /// WhatsApp Web multi-device, on the `whatsapp-rust` crate (cargo feature `whatsapp`).
    Whatsapp,
    /// The simulated phone, for tests, demos and benchmarks.
    Sim,
}

/// A shard-owning worker of one gateway.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "wagw-worker",
    version,
    about = "A shard-owning worker of the WhatsApp gateway"
)]
pub struct Config {
    /// NATS server URL(s), comma separated.
    #[arg(
        long,
        env = "WAGW_NATS_URL",
        value_name = "WAGW_NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        value_parser = parse_secret
    )]
    pub nats_url: SecretString,

    /// Redis URL.
    #[arg(
        long,
        env = "WAGW_REDIS_URL",
        value_name = "WAGW_REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        value_parser = parse_secret
    )]
    pub redis_url: SecretString,

    /// The gateway (worker fleet) this worker belongs to.
    #[arg(
        long,
        env = "WAGW_GATEWAY_ID",
        value_name = "WAGW_GATEWAY_ID",
        default_value = "gw-local-1"
    )]
    pub gateway_id: GatewayId,

    /// This process's id, unique within the gateway [default: host name + random suffix].
    #[arg(long, env = "WAGW_WORKER_ID", value_name = "WAGW_WORKER_ID", default_value_t = default_worker_id(), hide_default_value = true)]
    pub worker_id: WorkerId,

    /// The driver of WhatsApp's side: `whatsapp` or `sim`.
    #[arg(long, env = "WAGW_DRIVER", value_name = "WAGW_DRIVER", value_enum, default_value_t = DriverKind::Whatsapp)]
    pub driver: DriverKind,

    /// Key sealing each session's WhatsApp state at rest (AES-256-GCM): 64 hex digits or base64
    /// of 32 bytes. Required by the `whatsapp` driver; the same on every worker of a gateway.
    #[arg(long, env = "WAGW_STATE_KEY", value_name = "WAGW_STATE_KEY", value_parser = parse_secret, hide_env_values = true)]
    pub state_key: Option<SecretString>,

    /// Pins the WhatsApp Web client version (`2.3000.1026131876`) [default: fetched from
    /// web.whatsapp.com at each connect].
    #[arg(long, env = "WAGW_WA_VERSION", value_name = "WAGW_WA_VERSION")]
    pub wa_version: Option<WaVersion>,

    /// The WhatsApp WebSocket endpoint [default: WhatsApp's own]; for relays and offline tests.
    #[arg(long, env = "WAGW_WA_URL", value_name = "WAGW_WA_URL", hide = true)]
    pub wa_url: Option<String>,

    /// Shards per gateway; the first worker records it, later ones use the recorded value.
    #[arg(long, env = "WAGW_SHARDS", value_name = "WAGW_SHARDS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub shards: u32,

    /// Shard lease time-to-live (ms); renewed every third of it.
    #[arg(long, env = "WAGW_LEASE_MS", value_name = "WAGW_LEASE_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1000..=600_000))]
    pub lease_ms: u64,

    /// Membership heartbeat interval (ms).
    #[arg(long, env = "WAGW_HEARTBEAT_MS", value_name = "WAGW_HEARTBEAT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub heartbeat_ms: u64,

    /// Sim: a pending pairing completes by itself after this long (ms); 0 = only on the `pair` control.
    #[arg(
        long,
        env = "WAGW_SIM_AUTO_PAIR_MS",
        value_name = "WAGW_SIM_AUTO_PAIR_MS",
        default_value_t = 3000
    )]
    pub sim_auto_pair_ms: u64,

    /// Sim: how long connecting takes (ms).
    #[arg(
        long,
        env = "WAGW_SIM_CONNECT_MS",
        value_name = "WAGW_SIM_CONNECT_MS",
        default_value_t = 300
    )]
    pub sim_connect_ms: u64,

    /// Sim: validity of the first QR code (ms).
    #[arg(long, env = "WAGW_SIM_QR_FIRST_MS", value_name = "WAGW_SIM_QR_FIRST_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub sim_qr_first_ms: u64,

    /// Sim: validity of each later QR code (ms).
    #[arg(long, env = "WAGW_SIM_QR_NEXT_MS", value_name = "WAGW_SIM_QR_NEXT_MS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub sim_qr_next_ms: u64,

    /// Sim: how many QR codes a pairing shows before it ends.
    #[arg(long, env = "WAGW_SIM_QR_COUNT", value_name = "WAGW_SIM_QR_COUNT", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub sim_qr_count: u32,

    /// Sim: validity of a pairing code (ms).
    #[arg(long, env = "WAGW_SIM_PAIRING_CODE_MS", value_name = "WAGW_SIM_PAIRING_CODE_MS", default_value_t = 180_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub sim_pairing_code_ms: u64,

    /// Shortest delay before reconnecting a dropped session (ms).
    #[arg(long, env = "WAGW_RECONNECT_MIN_MS", value_name = "WAGW_RECONNECT_MIN_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub reconnect_min_ms: u64,

    /// Longest delay between reconnect attempts (ms).
    #[arg(long, env = "WAGW_RECONNECT_MAX_MS", value_name = "WAGW_RECONNECT_MAX_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub reconnect_max_ms: u64,

    /// Sessions connected at once when a takeover reconciles a shard (shared by all shards).
    #[arg(long, env = "WAGW_RECONNECT_CONCURRENCY", value_name = "WAGW_RECONNECT_CONCURRENCY", default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub reconnect_concurrency: usize,

    /// Spread (ms) of the start of the reconnects of a takeover: each waits a random 0..=this.
    #[arg(
        long,
        env = "WAGW_RECONNECT_JITTER_MS",
        value_name = "WAGW_RECONNECT_JITTER_MS",
        default_value_t = 250
    )]
    pub reconnect_jitter_ms: u64,

    /// The JetStream stream capturing every event, replayed by the edge.
    #[arg(long, env = "WAGW_EVENTS_STREAM", value_name = "WAGW_EVENTS_STREAM", default_value = wagw_common::events::DEFAULT_EVENTS_STREAM)]
    pub events_stream: String,

    /// How long the event stream keeps events (hours).
    #[arg(long, env = "WAGW_EVENTS_MAX_AGE_HOURS", value_name = "WAGW_EVENTS_MAX_AGE_HOURS", default_value_t = 168, value_parser = clap::value_parser!(u64).range(1..=87_600))]
    pub events_max_age_hours: u64,

    /// Prefix of the per-gateway send stream (`<prefix>_<gatewayId>`); the same on the edge.
    #[arg(long, env = "WAGW_SEND_STREAM_PREFIX", value_name = "WAGW_SEND_STREAM_PREFIX", default_value = wagw_common::messages::DEFAULT_SEND_STREAM_PREFIX, value_parser = parse_stream_prefix)]
    pub send_stream_prefix: String,

    /// How long a send job may go unacknowledged before JetStream hands it out again (s); a
    /// worker working on a job keeps extending it, so this is the delay after a crash.
    #[arg(long, env = "WAGW_SEND_ACK_WAIT_SECS", value_name = "WAGW_SEND_ACK_WAIT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub send_ack_wait_secs: u64,

    /// How long a send waits for a reconnecting (`starting`) session to be `working` again
    /// before it fails (s).
    #[arg(long, env = "WAGW_SEND_WAIT_SECS", value_name = "WAGW_SEND_WAIT_SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub send_wait_secs: u64,

    /// Longest "typing…" shown before a send of a `presenceTyping` session (ms); WhatsApp
    /// clears typing after about 25 s, so it stays well below that.
    #[arg(long, env = "WAGW_TYPING_MAX_MS", value_name = "WAGW_TYPING_MAX_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(0..=20_000))]
    pub typing_max_ms: u64,
    /// Webhook delivery: stream, timeout, retries, per-webhook concurrency.
    #[command(flatten)]
    pub webhooks: crate::webhooks::WebhookSettings,

    /// Where the Prometheus `GET /metrics` endpoint listens (an IP address and port), or `off`.
    #[arg(long, env = "WAGW_METRICS_ADDR", value_name = "WAGW_METRICS_ADDR", default_value = "127.0.0.1:9464", value_parser = MetricsAddr::parse)]
    pub metrics_addr: MetricsAddr,

    /// Root of every NATS subject, so deployments and tests can share one NATS.
    #[arg(long, env = "WAGW_SUBJECT_ROOT", value_name = "WAGW_SUBJECT_ROOT", default_value = "wagw", value_parser = parse_subject_root)]
    pub subject_root: String,

    /// Prefix of every Redis key, so deployments and tests can share one Redis.
    #[arg(long, env = "WAGW_KEY_PREFIX", value_name = "WAGW_KEY_PREFIX", default_value = "wagw", value_parser = parse_key_prefix)]
    pub key_prefix: String,

    /// Log format: `pretty` or `json` [default: pretty on a terminal, else json].
    #[arg(long, env = "WAGW_LOG_FORMAT", value_name = "WAGW_LOG_FORMAT", default_value_t = LogFormat::detect(), hide_default_value = true)]
    pub log_format: LogFormat,
}

impl Config {
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }

    /// The gateway's send stream, e.g. `WAGW_SEND_gw-sg-1`.
    pub fn send_stream(&self) -> String {
        wagw_common::messages::send_stream_name(&self.send_stream_prefix, &self.gateway_id)
    }

    /// The subject builder; the root was validated when parsed.
    pub fn subjects(&self) -> Subjects {
        Subjects::new(&self.subject_root).unwrap_or_default()
    }

    /// The key builder; the prefix was validated when parsed.
    pub fn keys(&self) -> Keys {
        Keys::new(&self.key_prefix).unwrap_or_default()
    }

    /// The NATS servers, split on commas.
    pub fn nats_servers(&self) -> Vec<String> {
        self.nats_url
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// URLs may carry credentials (`redis://:password@host`): keep them out of `Debug` output.
fn parse_secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

fn parse_subject_root(text: &str) -> Result<String, String> {
    Subjects::new(text)
        .map(|_| text.to_owned())
        .map_err(|e| e.to_string())
}

/// JetStream stream names allow no `.`, `*`, `>`, whitespace or path separators; keep to a
/// safe alphabet, since the gateway id is appended after `_`.
fn parse_stream_prefix(text: &str) -> Result<String, String> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if text.is_empty() || text.len() > 64 || !text.bytes().all(ok) {
        return Err("1-64 characters of A-Z, a-z, 0-9, '_' and '-'".to_owned());
    }
    Ok(text.to_owned())
}

fn parse_key_prefix(text: &str) -> Result<String, String> {
    Keys::new(text)
        .map(|_| text.to_owned())
        .map_err(|e| e.to_string())
}

/// `<host name>-<6 random lower-case alphanumerics>`, cut down to what a [`WorkerId`] allows.
pub fn default_worker_id() -> WorkerId {
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    let host = if host.is_empty() {
        "worker".to_owned()
    } else {
        host
    };
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    // Only [A-Za-z0-9_-] remain and the length is at most 107, so the id is valid.
    WorkerId::parse(&format!("{host}-{suffix}"))
        .unwrap_or_else(|_| WorkerId::parse("worker").expect("a constant valid worker id"))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
