//! Tests of the worker's store on a private Redis: deleting a session or its credentials
//! purges the session's WhatsApp state under the same fence, and nothing of its neighbours.

use super::test_redis::RedisProcess;
use super::{Fence, Store, StoreError};
use crate::driver::Credentials;
use wagw_common::keys::Keys;
use wagw_common::{GatewayId, OrganizationId, Session, SessionId};

const SHARD: u32 = 5;

/// A store on its own Redis, holding the lease of [`SHARD`].
struct Fixture {
    store: Store,
    fence: Fence,
    _redis: RedisProcess,
}

impl Fixture {
    async fn start() -> Self {
        let redis = RedisProcess::start();
        let keys = Keys::new("wagwtest").expect("valid prefix");
        let gateway = GatewayId::parse("gw-t").expect("valid");
        let store = Store::connect(&redis.url(), keys, gateway)
            .await
            .expect("connects");
        let won = store
            .acquire_leases(&[SHARD], "worker-a", 60_000)
            .await
            .expect("acquire");
        let [(SHARD, epoch)] = won[..] else {
            panic!("the lease of shard {SHARD} is free: {won:?}");
        };
        Self {
            store,
            fence: Fence {
                shard: SHARD,
                token: format!("worker-a {epoch}"),
            },
            _redis: redis,
        }
    }

    /// A paired session: its row, its credentials, and WhatsApp state of several kinds, with
    /// `collections` extra mutation-MAC hashes (enough of them span several SCAN steps).
    async fn paired(&self, collections: usize) -> Session {
        let row = row();
        self.store.write_row(&self.fence, &row).await.expect("row");
        let creds = Credentials(b"creds".to_vec());
        let saved = self.store.save_credentials(&self.fence, &row.id, &creds);
        saved.await.expect("credentials");
        let shard = self.store.shard_ref(SHARD);
        let mut pipe = redis::pipe();
        let kinds = [
            "device",
            "session",
            "identity",
            "sent",
            "mutation-mac:regular",
        ];
        let extra = (0..collections).map(|i| format!("mutation-mac:c{i}"));
        for kind in kinds.into_iter().map(str::to_owned).chain(extra) {
            let key = self.store.keys.wa_state(&shard, &row.id, &kind);
            pipe.hset(key, "field", "sealed").ignore();
        }
        let order = self.store.keys.wa_state(&shard, &row.id, "sent-order");
        pipe.zadd(order, "field", 1).ignore();
        let () = pipe
            .query_async(&mut self.store.conn())
            .await
            .expect("state");
        row
    }

    /// Every WhatsApp state key of `id`, by `KEYS` (not by the SCAN under test).
    async fn wa_keys(&self, id: &SessionId) -> Vec<String> {
        let pattern = self
            .store
            .keys
            .wa_state_pattern(&self.store.shard_ref(SHARD), id);
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut self.store.conn())
            .await
            .expect("KEYS");
        keys.sort();
        keys
    }

    async fn credentials(&self, id: &SessionId) -> Option<Credentials> {
        self.store.load_credentials(SHARD, id).await.expect("load")
    }
}

fn row() -> Session {
    Session::new(
        SessionId::generate(),
        OrganizationId::parse("org_1").expect("valid"),
        GatewayId::parse("gw-t").expect("valid"),
        "Support".into(),
        "user_1".into(),
        1,
    )
}

#[tokio::test]
async fn delete_credentials_purges_the_whatsapp_state_of_that_session_only() {
    let f = Fixture::start().await;
    let (gone, kept) = (f.paired(150).await, f.paired(3).await);
    assert_eq!(f.wa_keys(&gone.id).await.len(), 156);
    let kept_keys = f.wa_keys(&kept.id).await;
    assert_eq!(kept_keys.len(), 9);

    let deleted = f.store.delete_credentials(&f.fence, &gone.id).await;
    deleted.expect("deleted");
    assert_eq!(f.credentials(&gone.id).await, None);
    assert_eq!(f.wa_keys(&gone.id).await, Vec::<String>::new());
    assert_eq!(f.wa_keys(&kept.id).await, kept_keys);
    assert!(f.credentials(&kept.id).await.is_some());
    let row = f.store.load_row(SHARD, &gone.id).await.expect("load");
    assert_eq!(row, Some(gone.clone()), "a logout keeps the row");

    // Without any WhatsApp state (the sim driver), and once more: nothing to purge, no error.
    let again = f.store.delete_credentials(&f.fence, &gone.id).await;
    again.expect("idempotent");
}

