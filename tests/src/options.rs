//! What a test may choose about the stack it runs: gateways, workers, timings, auth settings.

use crate::tokens::{AUDIENCE, ISSUER};

/// The stack [`crate::TestApp::spawn`] starts. `TestOptions::default()` is a small, fast fleet:
/// gateways `gw-a` (the default) and `gw-b`, one sim worker each, 8 shards, a JWKS with the
/// served fixture keys, issuer and audience checked, no auto pairing.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// The edge's `--gateways`; the first is the default for new sessions.
    pub gateways: Vec<String>,
    /// Workers started for EACH gateway (0 = an edge with no fleet behind it).
    pub workers: usize,
    /// `--shards` of every worker.
    pub shards: u32,
    /// Serve a JWKS and pass `--jwks-url`; `false` = the edge runs without login JWTs.
    pub jwks: bool,
    /// `--jwt-issuer`; `None` leaves it unset.
    pub issuer: Option<String>,
    /// `--jwt-audience`; `None` leaves it unset.
    pub audience: Option<String>,
    /// `--command-timeout-ms` of the edge.
    pub command_timeout_ms: u64,
    /// `--jwks-cache-ttl-ms`: long, so only unknown kids make the edge fetch again.
    pub jwks_cache_ttl_ms: u64,
    /// `--jwks-refetch-interval-ms`: the least time between two unknown-kid refetches.
    pub jwks_refetch_interval_ms: u64,
    /// `--sim-auto-pair-ms`; 0 = pairing completes only on a sim `pair` control.
    pub sim_auto_pair_ms: u64,
    /// `--sim-connect-ms`: how long the simulated connection takes to come up.
    pub sim_connect_ms: u64,
    /// `--sim-qr-first-ms`: validity of the first QR of a pairing.
    pub sim_qr_first_ms: u64,
    /// `--sim-qr-next-ms`: validity of each later QR.
    pub sim_qr_next_ms: u64,
    /// `--sim-qr-count`: QR codes shown before the pairing gives up (`qr_expired`).
    pub sim_qr_count: u32,
    /// `--sim-pairing-code-ms`: validity of a pairing code.
    pub sim_pairing_code_ms: u64,
    pub lease_ms: u64,
    pub heartbeat_ms: u64,
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
    /// Run Redis with an append-only file so a restart keeps the data (fleet fault tests).
    pub redis_aof: bool,
    /// The edge's `--send-rate-limits`: `true` = `on` (the default), `false` = `off`.
    pub send_rate_limits: bool,
    /// The workers' webhook settings (timeout, retry schedule, per-webhook concurrency).
    pub webhooks: WebhookOptions,
}

/// `--webhook-*` of every worker; short by default so retries happen within a test.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    pub timeout_ms: u64,
    pub retry_min_ms: u64,
    pub retry_max_ms: u64,
    pub retry_window_secs: u64,
    pub concurrency: usize,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            timeout_ms: 2000,
            retry_min_ms: 100,
            retry_max_ms: 1000,
            retry_window_secs: 3600,
            concurrency: 4,
        }
    }
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            gateways: vec!["gw-a".into(), "gw-b".into()],
            workers: 1,
            shards: 8,
            jwks: true,
            issuer: Some(ISSUER.into()),
            audience: Some(AUDIENCE.into()),
            command_timeout_ms: 2000,
            jwks_cache_ttl_ms: 600_000,
            jwks_refetch_interval_ms: 1000,
            sim_auto_pair_ms: 0,
            sim_connect_ms: 50,
            sim_qr_first_ms: 60_000,
            sim_qr_next_ms: 20_000,
            sim_qr_count: 6,
            sim_pairing_code_ms: 60_000,
            lease_ms: 2000,
            heartbeat_ms: 500,
            reconnect_min_ms: 50,
            reconnect_max_ms: 500,
            redis_aof: false,
            send_rate_limits: true,
            webhooks: WebhookOptions::default(),
        }
    }
}

impl TestOptions {
    /// An edge with no workers behind it: enough for auth, validation and health tests.
    pub fn edge_only() -> Self {
        Self {
            workers: 0,
            ..Self::default()
        }
    }

    /// The edge's command line.
    pub(crate) fn edge_args(
        &self,
        nats: &str,
        redis: &str,
        jwks: Option<&str>,
        root: &str,
    ) -> Vec<String> {
        let mut args: Vec<String> = vec!["wagw-api".into()];
        let mut flag = |name: &str, value: String| {
            args.push(format!("--{name}"));
            args.push(value);
        };
        flag("nats-url", nats.into());
        flag("redis-url", redis.into());
        flag("gateways", self.gateways.join(","));
        if let Some(url) = jwks {
            flag("jwks-url", url.into());
        }
        if let Some(issuer) = &self.issuer {
            flag("jwt-issuer", issuer.clone());
        }
        if let Some(audience) = &self.audience {
            flag("jwt-audience", audience.clone());
        }
        flag("command-timeout-ms", self.command_timeout_ms.to_string());
        flag("jwks-cache-ttl-ms", self.jwks_cache_ttl_ms.to_string());
        flag(
            "jwks-refetch-interval-ms",
            self.jwks_refetch_interval_ms.to_string(),
        );
        let limits = if self.send_rate_limits { "on" } else { "off" };
        flag("send-rate-limits", limits.into());
        flag("subject-root", root.into());
        flag("key-prefix", root.into());
        args
    }

    /// A worker's command line.
    pub(crate) fn worker_args(
        &self,
        nats: &str,
        redis: &str,
        gateway: &str,
        worker: &str,
        root: &str,
    ) -> Vec<String> {
        let mut args: Vec<String> = vec!["wagw-worker".into()];
        let mut flag = |name: &str, value: String| {
            args.push(format!("--{name}"));
            args.push(value);
        };
        flag("nats-url", nats.into());
        flag("redis-url", redis.into());
        flag("gateway-id", gateway.into());
        flag("worker-id", worker.into());
        flag("driver", "sim".into());
        flag("shards", self.shards.to_string());
        flag("lease-ms", self.lease_ms.to_string());
        flag("heartbeat-ms", self.heartbeat_ms.to_string());
        flag("sim-auto-pair-ms", self.sim_auto_pair_ms.to_string());
        flag("sim-connect-ms", self.sim_connect_ms.to_string());
        flag("sim-qr-first-ms", self.sim_qr_first_ms.to_string());
        flag("sim-qr-next-ms", self.sim_qr_next_ms.to_string());
        flag("sim-qr-count", self.sim_qr_count.to_string());
        flag("sim-pairing-code-ms", self.sim_pairing_code_ms.to_string());
        flag("reconnect-min-ms", self.reconnect_min_ms.to_string());
        flag("reconnect-max-ms", self.reconnect_max_ms.to_string());
        let hooks = &self.webhooks;
        flag("webhook-timeout-ms", hooks.timeout_ms.to_string());
        flag("webhook-retry-min-ms", hooks.retry_min_ms.to_string());
        flag("webhook-retry-max-ms", hooks.retry_max_ms.to_string());
        flag(
            "webhook-retry-window-secs",
            hooks.retry_window_secs.to_string(),
        );
        flag("webhook-concurrency", hooks.concurrency.to_string());
        // A free port each: many workers run in one test process.
        flag("metrics-addr", "127.0.0.1:0".into());
        flag("subject-root", root.into());
        flag("key-prefix", root.into());
        args
    }
}
