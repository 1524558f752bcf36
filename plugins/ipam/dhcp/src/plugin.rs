//! The `dhcp` IPAM plugin: each verb is one call to the daemon, which does
//! the DHCP exchanges and keeps the leases. The plugin checks the netconf
//! first, so bad input is refused without the daemon.

use cni::env::CmdArgs;
use cni::skel::Plugin;
use cni::{CniError, CniResult, ErrorCode};

use crate::config;
use crate::gorpc;
use crate::protocol::{self, CallError, Request, Verb, PROTOCOL};
use crate::store::{self, Store};

/// The dhcp IPAM plugin.
pub struct Dhcp;

fn request(verb: Verb, args: &CmdArgs) -> Request {
    Request {
        protocol: PROTOCOL.to_string(),
        verb,
        container_id: args.container_id.clone(),
        netns: args.netns.clone(),
        ifname: args.ifname.clone(),
        cni_args: args.args.clone(),
        config: String::from_utf8_lossy(&args.stdin).into_owned(),
    }
}

/// One call; a daemon that cannot be reached is `unreachable_code`. A
/// reference daemon on the socket is called in its own protocol.
fn call(
    socket: &str,
    verb: Verb,
    args: &CmdArgs,
    unreachable_code: ErrorCode,
) -> Result<Option<serde_json::Value>, CniError> {
    match protocol::call(socket, &request(verb, args)) {
        Ok(response) => protocol::outcome(response),
        Err(CallError::GoDaemon) => call_reference_daemon(socket, verb, args),
        Err(e) => Err(e.to_cni(socket, unreachable_code)),
    }
}

/// A verb as the reference's plugin makes it of the reference's daemon:
/// ADD and CHECK call Allocate (the lease held, or a new one), DEL calls
/// Release. That daemon has no GC (its leases stay its own: nothing is
/// asked of it) and answering is its STATUS.
fn call_reference_daemon(
    socket: &str,
    verb: Verb,
    args: &CmdArgs,
) -> Result<Option<serde_json::Value>, CniError> {
    let request = request(verb, args);
    match verb {
        Verb::Add => gorpc::call(socket, gorpc::ALLOCATE, &request, protocol::ANSWER_WAIT),
        Verb::Check => gorpc::call(socket, gorpc::ALLOCATE, &request, protocol::ANSWER_WAIT).map(|_| None),
        Verb::Del => gorpc::call(socket, gorpc::RELEASE, &request, protocol::ANSWER_WAIT),
        Verb::Gc => {
            eprintln!(
                "dhcp: the daemon on {socket} is the reference's, which has no GC: its leases are left to it"
            );
            Ok(None)
        }
        Verb::Status => Ok(None),
    }
}

impl Plugin for Dhcp {
    fn name(&self) -> &'static str {
        "dhcp"
    }

    /// An IPAM plugin runs inside its main plugin's ADD or DEL, which
    /// holds the attachment's lock.
    fn serializes_attachment(&self) -> bool {
        false
    }

    fn validate(&self, args: &CmdArgs) -> Result<(), CniError> {
        config::load(&args.stdin, &args.args).map(drop)
    }

    fn add(&self, args: &CmdArgs) -> Result<CniResult, CniError> {
        let conf = config::load(&args.stdin, &args.args)?;
        let result = call(&conf.socket_path, Verb::Add, args, ErrorCode::TryAgainLater)?
            .ok_or_else(|| CniError::internal("the dhcp daemon answered ADD without a result"))?;
        CniResult::from_json(&result, cni::version::CURRENT)
    }

    /// DEL with no daemon succeeds when no lease of this attachment is on
    /// disk (there is nothing to release); with one, it is code 11 so the
    /// runtime tries again once the daemon runs.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError> {
        let (name, socket) = config::load_del(&args.stdin);
        match protocol::call(&socket, &request(Verb::Del, args)) {
            Ok(response) => protocol::outcome(response).map(drop),
            Err(CallError::GoDaemon) => call_reference_daemon(&socket, Verb::Del, args).map(drop),
            Err(e @ CallError::NotRunning(_)) => {
                let key = store::key(&args.container_id, &name, &args.ifname);
                let file = Store::path_in(std::path::Path::new(store::DEFAULT_LEASE_DIR), &key);
                if file.exists() {
                    return Err(e.to_cni(&socket, ErrorCode::TryAgainLater));
                }
                eprintln!("dhcp: no daemon on {socket} and no lease of {key}: nothing to release");
                Ok(())
            }
            Err(e) => Err(e.to_cni(&socket, ErrorCode::Internal)),
        }
    }

    fn check(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(&args.stdin, &args.args)?;
        call(&conf.socket_path, Verb::Check, args, ErrorCode::TryAgainLater).map(drop)
    }

    fn gc(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(&args.stdin, &args.args)?;
        call(&conf.socket_path, Verb::Gc, args, ErrorCode::TryAgainLater).map(drop)
    }

    /// STATUS: code 50 when the daemon does not answer, naming the socket
    /// and how to start it.
    fn status(&self, args: &CmdArgs) -> Result<(), CniError> {
        let conf = config::load(&args.stdin, &args.args)?;
        call(&conf.socket_path, Verb::Status, args, ErrorCode::PluginNotAvailable).map(drop)
    }
}