#[tokio::test]
async fn delete_session_purges_the_whatsapp_state_of_that_session_only() {
    let f = Fixture::start().await;
    let (gone, kept) = (f.paired(150).await, f.paired(3).await);
    let kept_keys = f.wa_keys(&kept.id).await;

    f.store
        .delete_session(&f.fence, &gone)
        .await
        .expect("deleted");
    assert_eq!(f.store.load_row(SHARD, &gone.id).await.expect("load"), None);
    assert_eq!(f.credentials(&gone.id).await, None);
    assert_eq!(f.wa_keys(&gone.id).await, Vec::<String>::new());
    let ids = f.store.shard_session_ids(SHARD).await.expect("ids");
    assert_eq!(ids, vec![kept.id]);
    assert_eq!(f.wa_keys(&kept.id).await, kept_keys);
    assert!(f.credentials(&kept.id).await.is_some());
}

#[tokio::test]
async fn a_stale_fence_deletes_nothing_and_is_refused() {
    let f = Fixture::start().await;
    let session = f.paired(3).await;
    let before = f.wa_keys(&session.id).await;
    let stale = Fence {
        shard: SHARD,
        token: "worker-old 0".to_owned(),
    };

    let refused = f.store.delete_credentials(&stale, &session.id).await;
    assert!(
        matches!(refused, Err(StoreError::Fenced(SHARD))),
        "{refused:?}"
    );
    let refused = f.store.delete_session(&stale, &session).await;
    assert!(
        matches!(refused, Err(StoreError::Fenced(SHARD))),
        "{refused:?}"
    );

    assert_eq!(f.wa_keys(&session.id).await, before);
    assert!(f.credentials(&session.id).await.is_some());
    let row = f.store.load_row(SHARD, &session.id).await.expect("load");
    assert_eq!(row, Some(session.clone()));
    let ids = f.store.shard_session_ids(SHARD).await.expect("ids");
    assert_eq!(ids, vec![session.id]);
}

#[tokio::test]
async fn message_records_are_fenced_expire_and_map_whatsapp_ids_back() {
    use super::messages::{MESSAGE_RECORD_TTL, MessageRecord, SendState};
    let fixture = Fixture::start().await;
    let (store, id) = (&fixture.store, SessionId::generate());
    let record = MessageRecord {
        state: SendState::Sending,
        wa_message_id: "3EB0AB".into(),
        event_id: None,
        reason: None,
        at: 1,
    };
    store
        .write_message(&fixture.fence, &id, "m1", &record, true)
        .await
        .expect("written");
    let loaded = store.load_message(SHARD, &id, "m1").await.expect("read");
    assert_eq!(loaded, Some(record.clone()));
    let ours = store
        .message_id_of(SHARD, &id, "3EB0AB")
        .await
        .expect("read");
    assert_eq!(ours.as_deref(), Some("m1"));
    let key = store.keys.message(&store.shard_ref(SHARD), &id, "m1");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut store.conn())
        .await
        .expect("pttl");
    let ttl_ms = i64::try_from(MESSAGE_RECORD_TTL.as_millis()).expect("fits");
    assert!(ttl > ttl_ms - 60_000 && ttl <= ttl_ms, "{ttl}");

    let stale = Fence {
        shard: SHARD,
        token: "worker-b 99".into(),
    };
    let sent = MessageRecord {
        state: SendState::Sent,
        ..record.clone()
    };
    let refused = store.write_message(&stale, &id, "m1", &sent, false).await;
    assert!(
        matches!(refused, Err(StoreError::Fenced(SHARD))),
        "{refused:?}"
    );
    let kept = store.load_message(SHARD, &id, "m1").await.expect("read");
    assert_eq!(kept.map(|r| r.state), Some(SendState::Sending));
}
