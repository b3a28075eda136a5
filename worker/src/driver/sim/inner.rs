//! What a sim driver's links share: the registry of live links, voided devices, the journal,
//! the task tracker, and the NATS side ("stream replaced" and the published journal).

use crate::driver::DriverError;
use crate::driver::DriverSession;
use crate::driver::sim::SimConfig;
use crate::driver::sim::device::Device;
use crate::driver::sim::journal::{Journal, SimRecord, SimRecordKind};
use crate::driver::sim::link::LinkShared;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wagw_common::subjects::Subjects;
use wagw_common::time::now_ms;
use wagw_common::{SessionId, WorkerId};

/// Every NATS call of the sim is bounded by this.
const NATS_TIMEOUT: Duration = Duration::from_secs(5);

/// What the driver's links share.
#[derive(Debug)]
pub(super) struct Inner {
    pub config: SimConfig,
    nats: async_nats::Client,
    subjects: Subjects,
    /// The worker this driver serves; stamped on every journal record.
    worker_id: WorkerId,
    /// The live link of each session in this instance.
    links: Mutex<HashMap<SessionId, Arc<LinkShared>>>,
    /// Device ids logged out or unlinked; their credentials are refused.
    voided: Mutex<HashSet<String>>,
    pub journal: Journal,
    /// Every link task of this instance.
    pub tasks: TaskTracker,
    /// Parent of every link's `stop`; cancelled by `SimDriver::shutdown`.
    pub shutdown: CancellationToken,
}

impl Inner {
    pub fn new(
        config: SimConfig,
        nats: async_nats::Client,
        subjects: Subjects,
        worker_id: WorkerId,
    ) -> Self {
        Self {
            config,
            nats,
            subjects,
            worker_id,
            links: Mutex::default(),
            voided: Mutex::default(),
            journal: Journal::default(),
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        }
    }

    pub fn lock_links(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<LinkShared>>> {
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops `link` from the registry unless a newer link of the session took its place.
    pub fn unregister(&self, link: &Arc<LinkShared>) {
        let mut links = self.lock_links();
        if links
            .get(&link.session.session_id)
            .is_some_and(|live| Arc::ptr_eq(live, link))
        {
            links.remove(&link.session.session_id);
        }
    }

    pub fn void(&self, device: &Device) {
        let mut voided = self.voided.lock().unwrap_or_else(PoisonError::into_inner);
        voided.insert(device.device_id.clone());
    }

    pub fn is_void(&self, device: &Device) -> bool {
        let voided = self.voided.lock().unwrap_or_else(PoisonError::into_inner);
        voided.contains(&device.device_id)
    }

    /// Watches the device's `simnet` subject, then announces `token` there, so every older
    /// link of the device (in any process) is replaced.
    pub async fn claim_device(
        &self,
        session: &DriverSession,
        token: &str,
    ) -> Result<async_nats::Subscriber, DriverError> {
        let subject = self
            .subjects
            .sim_network(&session.gateway_id, &session.session_id);
        let unreachable =
            |what: &str| DriverError::Transient(format!("simulated network unreachable: {what}"));
        let simnet = timeout(NATS_TIMEOUT, self.nats.subscribe(subject.clone()))
            .await
            .map_err(|_| unreachable("subscribe timed out"))?
            .map_err(|err| unreachable(&err.to_string()))?;
        timeout(
            NATS_TIMEOUT,
            self.nats
                .publish(subject, token.to_owned().into_bytes().into()),
        )
        .await
        .map_err(|_| unreachable("publish timed out"))?
        .map_err(|err| unreachable(&err.to_string()))?;
        Ok(simnet)
    }

    /// Journals a record and publishes it on the session's `simlog` subject. Records of one
    /// link are published one after the other on one client, so their order holds; the
    /// worker flushes the client before a lease can move.
    pub async fn record(&self, session: &DriverSession, kind: SimRecordKind) {
        let record = SimRecord {
            at: now_ms(),
            session_id: session.session_id,
            worker_id: self.worker_id.clone(),
            kind,
        };
        let subject = self
            .subjects
            .sim_journal(&session.gateway_id, &session.session_id);
        let kind = record.kind.token();
        let payload = serde_json::to_vec(&record);
        self.journal.push(record);
        let published = match payload {
            Ok(payload) => timeout(NATS_TIMEOUT, self.nats.publish(subject, payload.into()))
                .await
                .map_err(|_| "timed out".to_owned())
                .and_then(|sent| sent.map_err(|err| err.to_string())),
            Err(err) => Err(err.to_string()),
        };
        if let Err(error) = published {
            tracing::warn!(session.id = %session.session_id, sim.kind = kind, error = %error, "sim record not published");
        }
    }
}
