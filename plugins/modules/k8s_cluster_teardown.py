#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_cluster_teardown
short_description: Remove a stopped single-node cluster's pods, mounts, bridge and netfilter state
version_added: 0.1.0
description:
  - Run after the kubelet, kube-proxy and kube-router are stopped. Kills and deletes every container of the
    cluster's own containerd (through O(containerd_socket), never Docker's), ends leftover shims of that socket
    by pid, unmounts everything under O(mount_roots) and the pods' network namespaces, deletes the CNI bridge,
    and removes the iptables/ip6tables chains named C(KUBE-*) and C(CNI-*) with the rules jumping to them, and
    kube-router's ipsets. Docker's chains are never touched.
  - With O(purge), also deletes O(purge_paths).
  - Reports every action; C(changed) when there was anything to do.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Lists the actions without taking them.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  containerd_socket: {description: The cluster containerd's socket., type: path, required: true}
  ctr: {description: The ctr command., type: path, default: /usr/bin/ctr}
  stage:
    description:
      - C(containers) kills and deletes the containers (containerd must still run).
      - C(host) ends leftover shims and cleans mounts, namespaces, the bridge and netfilter (everything stopped).
    type: str
    choices: [containers, host]
    required: true
  mount_roots: {description: Directories whose mounts are removed., type: list, elements: path, default: []}
  bridge: {description: CNI bridge to delete., type: str, default: ""}
  netns_state:
    description: File where the containers stage records the pods' network namespaces for the host stage.
    type: path
    required: true
  purge: {description: Delete O(purge_paths) too., type: bool, default: false}
  purge_paths: {description: State to delete with O(purge)., type: list, elements: path, default: []}
"""

EXAMPLES = r"""
- name: Remove the pods
  goaltrajectory.platform.k8s_cluster_teardown:
    stage: containers
    containerd_socket: /run/k8s-containerd/containerd.sock
    netns_state: /var/lib/k8s-cluster/netns.json
"""

RETURN = r"""
actions:
  description: What was (in check mode, would be) done.
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import teardown


def argspec():
    return {
        "containerd_socket": {"type": "path", "required": True},
        "ctr": {"type": "path", "default": "/usr/bin/ctr"},
        "stage": {"type": "str", "choices": ["containers", "host"], "required": True},
        "mount_roots": {"type": "list", "elements": "path", "default": []},
        "bridge": {"type": "str", "default": ""},
        "netns_state": {"type": "path", "required": True},
        "purge": {"type": "bool", "default": False},
        "purge_paths": {"type": "list", "elements": "path", "default": []},
    }


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    p = module.params
    runner = teardown.Runner(check_mode=module.check_mode)
    if p["stage"] == "containers":
        items = teardown.containers(runner, p["ctr"], p["containerd_socket"])
        netns = sorted({i["netns"] for i in items if i["netns"]})
        if netns and not module.check_mode:
            os.makedirs(os.path.dirname(p["netns_state"]), exist_ok=True)
            with open(p["netns_state"], "w") as fh:
                json.dump(netns, fh)
        teardown.remove_containers(runner, p["ctr"], p["containerd_socket"], items)
    else:
        teardown.end_shims(runner, p["containerd_socket"])
        try:
            with open(p["netns_state"]) as fh:
                netns = json.load(fh)
        except (OSError, ValueError):
            netns = []
        teardown.remove_netns(runner, netns)
        teardown.unmount(runner, teardown.mounts_under(p["mount_roots"]))
        if p["bridge"]:
            teardown.delete_link(runner, p["bridge"])
        teardown.clean_netfilter(runner)
        if not module.check_mode and os.path.exists(p["netns_state"]):
            os.unlink(p["netns_state"])
        if p["purge"]:
            teardown.purge(runner, p["purge_paths"])
    module.exit_json(changed=bool(runner.actions), actions=runner.actions)


if __name__ == "__main__":
    main()
