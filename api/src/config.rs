//! The edge's configuration: parsed once from flags and `WAGW_*` variables, then passed down.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use wagw_common::keys::Keys;
use wagw_common::subjects::Subjects;
pub use wagw_common::telemetry::LogFormat;
use wagw_common::{GatewayId, IdError};

/// Everything the edge needs to run. Tests build it with `Config::try_parse_from`.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "wagw-api",
    version,
    about = "The HTTP edge of the WhatsApp gateway"
)]
pub struct Config {
    /// NATS server(s), comma separated; commands travel to workers over it.
    #[arg(
        long,
        global = true,
        env = "WAGW_NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        value_parser = parse_secret
    )]
    pub nats_url: SecretString,

    /// Redis, where workers write session rows and the edge keeps API keys.
    #[arg(
        long,
        global = true,
        env = "WAGW_REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        value_parser = parse_secret
    )]
    pub redis_url: SecretString,

    /// Listen address of the HTTP server (the binary binds it; `run` takes a listener).
    #[arg(
        long,
        global = true,
        env = "WAGW_HTTP_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub http_addr: SocketAddr,

    /// Gateway ids this edge serves, comma separated; the first is the default for new sessions.
    #[arg(
        long,
        global = true,
        env = "WAGW_GATEWAYS",
        default_value = "gw-local-1",
        value_delimiter = ','
    )]
    pub gateways: Vec<GatewayId>,

    /// JWKS of the frontend's login JWTs; unset means every JWT is refused (API keys still work).
    #[arg(long, global = true, env = "WAGW_JWKS_URL")]
    pub jwks_url: Option<String>,

    /// Required `iss` of login JWTs, when set.
    #[arg(long, global = true, env = "WAGW_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` of login JWTs, when set.
    #[arg(long, global = true, env = "WAGW_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// The JetStream stream of events (created by the workers), replayed per session.
    #[arg(long, global = true, env = "WAGW_EVENTS_STREAM",
          default_value = wagw_common::events::DEFAULT_EVENTS_STREAM)]
    pub events_stream: String,

    /// Prefix of the per-gateway send streams (`<prefix>_<gatewayId>`); the workers use the same.
    #[arg(long, global = true, env = "WAGW_SEND_STREAM_PREFIX",
          default_value = wagw_common::messages::DEFAULT_SEND_STREAM_PREFIX,
          value_parser = parse_stream_prefix)]
    pub send_stream_prefix: String,

    /// `on`: every send is checked against the session's `ratePerMin` / `ratePerHour`; `off`
    /// skips the check (benchmarks, deployments that limit upstream).
    #[arg(
        long,
        global = true,
        env = "WAGW_SEND_RATE_LIMITS",
        default_value = "on"
    )]
    pub send_rate_limits: Switch,
    /// The JetStream work-queue stream of webhook delivery jobs (redelivery publishes there).
    #[arg(long, global = true, env = "WAGW_WEBHOOKS_STREAM",
          default_value = wagw_common::webhooks::DEFAULT_WEBHOOKS_STREAM)]
    pub webhooks_stream: String,

    /// How long the edge waits for a worker's ack, retrying "no responders" inside it.
    #[arg(long, global = true, env = "WAGW_COMMAND_TIMEOUT_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(50..=600_000))]
    pub command_timeout_ms: u64,

    /// How long a fetched JWKS is trusted before it is fetched again.
    #[arg(long, global = true, env = "WAGW_JWKS_CACHE_TTL_MS", default_value_t = 300_000,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub jwks_cache_ttl_ms: u64,

    /// At most one refetch of the JWKS for an unknown `kid` per this interval.
    #[arg(long, global = true, env = "WAGW_JWKS_REFETCH_INTERVAL_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    pub jwks_refetch_interval_ms: u64,

    /// Root token of every NATS subject, so deployments and tests can share one NATS.
    #[arg(long, global = true, env = "WAGW_SUBJECT_ROOT", default_value = "wagw", value_parser = parse_subject_root)]
    pub subject_root: String,

    /// Prefix of every Redis key, so deployments and tests can share one Redis.
    #[arg(long, global = true, env = "WAGW_KEY_PREFIX", default_value = "wagw", value_parser = parse_key_prefix)]
    pub key_prefix: String,

    /// Log format: `pretty` (default on a terminal) or `json` (default otherwise).
    #[arg(long, global = true, env = "WAGW_LOG_FORMAT", default_value_t = LogFormat::detect(),
          hide_default_value = true)]
    pub log_format: LogFormat,
}

