//! The spec's error object and its well-known codes.
//!
//! Every failure of a plugin ends as one of these on stdout, so a runtime
//! can tell a bad config (7) from a retryable condition (11) from a bug (999).

use std::fmt;

/// The error codes the spec (and the reference, for 999) defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ErrorCode {
    /// The config's version is not one the plugin speaks.
    IncompatibleVersion = 1,
    /// A netconf field the plugin does not support.
    UnsupportedField = 2,
    /// The container is unknown or does not exist.
    UnknownContainer = 3,
    /// A required environment variable is missing or invalid.
    InvalidEnvironment = 4,
    /// Reading or writing failed (stdin, state files).
    Io = 5,
    /// The input could not be decoded (JSON syntax or types).
    Decoding = 6,
    /// The network config is semantically invalid.
    InvalidConfig = 7,
    /// The network namespace is not usable.
    InvalidNetns = 8,
    /// A transient condition: the runtime should retry later.
    TryAgainLater = 11,
    /// STATUS: the plugin cannot serve ADDs now.
    PluginNotAvailable = 50,
    /// STATUS: the plugin works, with limited connectivity.
    LimitedConnectivity = 51,
    /// An internal failure, as the reference reports them.
    Internal = 999,
}

/// A spec error object: `{"cniVersion","code","msg","details"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniError {
    /// The numeric code; plugins of others may send codes we do not name.
    pub code: u32,
    /// A short description of what failed.
    pub msg: String,
    /// Longer detail, empty when there is none.
    pub details: String,
}

impl CniError {
    /// A new error with a code and message and no details.
    pub fn new(code: ErrorCode, msg: impl Into<String>) -> CniError {
        CniError { code: code as u32, msg: msg.into(), details: String::new() }
    }

    /// Adds details to an error.
    pub fn with_details(mut self, details: impl Into<String>) -> CniError {
        self.details = details.into();
        self
    }

    /// An internal error (999), the catch-all for failures of our own.
    pub fn internal(msg: impl Into<String>) -> CniError {
        CniError::new(ErrorCode::Internal, msg)
    }

    /// An invalid-config error (7).
    pub fn config(msg: impl Into<String>) -> CniError {
        CniError::new(ErrorCode::InvalidConfig, msg)
    }

    /// An I/O error (5) that says what was being done.
    pub fn io(context: impl fmt::Display, err: impl fmt::Display) -> CniError {
        CniError::new(ErrorCode::Io, format!("{context}: {err}"))
    }

    /// Prefixes the message with context, keeping code and details.
    pub fn context(mut self, context: impl fmt::Display) -> CniError {
        self.msg = format!("{context}: {}", self.msg);
        self
    }

    /// The error as the JSON object the spec prescribes.
    pub fn to_json(&self, cni_version: &str) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        obj.insert("cniVersion".into(), cni_version.into());
        obj.insert("code".into(), self.code.into());
        obj.insert("msg".into(), self.msg.clone().into());
        if !self.details.is_empty() {
            obj.insert("details".into(), self.details.clone().into());
        }
        serde_json::Value::Object(obj)
    }

    /// Reads an error object that a plugin printed; `None` if it is not one.
    pub fn from_json(value: &serde_json::Value) -> Option<CniError> {
        let code = value.get("code")?.as_u64()?;
        let msg = value.get("msg").and_then(|m| m.as_str()).unwrap_or_default();
        let details = value.get("details").and_then(|d| d.as_str()).unwrap_or_default();
        Some(CniError {
            code: u32::try_from(code).unwrap_or(u32::MAX),
            msg: msg.to_string(),
            details: details.to_string(),
        })
    }
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.details.is_empty() {
            write!(f, "{}", self.msg)
        } else {
            write!(f, "{}; {}", self.msg, self.details)
        }
    }
}

impl std::error::Error for CniError {}
