//! CNI spec versions: which we speak, and how versions compare.
//!
//! Parsing follows libcni: an empty version means 0.1.0, missing parts are
//! zero, and anything that is not up to three dot-separated integers is an
//! error.

use std::cmp::Ordering;
use std::fmt;

/// Every spec version the plugins accept, oldest first.
pub const SUPPORTED: &[&str] = &["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// The newest spec version, in which results are produced internally.
pub const CURRENT: &str = "1.1.0";

/// A parsed spec version (major, minor, patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Parses a version string the way libcni does ("" is 0.1.0).
    pub fn parse(text: &str) -> Result<Version, String> {
        if text.is_empty() {
            return Ok(Version(0, 1, 0));
        }
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() > 3 {
            return Err(format!("invalid version {text:?}: too many parts"));
        }
        let mut numbers = [0u32; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            *slot =
                part.parse().map_err(|_| format!("invalid version {text:?}: {part:?} is not a number"))?;
        }
        Ok(Version(numbers[0], numbers[1], numbers[2]))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Compares two version strings; errors name the unparsable one.
pub fn compare(a: &str, b: &str) -> Result<Ordering, String> {
    Ok(Version::parse(a)?.cmp(&Version::parse(b)?))
}

/// True when `version` is at least `minimum`.
pub fn at_least(version: &str, minimum: &str) -> Result<bool, String> {
    Ok(compare(version, minimum)? != Ordering::Less)
}

/// True when we can produce and consume this exact version string.
pub fn is_supported(version: &str) -> bool {
    SUPPORTED.contains(&version)
}

/// The version a netconf declares; a missing `cniVersion` means 0.1.0.
pub fn of_config(config: &serde_json::Value) -> Result<String, String> {
    match crate::gojson::get(config, "cniVersion") {
        None | Some(serde_json::Value::Null) => Ok("0.1.0".to_string()),
        Some(serde_json::Value::String(s)) if s.is_empty() => Ok("0.1.0".to_string()),
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("cniVersion must be a string, not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_libcni() {
        assert_eq!(Version::parse("").unwrap(), Version(0, 1, 0));
        assert_eq!(Version::parse("1").unwrap(), Version(1, 0, 0));
        assert_eq!(Version::parse("0.3.1").unwrap(), Version(0, 3, 1));
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("a.b").is_err());
    }

    #[test]
    fn orders_versions() {
        assert!(at_least("1.0.0", "0.4.0").unwrap());
        assert!(at_least("0.4.0", "0.4.0").unwrap());
        assert!(!at_least("0.3.1", "0.4.0").unwrap());
        assert!(at_least("0.10.0", "0.9.0").unwrap());
    }
}
