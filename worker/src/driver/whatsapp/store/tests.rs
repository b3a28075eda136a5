//! Tests of [`super::RedisBackend`] on a private Redis: sealing at rest, fencing, purge, the cap
//! of the sent-message store.

use super::buffers::SENT_CAP;
use super::test_redis::{TOKEN, TestRedis};
use super::{WaStoreError, keys::kind};
use std::error::Error as _;
use wagw_common::SessionId;
use whatsapp_rust::store::{
    AppSyncStore, DeviceStore, MsgSecretStore, ProtocolStore, SignalStore, TcTokenEntry,
};
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::StoreError;

/// The `WaStoreError` inside a library `StoreError`.
fn ours(error: &StoreError) -> &WaStoreError {
    error
        .source()
        .and_then(|source| source.downcast_ref::<WaStoreError>())
        .unwrap_or_else(|| panic!("not a WaStoreError: {error:?}"))
}

/// Writes something of many kinds.
async fn populate(b: &super::RedisBackend) {
    b.save(&Device::new()).await.expect("save");
    b.create().await.expect("create");
    b.put_identity("1@lid", [1; 32]).await.expect("identity");
    b.put_session("1@lid", b"plain-session-bytes")
        .await
        .expect("session");
    b.store_prekey(1, b"prekey", false).await.expect("prekey");
    b.store_signed_prekey(1, b"signed").await.expect("signed");
    b.put_sender_key("g::1@lid", b"sk")
        .await
        .expect("sender key");
    b.set_sync_key(b"k", Default::default())
        .await
        .expect("sync key");
    b.set_version("regular", Default::default())
        .await
        .expect("version");
    let mac = whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC {
        index_mac: vec![1; 32],
        value_mac: vec![2],
    };
    b.put_mutation_macs("regular", 1, &[mac])
        .await
        .expect("macs");
    b.set_sender_key_status("g@g.us", &[("1:1@lid", true)])
        .await
        .expect("skd");
    b.store_received_tc_token("a@lid", b"t", 1)
        .await
        .expect("tc");
    b.store_sent_message("c", "m", b"p").await.expect("sent");
    b.store_pending_inbound("c", "s", "i", b"m")
        .await
        .expect("inbound");
    b.put_msg_secret("c", "s", "m", &[3; 32])
        .await
        .expect("secret");
    b.save_base_key("1@lid", "m", b"bk")
        .await
        .expect("base key");
    b.put_group_metadata("g@g.us", b"meta")
        .await
        .expect("group");
}

#[tokio::test]
async fn values_are_sealed_and_a_wrong_key_fails_clearly() {
    let redis = TestRedis::start().await;
    let session = SessionId::generate();
    let backend = redis.backend(&session, TOKEN, [1; 32]);
    backend
        .put_session("1@lid", b"plain-session-bytes")
        .await
        .expect("put");
    backend
        .put_tc_token(
            "a@lid",
            &TcTokenEntry {
                token: b"tok".to_vec(),
                token_timestamp: 12345,
                sender_timestamp: None,
            },
        )
        .await
        .expect("put");

    let raw: Vec<u8> = redis::cmd("HGET")
        .arg(backend.scope().keys.hash(kind::SESSION))
        .arg("1@lid")
        .query_async(&mut redis.conn.clone())
        .await
        .expect("HGET");
    assert!(raw.len() >= 12 + 16 + 19, "nonce + ciphertext + tag");
    assert!(
        !raw.windows(5).any(|w| w == b"plain"),
        "no plaintext at rest"
    );
    let raw_tc: Vec<u8> = redis::cmd("HGET")
        .arg(backend.scope().keys.hash(kind::TC_TOKEN))
        .arg("a@lid")
        .query_async(&mut redis.conn.clone())
        .await
        .expect("HGET");
    assert!(!raw_tc.windows(5).any(|w| w == b"12345"), "no JSON at rest");

    let wrong = redis.backend(&session, TOKEN, [2; 32]);
    let error = wrong.get_session("1@lid").await.expect_err("wrong key");
    assert!(matches!(ours(&error), WaStoreError::Crypto(_)), "{error:?}");
    assert!(
        ours(&error).to_string().contains("WAGW_STATE_KEY"),
        "{}",
        ours(&error)
    );

    // A value moved to another field does not open either.
    let _: () = redis::cmd("HSET")
        .arg(backend.scope().keys.hash(kind::SESSION))
        .arg("2@lid")
        .arg(raw)
        .query_async(&mut redis.conn.clone())
        .await
        .expect("HSET");
    assert!(backend.get_session("2@lid").await.is_err());
}

