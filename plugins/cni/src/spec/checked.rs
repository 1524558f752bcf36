//! Strings from a netconf, `CNI_ARGS` or the environment, checked once
//! against what the tool or kernel they reach accepts.
//!
//! A config author's string that reaches `iptables-restore` input, an nft
//! script, a `/proc/sys` path, a file path or a link name could otherwise
//! add rules (a newline in a chain name), walk out of a directory (`..`),
//! or send the kernel a request it drops without an answer (a 64 KiB link
//! name). Each type here can only be made by its checking constructor,
//! which names the netconf key in its error (code 7), and the builders of
//! rules, paths and links take these types, so an unchecked string cannot
//! reach them.

use std::fmt;
use std::ops::Deref;

use crate::error::CniError;
use crate::jsonpos::key_label;

/// The kernel's longest interface name (IFNAMSIZ less the NUL).
pub const IFNAME_MAX: usize = 15;

/// iptables' longest chain name (XT_EXTENSION_MAXNAMELEN less the NUL).
pub const CHAIN_NAME_MAX: usize = 28;

/// The longest file name of Linux file systems.
const FILE_NAME_MAX: usize = 255;

/// How much of a bad value an error shows: enough to recognise it, not
/// 64 KiB of it.
fn shown(value: &str) -> String {
    let head: String = value.chars().take(40).collect();
    let more =
        if value.chars().count() > 40 { format!("... ({} bytes)", value.len()) } else { String::new() };
    format!("{head:?}{more}")
}

fn refuse(key: &str, what: &str, value: &str, rule: &str) -> CniError {
    CniError::config(format!("{}: invalid {what} {}: {rule}", key_label(key), shown(value)))
}

fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The checked text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A network interface name the kernel takes (`dev_valid_name`): 1 to
    /// 15 bytes, not `.` or `..`, no `/`, `:`, whitespace or NUL.
    LinkName
);

/// True for a name the kernel takes as an interface name. The netlink
/// layer asks this of every name before a request carries it.
pub fn is_link_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

impl LinkName {
    /// Checks `name`, the value of netconf key `key`.
    pub fn new(key: &str, name: &str) -> Result<LinkName, CniError> {
        let rule = "1 to 15 bytes, not \".\" or \"..\", no '/', ':', whitespace or control characters";
        if !is_link_name(name) {
            return Err(refuse(key, "interface name", name, rule));
        }
        Ok(LinkName(name.to_string()))
    }

    /// An optional name: empty stays `None` (the plugin picks its default).
    pub fn optional(key: &str, name: &str) -> Result<Option<LinkName>, CniError> {
        if name.is_empty() {
            return Ok(None);
        }
        LinkName::new(key, name).map(Some)
    }
}

checked_string!(
    /// An iptables chain name that `iptables-restore` reads as one word and
    /// `iptables -N` would take: 1 to 28 printable characters, no spaces or
    /// quotes, not starting with `-` or `!`.
    ChainName
);

impl ChainName {
    /// Checks `name`, the value of netconf key `key`.
    pub fn new(key: &str, name: &str) -> Result<ChainName, CniError> {
        let printable = name.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'');
        if printable && !name.is_empty() && name.len() <= CHAIN_NAME_MAX && !name.starts_with(['-', '!']) {
            return Ok(ChainName(name.to_string()));
        }
        Err(refuse(
            key,
            "iptables chain name",
            name,
            "1 to 28 printable characters, no spaces or quotes, not starting with '-' or '!'",
        ))
    }
}

/// Words for `iptables-restore` input (portmap's `conditionsV4`): each one
/// becomes one argument, quoted when it needs to be, and none holds a
/// control character, since the input is read line by line and a newline,
/// even inside quotes, would start a rule of the author's choosing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreWords(Vec<String>);

impl RestoreWords {
    /// Checks `words`, the value of netconf key `key`.
    pub fn new(key: &str, words: &[String]) -> Result<RestoreWords, CniError> {
        for word in words {
            if has_control(word) {
                return Err(refuse(key, "iptables argument", word, "no newline or other control characters"));
            }
        }
        Ok(RestoreWords(words.to_vec()))
    }

    /// The words as `iptables-restore` input: each a single argument.
    pub fn to_restore_input(&self) -> String {
        self.0.iter().map(|w| format!(" {}", restore_word(w))).collect()
    }
}

