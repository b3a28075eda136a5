//! [`WhatsappConfig`]: the real driver's settings, from `WAGW_STATE_KEY` and `WAGW_WA_VERSION`
//! plus the timeouts the worker does not expose (tests shorten them).

use std::time::Duration;

use super::store::StateKey;
use crate::driver::version::WaVersion;

/// Settings of the real driver.
#[derive(Debug, Clone)]
pub struct WhatsappConfig {
    /// Seals every value of the session state (`WAGW_STATE_KEY`).
    pub state_key: StateKey,
    /// The WhatsApp Web version announced (`WAGW_WA_VERSION`); fetched when unset.
    pub version: Option<WaVersion>,
    /// How long the first connection (version, socket, handshake) may take.
    pub connect_timeout: Duration,
    /// How long a pairing code stays valid (WhatsApp: about 3 minutes).
    pub pairing_code_validity: Duration,
    /// How long a client may stay down after a server-asked restart before the link ends.
    pub reconnect_grace: Duration,
}

impl WhatsappConfig {
    pub fn new(state_key: StateKey, version: Option<WaVersion>) -> Self {
        Self {
            state_key,
            version,
            connect_timeout: Duration::from_secs(25),
            pairing_code_validity: Duration::from_secs(180),
            reconnect_grace: Duration::from_secs(45),
        }
    }
}
