//! `WAGW_WA_VERSION`: the WhatsApp Web client version a worker announces, pinned as
//! `<primary>.<secondary>.<tertiary>` (e.g. `2.3000.1026131876`).
//!
//! Driver-agnostic on purpose: the configuration parses it in every build, so a typo fails at
//! start-up with one line whether or not the real driver is compiled in.

use std::fmt;
use std::str::FromStr;

/// A WhatsApp Web version, e.g. `2.3000.1026131876`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaVersion(pub u32, pub u32, pub u32);

impl FromStr for WaVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.trim().split('.').collect();
        let numbers: Option<Vec<u32>> = parts.iter().map(|part| part.parse().ok()).collect();
        match numbers.as_deref() {
            Some([primary, secondary, tertiary]) if *primary > 0 => {
                Ok(Self(*primary, *secondary, *tertiary))
            }
            _ => Err(format!(
                "'{text}' is not a WhatsApp Web version like 2.3000.1026131876"
            )),
        }
    }
}

impl fmt::Display for WaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_three_numbers_and_prints_them_back() {
        let version: WaVersion = "2.3000.1026131876".parse().expect("a valid version");
        assert_eq!(version, WaVersion(2, 3000, 1_026_131_876));
        assert_eq!(version.to_string(), "2.3000.1026131876");
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "2.3000",
            "2.3000.1.4",
            "2.x.1",
            "0.1.2",
            "-2.1.1",
            "2.3000.99999999999",
        ] {
            assert!(bad.parse::<WaVersion>().is_err(), "{bad:?} was accepted");
        }
    }
}
