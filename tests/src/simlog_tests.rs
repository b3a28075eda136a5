//! Unit tests of the "never two owners" checker.

use super::*;

fn record(at: i64, session: &str, worker: &str, kind: &str) -> LinkRecord {
    LinkRecord {
        at,
        session_id: session.into(),
        worker_id: Some(worker.into()),
        kind: kind.into(),
    }
}

#[test]
fn a_clean_handoff_is_no_overlap() {
    let records = [
        record(10, "s1", "w1", "connected"),
        record(20, "s1", "w1", "closed"),
        record(20, "s1", "w2", "connected"),
        record(5, "s2", "w2", "connected"),
    ];
    assert!(overlaps(&records, &[]).is_empty());
}

#[test]
fn a_second_worker_connecting_before_the_first_closes_is_an_overlap() {
    let records = [
        record(10, "s1", "w1", "connected"),
        record(15, "s1", "w2", "connected"),
        record(20, "s1", "w1", "closed"),
    ];
    let found = overlaps(&records, &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("w1 [10, 20)") && found[0].contains("w2 [15, open)"));
}

#[test]
fn a_dead_worker_ends_its_links_when_it_died() {
    let records = [
        record(10, "s1", "w1", "connected"),
        record(30, "s1", "w2", "connected"),
    ];
    assert_eq!(overlaps(&records, &[]).len(), 1);
    assert!(overlaps(&records, &[("w1".into(), 25)]).is_empty());
    assert_eq!(overlaps(&records, &[("w1".into(), 35)]).len(), 1);
}

#[test]
fn a_reconnect_of_the_same_worker_continues_its_link() {
    let records = [
        record(10, "s1", "w1", "connected"),
        record(12, "s1", "w1", "connected"),
        record(20, "s1", "w1", "logged_out"),
        record(20, "s1", "w2", "connected"),
    ];
    assert!(overlaps(&records, &[]).is_empty());
}

#[test]
fn records_parse_with_and_without_a_worker_id() {
    let with: LinkRecord =
        serde_json::from_str(r#"{"at":1,"sessionId":"S","workerId":"w1","kind":"connected"}"#)
            .expect("parses");
    assert_eq!(with.worker_id.as_deref(), Some("w1"));
    let without: LinkRecord =
        serde_json::from_str(r#"{"at":1,"sessionId":"S","kind":"sent_text","to":"x"}"#)
            .expect("parses");
    assert!(without.worker_id.is_none() && !without.opens() && !without.ends());
}
