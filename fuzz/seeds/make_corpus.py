#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/.

Realistic inputs, as the tests and the reference's documentation use
them: netconfs of every plugin, conflists, results of every version,
CNI_ARGS and environments. Run it again after changing it; the files it
writes are committed (libFuzzer's own finds go to a temporary directory
in scripts/fuzz, so the corpus stays small).
"""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, (dict, list)):
        data = json.dumps(data, indent=2)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


RESULT_1 = {
    "cniVersion": "1.1.0",
    "interfaces": [
        {"name": "cni0", "mac": "0a:58:0a:f4:00:01"},
        {"name": "veth3a2b1c0d", "mac": "6e:1f:2a:3b:4c:5d"},
        {"name": "eth0", "mac": "0a:58:0a:f4:00:05", "mtu": 1450, "sandbox": "/var/run/netns/cni-1234"},
    ],
    "ips": [
        {"interface": 2, "address": "10.244.0.5/24", "gateway": "10.244.0.1"},
        {"interface": 2, "address": "fd00:10:244::5/64", "gateway": "fd00:10:244::1"},
    ],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00:10:244::1", "mtu": 1400, "priority": 100}],
    "dns": {"nameservers": ["10.96.0.10"], "domain": "cluster.local", "search": ["svc.cluster.local"],
            "options": ["ndots:5"]},
}
RESULT_04 = {
    "cniVersion": "0.4.0",
    "interfaces": [{"name": "eth0", "mac": "aa:bb:cc:dd:ee:ff", "sandbox": "/var/run/netns/x"}],
    "ips": [{"version": "4", "interface": 0, "address": "10.1.2.3/24", "gateway": "10.1.2.1"},
            {"version": "6", "address": "2001:db8::3/64"}],
    "routes": [{"dst": "10.0.0.0/8", "gw": "10.1.2.1"}],
    "dns": {},
}
RESULT_031 = {
    "cniVersion": "0.3.1",
    "ips": [{"version": "4", "address": "192.168.1.10/24", "gateway": "192.168.1.1"}],
    "dns": {"nameservers": ["8.8.8.8"]},
}
RESULT_02 = {
    "cniVersion": "0.2.0",
    "ip4": {"ip": "10.0.0.2/8", "gateway": "10.0.0.1", "routes": [{"dst": "0.0.0.0/0"}]},
    "ip6": {"ip": "fd00::2/64", "routes": [{"dst": "::/0", "gw": "fd00::1"}]},
    "dns": {"nameservers": ["10.0.0.1"]},
}
RESULT_01 = {"ip4": {"ip": "172.17.0.3/16", "gateway": "172.17.0.1"}}
RESULT_GO_CASED = {"CNIVersion": "1.0.0", "IPs": [{"Address": "10.1.2.3/24", "Gateway": "10.1.2.1"}],
                   "Routes": [{"Dst": "0.0.0.0/0", "GW": "10.1.2.1"}], "DNS": {"Nameservers": ["10.1.2.1"]}}

HOST_LOCAL = {"type": "host-local", "subnet": "10.22.0.0/16", "rangeStart": "10.22.0.10",
              "rangeEnd": "10.22.0.200", "gateway": "10.22.0.1", "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": "/run/cni-fuzz-never-written"}
HOST_LOCAL_RANGES = {"type": "host-local",
                     "ranges": [[{"subnet": "10.10.0.0/24", "gateway": "10.10.0.1"}],
                                [{"subnet": "fd00:10::/64", "rangeStart": "fd00:10::10"}]],
                     "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}
STATIC = {"type": "static", "addresses": [{"address": "10.10.0.5/24", "gateway": "10.10.0.1"},
                                          {"address": "3ffe:ffff:0:01ff::1/64"}],
          "routes": [{"dst": "0.0.0.0/0"}], "dns": {"nameservers": ["8.8.8.8"], "domain": "example.com"}}


def netconf(kind, version="1.0.0", name="fuzznet", **keys):
    conf = {"cniVersion": version, "name": name, "type": kind}
    conf.update(keys)
    return conf


PLUGIN_CONFS = {
    "bridge": netconf("bridge", bridge="cni0", isGateway=True, ipMasq=True, ipMasqBackend="nftables",
                      hairpinMode=True, mtu=1450, vlan=0, vlanTrunk=[{"minID": 20, "maxID": 22}, {"id": 30}],
                      ipam=HOST_LOCAL),
    "ptp": netconf("ptp", "0.4.0", ipMasq=True, mtu=1400, ipam=HOST_LOCAL_RANGES),
    "loopback": netconf("loopback", "0.3.1"),
    "host-local": netconf("host-local", "1.1.0", ipam=HOST_LOCAL),
    "static": netconf("static", "1.0.0", ipam=STATIC),
    "dhcp": netconf("dhcp", "1.1.0", ipam={"type": "dhcp", "daemonSocketPath": "/run/cni-fuzz-none.sock",
                                           "provide": [{"option": "host-name", "fromArg": "K8S_POD_NAME"},
                                                       {"option": "60", "value": "cnictl"}],
                                           "request": [{"skipDefault": True}, {"option": "121"}],
                                           "priority": 100}),
    "tuning": netconf("tuning", "1.0.0", sysctl={"net.core.somaxconn": "500",
                                                  "net.ipv4.conf.IFNAME.arp_filter": "1"},
                      mac="c2:b0:57:49:47:f1", mtu=1454, promisc=True, allmulti=True, txQLen=20000,
                      prevResult=RESULT_1),
    "firewall": netconf("firewall", "1.0.0", backend="iptables", iptablesAdminChainName="CNI-ADMIN",
                        ingressPolicy="same-bridge", prevResult=RESULT_1),
    "portmap": netconf("portmap", "1.0.0", capabilities={"portMappings": True}, snat=True,
                       backend="iptables", markMasqBit=13,
                       runtimeConfig={"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
                                                       {"HostPort": 5353, "ContainerPort": 53, "Protocol": "udp",
                                                        "HostIP": "127.0.0.1"}]},
                       prevResult=RESULT_1),
    "bandwidth": netconf("bandwidth", "1.0.0", ingressRate=123, ingressBurst=456, egressRate=123,
                         egressBurst=456, capabilities={"bandwidth": True},
                         runtimeConfig={"bandwidth": {"ingressRate": 1000000, "ingressBurst": 1000000}},
                         prevResult=RESULT_1),
    "macvlan": netconf("macvlan", "1.0.0", master="eth0", mode="bridge", mtu=1500, mac="02:42:ac:11:00:02",
                       ipam=HOST_LOCAL),
    "ipvlan": netconf("ipvlan", "1.0.0", master="eth0", mode="l2", linkInContainer=False, ipam=HOST_LOCAL),
    "vlan": netconf("vlan", "1.0.0", master="eth0", vlanId=100, mtu=1500, ipam=STATIC),
    "dummy": netconf("dummy", "1.0.0", ipam=HOST_LOCAL),
    "host-device": netconf("host-device", "1.0.0", device="enp0s9", ipam=STATIC),
    "sbr": netconf("sbr", "1.0.0", table=100, prevResult=RESULT_1),
    "vrf": netconf("vrf", "1.0.0", vrfname="blue", table=1001, prevResult=RESULT_1),
    "tap": netconf("tap", "1.0.0", mac="aa:bb:cc:dd:ee:01", mtu=1500, multiQueue=True, owner=0, group=0,
                   ipam=STATIC),
}
ORDER = ["bridge", "ptp", "loopback", "host-local", "static", "dhcp", "tuning", "firewall", "portmap", "bandwidth",
         "macvlan", "ipvlan", "vlan", "dummy", "host-device", "sbr", "vrf", "tap"]

# netconf
write("netconf", "bridge-1.0.0.json", PLUGIN_CONFS["bridge"])
write("netconf", "gc-1.1.0.json", netconf("bridge", "1.1.0", ipam=HOST_LOCAL, **{
    "cni.dev/valid-attachments": [{"containerID": "abc123", "ifname": "eth0"}]}))
write("netconf", "del-bad-keys.json", {"cniVersion": "1.0.0", "name": "n", "dns": 5, "capabilities": [],
                                        "mtu": "x", "ipam": {"type": "host-local", "subnet": "bogus"},
                                        "prevResult": RESULT_031})
write("netconf", "go-cased.json", {"CNIVersion": "0.4.0", "Name": "n", "TYPE": "ptp",
                                    "IPAM": {"Type": "host-local"}, "prevresult": RESULT_04})
write("netconf", "legacy-0.2.0.json", netconf("ptp", "0.2.0", prevResult=RESULT_02))
write("netconf", "null-keys.json", {"cniVersion": "1.0.0", "name": "n", "type": "t", "dns": None,
                                     "capabilities": None, "args": {"cni": {"ips": ["10.0.0.9"]}}})

# conflist
write("conflist", "k8s-1.0.0.conflist", {
    "cniVersion": "1.0.0", "name": "k8s-pod-network",
    "plugins": [PLUGIN_CONFS["bridge"], {"type": "portmap", "capabilities": {"portMappings": True}},
                {"type": "bandwidth", "capabilities": {"bandwidth": True}},
                {"type": "tuning", "sysctl": {"net.core.somaxconn": "500"}}]})
write("conflist", "versions.conflist", {"name": "x", "cniVersion": "0.4.0", "cniVersions": ["1.0.0", "9.9.9"],
                                        "disableCheck": "true", "disableGC": False,
                                        "plugins": [{"type": "loopback"}]})
write("conflist", "inlined.conflist", {"cniVersion": "1.1.0", "name": "only", "loadOnlyInlinedPlugins": True,
                                       "plugins": [{"type": "ptp", "ipam": HOST_LOCAL_RANGES},
                                                   {"type": "firewall"}]})
write("conflist", "single.conf", PLUGIN_CONFS["macvlan"])
write("conflist", "bad-type.conflist", '{"name":"x",\n "plugins":[\n  {"type":1}]}')
write("conflist", "podman.conflist", {
    "cniVersion": "0.4.0", "name": "podman",
    "plugins": [{"type": "bridge", "bridge": "cni-podman0", "isGateway": True, "ipMasq": True,
                 "hairpinMode": True, "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}],
                                                "ranges": [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]]}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
                {"type": "firewall"}, {"type": "tuning"}]})

# result
for name, result in [("1.1.0", RESULT_1), ("0.4.0", RESULT_04), ("0.3.1", RESULT_031), ("0.2.0", RESULT_02),
                      ("0.1.0-no-version", RESULT_01), ("go-cased", RESULT_GO_CASED)]:
    write("result", f"result-{name}.json", result)
write("result", "result-1.0.0-no-dns.json", {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0"}],
                                             "ips": [{"address": "10.1.0.2/16"}], "routes": None, "dns": None})

# gojson: documents with Go's key rules at work
write("gojson", "duplicates.json", '{"hostPort":1,"HostPort":2,"name":"a","NAME":"b"}')
write("gojson", "kelvin.json", '{"\u212aind":"a","\u017ftop":"b","cniVersion":"1.0.0"}')
write("gojson", "attachments.json", [{"containerID": "c1", "ifname": "eth0"}, {"ContainerId": "c2", "IFNAME": "net1"}])
write("gojson", "routes.json", [{"dst": "0.0.0.0/0", "gw": "10.0.0.1"}, {"Dst": "::/0", "MTU": 1400, "table": 100}])
write("gojson", "netconf.json", PLUGIN_CONFS["portmap"])
write("gojson", "numbers.json", '{"Key":[1,-2,2.5,null,true,1e10,-0,18446744073709551615]}')

# jsonpos: text with positions to find
write("jsonpos", "conflist.json", '{\n  "name": "x",\n  "plugins": [\n    {"type": "a", "s": "}]\\""},\n'
                                  '    {"ipam": {"type": 5}}\n  ]\n}')
write("jsonpos", "go-keys.json", '{"plugins": [{"type": "bridge",\n  "MTU": "1", "Mtu": "2",\n'
                                 '  "IPAM": {"Ranges": [[{"subnet": "x"}]]}}]}')
write("jsonpos", "unicode.json", '{"n\u00e4me": "\u00fcber",\n "k": ["\\u00e9", {"\u212a": [1, 2.5e3, true]}]}')
write("jsonpos", "result.json", RESULT_1)

# cni_args: the arbitrary Input is raw String (length-prefixed by
# arbitrary's rules), a key-set byte and extra keys; plain text seeds
# still decode to something useful.
for i, raw in enumerate(["IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx-6799fc88d8-7k2lx;"
                         "K8S_POD_INFRA_CONTAINER_ID=3f7c1e;K8S_POD_UID=9c1d",
                         "MAC=c2:11:22:33:44:55", "IP=10.10.0.5;GATEWAY=10.10.0.1", "IP=a=b",
                         "IgnoreUnknown=true;FOO=bar;IP=fd00::5"]):
    write("cni_args", f"args-{i}.txt", raw)

# env: arbitrary Input; text seeds that look like an environment.
write("env", "add.txt", b"\x00\x01ADD\x01abc123def\x01/var/run/netns/cni-1\x01eth0\x01IgnoreUnknown=1\x01/opt/cni/bin\x00mynet")
write("env", "del.txt", b"\x01\x01DEL\x01container.id_1-x\x00\x01net1\x00\x01/usr/lib/cni:/opt/cni/bin\x00k8s-pod-network")
write("env", "bad-names.txt", b"\xff\x01ADD\x01../etc\x01/proc/1/ns/net\x01eth0:1 \x01\x01/opt\x00a\nb")

# plugin_config: selector byte, then CNI_ARGS NUL netconf (or just the netconf)
for i, kind in enumerate(ORDER):
    body = json.dumps(PLUGIN_CONFS[kind], indent=1).encode()
    write("plugin_config", f"{i:02d}-{kind}.bin", bytes([i]) + body)
write("plugin_config", "03-host-local-ip-arg.bin",
      bytes([3]) + b"IgnoreUnknown=1;IP=10.22.0.50\x00" + json.dumps(PLUGIN_CONFS["host-local"]).encode())
write("plugin_config", f"{ORDER.index('macvlan'):02d}-macvlan-mac-arg.bin",
      bytes([ORDER.index("macvlan")]) + b"MAC=02:42:ac:11:00:09\x00" + json.dumps(PLUGIN_CONFS["macvlan"]).encode())
write("plugin_config", f"{ORDER.index('portmap'):02d}-portmap-nft.bin",
      bytes([ORDER.index("portmap")]) + json.dumps(netconf("portmap", "1.0.0", conditionsV4=["ip", "daddr", "10.0.0.1"],
                                      runtimeConfig={"portMappings": [{"hostPort": 80, "containerPort": 8080,
                                                                       "protocol": "sctp"}]},
                                      prevResult=RESULT_04)).encode())

# What the fuzzers found once (fixed): kept as seeds so every run tries them.
write("jsonpos", "found-duplicate-keys.json", '{"dns": {"search": "a",\n "search": ["svc.cluster.local"]},'
                                              ' "plugins": "oops", "plugins": [{"type": 1}]}')
write("jsonpos", "found-escaped-key.json", '{"sysctl": {"n\u0364me": 1, "a\\"b\\\\c": [true]}}')
write("gojson", "found-struct-from-array.json", '{"dns": [["8.8.8.8"]], "ips": [[0, "10.0.0.2/24"]]}')
write("gojson", "found-empty-array.json", "[\n]")


# dhcp_message: DHCPv4 datagrams as a LAN's server sends them (and our DISCOVER).
def dhcp(op, xid, yiaddr, options):
    head = struct.pack("!BBBBIHH", op, 1, 6, 0, xid, 0, 0x8000)
    head += bytes(4) + bytes(map(int, yiaddr.split("."))) + bytes(8)
    head += bytes.fromhex("0a580ae40005") + bytes(10) + bytes(192) + bytes([99, 130, 83, 99])
    for code, value in options:
        head += bytes([code, len(value)]) + value
    return (head + bytes([255])).ljust(300, b"\0")


SERVER = bytes([10, 228, 0, 1])
MASK = bytes([255, 255, 255, 0])
write("dhcp_message", "discover.bin",
      dhcp(1, 0x1234, "0.0.0.0", [(53, b"\x01"), (61, b"\x00ctr/net/eth0"), (55, b"\x03\x01")]))
write("dhcp_message", "offer-121.bin",
      dhcp(2, 0x1234, "10.228.0.77", [(53, b"\x02"), (54, SERVER), (51, struct.pack("!I", 3600)), (1, MASK),
                                      (3, SERVER), (121, bytes([24, 10, 229, 0, 0, 0, 0, 0, 0, 10, 228, 0, 1]))]))
write("dhcp_message", "ack-33.bin",
      dhcp(2, 0x99, "10.228.0.78", [(53, b"\x05"), (54, SERVER), (58, struct.pack("!I", 1800)),
                                    (59, struct.pack("!I", 3150)), (1, MASK), (33, bytes([10, 230, 0, 0]) + SERVER),
                                    (6, SERVER)]))
