//! The plugins the multicall binary carries, as one table: the binary
//! dispatches on it, and the fuzz targets reach every plugin through it.

use cni::skel::Plugin;

/// Every plugin this binary carries, by type name.
pub static PLUGINS: [&dyn Plugin; 18] = [
    &bridge::Bridge,
    &ptp::Ptp,
    &loopback::Loopback,
    &host_local::HostLocal,
    &r#static::Static,
    &dhcp::Dhcp,
    &tuning::Tuning,
    &firewall::Firewall,
    &portmap::Portmap,
    &bandwidth::Bandwidth,
    &macvlan::Macvlan,
    &ipvlan::Ipvlan,
    &vlan::Vlan,
    &dummy::Dummy,
    &host_device::HostDevice,
    &sbr::Sbr,
    &vrf::Vrf,
    &tap::Tap,
];

/// The table, by value.
pub fn plugins() -> [&'static dyn Plugin; 18] {
    PLUGINS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_table_matches_the_published_list() {
        let names: Vec<&str> = plugins().iter().map(|p| p.name()).collect();
        assert_eq!(names, cni::BUILTIN_PLUGIN_TYPES);
    }
}
