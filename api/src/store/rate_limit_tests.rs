//! The limiter's GCRA against a real `redis-server` per test, on a free port, killed on drop.
//! Admissions here carry no `Idempotency-Key`; `rate_limit_claim_tests.rs` covers that side.

use super::*;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use wagw_common::GatewayId;

/// Timing slack on `retry_after_ms`: the checks themselves take a few ms of Redis clock.
const SLACK_MS: u64 = 200;

/// A private Redis for one test.
pub(super) struct Redis {
    child: Child,
    pub(super) url: String,
}

impl Redis {
    pub(super) fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                child.try_wait().expect("pollable").is_none(),
                "redis exited"
            );
            assert!(Instant::now() < deadline, "redis never opened {port}");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }

    /// A limiter on its own connection, as one edge would have.
    pub(super) async fn limiter(&self) -> RateLimiter {
        let conn = crate::state::connect_redis(&self.url)
            .await
            .expect("connects");
        RateLimiter::new(conn, Keys::default())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn shard() -> ShardRef {
    ShardRef::new(GatewayId::parse("gw-test-1").expect("valid"), 0)
}

pub(super) fn limits(per_min: u32, per_hour: u32) -> Option<SendLimits> {
    Some(SendLimits { per_min, per_hour })
}

pub(super) async fn check(limiter: &RateLimiter, id: &SessionId, min: u32, hour: u32) -> Admission {
    let admitted = limiter.admit(&shard(), id, limits(min, hour), None).await;
    admitted.expect("check")
}

/// Runs `n` checks in a row and counts the admitted ones.
async fn admitted(limiter: &RateLimiter, id: &SessionId, n: usize, min: u32, hour: u32) -> usize {
    let mut count = 0;
    for _ in 0..n {
        if check(limiter, id, min, hour).await == Admission::Allowed {
            count += 1;
        }
    }
    count
}

/// Asserts a refusal by `window` with `retry_after_ms` within [`SLACK_MS`] of `expected_ms`,
/// and returns the retry.
pub(super) fn assert_limited(admission: Admission, window: Window, expected_ms: u64) -> u64 {
    let Admission::Limited {
        retry_after_ms,
        window: got,
    } = admission
    else {
        panic!("expected a refusal by {window:?}, got {admission:?}");
    };
    assert_eq!(got, window);
    assert!(
        retry_after_ms.abs_diff(expected_ms) <= SLACK_MS,
        "retry_after_ms {retry_after_ms}, expected about {expected_ms}"
    );
    retry_after_ms
}

async fn rate_hash(redis: &Redis, id: &SessionId) -> Vec<(String, String)> {
    let mut conn = crate::state::connect_redis(&redis.url)
        .await
        .expect("connects");
    redis::cmd("HGETALL")
        .arg(Keys::default().send_rate(&shard(), id))
        .query_async(&mut conn)
        .await
        .expect("HGETALL")
}

#[tokio::test]
async fn a_burst_of_per_min_is_admitted_and_the_next_waits_one_interval() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    assert_eq!(admitted(&limiter, &id, 3, 3, 1000).await, 3);
    let before = rate_hash(&redis, &id).await;
    let refused = check(&limiter, &id, 3, 1000).await;
    assert_limited(refused, Window::Minute, 20_000);
    assert_eq!(
        rate_hash(&redis, &id).await,
        before,
        "a refusal writes nothing"
    );
    let other = SessionId::generate();
    assert_eq!(
        admitted(&limiter, &other, 1, 3, 1000).await,
        1,
        "per session"
    );
}

#[tokio::test]
async fn refused_checks_consume_nothing_so_waiting_retry_after_admits_exactly_one() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    // 60/min: T = 1 s, so the test sleeps about one second.
    assert_eq!(admitted(&limiter, &id, 60, 60, 10_000).await, 60);
    let refused = check(&limiter, &id, 60, 10_000).await;
    let retry = assert_limited(refused, Window::Minute, 1_000);
    assert_eq!(admitted(&limiter, &id, 5, 60, 10_000).await, 0);
    tokio::time::sleep(Duration::from_millis(retry)).await;
    assert_eq!(admitted(&limiter, &id, 1, 60, 10_000).await, 1);
    let refused = check(&limiter, &id, 60, 10_000).await;
    assert_limited(refused, Window::Minute, 1_000);
}

