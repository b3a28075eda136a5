//! A lean HTTP/1.1 load generator: `concurrency` keep-alive connections, each sending one
//! request after another for a fixed time, round-robin over a list of paths; it records every
//! measured latency and counts answers by status.
//!
//! It speaks HTTP through hyper's connection API with no client pool, so the load generator
//! spends as little of the shared CPU as it can, and the same for every server it measures.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What to send: one method, the paths to cycle through, and the credential.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub method: hyper::Method,
    pub paths: Arc<Vec<String>>,
    /// `Bearer …`, or `None` for servers without auth (the floor).
    pub authorization: Option<HeaderValue>,
}

/// How long to load, and how hard.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub ok: usize,
    /// Answers other than `200`, and transport failures or timeouts.
    pub failed: usize,
    pub elapsed: Duration,
    /// Latencies of the `200` answers, µs, sorted.
    pub latencies_us: Vec<u32>,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `q` quantile of the latencies, in ms (NaN when there are none).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let Some(last) = self.latencies_us.len().checked_sub(1) else {
            return f64::NAN;
        };
        let index = ((last as f64) * q).round() as usize;
        self.latencies_us
            .get(index.min(last))
            .map_or(f64::NAN, |us| f64::from(*us) / 1000.0)
    }
}

/// What one connection task saw.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u32>,
    failed: usize,
}

/// Runs `target` at `shape`: requests that start during the warm-up are not counted.
pub async fn run(target: &Target, shape: Shape) -> Report {
    let next = Arc::new(AtomicUsize::new(0));
    let measure_from = Instant::now() + shape.warmup;
    let until = measure_from + shape.duration;
    let tasks: Vec<_> = (0..shape.concurrency)
        .map(|_| {
            let (target, next) = (target.clone(), next.clone());
            tokio::spawn(async move { connection_loop(&target, &next, measure_from, until).await })
        })
        .collect();
    let mut latencies_us = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let tally = task.await.unwrap_or_default();
        latencies_us.extend(tally.latencies_us);
        failed += tally.failed;
    }
    latencies_us.sort_unstable();
    Report {
        ok: latencies_us.len(),
        failed,
        elapsed: Instant::now().saturating_duration_since(measure_from),
        latencies_us,
    }
}

/// One keep-alive connection sending requests until `until`, reconnecting after a failure.
async fn connection_loop(
    target: &Target,
    next: &AtomicUsize,
    measure_from: Instant,
    until: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let host = HeaderValue::from_str(&target.addr.to_string()).ok();
    let mut sender = None;
    while Instant::now() < until {
        let mut live = match sender.take() {
            Some(live) => live,
            None => match connect(target.addr).await {
                Ok(live) => live,
                Err(_) => {
                    tally.failed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let path = &target.paths[next.fetch_add(1, Ordering::Relaxed) % target.paths.len()];
        let mut request = Request::new(Empty::<Bytes>::new());
        *request.method_mut() = target.method.clone();
        *request.uri_mut() = match path.parse() {
            Ok(uri) => uri,
            Err(_) => {
                tally.failed += 1;
                continue;
            }
        };
        if let Some(host) = &host {
            request.headers_mut().insert(HOST, host.clone());
        }
        if let Some(authorization) = &target.authorization {
            request
                .headers_mut()
                .insert(AUTHORIZATION, authorization.clone());
        }
        let sent = Instant::now();
        let answer = async {
            let response = live.send_request(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            Ok::<_, hyper::Error>(status)
        };
        let status = tokio::time::timeout(REQUEST_TIMEOUT, answer).await;
        let measured = sent >= measure_from;
        match status {
            Ok(Ok(status)) => {
                if measured && status == hyper::StatusCode::OK {
                    let us = sent.elapsed().as_micros();
                    tally
                        .latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                } else if measured {
                    tally.failed += 1;
                }
                sender = Some(live);
            }
            // The connection is in an unknown state: drop it and open another.
            _ if measured => tally.failed += 1,
            _ => {}
        }
    }
    tally
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// Opens one HTTP/1.1 connection; its driver runs until the sender is dropped.
async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream =
        tokio::time::timeout(REQUEST_TIMEOUT, tokio::net::TcpStream::connect(addr)).await??;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}
