//! The reconnect policy with a driver whose connections always fail: the session keeps
//! retrying with backoff and, past the budget, ends `failed` with the last reason.

use async_trait::async_trait;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use wagw_common::sim::SimAction;
use wagw_common::subjects::CommandOp;
use wagw_common::{SessionId, SessionStatus};
use wagw_tests::WorkerStack;
use wagw_tests::fake_driver::{InertConnection, start_worker_on};
use wagw_worker::driver::{
    Credentials, Driver, DriverError, DriverEvent, DriverSession, EVENT_BUFFER, Identity,
    IssuedPairingCode, Link,
};

/// Pairs at once, then never manages to connect again.
#[derive(Debug, Default)]
struct FlakyDriver {
    live: Mutex<Option<mpsc::Sender<DriverEvent>>>,
}

#[async_trait]
impl Driver for FlakyDriver {
    fn name(&self) -> &'static str {
        "flaky"
    }

    async fn connect(&self, _: &DriverSession, _: &Credentials) -> Result<Link, DriverError> {
        Err(DriverError::Transient("network down".into()))
    }

    async fn start_qr_pairing(&self, _: &DriverSession) -> Result<Link, DriverError> {
        let (tx, events) = mpsc::channel(EVENT_BUFFER);
        let identity = Identity {
            phone_number: "6281234567890".into(),
            jid: "6281234567890@s.whatsapp.net".into(),
            lid: "1@lid".into(),
        };
        for event in [
            DriverEvent::Qr {
                code: "qr-1".into(),
                expires_at: wagw_common::time::now_ms() + 60_000,
            },
            DriverEvent::Paired {
                identity: identity.clone(),
                credentials: Credentials(b"secret".to_vec()),
            },
            DriverEvent::Connected { identity },
        ] {
            tx.send(event).await.map_err(|_| DriverError::Closed)?;
        }
        *self.live.lock().expect("not poisoned") = Some(tx);
        Ok(Link {
            connection: Arc::new(InertConnection),
            events,
        })
    }

    async fn start_code_pairing(
        &self,
        _: &DriverSession,
        _: &str,
    ) -> Result<(Link, IssuedPairingCode), DriverError> {
        Err(DriverError::Unsupported("pairing codes"))
    }

    async fn simulate(&self, _: &SessionId, _: SimAction, _: &[u8]) -> Result<(), DriverError> {
        let tx = self
            .live
            .lock()
            .expect("not poisoned")
            .take()
            .ok_or(DriverError::Closed)?;
        tx.send(DriverEvent::Disconnected {
            reason: "cable cut".into(),
        })
        .await
        .map_err(|_| DriverError::Closed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_cannot_reconnect_fails_once_the_budget_is_spent() {
    let mut stack = WorkerStack::start().await;
    let (token, running) = start_worker_on(&mut stack, Arc::new(FlakyDriver::default())).await;

    let id = stack.create().await;
    assert_eq!(
        stack
            .simple(&id, CommandOp::Qr)
            .await
            .qr
            .map(|qr| qr.qr)
            .as_deref(),
        Some("qr-1")
    );
    stack
        .wait_row(&id, "working", |r| r.status == SessionStatus::Working)
        .await;
    assert!(stack.sim(&id, SimAction::Disconnect, json!({})).await.ok);
    let row = stack
        .wait_row(&id, "failed", |r| r.status == SessionStatus::Failed)
        .await;
    assert_eq!(
        row.status_reason.as_deref(),
        Some("too many reconnect failures: network down")
    );
    assert_eq!(
        row.phone_number.as_deref(),
        Some("6281234567890"),
        "the number stays attached"
    );

    token.cancel();
    running.await.expect("joins").expect("serve returns Ok");
}