#[tokio::test]
async fn the_hour_limit_binds_when_it_is_the_tighter_one() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    assert_eq!(admitted(&limiter, &id, 2, 60, 2).await, 2);
    let refused = check(&limiter, &id, 60, 2).await;
    assert_limited(refused, Window::Hour, 1_800_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checks_from_two_edges_never_admit_more_than_the_limit() {
    let redis = Redis::start();
    let edges = [redis.limiter().await, redis.limiter().await];
    let id = SessionId::generate();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (limiter, id) = (edges[i % 2].clone(), id);
            tokio::spawn(async move { limiter.admit(&shard(), &id, limits(10, 1000), None).await })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        if task.await.expect("joins").expect("check") == Admission::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
}

#[tokio::test]
async fn lowering_the_limit_applies_at_once_without_carrying_debt() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    // 3 sent under 6/min: a 4th would pass, but under 3/min the bucket is full.
    let id = SessionId::generate();
    assert_eq!(admitted(&limiter, &id, 3, 6, 1000).await, 3);
    let refused = check(&limiter, &id, 3, 1000).await;
    assert_limited(refused, Window::Minute, 20_000);
    // 30 sent under 60/min are 10 minutes at 3/min; the wait is one new interval, no more.
    let busy = SessionId::generate();
    assert_eq!(admitted(&limiter, &busy, 30, 60, 1000).await, 30);
    let refused = check(&limiter, &busy, 3, 1000).await;
    assert_limited(refused, Window::Minute, 20_000);
}

#[tokio::test]
async fn raising_the_limit_applies_at_once() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    assert_eq!(admitted(&limiter, &id, 4, 3, 1000).await, 3);
    // The 3 sends made under 3/min leave 3 of 6/min free now.
    assert_eq!(admitted(&limiter, &id, 3, 6, 1000).await, 3);
    let refused = check(&limiter, &id, 6, 1000).await;
    assert_limited(refused, Window::Minute, 10_000);
}

#[tokio::test]
async fn the_rate_hash_expires_a_margin_after_its_later_tat() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    // 20/min and 600/h: one send puts the minute TAT 3 s and the hour TAT 6 s ahead.
    assert_eq!(admitted(&limiter, &id, 1, 20, 600).await, 1);
    let mut conn = crate::state::connect_redis(&redis.url)
        .await
        .expect("connects");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(Keys::default().send_rate(&shard(), &id))
        .query_async(&mut conn)
        .await
        .expect("PTTL");
    let expected = 6_000 + i64::try_from(TTL_MARGIN_MS).expect("small");
    assert!(
        (expected - 500..=expected).contains(&ttl),
        "ttl {ttl}, expected {expected}"
    );
    let fields: Vec<String> = rate_hash(&redis, &id)
        .await
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(fields.len(), 4, "{fields:?}");
}

#[tokio::test]
async fn a_check_that_outlasts_its_timeout_is_an_outage() {
    let redis = Redis::start();
    let limiter = redis
        .limiter()
        .await
        .with_timeout(Duration::from_millis(100));
    let mut conn = crate::state::connect_redis(&redis.url)
        .await
        .expect("connects");
    let () = redis::cmd("CLIENT")
        .arg(&["PAUSE", "1000", "ALL"])
        .query_async(&mut conn)
        .await
        .expect("CLIENT PAUSE");
    let started = Instant::now();
    let err = limiter
        .admit(&shard(), &SessionId::generate(), limits(3, 1000), None)
        .await
        .expect_err("paused");
    assert!(started.elapsed() < Duration::from_millis(900), "{err}");
    assert!(err.is_timeout(), "{err}");
    let response = axum::response::IntoResponse::into_response(crate::error::ApiError::from(err));
    assert_eq!(
        response.status(),
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    );
}

#[test]
fn malformed_script_replies_are_errors() {
    let array = |items: Vec<Value>| Value::Array(items);
    assert_eq!(
        parse_reply(array(vec![Value::Int(1)])).ok(),
        Some(Admission::Allowed)
    );
    let remembered = array(vec![Value::Int(2), Value::BulkString(b"{}".to_vec())]);
    assert_eq!(
        parse_reply(remembered).ok(),
        Some(Admission::Remembered("{}".into()))
    );
    let bad_window = array(vec![Value::Int(0), Value::Int(5), Value::Int(3)]);
    assert!(parse_reply(bad_window).is_err());
    assert!(parse_reply(array(vec![Value::Int(2), Value::Int(0)])).is_err());
    assert!(parse_reply(Value::Int(1)).is_err());
}
