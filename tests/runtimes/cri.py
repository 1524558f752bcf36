#!/usr/bin/env python3
"""Minimal CRI (v1) client, a stand-in for crictl (Debian bookworm has no cri-tools).

Needs: pip install container-runtime-interface-api==2.0.1   (pulls grpcio + protobuf;
it ships generated cri_api.v1 stubs, so no .proto file has to be copied or compiled).

Usage: cri.py SOCKET COMMAND [ARGS]
  status                         RuntimeService.Status (RuntimeReady / NetworkReady)
  version                        RuntimeService.Version
  images                         ImageService.ListImages (names only)
  runp POD.json                  RunPodSandbox          -> prints pod id
  create POD_ID CTR.json POD.json CreateContainer       -> prints container id
  start CTR_ID                   StartContainer
  inspectp POD_ID                PodSandboxStatus (JSON; .status.network.ip)
  podip POD_ID                   just the pod IP
  exec CTR_ID CMD...             ExecSync (prints stdout, exits with its code)
  stopp POD_ID | rmp POD_ID      StopPodSandbox / RemovePodSandbox
  pods | ps                      ListPodSandbox / ListContainers (id name state)
POD.json / CTR.json use the crictl JSON layout (protobuf field names, snake_case or
camelCase both accepted), e.g. {"metadata":{"name":"web","namespace":"e2e","uid":"u1"},
"port_mappings":[{"protocol":"TCP","container_port":8080,"host_port":18090}]}.
"""
import json
import sys

import grpc
from google.protobuf import json_format
from cri_api.v1 import api_pb2 as pb
from cri_api.v1 import api_pb2_grpc as rpc


def load(path, cls):
    with open(path) as f:
        return json_format.ParseDict(json.load(f), cls())


def out(msg):
    print(json.dumps(json_format.MessageToDict(msg), indent=2))


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    sock, cmd, args = argv[1], argv[2], argv[3:]
    ch = grpc.insecure_channel("unix://" + sock)
    rt = rpc.RuntimeServiceStub(ch)
    im = rpc.ImageServiceStub(ch)
    t = 120
    if cmd == "status":
        out(rt.Status(pb.StatusRequest(verbose=False), timeout=t))
    elif cmd == "version":
        out(rt.Version(pb.VersionRequest(), timeout=t))
    elif cmd == "images":
        for i in im.ListImages(pb.ListImagesRequest(), timeout=t).images:
            print(i.id, " ".join(i.repo_tags))
    elif cmd == "runp":
        r = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=load(args[0], pb.PodSandboxConfig)), timeout=t)
        print(r.pod_sandbox_id)
    elif cmd == "create":
        r = rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=args[0], config=load(args[1], pb.ContainerConfig),
            sandbox_config=load(args[2], pb.PodSandboxConfig)), timeout=t)
        print(r.container_id)
    elif cmd == "start":
        rt.StartContainer(pb.StartContainerRequest(container_id=args[0]), timeout=t)
    elif cmd == "inspectp":
        out(rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=args[0], verbose=True), timeout=t))
    elif cmd == "podip":
        print(rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=args[0]), timeout=t).status.network.ip)
    elif cmd == "exec":
        r = rt.ExecSync(pb.ExecSyncRequest(container_id=args[0], cmd=args[1:], timeout=30), timeout=t)
        sys.stdout.write(r.stdout.decode())
        sys.stderr.write(r.stderr.decode())
        return r.exit_code
    elif cmd == "stopp":
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=args[0]), timeout=t)
    elif cmd == "rmp":
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=args[0]), timeout=t)
    elif cmd == "pods":
        for p in rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=t).items:
            print(p.id, p.metadata.name, pb.PodSandboxState.Name(p.state))
    elif cmd == "ps":
        for c in rt.ListContainers(pb.ListContainersRequest(), timeout=t).containers:
            print(c.id, c.metadata.name, pb.ContainerState.Name(c.state), c.pod_sandbox_id)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except grpc.RpcError as e:
        print(f"cri.py: {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(1)
