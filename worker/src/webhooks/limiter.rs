//! The per-webhook cap on concurrent attempts within one worker process: a slot is taken
//! without waiting (a full webhook's job goes back to the queue) and freed on drop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wagw_common::WebhookId;

/// Attempts under way per webhook.
#[derive(Debug, Clone)]
pub struct Limiter {
    cap: usize,
    busy: Arc<Mutex<HashMap<WebhookId, usize>>>,
}

/// One attempt's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    webhook: WebhookId,
    busy: Arc<Mutex<HashMap<WebhookId, usize>>>,
}

impl Limiter {
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            busy: Arc::default(),
        }
    }

    /// A slot for `webhook`, or `None` when it already has `cap` attempts under way.
    pub fn try_acquire(&self, webhook: WebhookId) -> Option<Slot> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let count = busy.entry(webhook).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Slot {
            webhook,
            busy: self.busy.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = busy.get_mut(&self.webhook) {
            *count -= 1;
            if *count == 0 {
                busy.remove(&self.webhook);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_webhook_and_freed_on_drop() {
        let limiter = Limiter::new(2);
        let (a, b) = (WebhookId::generate(), WebhookId::generate());
        let first = limiter.try_acquire(a);
        let second = limiter.try_acquire(a);
        assert!(first.is_some() && second.is_some());
        assert!(limiter.try_acquire(a).is_none(), "a third attempt at once");
        assert!(
            limiter.try_acquire(b).is_some(),
            "another webhook is not held up"
        );
        drop(first);
        assert!(limiter.try_acquire(a).is_some());
    }
}
