//! The load loop shared by the three runs: `concurrency` tasks each sending one request after
//! another, round-robin over the sessions, for a fixed time; latencies and outcomes counted.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `202` (or a stream acknowledgement for the raw run).
    Accepted,
    /// `429`.
    Limited,
    /// Anything else.
    Failed,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub name: &'static str,
    pub accepted: usize,
    pub limited: usize,
    pub failed: usize,
    pub elapsed: Duration,
    /// Latencies of accepted requests, ms.
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl RunReport {
    pub fn per_second(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs `request(session_index)` from `concurrency` tasks for `duration` (after `warmup`,
/// whose requests are not counted).
pub async fn run<F, Fut>(
    name: &'static str,
    sessions: usize,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    request: F,
) -> RunReport
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let measure_from = started + warmup;
    let until = measure_from + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (request, next) = (request.clone(), next.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let (mut limited, mut failed) = (0, 0);
                while Instant::now() < until {
                    let session = next.fetch_add(1, Ordering::Relaxed) % sessions.max(1);
                    let sent = Instant::now();
                    let outcome = request(session).await;
                    if sent < measure_from {
                        continue;
                    }
                    match outcome {
                        Outcome::Accepted => samples.push(sent.elapsed().as_secs_f64() * 1e3),
                        Outcome::Limited => limited += 1,
                        Outcome::Failed => failed += 1,
                    }
                }
                (samples, limited, failed)
            })
        })
        .collect();
    let mut samples = Vec::new();
    let (mut limited, mut failed) = (0, 0);
    for task in tasks {
        let (mut mine, l, f) = task.await.unwrap_or_default();
        samples.append(&mut mine);
        limited += l;
        failed += f;
    }
    let elapsed = Instant::now().saturating_duration_since(measure_from);
    let (p50_ms, p99_ms) = p50_p99(&mut samples);
    RunReport {
        name,
        accepted: samples.len(),
        limited,
        failed,
        elapsed,
        p50_ms,
        p99_ms,
    }
}

/// Median and 99th percentile, in the samples' unit.
fn p50_p99(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(index).copied().unwrap_or(f64::NAN)
    };
    (at(0.5), at(0.99))
}
