# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cnictl_global_optspecs
    string join \n conf-dir= cni-path= cache-dir= o/output= h/help V/version
end

function __fish_cnictl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cnictl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cnictl_using_subcommand
    set -l cmd (__fish_cnictl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cnictl -n "__fish_cnictl_needs_command" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_needs_command" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_needs_command" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_needs_command" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_needs_command" -s V -l version -d 'Print version'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "add" -d 'Attach a network namespace to a network (runs the chain\'s ADD), or with --dry-run say what the ADD would make, changing nothing'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "del" -d 'Detach a network namespace from a network (runs the chain\'s DEL)'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "check" -d 'Verify an attachment (runs the chain\'s CHECK; with --deep, also what decides whether its packets leave the host and return)'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "gc" -d 'Delete the stale attachments of a network, or of every network, and let the plugins clean up'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "status" -d 'Ask a network\'s plugins whether they can serve new attachments'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "run" -d 'Run a command in a new network namespace attached to a network, then detach and remove the namespace (also on failure and on signals)'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "docker-run" -d 'Run a Docker container on a CNI network: a pause container holds the namespace, the network is added to it, the container joins it; all is removed when the container exits'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "netns" -d 'Manage named network namespaces (/var/run/netns, as `ip netns`)'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "default-network" -d 'Show or install the network `cnictl run` uses when none is named'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "network" -d 'Create, remove and reload networks (conflists in the config dir), as `podman network` does'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "list" -d 'List the networks in the config dir: file, version, plugins, subnets, state'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "ls" -d 'List the networks in the config dir: file, version, plugins, subnets, state'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "show" -d 'Show one network as it resolves, its capabilities and live attachments'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "attachments" -d 'List live attachments from the result cache'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "ps" -d 'List live attachments from the result cache'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "inspect" -d 'Show attachments as the kernel holds them: interfaces, host veth, port mappings against their rules, bandwidth, firewall, config drift'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "port" -d 'List an attachment\'s port mappings, or the host address and port that a private port is published on, as `podman port` prints them'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "plugins" -d 'List the plugins in the plugin path and the spec versions they support'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "validate" -d 'Check a network (by name) or a config file: parsing, plugins, versions, lint'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "doctor" -d 'Look for what keeps networks from working on this host, with fixes'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "log" -d 'Show what the plugins did: every ADD, DEL, CHECK and GC (and each change of a STATUS answer), read back from the systemd journal'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "explain" -d 'Say what an ADD of a network would make, plugin by plugin, changing nothing: bridge, gateway, the address host-local would hand out, NAT backend, DNAT rules, tc limits (as `add --dry-run`, without a netns)'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "__complete" -d 'Names for the shell completion scripts: the networks, namespaces.. that fit word INDEX of WORDS (the command line being completed), one a line; nothing where the shell\'s own completion applies'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "generate-docs" -d 'Write completions (bash, zsh, fish) and man pages into DIR/completions and DIR/man'
complete -c cnictl -n "__fish_cnictl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -s i -l ifname -d 'Interface name inside the namespace [env: CNI_IFNAME]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -l args -d 'CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE [env: CNI_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -l cap-args -d 'Capability arguments as a JSON object, e.g. \'{"portMappings":[...]}\' [env: CAP_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -l container-id -d 'Container ID. Default: derived from the netns path as cnitool does' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -s o -l output -d 'How to print the result: `table`, a table of its interfaces and addresses; `json` (and without -o) the CNI result, as cnitool prints it. With --dry-run, the plan: a table unless `json`' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -l dry-run -d 'Print what each plugin of the chain would make (bridge, veth, addresses, rules, limits) and change nothing: no reservation, link, rule, cache entry or netns. The netns must exist, as for the ADD. Exits 1 when the ADD would fail'
complete -c cnictl -n "__fish_cnictl_using_subcommand add" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -s i -l ifname -d 'Interface name inside the namespace [env: CNI_IFNAME]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -l args -d 'CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE [env: CNI_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -l cap-args -d 'Capability arguments as a JSON object, e.g. \'{"portMappings":[...]}\' [env: CAP_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -l container-id -d 'Container ID. Default: derived from the netns path as cnitool does' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand del" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -s i -l ifname -d 'Interface name inside the namespace [env: CNI_IFNAME]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -l args -d 'CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE [env: CNI_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -l cap-args -d 'Capability arguments as a JSON object, e.g. \'{"portMappings":[...]}\' [env: CAP_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -l container-id -d 'Container ID. Default: derived from the netns path as cnitool does' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -l to -d 'With --deep: the outside address whose route is looked up (no packet is sent to it). Default: 192.0.2.1 and 2001:db8::1 (documentation addresses, routed as any address outside the host)' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -l deep -d 'After the plugins\' CHECK, check the data plane of the attachment from its cached result: forwarding and rp_filter sysctls, the routes the kernel picks (asked of it; no packet is sent), the FORWARD hook\'s policy and rules (iptables and nftables), its masquerade rule, the host veth and bridge, each port mapping\'s DNAT rule. Each finding comes with its fix; exit 1 when one fails'
complete -c cnictl -n "__fish_cnictl_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand gc" -l valid -d 'An attachment to keep, as CONTAINER_ID/IFNAME (repeatable). Without any, every cached attachment whose netns still exists is kept' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand gc" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand gc" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand gc" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand gc" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand gc" -l dry-run -d 'List what would be removed, and why, and change nothing'
complete -c cnictl -n "__fish_cnictl_using_subcommand gc" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand status" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand status" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand status" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand status" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand status" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -s i -l ifname -d 'Interface name inside the namespace [env: CNI_IFNAME]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -l args -d 'CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE [env: CNI_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -l cap-args -d 'Capability arguments as a JSON object, e.g. \'{"portMappings":[...]}\' [env: CAP_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -s q -l quiet -d 'Print nothing but the command\'s own output'
complete -c cnictl -n "__fish_cnictl_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -l net -d 'Network name. Default: as for `run`' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -l ifname -d 'Interface name inside the container [env: CNI_IFNAME]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -l args -d 'CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE [env: CNI_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -l cap-args -d 'Capability arguments as a JSON object [env: CAP_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -l pause-image -d 'Image of the pause container (needs /bin/sleep; pulled when docker does not have it)' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand docker-run" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -f -a "add" -d 'Create a named network namespace (with lo down, as `ip netns add`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -f -a "del" -d 'Delete named network namespaces'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -f -a "delete" -d 'Delete named network namespaces'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -f -a "list" -d 'List named network namespaces'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -f -a "ls" -d 'List named network namespaces'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -f -a "exec" -d 'Run a command inside a named namespace (or a netns path), as `ip netns exec NAME COMMAND...`; a `--` before the command is optional'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and not __fish_seen_subcommand_from add del delete list ls exec help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from add" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from add" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from add" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from add" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from del" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from del" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from del" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from del" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from del" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from delete" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from delete" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from delete" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from list" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from list" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from list" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from list" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from ls" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from ls" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from ls" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from exec" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from exec" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from exec" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from exec" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from exec" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create a named network namespace (with lo down, as `ip netns add`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from help" -f -a "del" -d 'Delete named network namespaces'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from help" -f -a "list" -d 'List named network namespaces'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from help" -f -a "exec" -d 'Run a command inside a named namespace (or a netns path), as `ip netns exec NAME COMMAND...`; a `--` before the command is optional'
complete -c cnictl -n "__fish_cnictl_using_subcommand netns; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and not __fish_seen_subcommand_from show install help" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and not __fish_seen_subcommand_from show install help" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and not __fish_seen_subcommand_from show install help" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and not __fish_seen_subcommand_from show install help" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and not __fish_seen_subcommand_from show install help" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and not __fish_seen_subcommand_from show install help" -f -a "show" -d 'Print the default network\'s conflist'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and not __fish_seen_subcommand_from show install help" -f -a "install" -d 'Write it into the config dir as 99-cnictl-default.conflist, to edit'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and not __fish_seen_subcommand_from show install help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from show" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from show" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from show" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from show" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from install" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from install" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from install" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from install" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from install" -l force -d 'Replace an existing file'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the default network\'s conflist'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from help" -f -a "install" -d 'Write it into the config dir as 99-cnictl-default.conflist, to edit'
complete -c cnictl -n "__fish_cnictl_using_subcommand default-network; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -f -a "create" -d 'Write a new bridge network, NAME.conflist, into the config dir: a free subnet unless one is given, a bridge of its own, podman\'s chain'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -f -a "rm" -d 'Remove a network with no attachments: its file, then its bridge and what its plugins left on the host after the last attachment'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -f -a "remove" -d 'Remove a network with no attachments: its file, then its bridge and what its plugins left on the host after the last attachment'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -f -a "reload" -d 'Re-apply the host-side rules of live attachments (masquerade, port mappings, firewall) after a firewall flush, as `podman network reload`'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -f -a "ls" -d 'The networks of the config dir (as `cnictl list`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -f -a "list" -d 'The networks of the config dir (as `cnictl list`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -f -a "inspect" -d 'One network and its attachments (as `cnictl show`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and not __fish_seen_subcommand_from create rm remove reload ls list inspect help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l subnet -d 'A subnet for host-local, e.g. 10.89.3.0/24; twice for IPv4 and IPv6. Default: the first free /24 of the pool' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l gateway -d 'The gateway of a --subnet (once per subnet, in order). Default: its first address' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l bridge -d 'The bridge\'s name. Default: the first free cni-podmanN' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l subnet-pool -d 'Where free IPv4 subnets are looked for, a /24 at a time. Default: podman\'s pools, 10.89.0.0/24 up to 10.255.255.0/24' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l ipv6 -d 'Also an IPv6 subnet: a random free fdXX::/64 unless --subnet gives one'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l internal -d 'No way out: the bridge is no gateway, no masquerade, no default route'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l portmap -d 'Add portmap (capability portMappings)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l bandwidth -d 'Add bandwidth (capability bandwidth)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -l firewall -d 'Add firewall'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from rm" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from rm" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from rm" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from rm" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from remove" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from remove" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from remove" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from remove" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from reload" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from reload" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from reload" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from reload" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from reload" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from ls" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from ls" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from ls" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from list" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from list" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from list" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from list" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from inspect" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from inspect" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from inspect" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from inspect" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "create" -d 'Write a new bridge network, NAME.conflist, into the config dir: a free subnet unless one is given, a bridge of its own, podman\'s chain'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove a network with no attachments: its file, then its bridge and what its plugins left on the host after the last attachment'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "reload" -d 'Re-apply the host-side rules of live attachments (masquerade, port mappings, firewall) after a firewall flush, as `podman network reload`'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "ls" -d 'The networks of the config dir (as `cnictl list`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "inspect" -d 'One network and its attachments (as `cnictl show`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand network; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cnictl -n "__fish_cnictl_using_subcommand list" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand list" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand list" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand list" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand ls" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand ls" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand ls" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand ls" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand show" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand show" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand show" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand show" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -l network -d 'Only attachments of this network' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -l netns -d 'Only attachments of this namespace: a name under /var/run/netns or a path' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -l ip -d 'Only the attachment that has this address in its cached result' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -l port -d 'Only attachments publishing this host port' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand attachments" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -l network -d 'Only attachments of this network' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -l netns -d 'Only attachments of this namespace: a name under /var/run/netns or a path' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -l ip -d 'Only the attachment that has this address in its cached result' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -l port -d 'Only attachments publishing this host port' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand ps" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand inspect" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand inspect" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand inspect" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand inspect" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand port" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand port" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand port" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand port" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand port" -s a -l all -d 'Every cached attachment\'s mappings, each line led by its short container ID'
complete -c cnictl -n "__fish_cnictl_using_subcommand port" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand plugins" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand plugins" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand plugins" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand plugins" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand plugins" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand validate" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand validate" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand validate" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand validate" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand validate" -l strict -d 'Exit non-zero on warnings too (unknown keys, overlapping subnets..), for CI'
complete -c cnictl -n "__fish_cnictl_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand doctor" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand doctor" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand doctor" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand doctor" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l network -d 'Only this network\'s operations' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l container -d 'Only the operations of containers whose ID starts with this' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l verb -d 'Only one verb (ADD, DEL, CHECK, GC, STATUS)' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l since -d 'From this time on, as journalctl reads it ("2026-12-06 03:00", "1 hour ago", "today")' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l until -d 'Up to this time, as journalctl reads it' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -s n -l lines -d 'Only the last N operations' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l namespace -d 'Read this journald namespace\'s journal (journalctl --namespace)' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l directory -d 'Read the journal files in this directory (journalctl --directory), e.g. another node\'s' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -l failed -d 'Only the calls that failed'
complete -c cnictl -n "__fish_cnictl_using_subcommand log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -s i -l ifname -d 'Interface name inside the namespace [env: CNI_IFNAME]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -l args -d 'CNI_ARGS for the plugins, as KEY=VALUE;KEY=VALUE [env: CNI_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -l cap-args -d 'Capability arguments as a JSON object, e.g. \'{"portMappings":[...]}\' [env: CAP_ARGS]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -l container-id -d 'Container ID the per-container names (portmap\'s chain, bandwidth\'s ifb, rule comments) are derived from. Default: a placeholder' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand explain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cnictl -n "__fish_cnictl_using_subcommand completions" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand completions" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand completions" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand completions" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand __complete" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand __complete" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand __complete" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand __complete" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand __complete" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand generate-docs" -l conf-dir -d 'Directory holding network configurations (*.conflist, *.conf, *.json) [env: NETCONFPATH]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand generate-docs" -l cni-path -d 'Plugin search path, colon separated. Default: cnictl\'s own directory, /opt/cni/bin, /usr/libexec/cni, /usr/lib/cni [env: CNI_PATH]' -r
complete -c cnictl -n "__fish_cnictl_using_subcommand generate-docs" -l cache-dir -d 'Where the result cache lives (results/ below it) [env: CNI_CACHE_DIR]' -r -F
complete -c cnictl -n "__fish_cnictl_using_subcommand generate-docs" -s o -l output -d 'Output of the views: aligned columns, or JSON for scripts' -r -f -a "table\t'Aligned columns (the default)'
json\t'JSON, for scripts'"
complete -c cnictl -n "__fish_cnictl_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "add" -d 'Attach a network namespace to a network (runs the chain\'s ADD), or with --dry-run say what the ADD would make, changing nothing'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "del" -d 'Detach a network namespace from a network (runs the chain\'s DEL)'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "check" -d 'Verify an attachment (runs the chain\'s CHECK; with --deep, also what decides whether its packets leave the host and return)'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "gc" -d 'Delete the stale attachments of a network, or of every network, and let the plugins clean up'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "status" -d 'Ask a network\'s plugins whether they can serve new attachments'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "run" -d 'Run a command in a new network namespace attached to a network, then detach and remove the namespace (also on failure and on signals)'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "docker-run" -d 'Run a Docker container on a CNI network: a pause container holds the namespace, the network is added to it, the container joins it; all is removed when the container exits'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "netns" -d 'Manage named network namespaces (/var/run/netns, as `ip netns`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "default-network" -d 'Show or install the network `cnictl run` uses when none is named'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "network" -d 'Create, remove and reload networks (conflists in the config dir), as `podman network` does'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "list" -d 'List the networks in the config dir: file, version, plugins, subnets, state'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "show" -d 'Show one network as it resolves, its capabilities and live attachments'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "attachments" -d 'List live attachments from the result cache'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "inspect" -d 'Show attachments as the kernel holds them: interfaces, host veth, port mappings against their rules, bandwidth, firewall, config drift'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "port" -d 'List an attachment\'s port mappings, or the host address and port that a private port is published on, as `podman port` prints them'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "plugins" -d 'List the plugins in the plugin path and the spec versions they support'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "validate" -d 'Check a network (by name) or a config file: parsing, plugins, versions, lint'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "doctor" -d 'Look for what keeps networks from working on this host, with fixes'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "log" -d 'Show what the plugins did: every ADD, DEL, CHECK and GC (and each change of a STATUS answer), read back from the systemd journal'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "explain" -d 'Say what an ADD of a network would make, plugin by plugin, changing nothing: bridge, gateway, the address host-local would hand out, NAT backend, DNAT rules, tc limits (as `add --dry-run`, without a netns)'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "completions" -d 'Print a shell completion script'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "__complete" -d 'Names for the shell completion scripts: the networks, namespaces.. that fit word INDEX of WORDS (the command line being completed), one a line; nothing where the shell\'s own completion applies'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "generate-docs" -d 'Write completions (bash, zsh, fish) and man pages into DIR/completions and DIR/man'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and not __fish_seen_subcommand_from add del check gc status run docker-run netns default-network network list show attachments inspect port plugins validate doctor log explain completions __complete generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from netns" -f -a "add" -d 'Create a named network namespace (with lo down, as `ip netns add`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from netns" -f -a "del" -d 'Delete named network namespaces'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from netns" -f -a "list" -d 'List named network namespaces'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from netns" -f -a "exec" -d 'Run a command inside a named namespace (or a netns path), as `ip netns exec NAME COMMAND...`; a `--` before the command is optional'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from default-network" -f -a "show" -d 'Print the default network\'s conflist'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from default-network" -f -a "install" -d 'Write it into the config dir as 99-cnictl-default.conflist, to edit'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "create" -d 'Write a new bridge network, NAME.conflist, into the config dir: a free subnet unless one is given, a bridge of its own, podman\'s chain'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "rm" -d 'Remove a network with no attachments: its file, then its bridge and what its plugins left on the host after the last attachment'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "reload" -d 'Re-apply the host-side rules of live attachments (masquerade, port mappings, firewall) after a firewall flush, as `podman network reload`'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "ls" -d 'The networks of the config dir (as `cnictl list`)'
complete -c cnictl -n "__fish_cnictl_using_subcommand help; and __fish_seen_subcommand_from network" -f -a "inspect" -d 'One network and its attachments (as `cnictl show`)'

# Names only this host knows (networks, namespaces), from cnictl itself.
function __fish_cnictl_names
    set -l before (commandline -opc)
    set -l current (commandline -ct)
    set -l names ($before[1] __complete (count $before) $before "$current" 2>/dev/null)
    test -n "$names"; or return 1
    printf '%s\n' $names
end
complete -c cnictl -f -n "__fish_cnictl_names >/dev/null" -a "(__fish_cnictl_names)"
