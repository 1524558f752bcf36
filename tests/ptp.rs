//! The ptp plugin against the kernel: routes on both sides, reachability,
//! masquerading, and handover with the reference plugin.
//! Subnets 10.202.N.0/24 and fd00:202:N::/64 belong to this file.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

fn conf(store: &Path, ranges: Value, extra: Value) -> String {
    let conf = json!({
        "cniVersion": "1.0.0",
        "name": unique("ptpnet"),
        "type": "ptp",
        "ipam": {"type": "host-local", "ranges": ranges, "dataDir": store},
    });
    with_keys(conf, &extra).to_string()
}

fn address(result: &Value, i: usize) -> String {
    result["ips"][i]["address"].as_str().unwrap().split('/').next().unwrap().to_string()
}

#[test]
fn dual_stack_ptp_routes_and_reachability() {
    let plugins = PluginDir::new();
    let path = plugins.path().to_str().unwrap();
    let store = tempfile::tempdir().unwrap();
    let ranges = json!([[{"subnet": "10.202.1.0/24"}], [{"subnet": "fd00:202:1::/64"}]]);
    let conf = conf(store.path(), ranges, json!({"mtu": 1400, "ipMasq": true, "ipMasqBackend": "nftables"}));
    let ns = TestNetns::new("pta");
    let att = Attachment::new(&plugins.plugin("ptp"), &conf, &ns, path);
    let result = att.add(&plugins.plugin("ptp"), path);
    let host_veth = result["interfaces"][0]["name"].as_str().unwrap().to_string();
    assert_eq!(result["interfaces"][1]["sandbox"], ns.path().as_str());
    assert_eq!(result["ips"][0]["interface"], 1);

    // Container: no prefix route, a link route to the gateway, the subnet via it.
    let routes = ip_json(Some(&ns.name), &["route", "show"]);
    let dsts: Vec<String> =
        routes.as_array().unwrap().iter().map(|r| r["dst"].as_str().unwrap().to_string()).collect();
    assert!(dsts.contains(&"10.202.1.1".to_string()), "{routes}");
    let subnet =
        routes.as_array().unwrap().iter().find(|r| r["dst"] == "10.202.1.0/24").expect("subnet route");
    assert_eq!(subnet["gateway"], "10.202.1.1", "the subnet is reached through the gateway: {routes}");
    // Host: the gateway on the host veth, a host route to the container.
    assert_eq!(
        link_addresses(None, &host_veth),
        vec!["10.202.1.1/32".to_string(), "fd00:202:1::1/128".to_string()]
    );
    let host_route = ip_json(None, &["route", "show", &address(&result, 0)]);
    assert_eq!(host_route[0]["dev"], host_veth.as_str());
    assert_eq!(link_details(Some(&ns.name), "eth0")["mtu"], 1400);
    assert_eq!(link_details(None, &host_veth)["mtu"], 1400);

    assert!(ping(Some(&ns.name), "10.202.1.1"));
    assert!(ping(Some(&ns.name), "fd00:202:1::1"));
    assert!(ping(None, &address(&result, 0)));
    assert!(ping(None, &address(&result, 1)));
    assert_eq!(nft_masq_rules(&att.id), 2);

    let check = att.call(&plugins.plugin("ptp"), path, "CHECK", &att.with_prev(&result));
    assert_eq!(check.code, 0, "{}", check.stdout);
    let del = att.call(&plugins.plugin("ptp"), path, "DEL", &att.with_prev(&result));
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert_eq!(link_details(None, &host_veth), Value::Null);
    assert_eq!(ip_json(None, &["route", "show", &address(&result, 0)]).as_array().map(Vec::len), Some(0));
    assert_eq!(nft_masq_rules(&att.id), 0);
    let network = serde_json::from_str::<Value>(&conf).unwrap()["name"].as_str().unwrap().to_string();
    assert!(reservations(&store.path().join(network)).is_empty());
}

#[test]
fn handover_with_the_reference_ptp_in_both_directions() {
    require_reference();
    let ours = PluginDir::new();
    let ours_path = ours.path().to_str().unwrap();
    for (n, made_by_ours) in [(2, false), (3, true)] {
        let store = tempfile::tempdir().unwrap();
        let conf = conf(
            store.path(),
            json!([[{"subnet": format!("10.202.{n}.0/24")}]]),
            json!({"ipMasq": true, "ipMasqBackend": "iptables"}),
        );
        let ns = TestNetns::new("pho");
        let reference = Path::new(REFERENCE_DIR).join("ptp");
        let (maker, maker_path, taker, taker_path) = if made_by_ours {
            (ours.plugin("ptp"), ours_path, reference.clone(), REFERENCE_DIR)
        } else {
            (reference.clone(), REFERENCE_DIR, ours.plugin("ptp"), ours_path)
        };
        let att = Attachment::new(&ours.plugin("ptp"), &conf, &ns, ours_path);
        let result = att.add(&maker, maker_path);
        let host_veth = result["interfaces"][0]["name"].as_str().unwrap().to_string();
        assert_eq!(iptables_masq_lines(false, &att.id), 3);
        let check = att.call(&taker, taker_path, "CHECK", &att.with_prev(&result));
        assert_eq!(check.code, 0, "CHECK by the other side (ours made it: {made_by_ours}): {}", check.stdout);
        let del = att.call(&taker, taker_path, "DEL", &att.with_prev(&result));
        assert_eq!(del.code, 0, "{}", del.stdout);
        assert_eq!(link_details(None, &host_veth), Value::Null, "veth left (ours made it: {made_by_ours})");
        let network = serde_json::from_str::<Value>(&conf).unwrap()["name"].as_str().unwrap().to_string();
        assert!(reservations(&store.path().join(network)).is_empty());
        assert_eq!(iptables_masq_lines(false, &att.id), 0, "rules left (ours made it: {made_by_ours})");
    }
}