impl Config {
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }

    pub fn jwks_cache_ttl(&self) -> Duration {
        Duration::from_millis(self.jwks_cache_ttl_ms)
    }

    pub fn jwks_refetch_interval(&self) -> Duration {
        Duration::from_millis(self.jwks_refetch_interval_ms)
    }

    /// The Redis key builder.
    ///
    /// # Errors
    /// Only when the prefix is invalid, which parsing already refused.
    pub fn keys(&self) -> Result<Keys, IdError> {
        Keys::new(&self.key_prefix)
    }

    /// The subject builder.
    ///
    /// # Errors
    /// Only when the root is invalid, which parsing already refused.
    pub fn subjects(&self) -> Result<Subjects, IdError> {
        Subjects::new(&self.subject_root)
    }

    /// The gateway new sessions go to when the request names none.
    pub fn default_gateway(&self) -> Option<&GatewayId> {
        self.gateways.first()
    }
}

/// An on/off setting.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn is_on(self) -> bool {
        self == Self::On
    }
}

/// URLs may carry credentials (`redis://:password@host`): keep them out of `Debug` output.
fn parse_secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text))
}

fn parse_subject_root(text: &str) -> Result<String, String> {
    Subjects::new(text)
        .map(|_| text.to_owned())
        .map_err(|err| err.to_string())
}

/// A JetStream stream name must not hold `.`, `*`, `>`, whitespace or path separators; the
/// gateway id appended to it is already safe.
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
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_match_the_fleet_table() {
        let config = Config::try_parse_from(["wagw-api"]).expect("defaults parse");
        assert_eq!(
            config.gateways,
            vec![GatewayId::parse("gw-local-1").expect("valid")]
        );
        assert_eq!(config.command_timeout_ms, 5000);
        assert_eq!(config.jwks_url, None);
        assert_eq!(config.subject_root, "wagw");
        assert_eq!(config.send_stream_prefix, "WAGW_SEND");
        assert!(config.send_rate_limits.is_on());
    }

    #[test]
    fn send_settings_are_validated() {
        let off = Config::try_parse_from(["wagw-api", "--send-rate-limits", "off"]).expect("off");
        assert!(!off.send_rate_limits.is_on());
        assert!(Config::try_parse_from(["wagw-api", "--send-rate-limits", "maybe"]).is_err());
        assert!(Config::try_parse_from(["wagw-api", "--send-stream-prefix", "A.B"]).is_err());
        assert!(Config::try_parse_from(["wagw-api", "--send-stream-prefix", "SENDS_1"]).is_ok());
    }

    #[test]
    fn gateways_are_comma_separated_and_validated() {
        let config =
            Config::try_parse_from(["wagw-api", "--gateways", "gw-a,gw-b"]).expect("parses");
        assert_eq!(config.gateways.len(), 2);
        assert_eq!(
            config.default_gateway().map(GatewayId::as_str),
            Some("gw-a")
        );
        assert!(Config::try_parse_from(["wagw-api", "--gateways", "GW.A"]).is_err());
        assert!(Config::try_parse_from(["wagw-api", "--key-prefix", "a{b}"]).is_err());
        assert!(Config::try_parse_from(["wagw-api", "--subject-root", "a..b"]).is_err());
    }
}
