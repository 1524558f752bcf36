//! The one netlink layer: links and addresses over rtnetlink.
//!
//! A `Netlink` owns a current-thread runtime and a route socket opened in
//! the namespace of the thread that creates it. Plugins open one inside
//! `Netns::run` for container-side work and one on their own thread for
//! host-side work. Calls block; nothing async leaks out of this module.

use futures::stream::TryStreamExt;
use ipnetwork::IpNetwork;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{LinkFlags, LinkMessage};
use rtnetlink::{Handle, LinkUnspec};

use crate::error::CniError;

/// A blocking netlink session in the current thread's namespace.
pub struct Netlink {
    runtime: tokio::runtime::Runtime,
    handle: Handle,
}

/// What we need to know about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Kernel interface index.
    pub index: u32,
    /// Whether the administrative UP flag is set.
    pub up: bool,
}

fn nl_error(what: &str, err: impl std::fmt::Display) -> CniError {
    CniError::internal(format!("netlink: {what}: {err}"))
}

/// True when a netlink error is "no such device" (ENODEV).
fn is_no_device(err: &rtnetlink::Error) -> bool {
    matches!(err, rtnetlink::Error::NetlinkError(msg)
        if msg.code.map(|c| c.get()) == Some(-libc::ENODEV))
}

impl Netlink {
    /// Opens a route netlink socket in the calling thread's namespace.
    pub fn open() -> Result<Netlink, CniError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| nl_error("start runtime", e))?;
        let handle = {
            let _guard = runtime.enter();
            let (connection, handle, _) =
                rtnetlink::new_connection().map_err(|e| nl_error("open socket", e))?;
            runtime.spawn(connection);
            handle
        };
        Ok(Netlink { runtime, handle })
    }

    /// Looks a link up by name; `None` when it does not exist.
    pub fn link_by_name(&self, name: &str) -> Result<Option<Link>, CniError> {
        let result: Result<Option<LinkMessage>, rtnetlink::Error> = self.runtime.block_on(async {
            self.handle.link().get().match_name(name.to_string()).execute().try_next().await
        });
        match result {
            Ok(Some(msg)) => {
                Ok(Some(Link { index: msg.header.index, up: msg.header.flags.contains(LinkFlags::Up) }))
            }
            Ok(None) => Ok(None),
            Err(e) if is_no_device(&e) => Ok(None),
            Err(e) => Err(nl_error(&format!("look up link {name:?}"), e)),
        }
    }

    /// Sets a link administratively up or down.
    pub fn set_link_up(&self, index: u32, up: bool) -> Result<(), CniError> {
        let builder = LinkUnspec::new_with_index(index);
        let message = if up { builder.up() } else { builder.down() }.build();
        self.runtime
            .block_on(async { self.handle.link().set(message).execute().await })
            .map_err(|e| nl_error(&format!("set link {index} {}", if up { "up" } else { "down" }), e))
    }

    /// The addresses on a link, with prefix lengths.
    pub fn addresses(&self, index: u32) -> Result<Vec<IpNetwork>, CniError> {
        self.runtime.block_on(async {
            let mut stream = self.handle.address().get().set_link_index_filter(index).execute();
            let mut found = Vec::new();
            while let Some(msg) = stream.try_next().await.map_err(|e| nl_error("list addresses", e))? {
                let prefix = msg.header.prefix_len;
                for attr in &msg.attributes {
                    if let AddressAttribute::Address(ip) = attr {
                        if let Ok(net) = IpNetwork::new(*ip, prefix) {
                            found.push(net);
                        }
                    }
                }
            }
            Ok(found)
        })
    }
}
