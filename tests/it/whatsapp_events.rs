//! Library events → session status, end to end: synthetic `whatsapp-rust` events, translated by
//! the real driver's mapping, driven through a worker (its fenced writes, reconnect policy and
//! lease checks) into the rows the API serves. Only the WhatsApp client itself is replaced.

use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use wagw_common::sim::SimAction;
use wagw_common::subjects::CommandOp;
use wagw_common::{Session, SessionId, SessionStatus};
use wagw_tests::WorkerStack;
use wagw_tests::fake_driver::{InertConnection, start_worker_on};
use wagw_worker::driver::whatsapp::mapping::{LinkMode, map_event};
use wagw_worker::driver::{
    Credentials, Driver, DriverError, DriverEvent, DriverSession, EVENT_BUFFER, Identity,
    IssuedPairingCode, Link,
};
use whatsapp_rust::types::events::{
    ClientOutdated, ConnectFailure, ConnectFailureReason, Connected, Disconnected, Event,
    LoggedOut, PairSuccess, PairingQrCode, PairingQrCodesExhausted, StreamReplaced, TempBanReason,
    TemporaryBan,
};
use whatsapp_rust::wacore::net::DisconnectReason;

const PHONE: &str = "6281234567890";

fn me() -> Identity {
    Identity {
        phone_number: PHONE.into(),
        jid: format!("{PHONE}@s.whatsapp.net"),
        lid: "123456789012345@lid".into(),
    }
}

/// The library event a `fail` control names.
fn library_event(name: &str) -> Event {
    match name {
        "disconnected" => Event::Disconnected(
            Disconnected::builder()
                .reason(DisconnectReason::ReadError("connection reset".into()))
                .build(),
        ),
        "logged_out" => Event::LoggedOut(
            LoggedOut::builder()
                .on_connect(false)
                .reason(ConnectFailureReason::LoggedOut)
                .build(),
        ),
        "temporary_ban" => Event::TemporaryBan(
            TemporaryBan::builder()
                .code(TempBanReason::SentToTooManyPeople)
                .expire(whatsapp_rust::wacore::chrono::TimeDelta::seconds(3600))
                .build(),
        ),
        "client_outdated" => Event::ClientOutdated(ClientOutdated::builder().build()),
        "locked" => Event::ConnectFailure(
            ConnectFailure::builder()
                .reason(ConnectFailureReason::AccountLocked)
                .build(),
        ),
        "stream_replaced" => Event::StreamReplaced(StreamReplaced::builder().build()),
        "qr_exhausted" => Event::PairingQrCodesExhausted(
            PairingQrCodesExhausted::builder()
                .disconnected(true)
                .build(),
        ),
        other => panic!("no library event {other}"),
    }
}

/// Emits what the real driver would for a client that pairs (or logs in) at once; a `fail`
/// control's body names the library event to emit next.
#[derive(Debug, Default)]
struct ScriptedDriver {
    live: Mutex<HashMap<SessionId, (mpsc::Sender<DriverEvent>, LinkMode)>>,
}

impl ScriptedDriver {
    async fn open(
        &self,
        session: &DriverSession,
        mode: LinkMode,
        script: Vec<Event>,
    ) -> Result<Link, DriverError> {
        let (tx, events) = mpsc::channel(EVENT_BUFFER);
        for event in &script {
            for mapped in map_event(event, mode, Some(me())) {
                tx.send(mapped).await.map_err(|_| DriverError::Closed)?;
            }
        }
        let mut live = self.live.lock().expect("not poisoned");
        live.insert(session.session_id, (tx, mode));
        Ok(Link {
            connection: Arc::new(InertConnection),
            events,
        })
    }
}

fn qr() -> Event {
    Event::PairingQrCode(
        PairingQrCode::builder()
            .code("2@scripted".into())
            .timeout(Duration::from_secs(60))
            .build(),
    )
}

fn paired() -> Event {
    Event::PairSuccess(
        PairSuccess::builder()
            .id(format!("{PHONE}:4@s.whatsapp.net").parse().expect("jid"))
            .lid("123456789012345:4@lid".parse().expect("jid"))
            .business_name(String::new())
            .platform("android".into())
            .build(),
    )
}

fn connected() -> Event {
    Event::Connected(Connected::builder().build())
}

