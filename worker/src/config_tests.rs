//! Tests of the worker's configuration: defaults, ranges and the refusals of bad values.

use super::*;

fn parse(args: &[&str]) -> Result<Config, String> {
    let argv = std::iter::once("wagw-worker").chain(args.iter().copied());
    Config::try_parse_from(argv).map_err(|e| e.to_string())
}

#[test]
fn defaults_match_the_fleet_spec() {
    let config = parse(&[]).expect("defaults parse");
    assert_eq!(config.nats_url.expose_secret(), "nats://127.0.0.1:4222");
    assert_eq!(config.gateway_id.as_str(), "gw-local-1");
    assert_eq!(config.driver, DriverKind::Whatsapp);
    assert_eq!(
        (config.shards, config.lease_ms, config.heartbeat_ms),
        (64, 10_000, 2000)
    );
    assert_eq!((config.sim_auto_pair_ms, config.sim_qr_count), (3000, 6));
    assert_eq!(
        (config.reconnect_concurrency, config.reconnect_jitter_ms),
        (64, 250)
    );
    assert_eq!(
        (config.subject_root.as_str(), config.key_prefix.as_str()),
        ("wagw", "wagw")
    );
    assert_eq!(config.send_stream(), "WAGW_SEND_gw-local-1");
    assert_eq!(
        (
            config.send_ack_wait_secs,
            config.send_wait_secs,
            config.typing_max_ms
        ),
        (30, 120, 5000)
    );
    let hooks = &config.webhooks;
    assert_eq!(hooks.webhooks_stream, "WAGW_WEBHOOKS");
    assert_eq!(
        (hooks.webhook_timeout_ms, hooks.webhook_concurrency),
        (10_000, 4)
    );
    assert_eq!(
        (hooks.webhook_retry_min_ms, hooks.webhook_retry_max_ms),
        (1000, 600_000)
    );
    assert_eq!(hooks.webhook_retry_window_secs, 86_400);
    let metrics = "127.0.0.1:9464".parse().expect("an address");
    assert_eq!(config.metrics_addr, MetricsAddr::Listen(metrics));
}

#[test]
fn bad_values_name_the_variable() {
    for (args, variable) in [
        (&["--shards", "0"][..], "WAGW_SHARDS"),
        (&["--shards", "4097"][..], "WAGW_SHARDS"),
        (&["--lease-ms", "999"][..], "WAGW_LEASE_MS"),
        (&["--gateway-id", "GW.1"][..], "WAGW_GATEWAY_ID"),
        (&["--driver", "carrier-pigeon"][..], "WAGW_DRIVER"),
        (&["--subject-root", "a.>"][..], "WAGW_SUBJECT_ROOT"),
        (&["--key-prefix", "{x}"][..], "WAGW_KEY_PREFIX"),
        (&["--worker-id", "a b"][..], "WAGW_WORKER_ID"),
        (&["--log-format", "xml"][..], "WAGW_LOG_FORMAT"),
        (
            &["--send-stream-prefix", "A.B"][..],
            "WAGW_SEND_STREAM_PREFIX",
        ),
        (
            &["--send-ack-wait-secs", "0"][..],
            "WAGW_SEND_ACK_WAIT_SECS",
        ),
        (&["--typing-max-ms", "25000"][..], "WAGW_TYPING_MAX_MS"),
        (
            &["--reconnect-concurrency", "0"][..],
            "WAGW_RECONNECT_CONCURRENCY",
        ),
        (
            &["--reconnect-jitter-ms", "soon"][..],
            "WAGW_RECONNECT_JITTER_MS",
        ),
        (
            &["--webhook-timeout-ms", "10"][..],
            "WAGW_WEBHOOK_TIMEOUT_MS",
        ),
        (
            &["--webhook-concurrency", "0"][..],
            "WAGW_WEBHOOK_CONCURRENCY",
        ),
        (
            &["--webhook-retry-window-secs", "0"][..],
            "WAGW_WEBHOOK_RETRY_WINDOW_SECS",
        ),
        (&["--metrics-addr", "localhost"][..], "WAGW_METRICS_ADDR"),
        (
            &["--metrics-addr", "127.0.0.1:99999"][..],
            "WAGW_METRICS_ADDR",
        ),
    ] {
        let err = parse(args).expect_err("bad value refused");
        assert!(err.contains(variable), "{args:?}: {err}");
    }
}

#[test]
fn the_metrics_endpoint_can_be_turned_off_or_moved() {
    let off = parse(&["--metrics-addr", "off"]).expect("off parses");
    assert_eq!(off.metrics_addr, MetricsAddr::Off);
    let any = parse(&["--metrics-addr", "0.0.0.0:9465"]).expect("an address parses");
    assert_eq!(
        any.metrics_addr,
        MetricsAddr::Listen("0.0.0.0:9465".parse().expect("an address"))
    );
    let err = parse(&["--metrics-addr", "nine"]).expect_err("refused");
    assert_eq!(
        err.lines().next(),
        Some(
            "error: invalid value 'nine' for '--metrics-addr <WAGW_METRICS_ADDR>': expected an IP \
             address and port (e.g. 127.0.0.1:9464) or `off`"
        ),
        "{err}"
    );
}

#[test]
fn default_worker_ids_are_valid_and_distinct() {
    let (a, b) = (default_worker_id(), default_worker_id());
    assert_ne!(a, b);
    assert!(a.as_str().len() > 7);
}

#[test]
fn nats_urls_split_on_commas() {
    let config = parse(&["--nats-url", "nats://a:1, nats://b:2"]).expect("parses");
    assert_eq!(config.nats_servers(), ["nats://a:1", "nats://b:2"]);
}
