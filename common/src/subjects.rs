//! The only place NATS subject strings are built and parsed.
//!
//! Every subject starts with a configurable root (`wagw` in production), so tests and
//! side-by-side deployments can share one NATS without seeing each other.
//!
//! # Examples
//! ```
//! use wagw_common::{GatewayId, SessionId, subjects::{Subjects, CommandOp}};
//! let subjects = Subjects::new("wagw").unwrap();
//! let gw = GatewayId::parse("gw-sg-1").unwrap();
//! let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").unwrap();
//! assert_eq!(subjects.command(&gw, 7, &id, CommandOp::Start),
//!            "wagw.cmd.gw-sg-1.7.01J9ZX8K2QHV0M3T6R7P4N5W8C.start");
//! assert_eq!(subjects.status_all(&gw), "wagw.status.gw-sg-1.>");
//! assert_eq!(subjects.fleet_changed(&gw), "wagw.fleet.gw-sg-1.changed");
//! assert_eq!(subjects.worker_shards(&gw, "w-1"), "wagw.fleet.gw-sg-1.w-1.shards");
//! ```

use crate::ids::{GatewayId, IdError, OrganizationId, SessionId, WebhookId};
use crate::sim::SimAction;

/// The operation token at the end of a command subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandOp {
    Create,
    Update,
    Delete,
    Start,
    Stop,
    Restart,
    Logout,
    Qr,
    PairingCode,
    Send,
}

impl CommandOp {
    pub const ALL: [CommandOp; 10] = [
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::Start,
        Self::Stop,
        Self::Restart,
        Self::Logout,
        Self::Qr,
        Self::PairingCode,
        Self::Send,
    ];

    pub fn token(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Logout => "logout",
            Self::Qr => "qr",
            Self::PairingCode => "pairing_code",
            Self::Send => "send",
        }
    }

    pub fn parse(token: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.token() == token)
    }
}

/// A command subject, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSubject {
    pub gateway: GatewayId,
    pub shard: u32,
    pub session: SessionId,
    pub op: CommandOp,
}

/// A sim control subject, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSubject {
    pub gateway: GatewayId,
    pub session: SessionId,
    pub action: SimAction,
}

/// Builds subjects under one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    root: String,
}