/// Quotes one argument for `iptables-restore` input: in `"`, with `\\`
/// and `"` escaped. The netfilter layer spells its rules with it too.
pub fn restore_quote(arg: &str) -> String {
    format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One argument as `iptables-restore` reads it: as it is when it is one
/// plain word, else quoted with `"` and `\` escaped.
fn restore_word(word: &str) -> String {
    if word.is_empty() || word.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\') {
        restore_quote(word)
    } else {
        word.to_string()
    }
}

checked_string!(
    /// nft expressions that go into an `nft -f` script as one rule's
    /// matches (portmap's `conditionsV4` on the nftables backend): no
    /// newline, `;` or `#`, which would end the rule and start another
    /// command, and no other control character.
    NftExpr
);

impl NftExpr {
    /// Checks `words` (joined with spaces), the value of netconf key `key`.
    pub fn new(key: &str, words: &[String]) -> Result<NftExpr, CniError> {
        let text = words.join(" ");
        if has_control(&text) || text.contains([';', '#']) {
            return Err(refuse(
                key,
                "nft expression",
                &text,
                "no newline, ';', '#' or other control characters",
            ));
        }
        Ok(NftExpr(text))
    }
}

/// A network sysctl as its file under `/proc/sys/net`, with `IFNAME`
/// standing for the interface: only keys under net/ (they are per network
/// namespace), and none that could leave it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SysctlKey {
    key: String,
}

impl SysctlKey {
    /// Checks `key`, a key of the netconf object `object` (tuning's `sysctl`).
    pub fn new(object: &str, key: &str) -> Result<SysctlKey, CniError> {
        let label = format!("{object}.{}", key.chars().take(40).collect::<String>());
        let rule =
            "a net.* sysctl of at most 255 bytes, without \"..\", quotes, spaces or control characters";
        let odd = |c: char| c.is_control() || c.is_whitespace() || c == '"' || c == '\'';
        if key.len() > FILE_NAME_MAX || key.contains(odd) || key.contains("..") {
            return Err(refuse(&label, "sysctl", key, rule));
        }
        let key = SysctlKey { key: key.to_string() };
        key.file("eth0").map_err(|_| refuse(&label, "sysctl", &key.key, rule))?;
        Ok(key)
    }

    /// The key as written.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The /proc/sys file of this key for interface `ifname` (a name the
    /// environment check let through).
    pub fn file(&self, ifname: &str) -> Result<String, CniError> {
        // As the reference: every dot becomes a slash, then `IFNAME` the
        // interface; so no `..` can remain, and empty parts are ignored
        // as by the kernel.
        let key = self.key.replace('.', "/").replacen("IFNAME", ifname, 1);
        let file = format!("/proc/sys/{}", key.trim_start_matches('/'));
        let normal: Vec<&str> = file.split('/').filter(|p| !p.is_empty()).collect();
        if normal.get(..3) != Some(&["proc", "sys", "net"][..]) || normal.len() < 4 {
            return Err(CniError::config(format!("invalid net sysctl key: {key:?}")));
        }
        Ok(file)
    }
}

impl fmt::Display for SysctlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

checked_string!(
    /// One file name inside a directory of the plugin's choosing (a PCI
    /// address under /sys/bus/pci/devices): no `/`, not `.` or `..`, no
    /// control characters, at most 255 bytes.
    FileName
);

impl FileName {
    /// Checks `name`, the value of netconf key `key`.
    pub fn new(key: &str, name: &str) -> Result<FileName, CniError> {
        let bad = name.is_empty()
            || name.len() > FILE_NAME_MAX
            || name == "."
            || name == ".."
            || name.contains('/')
            || has_control(name);
        if bad {
            return Err(refuse(key, "file name", name, "one path component: no '/', not \".\" or \"..\""));
        }
        Ok(FileName(name.to_string()))
    }
}

checked_string!(
    /// An absolute path below a fixed root, with no `.` or `..` part, so it
    /// cannot leave that root (host-device's `kernelpath` under
    /// /sys/devices/).
    PathUnder
);