#[async_trait]
impl Driver for ScriptedDriver {
    fn name(&self) -> &'static str {
        "scripted-whatsapp"
    }

    async fn connect(&self, s: &DriverSession, _: &Credentials) -> Result<Link, DriverError> {
        self.open(s, LinkMode::Resume, vec![connected()]).await
    }

    async fn start_qr_pairing(&self, s: &DriverSession) -> Result<Link, DriverError> {
        self.open(s, LinkMode::QrPairing, vec![qr()]).await
    }

    async fn start_code_pairing(
        &self,
        _: &DriverSession,
        _: &str,
    ) -> Result<(Link, IssuedPairingCode), DriverError> {
        Err(DriverError::Unsupported("pairing codes"))
    }

    async fn simulate(
        &self,
        id: &SessionId,
        action: SimAction,
        body: &[u8],
    ) -> Result<(), DriverError> {
        let (tx, mode) = self
            .live
            .lock()
            .expect("not poisoned")
            .get(id)
            .cloned()
            .ok_or(DriverError::Closed)?;
        let script = match action {
            SimAction::Pair => vec![paired(), connected()],
            _ => {
                let body: Value = serde_json::from_slice(body)
                    .map_err(|e| DriverError::Invalid(e.to_string()))?;
                vec![library_event(body["event"].as_str().unwrap_or_default())]
            }
        };
        for event in &script {
            for mapped in map_event(event, mode, Some(me())) {
                tx.send(mapped).await.map_err(|_| DriverError::Closed)?;
            }
        }
        Ok(())
    }
}

/// A new session paired through the QR flow, `working`.
async fn working_session(stack: &mut WorkerStack) -> SessionId {
    let id = stack.create().await;
    let reply = stack.simple(&id, CommandOp::Qr).await;
    assert_eq!(reply.qr.map(|qr| qr.qr).as_deref(), Some("2@scripted"));
    assert!(stack.sim(&id, SimAction::Pair, json!({})).await.ok);
    let row = stack
        .wait_row(&id, "working", |r| r.status == SessionStatus::Working)
        .await;
    assert_eq!(row.phone_number.as_deref(), Some(PHONE));
    assert_eq!(row.wa_jid.as_deref(), Some("6281234567890@s.whatsapp.net"));
    assert_eq!(row.wa_lid.as_deref(), Some("123456789012345@lid"));
    assert!(row.last_connected_at.is_some());
    id
}

async fn emit(stack: &mut WorkerStack, id: &SessionId, event: &str) {
    let reply = stack
        .sim(id, SimAction::Fail, json!({ "event": event }))
        .await;
    assert!(reply.ok, "{event}: {reply:?}");
}

fn reason(row: &Session) -> &str {
    row.status_reason.as_deref().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_events_drive_the_sessions_as_documented() {
    let mut stack = WorkerStack::start().await;
    let (token, running) = start_worker_on(&mut stack, Arc::new(ScriptedDriver::default())).await;

    // A dropped connection reconnects under our policy, with the stored device: no QR.
    let id = working_session(&mut stack).await;
    let before = stack.row(&id).await.and_then(|r| r.last_connected_at);
    emit(&mut stack, &id, "disconnected").await;
    let row = stack
        .wait_row(&id, "working again", |r| {
            r.status == SessionStatus::Working && r.last_connected_at > before
        })
        .await;
    assert_eq!(
        row.phone_number.as_deref(),
        Some(PHONE),
        "same number, no re-pairing"
    );

    // The phone unlinks the device: stopped, number detached.
    emit(&mut stack, &id, "logged_out").await;
    let row = stack
        .wait_row(&id, "stopped", |r| r.status == SessionStatus::Stopped)
        .await;
    assert_eq!(row.phone_number, None, "{row:?}");
    assert_eq!(row.wa_jid, None, "{row:?}");

    for (event, expected) in [
        ("temporary_ban", "temporary_ban"),
        ("client_outdated", "client_outdated"),
        ("stream_replaced", "stream replaced"),
    ] {
        let id = working_session(&mut stack).await;
        emit(&mut stack, &id, event).await;
        let row = stack
            .wait_row(&id, "failed", |r| r.status == SessionStatus::Failed)
            .await;
        assert!(reason(&row).starts_with(expected), "{event}: {row:?}");
        assert_eq!(
            row.phone_number.as_deref(),
            Some(PHONE),
            "{event}: the number stays attached"
        );
    }

    // A locked account is a logout: stopped, number detached.
    let id = working_session(&mut stack).await;
    emit(&mut stack, &id, "locked").await;
    let row = stack
        .wait_row(&id, "stopped", |r| r.status == SessionStatus::Stopped)
        .await;
    assert_eq!(row.phone_number, None, "{row:?}");

    // Every QR expired unscanned: stopped, `qr_expired`.
    let id = stack.create().await;
    assert!(stack.simple(&id, CommandOp::Qr).await.qr.is_some());
    emit(&mut stack, &id, "qr_exhausted").await;
    let row = stack
        .wait_row(&id, "stopped", |r| r.status == SessionStatus::Stopped)
        .await;
    assert_eq!(reason(&row), "qr_expired", "{row:?}");

    token.cancel();
    running.await.expect("joins").expect("serve returns Ok");
}
