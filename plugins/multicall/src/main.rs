//! The multicall plugin binary: one file that is every plugin.
//!
//! Runtimes exec `$CNI_PATH/<type>`; with `bridge`, `host-local`, ... as
//! links to this file, it dispatches on the name it was run as. Run under
//! its own name it lists the plugins it carries, and `install` puts it
//! into a plugin directory (`install.rs`).

mod install;

use multicall::{plugins, PLUGINS};

fn invoked_as() -> String {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    std::path::Path::new(&argv0).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn main() {
    let name = invoked_as();
    // IPAM calls to plugins of this very binary then run in-process.
    cni::ipam::register_in_process(&PLUGINS);
    // VALIDATE then also checks an IPAM section whose plugin is one of these.
    cni::skel::carry(&PLUGINS);
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    // `dhcp daemon [flags]`: the dhcp plugin's daemon, in the same binary
    // as in the reference.
    if name == "dhcp" && args.first().map(String::as_str) == Some("daemon") {
        std::process::exit(dhcp::daemon::main(&args[1..]));
    }
    if let Some(plugin) = plugins().into_iter().find(|p| p.name() == name) {
        std::process::exit(cni::skel::run(plugin));
    }
    if name == cni::MULTICALL_BINARY && args.first().map(String::as_str) == Some("install") {
        std::process::exit(install::run(&args[1..]));
    }
    if name != cni::MULTICALL_BINARY {
        // Run as a plugin we do not carry: answer a runtime in its own terms.
        let err = cni::CniError::config(format!("this plugin binary carries no plugin named {name:?}"))
            .with_details(format!("plugins: {}", cni::BUILTIN_PLUGIN_TYPES.join(" ")));
        println!("{}", err.to_json(cni::version::CURRENT));
        std::process::exit(1);
    }
    println!("{}: the cnictl CNI plugins in one binary (version {}).", name, env!("CARGO_PKG_VERSION"));
    println!("Install it in a CNI plugin directory with a link for each plugin:");
    println!("  {name} install [--list] [--force] [DIR]   (DIR: /opt/cni/bin)");
    println!("The dhcp plugin's daemon is its link run as `dhcp daemon [-socketpath PATH] ...` (-h for all flags).");
    println!("Plugins: {}", cni::BUILTIN_PLUGIN_TYPES.join(" "));
}