#[tokio::test]
async fn a_stale_token_is_refused_and_writes_nothing() {
    let redis = TestRedis::start().await;
    let session = SessionId::generate();
    let stale = redis.backend(&session, "worker-old 1", [1; 32]);
    let error = stale
        .put_identity("1@lid", [1; 32])
        .await
        .expect_err("fenced");
    assert!(matches!(ours(&error), WaStoreError::Fenced(_)), "{error:?}");
    let error = stale.create().await.expect_err("fenced");
    assert!(matches!(ours(&error), WaStoreError::Fenced(_)), "{error:?}");
    stale
        .clear_all_sender_key_devices()
        .await
        .expect_err("fenced");
    assert!(
        redis.state_keys().await.is_empty(),
        "{:?}",
        redis.state_keys().await
    );

    // Once the lease is lost, the former owner's writes and purge are refused too.
    let owner = redis.backend(&session, TOKEN, [1; 32]);
    owner
        .put_identity("1@lid", [1; 32])
        .await
        .expect("owner writes");
    redis.set_lease("worker-b 2").await;
    owner
        .put_identity("2@lid", [1; 32])
        .await
        .expect_err("fenced");
    assert!(matches!(owner.purge().await, Err(WaStoreError::Fenced(_))));
    assert_eq!(
        owner.load_identity("1@lid").await.expect("read"),
        Some([1; 32])
    );
    assert_eq!(owner.load_identity("2@lid").await.expect("read"), None);
}

#[tokio::test]
async fn purge_removes_every_key_of_the_session_and_only_those() {
    let redis = TestRedis::start().await;
    let (gone, kept) = (SessionId::generate(), SessionId::generate());
    let backend = redis.backend(&gone, TOKEN, [1; 32]);
    let neighbour = redis.backend(&kept, TOKEN, [1; 32]);
    populate(&backend).await;
    populate(&neighbour).await;
    let before = redis.state_keys().await;
    assert!(before.iter().all(|k| k.contains("{gw-t:5}")), "{before:?}");
    let removed = backend.purge().await.expect("purge");
    assert!(removed >= 16, "removed {removed}");
    let after = redis.state_keys().await;
    assert_eq!(after.len(), before.len() - removed);
    assert!(
        after.iter().all(|k| k.contains(&kept.to_string())),
        "{after:?}"
    );
    assert!(!backend.exists().await.expect("exists"));
    assert!(neighbour.exists().await.expect("exists"));
    assert_eq!(backend.purge().await.expect("idempotent"), 0);
}

/// The answer of a counting command (`HLEN`, `ZCARD`) on `key`.
async fn count(redis: &TestRedis, command: &str, key: &str) -> usize {
    redis::cmd(command)
        .arg(key)
        .query_async(&mut redis.conn.clone())
        .await
        .expect("count")
}

#[tokio::test]
async fn the_sent_store_keeps_the_newest_4096_and_evicts_the_oldest() {
    let redis = TestRedis::start().await;
    let backend = redis.backend(&SessionId::generate(), TOKEN, [1; 32]);
    let extra = 5;
    for i in 0..SENT_CAP + extra {
        backend
            .store_sent_message(
                "c@s.whatsapp.net",
                &format!("m{i}"),
                format!("p{i}").as_bytes(),
            )
            .await
            .expect("store");
    }
    let (sent, order) = (
        backend.scope().keys.hash(kind::SENT),
        backend.scope().keys.hash(kind::SENT_ORDER),
    );
    assert_eq!(count(&redis, "HLEN", &sent).await, SENT_CAP);
    assert_eq!(count(&redis, "ZCARD", &order).await, SENT_CAP);
    for i in 0..extra {
        let id = format!("m{i}");
        let evicted = backend.take_sent_message("c@s.whatsapp.net", &id).await;
        assert_eq!(evicted.expect("take"), None, "{id} was evicted");
    }
    for i in [extra, SENT_CAP + extra - 1] {
        let id = format!("m{i}");
        let kept = backend.take_sent_message("c@s.whatsapp.net", &id).await;
        assert_eq!(kept.expect("take"), Some(format!("p{i}").into_bytes()));
    }
    // A take and the age sweep leave the index too, so they free room under the cap.
    assert_eq!(count(&redis, "ZCARD", &order).await, SENT_CAP - 2);
    let swept = backend.delete_expired_sent_messages(i64::MAX).await;
    assert_eq!(swept.expect("sweep") as usize, SENT_CAP - 2);
    assert_eq!(count(&redis, "ZCARD", &order).await, 0);
}
