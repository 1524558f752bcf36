//! The plugin's invocation: `CNI_*` environment variables and stdin.
//!
//! Which variables each command needs and how they are validated follows
//! the reference skeleton, so runtimes see the same error codes: a missing
//! variable is code 4, a bad container ID 4 (3 when empty), a bad
//! interface name 4, a bad network name 7.

use crate::error::{CniError, ErrorCode};

/// The CNI verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Attach a container to a network.
    Add,
    /// Detach it again.
    Del,
    /// Verify an attachment.
    Check,
    /// Report supported spec versions.
    Version,
    /// Clean up resources of attachments no longer valid.
    Gc,
    /// Report whether the plugin can serve ADDs.
    Status,
}

impl Command {
    /// Parses a `CNI_COMMAND` value.
    pub fn parse(text: &str) -> Option<Command> {
        Some(match text {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "VERSION" => Command::Version,
            "GC" => Command::Gc,
            "STATUS" => Command::Status,
            _ => return None,
        })
    }

    /// The verb as `CNI_COMMAND` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Version => "VERSION",
            Command::Gc => "GC",
            Command::Status => "STATUS",
        }
    }
}

/// Everything a plugin verb gets from its invocation.
#[derive(Debug, Clone)]
pub struct CmdArgs {
    /// The verb being run.
    pub command: Command,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_NETNS`: path to the network namespace (may be empty on DEL).
    pub netns: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// `CNI_ARGS`, unparsed; each plugin parses the keys it knows.
    pub args: String,
    /// `CNI_PATH`: where to look for delegated plugins.
    pub path: String,
    /// The netconf bytes from stdin.
    pub stdin: Vec<u8>,
    /// The netconf's `cniVersion` (0.1.0 when absent).
    pub config_version: String,
}

impl CmdArgs {
    /// The directories in `CNI_PATH`.
    pub fn path_dirs(&self) -> Vec<std::path::PathBuf> {
        split_path(&self.path)
    }
}

/// Splits a colon-separated path list, dropping empty entries.
pub fn split_path(path: &str) -> Vec<std::path::PathBuf> {
    path.split(':').filter(|p| !p.is_empty()).map(Into::into).collect()
}

/// Which commands need a variable.
struct Required {
    name: &'static str,
    for_commands: &'static [Command],
}

const VARIABLES: &[Required] = &[
    Required { name: "CNI_CONTAINERID", for_commands: &[Command::Add, Command::Check, Command::Del] },
    Required { name: "CNI_NETNS", for_commands: &[Command::Add, Command::Check] },
    Required { name: "CNI_IFNAME", for_commands: &[Command::Add, Command::Check, Command::Del] },
    Required {
        name: "CNI_PATH",
        for_commands: &[Command::Add, Command::Check, Command::Del, Command::Gc, Command::Status],
    },
];

/// Reads the command and its variables. Returns the parsed command, or the
/// raw unknown command name as an error when it is not a CNI verb.
pub fn command_from_env(getenv: &dyn Fn(&str) -> Option<String>) -> Result<(Command, EnvVars), CniError> {
    let get = |name: &str| getenv(name).unwrap_or_default();
    let raw_command = get("CNI_COMMAND");
    let command = Command::parse(&raw_command);
    let mut missing = Vec::new();
    if raw_command.is_empty() {
        missing.push("CNI_COMMAND");
    }
    let mut vars = EnvVars::default();
    for var in VARIABLES {
        let value = get(var.name);
        let required = command.is_some_and(|c| var.for_commands.contains(&c));
        if value.is_empty() {
            if required {
                missing.push(var.name);
            }
        } else if required {
            match var.name {
                "CNI_CONTAINERID" => validate_container_id(&value)?,
                "CNI_IFNAME" => validate_interface_name(&value)?,
                _ => {}
            }
        }
        match var.name {
            "CNI_CONTAINERID" => vars.container_id = value,
            "CNI_NETNS" => vars.netns = value,
            "CNI_IFNAME" => vars.ifname = value,
            _ => vars.path = value,
        }
    }
    vars.args = get("CNI_ARGS");
    if !missing.is_empty() {
        return Err(CniError::new(
            ErrorCode::InvalidEnvironment,
            format!("required env variables [{}] missing", missing.join(",")),
        ));
    }
    match command {
        Some(c) => Ok((c, vars)),
        None => {
            Err(CniError::new(ErrorCode::InvalidEnvironment, format!("unknown CNI_COMMAND: {raw_command}")))
        }
    }
}

/// The `CNI_*` variables other than the command.
#[derive(Debug, Clone, Default)]
pub struct EnvVars {
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_NETNS`.
    pub netns: String,
    /// `CNI_IFNAME`.
    pub ifname: String,
    /// `CNI_ARGS`.
    pub args: String,
    /// `CNI_PATH`.
    pub path: String,
}

fn is_valid_name(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Container IDs: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate_container_id(id: &str) -> Result<(), CniError> {
    if id.is_empty() {
        return Err(CniError::new(ErrorCode::UnknownContainer, "missing containerID"));
    }
    if !is_valid_name(id) {
        return Err(CniError::new(ErrorCode::InvalidEnvironment, "invalid characters in containerID")
            .with_details(id));
    }
    Ok(())
}

/// Network names: the same pattern as container IDs.
pub fn validate_network_name(name: &str) -> Result<(), CniError> {
    if name.is_empty() {
        return Err(CniError::config("missing network name"));
    }
    if !is_valid_name(name) {
        return Err(CniError::config("invalid characters found in network name").with_details(name));
    }
    Ok(())
}

/// Interface names: 1 to 15 bytes, not `.` or `..`, no `/`, `:` or space.
pub fn validate_interface_name(name: &str) -> Result<(), CniError> {
    let bad = |msg: &str| Err(CniError::new(ErrorCode::InvalidEnvironment, msg));
    if name.is_empty() {
        return bad("interface name is empty");
    }
    if name.len() > 15 {
        return Err(CniError::new(ErrorCode::InvalidEnvironment, "interface name is too long")
            .with_details("interface name should be less than 16 characters"));
    }
    if name == "." || name == ".." {
        return bad("interface name is . or ..");
    }
    if name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) {
        return bad("interface name contains / or : or whitespace characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_container_id("abc-1.2_x").is_ok());
        assert_eq!(validate_container_id("").unwrap_err().code, 3);
        assert_eq!(validate_container_id("../x").unwrap_err().code, 4);
        assert_eq!(validate_container_id("a/b").unwrap_err().code, 4);
        assert_eq!(validate_network_name("..").unwrap_err().code, 7);
        assert_eq!(validate_interface_name("abcdefghijklmnop").unwrap_err().code, 4);
        assert!(validate_interface_name("abcdefghijklmno").is_ok());
        assert_eq!(validate_interface_name("a:b").unwrap_err().code, 4);
        assert_eq!(validate_interface_name("..").unwrap_err().code, 4);
    }

    #[test]
    fn missing_variables_are_listed() {
        let env = |k: &str| (k == "CNI_COMMAND").then(|| "ADD".to_string());
        let err = command_from_env(&env).unwrap_err();
        assert_eq!(err.code, 4);
        assert!(err.msg.contains("CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH"), "{}", err.msg);
    }
}
