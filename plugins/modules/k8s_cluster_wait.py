#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_cluster_wait
short_description: Wait until a cluster answers /readyz, its node is Ready and add-ons are available
version_added: 0.1.0
description:
  - Polls the API server with a client certificate on a monotonic clock, in order, C(/readyz), the node's
    C(Ready) condition, each Deployment's available replicas and each APIService's C(Available) condition.
  - On timeout it fails naming the first check still failing and its last observation, with the evidence
    for it - which components are not running, the last log lines of the host components behind the check
    (etcd and kube-apiserver for C(/readyz); containerd, kubelet and kube-proxy for the node) or, for an
    add-on, its pods' container states, events and log tails.
  - Read-only; never reports C(changed).
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Waits the same way in check mode when the cluster runs; returns at once when O(skip) is set.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  server: {description: API server URL., type: str, required: true}
  ca: {description: CA bundle that signed the API server's certificate., type: path, required: true}
  cert: {description: Client certificate., type: path, required: true}
  key: {description: Client key., type: path, required: true}
  timeout: {description: Seconds to wait in total., type: int, default: 180}
  interval: {description: Seconds between polls., type: float, default: 2}
  readyz: {description: Wait for /readyz., type: bool, default: true}
  node: {description: Node name whose Ready condition to wait for; empty skips it., type: str, default: ""}
  node_since:
    description:
      - Epoch seconds the kubelet was (re)started at; the node's Ready condition must carry a heartbeat at least this
        recent (a kubelet that dies at start leaves the old Ready=True in place for the node-monitor grace period).
      - 0 accepts any Ready condition.
    type: float
    default: 0
  kubelet_healthz:
    description:
      - The kubelet's loopback C(/healthz) URL; when set it must answer C(ok) and every check must pass on two
        polls in a row (a respawning kubelet answers now and then). Empty skips it.
    type: str
    default: ""
  deployments: {description: Deployments as C(namespace/name)., type: list, elements: str, default: []}
  apiservices: {description: APIService names., type: list, elements: str, default: []}
  logs:
    description: Component name to log file, quoted on failure.
    type: dict
    default: {}
  services:
    description: Component name to service name, to report which are not running.
    type: dict
    default: {}
  run_dir: {description: Pid file directory of supervised services., type: path, default: /run/k8s-cluster}
  log_lines: {description: Lines quoted per log., type: int, default: 40}
  skip:
    description: Return at once without contacting the cluster (a check-mode run on a host whose cluster is not up).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Wait for the API server and the node
  goaltrajectory.platform.k8s_cluster_wait:
    server: https://127.0.0.1:6443
    ca: /etc/k8s-cluster/pki/ca.crt
    cert: /etc/k8s-cluster/pki/admin.crt
    key: /etc/k8s-cluster/pki/admin.key
    node: devhost
    logs:
      kube-apiserver: /var/log/k8s-cluster/kube-apiserver.log
      kubelet: /var/log/k8s-cluster/kubelet.log
"""

RETURN = r"""
seconds:
  description: Seconds until every check passed (or until the timeout).
  returned: always
  type: float
passed:
  description: Seconds after the start at which each check first passed.
  returned: always
  type: dict
  sample: {readyz: 4.1, "node:devhost": 17.9}
failing:
  description: The first check still failing at the timeout and its last observation.
  returned: on failure
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import service, wait


def argspec():
    return {
        "server": {"type": "str", "required": True},
        "ca": {"type": "path", "required": True},
        "cert": {"type": "path", "required": True},
        "key": {"type": "path", "required": True},
        "timeout": {"type": "int", "default": 180},
        "interval": {"type": "float", "default": 2},
        "readyz": {"type": "bool", "default": True},
        "node": {"type": "str", "default": ""},
        "node_since": {"type": "float", "default": 0},
        "kubelet_healthz": {"type": "str", "default": ""},
        "deployments": {"type": "list", "elements": "str", "default": []},
        "apiservices": {"type": "list", "elements": "str", "default": []},
        "logs": {"type": "dict", "default": {}},
        "services": {"type": "dict", "default": {}},
        "run_dir": {"type": "path", "default": "/run/k8s-cluster"},
        "log_lines": {"type": "int", "default": 40},
        "skip": {"type": "bool", "default": False},
    }


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    p = module.params
    if p["skip"]:
        module.exit_json(changed=False, seconds=0.0, passed={}, skipped=True)
    bad = [d for d in p["deployments"] if d.count("/") != 1]
    if bad:
        module.fail_json(msg=f"deployments must be namespace/name, got {bad}")
    try:
        api = wait.Api(p["server"], p["ca"], p["cert"], p["key"])
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"cannot load the client certificate or CA: {exc}")
    result = wait.wait(
        api,
        timeout=p["timeout"],
        interval=p["interval"],
        readyz=p["readyz"],
        node=p["node"],
        node_since=p["node_since"],
        kubelet_healthz=p["kubelet_healthz"],
        deployments=p["deployments"],
        apiservices=p["apiservices"],
    )
    if result["ready"]:
        module.exit_json(changed=False, **result)
    manager = service.Manager(service.pick_manager())
    running = {
        comp: manager.is_running(service.ServiceSpec(name=name, argv=[], run_dir=p["run_dir"]))
        for comp, name in p["services"].items()
    }
    failing = result["failing"]
    what = failing["check"] + (f" {failing['target']}" if failing["target"] else "")
    detail = wait.evidence(api, failing, p["logs"], running, p["log_lines"])
    module.fail_json(
        msg=f"{what} not ready after {result['seconds']}s: {failing['observation']}\n{detail}",
        changed=False,
        **result,
    )


if __name__ == "__main__":
    main()
