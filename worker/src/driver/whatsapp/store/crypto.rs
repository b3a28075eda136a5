//! AES-256-GCM of the WhatsApp state at rest: `nonce (12 random bytes) || ciphertext || tag`,
//! with the value's place (`<sessionId>/<kind>/<field>`) as associated data, so a value copied to
//! another field or session fails to open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use std::fmt;

/// Why a state key or a stored value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// `WAGW_STATE_KEY` is not 32 bytes in base64 or hex.
    #[error(
        "WAGW_STATE_KEY must be 32 bytes given as base64 (44 chars) or hex (64 chars); got {0}"
    )]
    BadKey(String),
    /// The value was not sealed by this key at this place (wrong `WAGW_STATE_KEY`, or tampering).
    #[error(
        "cannot decrypt the WhatsApp state at {0}: wrong WAGW_STATE_KEY, or the value was altered"
    )]
    Undecryptable(String),
    /// The system random source failed.
    #[error("encryption failed")]
    Seal,
}

/// The 32-byte key of the state at rest; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct StateKey([u8; 32]);

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateKey(..)")
    }
}

impl StateKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the value of `WAGW_STATE_KEY`: 64 hex digits, or base64 (standard or URL-safe,
    /// padded or not) of exactly 32 bytes. Surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`CryptoError::BadKey`], naming `WAGW_STATE_KEY` but never echoing the value.
    pub fn from_env_value(value: &str) -> Result<Self, CryptoError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(CryptoError::BadKey("an empty value".to_owned()));
        }
        let decoded = if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(value).ok()
        } else {
            use base64::engine::general_purpose::{
                STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
            };
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(value).ok())
        };
        let decoded = decoded.ok_or_else(|| {
            CryptoError::BadKey(format!("{} characters that are neither", value.len()))
        })?;
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadKey(format!("{} bytes", decoded.len())))?;
        Ok(Self(bytes))
    }

    fn aead(&self) -> LessSafeKey {
        // AES-256-GCM takes exactly 32 key bytes, which the type guarantees.
        let unbound = UnboundKey::new(&AES_256_GCM, &self.0)
            .unwrap_or_else(|_| unreachable!("a 32-byte key is valid for AES-256-GCM"));
        LessSafeKey::new(unbound)
    }

    /// Seals `plain` for the place `aad`.
    ///
    /// # Errors
    /// [`CryptoError::Seal`] when the random source fails.
    pub fn seal(&self, aad: &str, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| CryptoError::Seal)?;
        let mut sealed = plain.to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed by [`Self::seal`] for the place `aad`.
    ///
    /// # Errors
    /// [`CryptoError::Undecryptable`] for a wrong key, a wrong place or a damaged value.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let fail = || CryptoError::Undecryptable(aad.to_owned());
        if sealed.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let mut body = body.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut body)
            .map_err(|_| fail())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64_and_refuses_the_rest() {
        let hex64 = "11".repeat(32);
        assert_eq!(
            StateKey::from_env_value(&hex64),
            Ok(StateKey::from_bytes([0x11; 32]))
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(
            StateKey::from_env_value(&format!(" {b64}\n")),
            Ok(StateKey::from_bytes([7; 32]))
        );
        for bad in ["", "abc", &"11".repeat(31), "not base64 at all!!"] {
            let error = StateKey::from_env_value(bad).expect_err("refused");
            assert!(error.to_string().contains("WAGW_STATE_KEY"), "{error}");
        }
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let key = StateKey::from_bytes([1; 32]);
        let sealed = key.seal("s/kind/f", b"secret").expect("seals");
        assert_ne!(&sealed[NONCE_LEN..], b"secret");
        assert_eq!(key.open("s/kind/f", &sealed), Ok(b"secret".to_vec()));
        assert!(key.open("s/kind/g", &sealed).is_err(), "bound to its place");
        let other = StateKey::from_bytes([2; 32]);
        let error = other.open("s/kind/f", &sealed).expect_err("wrong key");
        assert!(error.to_string().contains("WAGW_STATE_KEY"), "{error}");
        assert_ne!(key.seal("a", b"x"), key.seal("a", b"x"), "random nonces");
    }
}
