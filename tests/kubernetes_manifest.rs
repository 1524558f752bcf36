//! deploy/kubernetes/cnictl.yaml, read as Kubernetes reads it (YAML, here
//! through Debian's python3-yaml, as kubectl is not available offline):
//! a DaemonSet whose selector matches its pods, that runs on every node,
//! mounts the host's plugin and config dirs, and runs the installer with
//! arguments its mounts satisfy; and a ConfigMap whose template, once
//! containerd fills in a pod CIDR, is a conflist our plugins take.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn manifest() -> Vec<Value> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/cnictl.yaml");
    let script = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))";
    let out = Command::new("/usr/bin/python3").args(["-c", script]).arg(&file).output().unwrap();
    assert!(out.status.success(), "YAML: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("no {kind} in the manifest"))
}

#[test]
fn the_daemonset_installs_on_every_node_from_its_mounts() {
    let docs = manifest();
    let ds = of_kind(&docs, "DaemonSet");
    assert_eq!(ds["apiVersion"], "apps/v1");
    assert!(ds["metadata"]["name"].is_string() && ds["metadata"]["namespace"] == "kube-system");
    let selector = &ds["spec"]["selector"]["matchLabels"];
    let labels = &ds["spec"]["template"]["metadata"]["labels"];
    assert!(selector.as_object().is_some_and(|s| !s.is_empty()), "a selector");
    for (key, value) in selector.as_object().unwrap() {
        assert_eq!(&labels[key], value, "the template's labels match the selector");
    }
    let pod = &ds["spec"]["template"]["spec"];
    assert!(
        pod["tolerations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["operator"] == "Exists" && t.get("key").is_none()),
        "tolerates every taint"
    );
    let volumes = pod["volumes"].as_array().unwrap();
    let host_path = |path: &str| {
        volumes
            .iter()
            .find(|v| v["hostPath"]["path"] == path)
            .and_then(|v| v["name"].as_str())
            .map(String::from)
    };
    let (bin, conf) =
        (host_path("/opt/cni/bin").expect("/opt/cni/bin"), host_path("/etc/cni/net.d").expect("net.d"));
    let configmap_volume =
        volumes.iter().find(|v| v["configMap"]["name"].is_string()).expect("the ConfigMap volume");
    assert_eq!(configmap_volume["configMap"]["name"], of_kind(&docs, "ConfigMap")["metadata"]["name"]);

    let install = &pod["initContainers"][0];
    let mounts = install["volumeMounts"].as_array().unwrap();
    let mount_of = |volume: &str| {
        mounts.iter().find(|m| m["name"] == volume).and_then(|m| m["mountPath"].as_str()).map(String::from)
    };
    let args: Vec<&str> = install["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(args.last().copied(), mount_of(&bin).as_deref(), "installs into the host's plugin dir");
    let net_dir = args.iter().position(|a| *a == "--net-dir").map(|i| args[i + 1]);
    assert_eq!(net_dir, mount_of(&conf).as_deref(), "writes into the host's config dir");
    let conflist = args.iter().position(|a| *a == "--conflist").map(|i| args[i + 1]).expect("--conflist");
    let configmap_dir =
        mount_of(configmap_volume["name"].as_str().unwrap()).expect("the ConfigMap is mounted");
    assert!(conflist.starts_with(&format!("{configmap_dir}/")), "{conflist} is in the ConfigMap's mount");
    assert!(pod["containers"].as_array().is_some_and(|c| !c.is_empty()), "a container holds the pod");
}

#[test]
fn the_configmap_template_is_a_conflist_once_filled_in() {
    let docs = manifest();
    let data = of_kind(&docs, "ConfigMap")["data"].as_object().unwrap().clone();
    let (name, template) = data.iter().next().unwrap();
    assert!(name.ends_with(".conflist.template"), "{name}: written as it is by the installer");
    let filled = template.as_str().unwrap().replace("{{.PodCIDR}}", "10.244.1.0/24");
    assert!(!filled.contains("{{"), "only .PodCIDR is used: {filled}");
    let list = cni::conflist::parse_conflist(filled.as_bytes(), Path::new(name)).unwrap();
    let types: Vec<String> =
        list.plugins.iter().map(|p| p["type"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(types, ["bridge", "portmap", "bandwidth"]);
    assert_eq!(list.plugins[0]["ipam"]["ranges"][0][0]["subnet"], "10.244.1.0/24");
}