impl PathUnder {
    /// Checks that `path`, the value of netconf key `key`, lies below `root`.
    pub fn new(key: &str, root: &str, path: &str) -> Result<PathUnder, CniError> {
        let rule = format!("must be absolute and begin with {root}, without \".\" or \"..\" parts");
        let inside = path.strip_prefix(root).is_some_and(|rest| !rest.is_empty());
        let parts_ok = path.split('/').all(|p| p != "." && p != "..");
        if !inside || !parts_ok || has_control(path) || path.len() > 4096 {
            return Err(refuse(key, "path", path, &rule));
        }
        Ok(PathUnder(path.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hostile values every check must refuse, whatever the key.
    fn hostile() -> Vec<String> {
        vec!["a\nb".into(), "a\0b".into(), "x".repeat(65536), "".into()]
    }

    #[test]
    fn link_names_follow_the_kernel() {
        assert_eq!(&*LinkName::new("master", "eth0").unwrap(), "eth0");
        assert!(LinkName::new("master", "abcdefghijklmno").is_ok());
        assert!(LinkName::new("master", "a\"b").is_ok(), "the kernel takes quotes");
        for bad in
            hostile().into_iter().chain(["..".into(), ".".into(), "a/b".into(), "a:b".into(), "a b".into()])
        {
            let err = LinkName::new("master", &bad).unwrap_err();
            assert_eq!(err.code, 7);
            assert!(err.msg.starts_with("key \"master\": invalid interface name"), "{}", err.msg);
            assert!(err.msg.len() < 300, "the error shows a bounded part of the value");
        }
        assert!(LinkName::optional("bridge", "").unwrap().is_none());
    }

    #[test]
    fn chain_names_are_one_iptables_word() {
        assert!(ChainName::new("iptablesAdminChainName", "CNI-ADMIN").is_ok());
        for bad in
            hostile().into_iter().chain(["A\"B".into(), "A'B".into(), "-A".into(), "!x".into(), "A B".into()])
        {
            assert_eq!(ChainName::new("iptablesAdminChainName", &bad).unwrap_err().code, 7, "{bad:?}");
        }
        assert!(ChainName::new("k", &"A".repeat(28)).is_ok());
        assert!(ChainName::new("k", &"A".repeat(29)).is_err());
    }

    #[test]
    fn restore_words_stay_single_arguments() {
        let words =
            RestoreWords::new("conditionsV4", &["-s".into(), "10.0.0.0/8".into(), "a \"b\\".into()]).unwrap();
        assert_eq!(words.to_restore_input(), " -s 10.0.0.0/8 \"a \\\"b\\\\\"");
        for bad in ["a\nb", "a\rb", "a\0b"] {
            assert_eq!(RestoreWords::new("conditionsV4", &[bad.into()]).unwrap_err().code, 7);
        }
    }

    #[test]
    fn nft_expressions_cannot_end_the_rule() {
        assert_eq!(
            &*NftExpr::new("conditionsV4", &["ip saddr { 10.0.0.0/8 }".into()]).unwrap(),
            "ip saddr { 10.0.0.0/8 }"
        );
        for bad in ["x; add rule ip t c drop", "x\nflush ruleset", "x # c", "a\0b"] {
            assert_eq!(NftExpr::new("conditionsV4", &[bad.into()]).unwrap_err().code, 7, "{bad:?}");
        }
    }

    #[test]
    fn sysctl_files_stay_under_net() {
        let file = |k: &str| SysctlKey::new("sysctl", k).and_then(|k| k.file("eth0"));
        assert_eq!(
            file("net.ipv4.conf.IFNAME.forwarding").unwrap(),
            "/proc/sys/net/ipv4/conf/eth0/forwarding"
        );
        assert_eq!(file("net/core/somaxconn").unwrap(), "/proc/sys/net/core/somaxconn");
        for bad in
            ["kernel.hostname", "net", "/..", "net/../kernel/hostname", "net.a\nb", "net.a\0b", "net.a\"b"]
        {
            let err = SysctlKey::new("sysctl", bad).unwrap_err();
            assert!(err.msg.contains("key \"sysctl."), "{}", err.msg);
        }
        assert!(SysctlKey::new("sysctl", &format!("net.{}", "a".repeat(65536))).is_err());
    }

    #[test]
    fn file_names_and_paths_stay_where_they_are_put() {
        assert!(FileName::new("pciBusID", "0000:00:1f.6").is_ok());
        for bad in ["..", ".", "../../etc", "a/b", "a\0b", ""] {
            assert!(FileName::new("pciBusID", bad).is_err(), "{bad:?}");
        }
        assert!(PathUnder::new("kernelpath", "/sys/devices/", "/sys/devices/pci0000:00/0000:00:1f.6").is_ok());
        for bad in ["/sys/devices/../../etc", "/etc", "/sys/devices/", "/sys/devices/x\n"] {
            assert!(PathUnder::new("kernelpath", "/sys/devices/", bad).is_err(), "{bad:?}");
        }
    }
}
