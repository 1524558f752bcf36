//! The sbr plugin chained after bridge, in a host netns of the test's own:
//! the container gets a rule `from ADDRESS lookup 100` and its routes move
//! into table 100, so traffic from its address still reaches the gateway
//! while traffic without a source address finds no route; DEL removes the
//! rule; with `table` only the rule is added. Subnets 10.238.N.0/24 belong
//! to this file.

mod common;

use common::*;
use serde_json::{json, Value};

fn sbr_conf(lab: &HostLab, extra: Value) -> String {
    let conf = json!({"cniVersion": "1.0.0", "name": lab.network, "type": "sbr", "prevResult": lab.result});
    with_keys(conf, &extra).to_string()
}

/// Retried until it answers (positive checks).
fn reaches(lab: &HostLab, from: &[&str]) -> bool {
    ping_with(Some(&lab.container.name), from, &lab.gateway())
}

/// One try (negative checks: no route fails at once).
fn answers_once(lab: &HostLab) -> bool {
    in_netns(&lab.container.name, "ping")
        .args(["-c1", "-W1", &lab.gateway()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn routes_follow_the_source_address_and_del_removes_the_rule() {
    let lab = HostLab::new("10.238", 1);
    let ip = lab.container_ip();
    assert!(reaches(&lab, &[]), "before sbr the gateway answers");
    let conf = sbr_conf(&lab, json!({}));
    let add = lab.run_ours("sbr", "ADD", &conf);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    assert_eq!(add.json["ips"], lab.result["ips"], "the previous result passes through");

    let rules = lab.container.output(&["ip", "rule", "show"]);
    assert!(rules.contains(&format!("from {ip} lookup 100")), "{rules}");
    let table = lab.container.output(&["ip", "route", "show", "table", "100"]);
    assert!(table.contains(&format!("default via {} dev eth0", lab.gateway())), "{table}");
    assert!(table.contains("10.238.1.0/24 dev eth0"), "{table}");
    let main = lab.container.output(&["ip", "route", "show"]);
    assert!(!main.contains("eth0"), "the main table keeps no eth0 route: {main}");
    assert!(reaches(&lab, &["-I", &ip]), "from the container's address, table 100 routes to the gateway");
    assert!(!answers_once(&lab), "without a source address there is no route");

    let del = lab.run_ours("sbr", "DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    let rules = lab.container.output(&["ip", "rule", "show"]);
    assert!(!rules.contains(&ip), "the rule is gone: {rules}");
    let again = lab.run_ours("sbr", "DEL", &conf);
    assert_eq!(again.code, 0, "a second DEL succeeds: {}", again.stdout);
}

#[test]
fn with_a_table_only_the_rule_is_added() {
    let lab = HostLab::new("10.238", 2);
    let ip = lab.container_ip();
    let conf = sbr_conf(&lab, json!({"table": 500}));
    let add = lab.run_ours("sbr", "ADD", &conf);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    let rules = lab.container.output(&["ip", "rule", "show"]);
    assert!(rules.contains(&format!("from {ip} lookup 500")), "{rules}");
    let main = lab.container.output(&["ip", "route", "show"]);
    assert!(main.contains("default via"), "the main table is untouched: {main}");
    let del = lab.run_ours("sbr", "DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(!lab.container.output(&["ip", "rule", "show"]).contains(&ip));
}

#[test]
fn sbr_must_be_chained_and_hands_over_with_the_reference() {
    let lab = HostLab::new("10.238", 3);
    let mut unchained: Value = serde_json::from_str(&sbr_conf(&lab, json!({}))).unwrap();
    unchained.as_object_mut().unwrap().remove("prevResult");
    let out = lab.run_ours("sbr", "ADD", &unchained.to_string());
    assert!(out.code == 1 && out.stdout.contains("must be called as chained plugin"), "{}", out.stdout);
    if !have_reference() {
        return;
    }
    // The reference's rules, removed by ours.
    let ip = lab.container_ip();
    let conf = sbr_conf(&lab, json!({}));
    let add = lab.run_reference("sbr", "ADD", &conf);
    assert_eq!(add.code, 0, "{}{}", add.stdout, add.stderr);
    let ours_would = lab.container.output(&["ip", "route", "show", "table", "100"]);
    assert!(ours_would.contains("default via"), "the reference uses table 100 too: {ours_would}");
    let del = lab.run_ours("sbr", "DEL", &conf);
    assert_eq!(del.code, 0, "{}", del.stdout);
    assert!(
        !lab.container.output(&["ip", "rule", "show"]).contains(&ip),
        "ours removed the reference's rule"
    );
}

#[test]
fn a_failing_add_takes_back_the_rules_and_routes_it_made() {
    let lab = HostLab::new("10.238", 4);
    let main_before = lab.container.output(&["ip", "route", "show"]);
    // The IPv4 address gets its rule and table 100 first; the IPv6 one's
    // gateway is off every link, so its default route is refused.
    let mut result = lab.result.clone();
    result["ips"][1]["gateway"] = json!("fd00:99::1");
    let conf = with_keys(
        json!({"cniVersion": "1.0.0", "name": lab.network, "type": "sbr"}),
        &json!({"prevResult": result}),
    );
    let add = lab.run_ours("sbr", "ADD", &conf.to_string());
    assert_eq!(add.code, 1, "{}", add.stdout);
    assert!(
        add.json["msg"].as_str().unwrap_or_default().contains("Failed to add default route to fd00:99::1"),
        "{}",
        add.stdout
    );
    assert!(add.stderr.is_empty(), "every undo worked: {}", add.stderr);
    let rules =
        lab.container.output(&["ip", "rule", "show"]) + &lab.container.output(&["ip", "-6", "rule", "show"]);
    assert!(!rules.contains("lookup 100") && !rules.contains("lookup 101"), "no rule left: {rules}");
    let table = lab.container.output(&["ip", "route", "show", "table", "100"]);
    assert!(table.trim().is_empty(), "table 100 is empty again: {table}");
    assert_eq!(lab.container.output(&["ip", "route", "show"]), main_before, "the main table is as it was");
    assert!(reaches(&lab, &[]), "the gateway still answers without a source address");
}
