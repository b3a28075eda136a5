//! The read half of the oracle sequence: reads back every piece written by `writes`.

use whatsapp_rust::store::Backend;

/// Reads every piece written by `writes`.
pub(super) async fn reads(b: &dyn Backend) -> Vec<String> {
    let mut out = Vec::new();
    let device = b
        .load()
        .await
        .expect("load")
        .map(|d| serde_json::to_string(&d).expect("json"));
    out.push(format!("device: {device:?}"));
    rec!(out, b.exists());
    for address in ["1@lid", "1:2@lid", "9@s.whatsapp.net", "none"] {
        rec!(out, b.load_identity(address));
        rec!(out, b.get_session(address));
        rec!(out, b.has_session(address));
        rec!(out, b.get_sender_key(address));
    }
    for user in ["1", "9", "2"] {
        rec!(out, b.has_signal_state_for_user(user));
    }
    for id in [5, 6, 7, 8] {
        rec!(out, b.load_prekey(id));
    }
    rec!(out, b.load_prekeys_batch(&[7, 6, 5]));
    rec!(out, b.get_max_prekey_id());
    rec!(out, b.load_signed_prekey(1));
    rec!(out, b.load_signed_prekey(2));
    rec_sorted!(out, b.load_all_signed_prekeys());
    rec!(out, b.get_sync_key(b"k1"));
    rec!(out, b.get_sync_key(b"zz"));
    rec!(out, b.get_latest_sync_key_id());
    let version = b.get_version("regular").await.expect("version").version;
    let unknown = b.get_version("unknown").await.expect("version").version;
    out.push(format!("versions: {version} {unknown}"));
    for (name, i) in [
        ("regular", 1u8),
        ("regular", 2),
        ("regular", 3),
        ("critical", 4),
    ] {
        rec!(out, b.get_mutation_mac(name, &[i; 32]));
    }
    let mut macs: Vec<_> = b
        .get_mutation_macs("regular", &[[1; 32], [2; 32], [3; 32]])
        .await
        .expect("macs")
        .into_iter()
        .collect();
    macs.sort();
    out.push(format!("macs: {macs:?}"));
    for group in ["g1@g.us", "g2@g.us", "g3@g.us"] {
        rec_sorted!(out, b.get_sender_key_devices(group));
        rec!(out, b.get_group_metadata(group));
    }
    for l in ["100", "200", "300"] {
        rec!(out, b.get_lid_mapping(l));
    }
    for pn in ["55", "56", "57"] {
        rec!(out, b.get_pn_mapping(pn));
    }
    rec_sorted!(out, b.get_all_lid_mappings());
    rec!(out, b.has_same_base_key("1@lid", "m1", b"bk"));
    rec!(out, b.has_same_base_key("1@lid", "m1", b"other"));
    rec!(out, b.has_same_base_key("1@lid", "m2", b"bk2"));
    for user in ["55", "56", "57"] {
        rec!(out, b.get_devices(user));
    }
    for jid in ["a@lid", "b@lid", "c@lid", "d@lid"] {
        rec!(out, b.get_tc_token(jid));
    }
    rec_sorted!(out, b.get_all_tc_token_jids());
    rec!(out, b.get_pending_inbound("c", "s", "i1"));
    rec!(out, b.get_pending_inbound("c", "s", "i2"));
    rec!(
        out,
        b.get_msg_secret("c@s.whatsapp.net", "1@s.whatsapp.net", "m0")
    );
    for msg in ["m1", "m2", "m3"] {
        rec!(out, b.get_msg_secret_with_ts("c", "1@s.whatsapp.net", msg));
    }
    out
}
