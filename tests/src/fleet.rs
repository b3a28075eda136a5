//! Reading the edge's live fleet view (`GET /api/v1/gateways`).

use serde_json::Value;
use std::collections::BTreeSet;

/// The entry of `gateway` in a `GET /gateways` body.
pub fn gateway_entry<'a>(body: &'a Value, gateway: &str) -> Option<&'a Value> {
    body["gateways"]
        .as_array()?
        .iter()
        .find(|entry| entry["id"] == gateway)
}

/// The id of a worker entry (`workerId` or `id`).
pub fn worker_id(worker: &Value) -> Option<&str> {
    worker["workerId"]
        .as_str()
        .or_else(|| worker["id"].as_str())
}

/// The shard numbers a worker entry says it holds.
pub fn worker_shards(worker: &Value) -> BTreeSet<u64> {
    (worker["shards"].as_array().into_iter().flatten())
        .filter_map(Value::as_u64)
        .collect()
}

/// `gateway` is listed with every worker of `expected` and, together, they hold shards
/// `0..shards`.
pub fn serves(body: &Value, gateway: &str, expected: &[&str], shards: u32) -> bool {
    let Some(workers) = gateway_entry(body, gateway).and_then(|gw| gw["workers"].as_array()) else {
        return false;
    };
    let listed: BTreeSet<&str> = workers.iter().filter_map(worker_id).collect();
    let held: BTreeSet<u64> = workers.iter().flat_map(worker_shards).collect();
    expected.iter().all(|id| listed.contains(id)) && held == (0..u64::from(shards)).collect()
}
