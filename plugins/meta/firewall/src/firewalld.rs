//! The firewalld backend: over D-Bus on the system bus, ADD puts each
//! container address into a firewalld zone as a source, DEL takes it out,
//! CHECK asks whether it is there, as the reference's firewalld backend
//! does (its calls, zone default and address form).
//!
//! firewalld is "running" when its well-known name has an owner on the
//! bus. The bus is the one `DBUS_SYSTEM_BUS_ADDRESS` names, else the
//! system bus's socket; with neither there is no firewalld.

use std::time::Duration;

use cni::CniError;
use ipnetwork::IpNetwork;
use zbus::blocking::Connection;

/// firewalld's bus name and object.
const NAME: &str = "org.fedoraproject.FirewallD1";
const PATH: &str = "/org/fedoraproject/FirewallD1";
/// The interface of the zone methods.
const ZONE_INTERFACE: &str = "org.fedoraproject.FirewallD1.zone";

/// The zone when the netconf names none (the reference's default).
pub const DEFAULT_ZONE: &str = "trusted";

/// How long one call may take (D-Bus's usual default).
const CALL_WAIT: Duration = Duration::from_secs(25);

/// A connection to a running firewalld.
pub struct Firewalld {
    conn: Connection,
}

/// A source as the reference writes it: the address alone, as a /32 or /128.
pub fn source(address: &IpNetwork) -> String {
    match address {
        IpNetwork::V4(a) => format!("{}/32", a.ip()),
        IpNetwork::V6(a) => format!("{}/128", a.ip()),
    }
}

/// The firewalld error code a method error starts with (firewalld puts
/// its codes, such as `ZONE_ALREADY_SET`, first in the error's text).
fn error_code(err: &zbus::Error) -> Option<&str> {
    match err {
        zbus::Error::MethodError(_, Some(detail), _) => detail.split(':').next().map(str::trim),
        _ => None,
    }
}

impl Firewalld {
    /// The running firewalld, or why there is none.
    pub fn connect() -> Result<Firewalld, String> {
        let conn = zbus::blocking::connection::Builder::system()
            .and_then(|b| b.method_timeout(CALL_WAIT).build())
            .map_err(|e| format!("no D-Bus system bus: {e}"))?;
        let owner = conn.call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "GetNameOwner",
            &(NAME,),
        );
        match owner {
            Ok(_) => Ok(Firewalld { conn }),
            Err(e) => Err(format!("firewalld is not on the system bus: {e}")),
        }
    }

    fn call<B>(&self, method: &str, body: &B) -> Result<zbus::Message, zbus::Error>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.conn.call_method(Some(NAME), PATH, Some(ZONE_INTERFACE), method, body)
    }

    /// Adds `address` to `zone` (already there is no error, as in the reference).
    pub fn add_source(&self, zone: &str, address: &IpNetwork) -> Result<(), CniError> {
        let source = source(address);
        match self.call("addSource", &(zone, source.as_str())) {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ZONE_ALREADY_SET") => Ok(()),
            Err(e) => {
                Err(CniError::internal(format!("failed to add the address {source} to {zone} zone: {e}")))
            }
        }
    }

    /// Removes `address` from `zone`; what firewalld refuses (not there,
    /// in another zone) is reported on stderr and not an error, as the
    /// reference ignores it: DEL must succeed.
    pub fn remove_source(&self, zone: &str, address: &IpNetwork) {
        let source = source(address);
        match self.call("removeSource", &(zone, source.as_str())) {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("UNKNOWN_SOURCE") => {}
            Err(e) => eprintln!("firewall: removing {source} from firewalld zone {zone}: {e}"),
        }
    }

    /// Whether `address` is a source of `zone`.
    pub fn has_source(&self, zone: &str, address: &IpNetwork) -> Result<bool, CniError> {
        let source = source(address);
        let reply = self.call("querySource", &(zone, source.as_str())).map_err(|e| {
            CniError::internal(format!("failed to find the address {source} in {zone} zone: {e}"))
        })?;
        reply
            .body()
            .deserialize::<bool>()
            .map_err(|e| CniError::internal(format!("firewalld's querySource answer for {source}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_host_addresses() {
        assert_eq!(source(&"10.1.2.3/24".parse().unwrap()), "10.1.2.3/32");
        assert_eq!(source(&"fd00::5/64".parse().unwrap()), "fd00::5/128");
    }
}
