//! Per-session async locks: handlers and link-event processing of one session take the same
//! lock, so its transitions never interleave. Idle locks are pruned from the map.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::OwnedMutexGuard;
use wagw_common::SessionId;

type LockMap = HashMap<SessionId, Arc<tokio::sync::Mutex<()>>>;

/// The lock table of every session this worker touches.
#[derive(Debug, Default, Clone)]
pub struct SessionLocks {
    map: Arc<Mutex<LockMap>>,
}

/// Holds one session's lock; dropping it releases the lock and prunes it when nobody waits.
#[derive(Debug)]
pub struct SessionGuard {
    guard: Option<OwnedMutexGuard<()>>,
    map: Arc<Mutex<LockMap>>,
    id: SessionId,
}

impl SessionLocks {
    /// Waits for the session's lock.
    pub async fn lock(&self, id: SessionId) -> SessionGuard {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(id).or_default())
        };
        let guard = lock.lock_owned().await;
        SessionGuard {
            guard: Some(guard),
            map: Arc::clone(&self.map),
            id,
        }
    }

    /// How many sessions have a lock entry (held or waited for).
    pub fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        // Clones are only taken under the map's lock, so a count of 1 means nobody holds or
        // waits for this lock and it can go.
        if map
            .get(&self.id)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            map.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_session_is_serialized_and_idle_locks_are_pruned() {
        let locks = SessionLocks::default();
        let id = SessionId::generate();
        let first = locks.lock(id).await;
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move { drop(locks.lock(id).await) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiter.is_finished(),
            "second lock taken while the first is held"
        );
        let other = locks.lock(SessionId::generate()).await;
        drop(first);
        waiter.await.expect("waiter ends");
        drop(other);
        assert!(locks.is_empty());
    }
}
