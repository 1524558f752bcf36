//! Two nodes, as Kubernetes runs our plugins: each node (a network
//! namespace) has its own bridge network on its own pod CIDR, made by our
//! bridge + host-local, and the cluster's network (here a link between
//! the nodes and a route on each to the other's pod CIDR) carries traffic
//! between them. A pod on each node reaches the other with its own
//! address: the plugins are per node, routes between nodes are not theirs.
//! Subnets 10.231.0.0/16 belong to this file.

mod common;

use common::*;

#[test]
fn pods_on_two_nodes_reach_each_other_over_the_node_routes() {
    let node_a = HostLab::new("10.231", 1);
    let node_b = HostLab::new("10.231", 2);
    // The cluster's network: one link between the nodes, a route each way.
    let (link_a, link_b) = (unique("na"), unique("nb"));
    node_a.host.exec(&["ip", "link", "add", &link_a, "type", "veth", "peer", "name", &link_b]);
    node_a.host.exec(&["ip", "link", "set", &link_b, "netns", &node_b.host.path()]);
    for (node, link, address) in [(&node_a, &link_a, "10.231.0.1/30"), (&node_b, &link_b, "10.231.0.2/30")] {
        node.host.exec(&["ip", "address", "add", address, "dev", link]);
        node.host.exec(&["ip", "link", "set", link, "up"]);
    }
    node_a.host.exec(&["ip", "route", "add", "10.231.2.0/24", "via", "10.231.0.2"]);
    node_b.host.exec(&["ip", "route", "add", "10.231.1.0/24", "via", "10.231.0.1"]);

    let (pod_a, pod_b) = (node_a.container_ip(), node_b.container_ip());
    assert!(pod_a.starts_with("10.231.1.") && pod_b.starts_with("10.231.2."), "{pod_a} {pod_b}");
    assert!(ping(Some(&node_a.container.name), &pod_b), "pod A {pod_a} reaches pod B {pod_b}");
    assert!(ping(Some(&node_b.container.name), &pod_a), "and back");
    // The pod's way out is its node's bridge; the node routes the rest.
    let routes = node_b.container.output(&["ip", "route", "get", &pod_a]);
    assert!(routes.contains("via 10.231.2.1"), "B's pod reaches A's pods through its node: {routes}");
}
