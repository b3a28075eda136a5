//! The simulated phone's paired devices and the random strings WhatsApp would hand out.
//!
//! A device's credentials are a small JSON document (`{"v":1,"phoneNumber","jid","lid",
//! "deviceId"}`) that any worker process can read back, so a session resumes anywhere.

use crate::driver::{Credentials, DriverError, Identity};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use wagw_common::session::validate_phone_number;
use wagw_common::shard::fnv1a64;

/// Version of the credentials document this driver writes and reads.
const CREDENTIALS_VERSION: u32 = 1;

/// Pairing-code characters: WhatsApp's alphabet, without `0`, `O`, `I` and `U`.
const CODE_ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTVWXYZ";

/// One linked device: what the credentials say.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Device {
    v: u32,
    pub phone_number: String,
    jid: String,
    lid: String,
    /// Unique per pairing, so re-pairing a number after a logout gives a fresh device.
    pub device_id: String,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The device id stands in for a secret; never print it.
        write!(f, "Device({})", self.jid)
    }
}

impl Device {
    /// A freshly paired device of `phone_number` (already validated).
    pub fn pair(phone_number: &str) -> Self {
        Self {
            v: CREDENTIALS_VERSION,
            phone_number: phone_number.to_owned(),
            jid: user_jid(phone_number),
            lid: lid_of(phone_number),
            device_id: Ulid::generate().to_string(),
        }
    }

    /// Reads stored credentials back, checking that they are ones this driver wrote.
    ///
    /// # Errors
    /// [`DriverError::Fatal`] when they are not.
    pub fn from_credentials(credentials: &Credentials) -> Result<Self, DriverError> {
        let unreadable = || DriverError::Fatal("stored credentials are unreadable".to_owned());
        let device: Self = serde_json::from_slice(&credentials.0).map_err(|_| unreadable())?;
        let consistent = device.v == CREDENTIALS_VERSION
            && validate_phone_number("phoneNumber", &device.phone_number).is_ok()
            && device.jid == user_jid(&device.phone_number)
            && device.lid == lid_of(&device.phone_number)
            && Ulid::from_string(&device.device_id).is_ok();
        if consistent {
            Ok(device)
        } else {
            Err(unreadable())
        }
    }

    pub fn credentials(&self) -> Credentials {
        // Serializing a struct of strings and an integer cannot fail.
        Credentials(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn identity(&self) -> Identity {
        Identity {
            phone_number: self.phone_number.clone(),
            jid: self.jid.clone(),
            lid: self.lid.clone(),
        }
    }
}

/// `<digits>@s.whatsapp.net`.
pub(super) fn user_jid(phone_number: &str) -> String {
    format!("{phone_number}@s.whatsapp.net")
}

/// A 15-digit `@lid`, derived from the number so every process invents the same one.
pub(super) fn lid_of(phone_number: &str) -> String {
    const LOW: u64 = 100_000_000_000_000;
    let digits = LOW + fnv1a64(phone_number.as_bytes()) % (9 * LOW);
    format!("{digits}@lid")
}

/// A number the simulated phone makes up when pairing without one: `6280000` + 6 digits.
pub(super) fn made_up_phone_number() -> String {
    format!("6280000{:06}", rand::random_range(0..1_000_000u32))
}

/// A QR string shaped like WhatsApp's: `2@<ref>,<noise key>,<identity key>,<adv secret>`.
pub(super) fn qr_code() -> String {
    let part = |len: usize| {
        let mut bytes = vec![0u8; len];
        rand::fill(bytes.as_mut_slice());
        base64(&bytes)
    };
    format!("2@{},{},{},{}", part(48), part(32), part(32), part(32))
}

/// `XXXX-XXXX` from [`CODE_ALPHABET`].
pub(super) fn pairing_code() -> String {
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        let pick = rand::random_range(0..CODE_ALPHABET.len());
        code.push(char::from(CODE_ALPHABET[pick]));
    }
    code
}

/// A message id as WhatsApp Web makes them: `3EB0` and 16 upper-case hex digits.
pub(super) fn message_id() -> String {
    format!("3EB0{:016X}", rand::random::<u64>())
}

/// Standard base64 with padding; a handful of lines rather than a dependency.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn credentials_round_trip_and_refuse_tampering() {
        let device = Device::pair("6281234567890");
        let back = Device::from_credentials(&device.credentials()).expect("readable");
        assert_eq!(back, device);
        let identity = device.identity();
        assert_eq!(identity.jid, "6281234567890@s.whatsapp.net");
        let lid = identity.lid.strip_suffix("@lid").expect("lid suffix");
        assert!(lid.len() == 15 && lid.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(identity.lid, lid_of("6281234567890"));

        let tampered = String::from_utf8(device.credentials().0)
            .expect("utf-8")
            .replace("6281234567890@s", "6281234567891@s");
        for bad in [tampered.as_bytes(), b"", b"{}", b"not json"] {
            assert_eq!(
                Device::from_credentials(&Credentials(bad.to_vec())),
                Err(DriverError::Fatal(
                    "stored credentials are unreadable".into()
                ))
            );
        }
    }

    #[test]
    fn generated_strings_have_whatsapps_shapes() {
        let code = pairing_code();
        let bytes = code.as_bytes();
        assert_eq!((code.len(), bytes[4]), (9, b'-'), "{code}");
        assert!(
            code.bytes()
                .filter(|b| *b != b'-')
                .all(|b| CODE_ALPHABET.contains(&b))
        );
        let id = message_id();
        assert!(id.starts_with("3EB0") && id.len() == 20, "{id}");
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        let qr = qr_code();
        assert!(qr.starts_with("2@") && qr.split(',').count() == 4, "{qr}");
        let phone = made_up_phone_number();
        assert!(
            validate_phone_number("phoneNumber", &phone).is_ok(),
            "{phone}"
        );
    }
}
