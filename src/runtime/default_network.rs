//! The network `cnictl run` uses when none is named and none is configured:
//! the bridge network of the original CNI README (bridge `cni0`,
//! host-local `10.22.0.0/16`, the bridge as gateway, masquerading, a
//! default route). `cnictl default-network install` writes it into the
//! config dir for the operator to edit; from then on that copy is used.

use std::path::Path;

use color_eyre::eyre::{eyre, Result};

use super::config::NetworkList;

/// The default network's name.
pub const NAME: &str = "cnictl-default";

/// The file name `install` writes into the config dir.
pub const FILE_NAME: &str = "99-cnictl-default.conflist";

/// The default network, as a conflist.
pub const CONFLIST: &str = r#"{
    "cniVersion": "1.0.0",
    "name": "cnictl-default",
    "plugins": [
        {
            "type": "bridge",
            "bridge": "cni0",
            "isGateway": true,
            "ipMasq": true,
            "ipam": {
                "type": "host-local",
                "subnet": "10.22.0.0/16",
                "routes": [
                    { "dst": "0.0.0.0/0" }
                ]
            }
        }
    ]
}
"#;

/// The default network, parsed.
pub fn network() -> Result<NetworkList> {
    cni::conflist::parse_conflist(CONFLIST.as_bytes(), Path::new("<embedded default network>"))
        .map_err(|e| eyre!(e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_network_parses() {
        let list = super::network().unwrap();
        assert_eq!(list.name, super::NAME);
        assert_eq!(list.plugins.len(), 1);
    }
}
