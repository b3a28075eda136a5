//! Unit tests of command decoding: every malformed message is refused with `invalid_argument`.

use super::decode;
use wagw_common::shard::shard_of;
use wagw_common::subjects::{CommandOp, Subjects};
use wagw_common::{ErrorCode, GatewayId, SessionId};

fn setup() -> (Subjects, GatewayId, SessionId, u32) {
    let id = SessionId::generate();
    (
        Subjects::new("t").expect("valid root"),
        GatewayId::parse("gw-a").expect("valid"),
        id,
        shard_of(&id, 8),
    )
}

const START: &[u8] = br#"{"type":"start_session.v1","organizationId":"org_1"}"#;

#[test]
fn a_well_formed_command_decodes() {
    let (subjects, gw, id, shard) = setup();
    let subject = subjects.command(&gw, shard, &id, CommandOp::Start);
    let (parsed, command) = decode(&subjects, &gw, 8, &subject, START).expect("decodes");
    assert_eq!((parsed.session, command.op()), (id, CommandOp::Start));
}

#[test]
fn malformed_commands_are_invalid_arguments() {
    let (subjects, gw, id, shard) = setup();
    let other_gw = GatewayId::parse("gw-b").expect("valid");
    let cases: Vec<(String, &[u8], &str)> = vec![
        (
            "t.cmd.gw-a.1.nope.start".into(),
            START,
            "not a command subject",
        ),
        (
            subjects.command(&other_gw, shard, &id, CommandOp::Start),
            START,
            "gateway",
        ),
        (
            subjects.command(&gw, (shard + 1) % 8, &id, CommandOp::Start),
            START,
            "not in shard",
        ),
        (
            subjects.command(&gw, shard, &id, CommandOp::Start),
            b"{not json",
            "malformed command",
        ),
        (
            subjects.command(&gw, shard, &id, CommandOp::Start),
            br#"{"type":"start_session.v9","organizationId":"o"}"#,
            "malformed command",
        ),
        (
            subjects.command(&gw, shard, &id, CommandOp::Stop),
            START,
            "cannot travel",
        ),
        (
            subjects.command(&gw, shard, &id, CommandOp::Send),
            START,
            "cannot travel",
        ),
    ];
    for (subject, payload, needle) in cases {
        let err = decode(&subjects, &gw, 8, &subject, payload).expect_err("refused");
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{subject}");
        assert!(err.message.contains(needle), "{subject}: {}", err.message);
    }
}
