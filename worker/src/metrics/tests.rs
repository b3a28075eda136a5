//! Tests of the worker's series: labels, zero starts, and what a scrape copies in.

use std::collections::HashMap;

use super::*;

fn metrics() -> Metrics {
    let gateway = GatewayId::parse("gw-a").expect("a gateway id");
    let worker = WorkerId::parse("w1").expect("a worker id");
    Metrics::new(&gateway, &worker)
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn every_series_starts_at_zero_labelled_by_gateway_and_worker() {
    let text = metrics().render(&Observed {
        sessions: HashMap::new(),
        shards_held: 0,
        counters: CountersSnapshot::default(),
    });
    for line in [
        r#"wagw_worker_qr_codes_issued_total{gateway="gw-a",worker="w1"} 0"#,
        r#"wagw_worker_sends_total{gateway="gw-a",worker="w1",outcome="failed"} 0"#,
        r#"wagw_worker_webhook_deliveries_total{gateway="gw-a",worker="w1",outcome="dead_lettered"} 0"#,
        r#"wagw_worker_sessions{gateway="gw-a",worker="w1",status="working"} 0"#,
        r#"wagw_worker_shards_held{gateway="gw-a",worker="w1"} 0"#,
        r#"wagw_worker_lease_losses_total{gateway="gw-a",worker="w1"} 0"#,
        "# TYPE wagw_worker_sessions gauge",
        "# TYPE wagw_worker_reconnects_total counter",
    ] {
        assert!(has(&text, line), "no {line} in\n{text}");
    }
}

#[test]
fn a_scrape_copies_in_statuses_shards_and_ownership_counters() {
    let metrics = metrics();
    metrics.sends_sent.increment(2);
    metrics.webhook_attempt(&Verdict::Delivered, Duration::from_millis(30));
    let observed = Observed {
        sessions: HashMap::from([(SessionStatus::Working, 3), (SessionStatus::Failed, 1)]),
        shards_held: 8,
        counters: CountersSnapshot {
            lease_acquired: 9,
            reconnects: 4,
            ..CountersSnapshot::default()
        },
    };
    let text = metrics.render(&observed);
    for line in [
        r#"wagw_worker_sessions{gateway="gw-a",worker="w1",status="working"} 3"#,
        r#"wagw_worker_sessions{gateway="gw-a",worker="w1",status="failed"} 1"#,
        r#"wagw_worker_sessions{gateway="gw-a",worker="w1",status="stopped"} 0"#,
        r#"wagw_worker_shards_held{gateway="gw-a",worker="w1"} 8"#,
        r#"wagw_worker_lease_acquisitions_total{gateway="gw-a",worker="w1"} 9"#,
        r#"wagw_worker_reconnects_total{gateway="gw-a",worker="w1"} 4"#,
        r#"wagw_worker_sends_total{gateway="gw-a",worker="w1",outcome="sent"} 2"#,
        r#"wagw_worker_webhook_attempt_duration_seconds_bucket{gateway="gw-a",worker="w1",verdict="delivered",le="0.05"} 1"#,
        r#"wagw_worker_webhook_attempt_duration_seconds_bucket{gateway="gw-a",worker="w1",verdict="delivered",le="0.025"} 0"#,
    ] {
        assert!(has(&text, line), "no {line} in\n{text}");
    }
}

#[test]
fn metrics_addresses_are_off_or_an_ip_and_port() {
    assert_eq!(MetricsAddr::parse("off"), Ok(MetricsAddr::Off));
    assert_eq!(MetricsAddr::parse("OFF"), Ok(MetricsAddr::Off));
    let v6 = MetricsAddr::parse("[::1]:0").expect("an IPv6 address");
    assert_eq!(
        v6,
        MetricsAddr::Listen("[::1]:0".parse().expect("an address"))
    );
    for bad in ["", "9464", "localhost:9464", "127.0.0.1", "127.0.0.1:x"] {
        assert!(MetricsAddr::parse(bad).is_err(), "{bad:?}");
    }
}
