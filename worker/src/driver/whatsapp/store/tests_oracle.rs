//! Conformance of [`super::RedisBackend`] against the crate's `InMemoryBackend` as an oracle:
//! the same operation sequence gives the same answers, also after the session moves to another
//! worker (new lease token, new backend on the same Redis state).

use super::test_redis::{TOKEN, TestRedis};
use std::sync::Arc;
use wagw_common::SessionId;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::store::{
    AppStateSyncKey, Backend, DeviceInfo, DeviceListRecord, LidPnMappingEntry, MsgSecretEntry,
    SignalStore, TcTokenEntry,
};
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::{Device, InMemoryBackend};

/// Records an answer, with errors as text.
macro_rules! rec {
    ($out:expr, $call:expr) => {
        $out.push(format!(
            "{}: {:?}",
            stringify!($call),
            $call.await.map_err(|e| e.to_string())
        ))
    };
}

/// Records a list answer, sorted (backends need not agree on order).
macro_rules! rec_sorted {
    ($out:expr, $call:expr) => {{
        let mut items: Vec<String> = $call
            .await
            .expect("list call succeeds")
            .iter()
            .map(|item| format!("{item:?}"))
            .collect();
        items.sort();
        $out.push(format!("{}: {items:?}", stringify!($call)));
    }};
}

mod reads;
use reads::reads;

fn lid(lid: &str, pn: &str, at: i64) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid: lid.to_owned(),
        phone_number: pn.to_owned(),
        created_at: at,
        updated_at: at,
        learning_source: "usync".to_owned(),
    }
}

fn secret(chat: &str, msg: &str, byte: u8, expires_at: i64, ts: i64) -> MsgSecretEntry {
    MsgSecretEntry {
        chat: Arc::from(chat),
        sender: Arc::from("1@s.whatsapp.net"),
        msg_id: Arc::from(msg),
        secret: [byte; 32],
        expires_at,
        message_ts: ts,
    }
}

