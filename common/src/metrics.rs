//! Prometheus set-up shared by both binaries: one recorder per process part (never a global
//! one, so tests can run many edges and workers in one process), the latency buckets every
//! `*_seconds` histogram uses, and the exposition's content type.
//!
//! Only compiled with the `metrics` feature, so the wire types stay free of it.

use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

/// `Content-Type` of the Prometheus text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the buckets of every `*_seconds` histogram: 1 ms to 30 s, which
/// spans a Redis read, a NATS round trip, the command timeout and a webhook attempt's timeout.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets between scrapes. The recorder
/// queues each sample until then, so without it an unscraped process would grow without bound.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// A recorder whose `*_seconds` histograms use [`LATENCY_BUCKETS`] and whose every series
/// carries `global_labels`. Nothing is installed globally: callers record through it with
/// `metrics::with_local_recorder` and render through its handle.
pub fn recorder(global_labels: &[(&str, &str)]) -> PrometheusRecorder {
    let builder = global_labels
        .iter()
        .fold(PrometheusBuilder::new(), |builder, (key, value)| {
            builder.add_global_label(*key, *value)
        });
    builder
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &LATENCY_BUCKETS)
        // The only refusal is an empty bucket list, and LATENCY_BUCKETS is a non-empty constant.
        .expect("LATENCY_BUCKETS is not empty")
        .build_recorder()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_histograms_get_the_latency_buckets_and_the_global_labels() {
        let recorder = recorder(&[("gateway", "gw-a")]);
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!("x_duration_seconds").record(0.003);
        });
        handle.run_upkeep();
        let text = handle.render();
        assert!(
            text.contains(r#"x_duration_seconds_bucket{gateway="gw-a",le="0.005"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"x_duration_seconds_bucket{gateway="gw-a",le="0.0025"} 0"#),
            "{text}"
        );
    }
}
