//! The link supervisor against a fake client, on a paused clock.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::oneshot;

use crate::driver::Identity;

/// What the fake client was told, and its switches.
#[derive(Clone, Default)]
struct Probe {
    connected: Arc<AtomicBool>,
    retrying_stopped: Arc<AtomicBool>,
    shut_down: Arc<AtomicBool>,
}

struct FakeClient {
    probe: Probe,
    ended: oneshot::Receiver<()>,
}

#[async_trait::async_trait]
impl RunningClient for FakeClient {
    fn is_connected(&self) -> bool {
        self.probe.connected.load(Ordering::SeqCst)
    }
    fn stop_retrying(&self) {
        self.probe.retrying_stopped.store(true, Ordering::SeqCst);
    }
    async fn ended(&mut self) {
        if (&mut self.ended).await.is_err() {
            // The test kept no sender: the run loop never ends by itself.
            std::future::pending::<()>().await;
        }
    }
    async fn shut_down(self) {
        self.probe.shut_down.store(true, Ordering::SeqCst);
    }
}

struct Harness {
    probe: Probe,
    queue: mpsc::UnboundedSender<DriverEvent>,
    end_run_loop: Option<oneshot::Sender<()>>,
    failures: Arc<Mutex<Option<String>>>,
    control: LinkControl,
    events: mpsc::Receiver<DriverEvent>,
    task: tokio::task::JoinHandle<()>,
}

const GRACE: Duration = Duration::from_secs(45);

fn start(pairing_deadline: Option<Duration>) -> Harness {
    let probe = Probe::default();
    probe.connected.store(true, Ordering::SeqCst);
    let (end_run_loop, ended) = oneshot::channel();
    let (queue, incoming) = mpsc::unbounded_channel();
    let failures = Arc::new(Mutex::new(None));
    let control = LinkControl::default();
    let (sender, events) = mpsc::channel(8);
    let client = FakeClient {
        probe: probe.clone(),
        ended,
    };
    let sources = Sources {
        incoming,
        failures: failures.clone(),
    };
    let watch = Watch {
        reconnect_grace: GRACE,
        pairing_deadline: pairing_deadline.map(|after| Instant::now() + after),
    };
    let task = tokio::spawn(run(client, sources, watch, control.clone(), sender));
    Harness {
        probe,
        queue,
        end_run_loop: Some(end_run_loop),
        failures,
        control,
        events,
        task,
    }
}

impl Harness {
    async fn next(&mut self) -> Option<DriverEvent> {
        tokio::time::timeout(Duration::from_secs(600), self.events.recv())
            .await
            .expect("the supervisor answers")
    }

    /// The link ended: no more events, the client told to stop retrying and shut down.
    async fn assert_ended(mut self) {
        assert_eq!(self.next().await, None, "no event after the end");
        self.task.await.expect("the supervisor ends");
        assert!(self.probe.retrying_stopped.load(Ordering::SeqCst));
        assert!(self.probe.shut_down.load(Ordering::SeqCst));
        assert!(self.control.closed.is_cancelled());
    }
}

fn connected() -> DriverEvent {
    DriverEvent::Connected {
        identity: Identity {
            phone_number: "1".into(),
            jid: "1@s.whatsapp.net".into(),
            lid: String::new(),
        },
    }
}

#[tokio::test(start_paused = true)]
async fn events_pass_through_until_the_first_terminal_one() {
    let mut link = start(None);
    let dropped = DriverEvent::Disconnected {
        reason: "reset".into(),
    };
    for event in [connected(), dropped.clone(), connected()] {
        link.queue.send(event).expect("queued");
    }
    assert_eq!(link.next().await, Some(connected()));
    assert_eq!(link.next().await, Some(dropped));
    link.assert_ended().await;
}

#[tokio::test(start_paused = true)]
async fn nothing_follows_a_close() {
    let link = start(None);
    link.control.closing.cancel();
    link.queue.send(connected()).expect("queued");
    link.assert_ended().await;
}

#[tokio::test(start_paused = true)]
async fn our_own_logout_is_not_reported_as_the_phone_unlinking() {
    let mut link = start(None);
    link.control.silenced.cancel();
    let unlinked = DriverEvent::LoggedOut {
        reason: "logged_out".into(),
    };
    link.queue.send(unlinked).expect("queued");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(link.events.try_recv().is_err(), "nothing forwarded");
    link.control.closing.cancel();
    link.assert_ended().await;
}

#[tokio::test(start_paused = true)]
async fn a_run_loop_that_ends_by_itself_is_a_drop_naming_the_last_failure() {
    let mut link = start(None);
    let failure = "the connection to WhatsApp closed: stream ended (EOF)";
    *link.failures.lock().expect("not poisoned") = Some(failure.into());
    if let Some(end) = link.end_run_loop.take() {
        end.send(()).expect("the supervisor listens");
    }
    let expected = DriverEvent::Disconnected {
        reason: failure.into(),
    };
    assert_eq!(link.next().await, Some(expected));
    link.assert_ended().await;
}

#[tokio::test(start_paused = true)]
async fn a_client_down_longer_than_the_grace_ends_the_link() {
    let mut link = start(None);
    link.probe.connected.store(false, Ordering::SeqCst);
    // Briefly down (a server-asked restart) is fine...
    tokio::time::sleep(GRACE / 2).await;
    link.probe.connected.store(true, Ordering::SeqCst);
    tokio::time::sleep(GRACE).await;
    assert!(
        link.events.try_recv().is_err(),
        "back up in time: nothing to say"
    );
    // ...down for longer is not.
    link.probe.connected.store(false, Ordering::SeqCst);
    let Some(DriverEvent::Disconnected { reason }) = link.next().await else {
        panic!("a Disconnected event");
    };
    assert!(
        reason.contains("did not take the connection back"),
        "{reason}"
    );
    link.assert_ended().await;
}

#[tokio::test(start_paused = true)]
async fn an_unconfirmed_pairing_code_expires() {
    let mut link = start(Some(Duration::from_secs(180)));
    assert_eq!(link.next().await, Some(DriverEvent::PairingCodeExpired));
    link.assert_ended().await;
}

#[tokio::test(start_paused = true)]
async fn a_link_nobody_listens_to_is_shut_down() {
    let link = start(None);
    let Harness {
        probe,
        events,
        task,
        control,
        ..
    } = link;
    drop(events);
    task.await.expect("the supervisor ends");
    assert!(probe.shut_down.load(Ordering::SeqCst));
    assert!(control.closed.is_cancelled());
}