/// Writes through every method family, recording the answers.
async fn writes(b: &dyn Backend, device: &Device) -> Vec<String> {
    let mut out = Vec::new();
    let (a1, a2): (Arc<str>, Arc<str>) = (Arc::from("1:2@lid"), Arc::from("9@s.whatsapp.net"));
    rec!(out, b.exists());
    rec!(out, b.create());
    rec!(out, b.exists());
    rec!(out, b.create());
    rec!(out, b.save(device));
    rec!(out, b.put_identity("1@lid", [1; 32]));
    rec!(
        out,
        b.put_identities_batch(&[(a1.clone(), [2; 32]), (a2.clone(), [3; 32])])
    );
    rec!(out, b.delete_identity("9@s.whatsapp.net"));
    rec!(out, b.put_session("1@lid", b"s1"));
    rec!(
        out,
        b.put_sessions_batch(&[(a1.clone(), Bytes::from_static(b"s2"))])
    );
    rec!(out, b.store_prekey(5, b"p5", false));
    rec!(
        out,
        b.store_prekeys_batch(
            &[
                (6, Bytes::from_static(b"p6")),
                (7, Bytes::from_static(b"p7"))
            ],
            true
        )
    );
    rec!(out, b.mark_prekeys_uploaded(&[5, 99]));
    rec!(out, b.remove_prekey(6));
    rec!(out, b.store_signed_prekey(1, b"sp1"));
    rec!(out, b.store_signed_prekey(2, b"sp2"));
    rec!(out, b.remove_signed_prekey(1));
    rec!(out, b.put_sender_key("g1::1@lid", b"sk"));
    rec!(
        out,
        b.put_sender_keys_batch(&[(a2.clone(), Bytes::from_static(b"sk2"))])
    );
    rec!(out, b.delete_sender_key("g1::1@lid"));
    let sync_key = AppStateSyncKey {
        key_data: vec![1, 2],
        fingerprint: vec![3],
        timestamp: 4,
    };
    rec!(out, b.set_sync_key(b"k1", sync_key.clone()));
    rec!(out, b.set_sync_key(b"k2", sync_key));
    let state = HashState {
        version: 7,
        ..HashState::default()
    };
    rec!(out, b.set_version("regular", state));
    let mac = |i: u8| AppStateMutationMAC {
        index_mac: vec![i; 32],
        value_mac: vec![i + 100],
    };
    rec!(
        out,
        b.put_mutation_macs("regular", 7, &[mac(1), mac(2), mac(3)])
    );
    rec!(out, b.put_mutation_macs("critical", 1, &[mac(4)]));
    rec!(out, b.delete_mutation_macs("regular", &[vec![2; 32]]));
    rec!(out, b.clear_mutation_macs("critical"));
    rec!(
        out,
        b.set_sender_key_status("g1@g.us", &[("1:1@lid", true), ("2:1@lid", false)])
    );
    rec!(
        out,
        b.set_sender_key_status("g2@g.us", &[("1:1@lid", true), ("3:0@lid", true)])
    );
    rec!(
        out,
        b.set_sender_key_status("g3@g.us", &[("4:0@lid", true)])
    );
    rec!(out, b.delete_sender_key_device_rows(&["1:1@lid"]));
    rec!(out, b.clear_sender_key_devices("g3@g.us"));
    rec!(out, b.put_lid_mapping(&lid("100", "55", 1)));
    rec!(
        out,
        b.put_lid_mappings(&[lid("100", "56", 2), lid("200", "57", 3)])
    );
    rec!(out, b.save_base_key("1@lid", "m1", b"bk"));
    rec!(out, b.save_base_key("1@lid", "m2", b"bk2"));
    rec!(out, b.delete_base_key("1@lid", "m2"));
    let devices = |user: &str, n: u32| DeviceListRecord {
        user: user.to_owned(),
        devices: vec![DeviceInfo::new(0, None), DeviceInfo::new(n, Some(1))],
        timestamp: 9,
        phash: Some("h".to_owned()),
        raw_id: None,
    };
    rec!(out, b.update_device_list(devices("55", 1)));
    rec!(
        out,
        b.update_device_lists(vec![devices("56", 2), devices("57", 3)])
    );
    rec!(out, b.delete_devices("57"));
    rec!(out, b.put_group_metadata("g1@g.us", b"meta"));
    rec!(out, b.put_group_metadata("g2@g.us", b"meta2"));
    rec!(out, b.delete_group_metadata("g2@g.us"));
    let tc = TcTokenEntry {
        token: vec![1],
        token_timestamp: 100,
        sender_timestamp: None,
    };
    rec!(out, b.put_tc_token("a@lid", &tc));
    rec!(out, b.put_tc_token("b@lid", &tc));
    rec!(out, b.delete_tc_token("b@lid"));
    rec!(out, b.touch_tc_token_sender_timestamp("a@lid", 150));
    rec!(out, b.touch_tc_token_sender_timestamp("a@lid", 120));
    rec!(out, b.touch_tc_token_sender_timestamp("c@lid", 50));
    rec!(out, b.store_received_tc_token("a@lid", b"old", 90));
    rec!(out, b.store_received_tc_token("c@lid", b"new", 60));
    rec!(
        out,
        b.put_tc_token(
            "d@lid",
            &TcTokenEntry {
                token: vec![],
                token_timestamp: 1,
                sender_timestamp: Some(1)
            }
        )
    );
    rec!(out, b.delete_expired_tc_tokens(10, 10));
    rec!(
        out,
        b.store_sent_message("c@s.whatsapp.net", "m1", b"payload1")
    );
    rec!(
        out,
        b.store_sent_message("c@s.whatsapp.net", "m2", b"payload2")
    );
    rec!(out, b.take_sent_message("c@s.whatsapp.net", "m1"));
    rec!(out, b.take_sent_message("c@s.whatsapp.net", "m1"));
    rec!(out, b.delete_expired_sent_messages(0));
    rec!(out, b.store_pending_inbound("c", "s", "i1", b"in1"));
    rec!(out, b.store_pending_inbound("c", "s", "i2", b"in2"));
    rec!(out, b.delete_pending_inbound("c", "s", "i2"));
    rec!(out, b.delete_expired_pending_inbound(0));
    rec!(
        out,
        b.put_msg_secret("c@s.whatsapp.net", "1@s.whatsapp.net", "m0", &[9; 32])
    );
    rec!(
        out,
        b.put_msg_secrets(vec![
            secret("c", "m1", 1, 100, 5),
            secret("c", "m2", 2, 50, 0)
        ])
    );
    rec!(
        out,
        b.put_msg_secrets(vec![
            secret("c", "m1", 3, 80, 0),
            secret("c", "m2", 4, 0, 7)
        ])
    );
    rec!(out, b.put_msg_secrets(vec![secret("c", "m3", 5, 10, 1)]));
    rec!(out, b.delete_expired_msg_secrets(20));
    out
}

#[tokio::test]
async fn redis_backend_answers_like_the_in_memory_backend_across_a_move() {
    let redis = TestRedis::start().await;
    let session = SessionId::generate();
    let device = Device::new();
    let oracle = InMemoryBackend::new();
    let ours = redis.backend(&session, TOKEN, [42; 32]);

    let expected = writes(&oracle, &device).await;
    let got = writes(&ours, &device).await;
    for (e, g) in expected.iter().zip(&got) {
        assert_eq!(e, g);
    }
    assert_eq!(expected.len(), got.len());

    assert!(got.iter().all(|line| !line.contains("Err(")), "{got:#?}");

    let expected = reads(&oracle).await;
    assert!(expected.len() > 60, "{expected:#?}");
    assert_eq!(reads(&ours).await, expected);

    // The shard moves: another worker takes the lease and builds its own backend.
    redis.set_lease("worker-b 2").await;
    let moved = redis.backend(&session, "worker-b 2", [42; 32]);
    assert_eq!(reads(&moved).await, expected);
    moved
        .put_identity("new@lid", [8; 32])
        .await
        .expect("the new owner writes");
    ours.put_identity("old@lid", [8; 32])
        .await
        .expect_err("the old owner is fenced");
}
