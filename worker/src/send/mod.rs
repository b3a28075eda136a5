//! The send pipeline: what happens to a message after the edge put its job into the gateway's
//! send stream.
//!
//! - [`stream`]: the send stream (created at start if missing) and each shard's durable pull
//!   consumer `send-<shard>`.
//! - [`consumer`]: while a worker holds a shard it fetches the shard's jobs, keeps them alive
//!   with "in progress" acks, and on release stops fetching and `nak`s what it has not sent.
//! - [`queue`]: per-session FIFOs, one task per session with jobs, so one session's typing delay
//!   never holds up another's sends.
//! - [`job`]: one job, exactly once: a fenced record (`sending`, `sent`, `failed`) in Redis
//!   makes a redelivery a no-op, and a resend after a crash carries the same WhatsApp id
//!   ([`wa_message_id`]).
//! - [`deliver`]: waiting for a reconnecting session, "typing…", the driver call and its
//!   retries.

pub mod consumer;
pub mod deliver;
pub mod job;
pub mod queue;
pub mod stream;

use sha2::{Digest, Sha256};

/// The WhatsApp message id a message is sent under, derived from our message id so every
/// attempt (a resend after a crash included) uses the same one: `3EB0` and the upper-case hex
/// of the first 9 bytes of SHA-256(messageId), 22 characters, shaped like WhatsApp Web's ids.
///
/// # Examples
/// ```
/// let id = wagw_worker::send::wa_message_id("01J9ZXB3C5D7E9F1G3H5J7K9M1");
/// assert_eq!(id.len(), 22);
/// assert!(id.starts_with("3EB0"));
/// assert_eq!(id, wagw_worker::send::wa_message_id("01J9ZXB3C5D7E9F1G3H5J7K9M1"));
/// ```
pub fn wa_message_id(message_id: &str) -> String {
    let digest = Sha256::digest(message_id.as_bytes());
    let hex: String = digest[..9].iter().map(|b| format!("{b:02X}")).collect();
    format!("3EB0{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_ids_are_derived_deterministically_and_shaped_like_whatsapp_web() {
        let id = wa_message_id("01J9ZXB3C5D7E9F1G3H5J7K9M1");
        assert_eq!(id.len(), 22);
        assert!(id.starts_with("3EB0"));
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
        // SHA-256("abc") begins ba7816bf8f01cfea41.
        assert_eq!(wa_message_id("abc"), "3EB0BA7816BF8F01CFEA41");
        assert_ne!(id, wa_message_id("01J9ZXB3C5D7E9F1G3H5J7K9M2"));
    }
}