impl Subjects {
    /// # Errors
    /// When `root` is empty or has a token that is not `[A-Za-z0-9_-]+`.
    pub fn new(root: &str) -> Result<Self, IdError> {
        let token_ok = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !root.split('.').all(token_ok) {
            return Err(IdError {
                what: "subject root",
                rule: "dot-separated tokens of A-Z, a-z, 0-9, '_' and '-'",
            });
        }
        Ok(Self {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// `<root>.cmd.<gw>.<shard>.<session>.<op>`: edge → owning worker, request-reply.
    pub fn command(
        &self,
        gw: &GatewayId,
        shard: u32,
        session: &SessionId,
        op: CommandOp,
    ) -> String {
        format!("{}.cmd.{gw}.{shard}.{session}.{}", self.root, op.token())
    }

    /// `<root>.cmd.<gw>.<shard>.>`: everything a shard's owner answers.
    pub fn shard_commands(&self, gw: &GatewayId, shard: u32) -> String {
        format!("{}.cmd.{gw}.{shard}.>", self.root)
    }

    /// `<root>.cmd.<gw>.*.*.send`: every send of a gateway, what its send stream captures.
    pub fn sends_all(&self, gw: &GatewayId) -> String {
        format!("{}.cmd.{gw}.*.*.send", self.root)
    }

    /// `<root>.cmd.<gw>.<shard>.*.send`: the sends of one shard, its owner's consumer filter.
    pub fn shard_sends(&self, gw: &GatewayId, shard: u32) -> String {
        format!("{}.cmd.{gw}.{shard}.*.send", self.root)
    }

    /// `<root>.status.<gw>.<session>`: every status change of a session.
    pub fn status(&self, gw: &GatewayId, session: &SessionId) -> String {
        format!("{}.status.{gw}.{session}", self.root)
    }

    /// `<root>.status.<gw>.>`: every status change in a gateway.
    pub fn status_all(&self, gw: &GatewayId) -> String {
        format!("{}.status.{gw}.>", self.root)
    }

    /// `<root>.events.<gw>.<session>.<type>`, e.g. type `message.received`.
    pub fn event(&self, gw: &GatewayId, session: &SessionId, event_type: &str) -> String {
        format!("{}.events.{gw}.{session}.{event_type}", self.root)
    }

    /// `<root>.events.<gw>.>`: every event in a gateway.
    pub fn events_all(&self, gw: &GatewayId) -> String {
        format!("{}.events.{gw}.>", self.root)
    }

    /// `<root>.events.<gw>.<session>.>`: every event of one session.
    pub fn session_events(&self, gw: &GatewayId, session: &SessionId) -> String {
        format!("{}.events.{gw}.{session}.>", self.root)
    }

    /// `<root>.events.>`: every event of the deployment, what the event stream captures.
    pub fn events_everywhere(&self) -> String {
        format!("{}.events.>", self.root)
    }

    /// `<root>.deliveries.<org>.<webhook>`: one webhook delivery job, in the delivery stream.
    pub fn webhook_delivery(&self, org: &OrganizationId, webhook: &WebhookId) -> String {
        format!("{}.deliveries.{org}.{webhook}", self.root)
    }

    /// `<root>.deliveries.>`: every delivery job, what the webhook delivery stream captures.
    pub fn webhook_deliveries_everywhere(&self) -> String {
        format!("{}.deliveries.>", self.root)
    }

    /// `<root>.sim.<gw>.<session>.<action>`: a control of the simulated phone.
    pub fn sim(&self, gw: &GatewayId, session: &SessionId, action: SimAction) -> String {
        format!("{}.sim.{gw}.{session}.{}", self.root, action.token())
    }

    /// `<root>.sim.<gw>.*.*`: every sim control of a gateway.
    pub fn sim_all(&self, gw: &GatewayId) -> String {
        format!("{}.sim.{gw}.*.*", self.root)
    }

    /// `<root>.simnet.<gw>.<session>`: the sim's stand-in for WhatsApp's servers; a link that
    /// sees another link's token here was replaced ("stream replaced").
    pub fn sim_network(&self, gw: &GatewayId, session: &SessionId) -> String {
        format!("{}.simnet.{gw}.{session}", self.root)
    }

    /// `<root>.simlog.<gw>.<session>`: what the simulated phone saw a worker do, as JSON records.
    pub fn sim_journal(&self, gw: &GatewayId, session: &SessionId) -> String {
        format!("{}.simlog.{gw}.{session}", self.root)
    }

    /// `<root>.simlog.<gw>.>`: the sim journal of every session of a gateway.
    pub fn sim_journal_all(&self, gw: &GatewayId) -> String {
        format!("{}.simlog.{gw}.>", self.root)
    }

    /// `<root>.fleet.<gw>.changed`: a worker joined, left or released shards; every worker of
    /// the gateway runs an extra lease pass when it hears one.
    pub fn fleet_changed(&self, gw: &GatewayId) -> String {
        format!("{}.fleet.{gw}.changed", self.root)
    }

    /// `<root>.fleet.<gw>.<worker>.shards`: request-reply, a worker answers the shards it holds.
    pub fn worker_shards(&self, gw: &GatewayId, worker: &str) -> String {
        format!("{}.fleet.{gw}.{worker}.shards", self.root)
    }

    /// Takes a command subject apart; `None` when it is not one of ours.
    pub fn parse_command(&self, subject: &str) -> Option<CommandSubject> {
        let rest = subject.strip_prefix(&self.root)?.strip_prefix(".cmd.")?;
        let mut tokens = rest.split('.');
        let gateway = GatewayId::parse(tokens.next()?).ok()?;
        let shard = tokens.next()?.parse().ok()?;
        let session = SessionId::parse(tokens.next()?).ok()?;
        let op = CommandOp::parse(tokens.next()?)?;
        tokens.next().is_none().then_some(CommandSubject {
            gateway,
            shard,
            session,
            op,
        })
    }

    /// Takes a sim control subject apart; `None` when it is not one of ours.
    pub fn parse_sim(&self, subject: &str) -> Option<SimSubject> {
        let rest = subject.strip_prefix(&self.root)?.strip_prefix(".sim.")?;
        let mut tokens = rest.split('.');
        let gateway = GatewayId::parse(tokens.next()?).ok()?;
        let session = SessionId::parse(tokens.next()?).ok()?;
        let action = SimAction::parse(tokens.next()?)?;
        tokens.next().is_none().then_some(SimSubject {
            gateway,
            session,
            action,
        })
    }
}

impl Default for Subjects {
    fn default() -> Self {
        Self {
            root: "wagw".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_subjects_round_trip() {
        let subjects = Subjects::new("t1.wagw").expect("valid root");
        let gw = GatewayId::parse("gw-a").expect("valid");
        let id = SessionId::generate();
        for op in CommandOp::ALL {
            let subject = subjects.command(&gw, 63, &id, op);
            let parsed = subjects.parse_command(&subject).expect("parses");
            assert_eq!((parsed.shard, parsed.session, parsed.op), (63, id, op));
        }
        assert!(subjects.parse_command("wagw.cmd.gw-a.1.x.start").is_none());
        assert!(
            subjects
                .parse_command(&format!("t1.wagw.cmd.gw-a.1.{id}.start.extra"))
                .is_none()
        );
    }

    #[test]
    fn sim_subjects_round_trip() {
        let subjects = Subjects::default();
        let gw = GatewayId::parse("gw-a").expect("valid");
        let id = SessionId::generate();
        let parsed = subjects
            .parse_sim(&subjects.sim(&gw, &id, SimAction::Unlink))
            .expect("parses");
        assert_eq!(parsed.action, SimAction::Unlink);
    }

    #[test]
    fn event_subjects_nest_session_under_gateway_under_root() {
        let subjects = Subjects::new("t1.wagw").expect("valid root");
        let gw = GatewayId::parse("gw-a").expect("valid");
        let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").expect("valid");
        let event = subjects.event(&gw, &id, "message.sent");
        assert_eq!(
            event,
            "t1.wagw.events.gw-a.01J9ZX8K2QHV0M3T6R7P4N5W8C.message.sent"
        );
        let session = subjects.session_events(&gw, &id);
        assert_eq!(session, "t1.wagw.events.gw-a.01J9ZX8K2QHV0M3T6R7P4N5W8C.>");
        assert_eq!(subjects.events_everywhere(), "t1.wagw.events.>");
    }

    #[test]
    fn fleet_subjects_live_under_the_gateway() {
        let subjects = Subjects::new("t1.wagw").expect("valid root");
        let gw = GatewayId::parse("gw-a").expect("valid");
        assert_eq!(subjects.fleet_changed(&gw), "t1.wagw.fleet.gw-a.changed");
        assert_eq!(
            subjects.worker_shards(&gw, "w1"),
            "t1.wagw.fleet.gw-a.w1.shards"
        );
        assert!(
            subjects
                .parse_command(&subjects.fleet_changed(&gw))
                .is_none()
        );
    }

    #[test]
    fn roots_with_wildcards_are_refused() {
        for bad in ["", "wagw.", "wa*", "a.>", "a b"] {
            assert!(Subjects::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
