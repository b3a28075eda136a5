//! The admission script's `Idempotency-Key` side, the refund, and the record's compare-and-swap,
//! against a real `redis-server` (the helpers of `rate_limit_tests.rs`).

use super::tests::{Redis, assert_limited, check, limits, shard};
use super::*;

use crate::store::idempotency::swap;

const RECORD: &str = r#"{"messageId":"01J9ZXB3C5D7E9F1G3H5J7K9M1","state":"pending"}"#;

fn idem_key(id: &SessionId, name: &str) -> String {
    Keys::default().idempotency(&shard(), id, name)
}

async fn admit_with_key(
    limiter: &RateLimiter,
    id: &SessionId,
    key: &str,
    record: &str,
    send_limits: Option<SendLimits>,
) -> Admission {
    let claim = Claim { key, record };
    let admitted = limiter.admit(&shard(), id, send_limits, Some(claim)).await;
    admitted.expect("admit")
}

async fn query<T: redis::FromRedisValue>(redis: &Redis, cmd: &str, key: &str) -> T {
    let mut conn = crate::state::connect_redis(&redis.url)
        .await
        .expect("connects");
    redis::cmd(cmd)
        .arg(key)
        .query_async(&mut conn)
        .await
        .expect(cmd)
}

#[tokio::test]
async fn an_admitted_key_stores_its_record_for_a_day_and_a_retry_gets_it_back_for_free() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    let key = idem_key(&id, "k1");
    let first = admit_with_key(&limiter, &id, &key, RECORD, limits(2, 100)).await;
    assert_eq!(first, Admission::Allowed);
    assert_eq!(query::<String>(&redis, "GET", &key).await, RECORD);
    let ttl: i64 = query(&redis, "TTL", &key).await;
    assert!((86_390..=86_400).contains(&ttl), "ttl {ttl}");
    let rate_key = Keys::default().send_rate(&shard(), &id);
    let before: Vec<String> = query(&redis, "HGETALL", &rate_key).await;
    let again = admit_with_key(&limiter, &id, &key, "other", limits(2, 100)).await;
    assert_eq!(again, Admission::Remembered(RECORD.into()));
    let after: Vec<String> = query(&redis, "HGETALL", &rate_key).await;
    assert_eq!(before, after, "a remembered key consumes no rate");
    assert_eq!(check(&limiter, &id, 2, 100).await, Admission::Allowed);
}

#[tokio::test]
async fn a_limited_send_stores_no_record() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    assert_eq!(check(&limiter, &id, 1, 100).await, Admission::Allowed);
    let key = idem_key(&id, "k2");
    let refused = admit_with_key(&limiter, &id, &key, RECORD, limits(1, 100)).await;
    assert_limited(refused, Window::Minute, 60_000);
    assert_eq!(query::<i64>(&redis, "EXISTS", &key).await, 0);
}

#[tokio::test]
async fn without_limits_a_key_is_stored_and_no_rate_hash_is_written() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    let key = idem_key(&id, "k3");
    let admitted = admit_with_key(&limiter, &id, &key, RECORD, None).await;
    assert_eq!(admitted, Admission::Allowed);
    assert_eq!(query::<i64>(&redis, "EXISTS", &key).await, 1);
    let rate_key = Keys::default().send_rate(&shard(), &id);
    assert_eq!(query::<i64>(&redis, "EXISTS", &rate_key).await, 0);
}

#[tokio::test]
async fn a_refund_gives_back_one_cell_and_never_more_than_was_taken() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let id = SessionId::generate();
    assert_eq!(check(&limiter, &id, 2, 100).await, Admission::Allowed);
    assert_eq!(check(&limiter, &id, 2, 100).await, Admission::Allowed);
    limiter.refund(&shard(), &id).await.expect("refund");
    assert_eq!(check(&limiter, &id, 2, 100).await, Admission::Allowed);
    assert_limited(check(&limiter, &id, 2, 100).await, Window::Minute, 30_000);
    // Refunding more than was taken leaves an empty bucket, not extra credit.
    let idle = SessionId::generate();
    assert_eq!(check(&limiter, &idle, 2, 100).await, Admission::Allowed);
    for _ in 0..3 {
        limiter.refund(&shard(), &idle).await.expect("refund");
    }
    assert_eq!(check(&limiter, &idle, 2, 100).await, Admission::Allowed);
    assert_eq!(check(&limiter, &idle, 2, 100).await, Admission::Allowed);
    assert_limited(check(&limiter, &idle, 2, 100).await, Window::Minute, 30_000);
    limiter
        .refund(&shard(), &SessionId::generate())
        .await
        .expect("refunding a session with no hash is a no-op");
}

#[tokio::test]
async fn a_record_is_swapped_only_while_it_holds_the_expected_value_and_keeps_its_ttl() {
    let redis = Redis::start();
    let limiter = redis.limiter().await;
    let conn = crate::state::connect_redis(&redis.url)
        .await
        .expect("connects");
    let id = SessionId::generate();
    let key = idem_key(&id, "k4");
    admit_with_key(&limiter, &id, &key, RECORD, None).await;
    let stale = swap(conn.clone(), &key, "not it", "x").await;
    assert!(!stale.expect("swap"));
    assert!(
        swap(conn.clone(), &key, RECORD, "accepted")
            .await
            .expect("swap")
    );
    assert_eq!(query::<String>(&redis, "GET", &key).await, "accepted");
    assert!(query::<i64>(&redis, "TTL", &key).await > 86_000, "KEEPTTL");
    // The old value no longer matches: a second swap from it changes nothing.
    assert!(!swap(conn.clone(), &key, RECORD, "x").await.expect("swap"));
    assert_eq!(query::<String>(&redis, "GET", &key).await, "accepted");
}
