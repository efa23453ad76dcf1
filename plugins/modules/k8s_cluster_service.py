#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_cluster_service
short_description: Run cluster components under systemd or as supervised background processes, in order
version_added: 0.1.0
description:
  - Takes every component of one phase in one call and handles them in the given order; the first that fails
    stops the call, naming it, with what was done to the ones before.
  - Where PID 1 is systemd, writes a unit (C(Restart=always), output appended to O(services[].log_file)) and starts it.
  - Elsewhere, Debian's C(daemon) supervises the component; it respawns it when it exits, keeps a pid file in
    O(run_dir) and appends its output to O(services[].log_file).
  - The spec of the running instance (command line, environment, and the content of O(services[].files)) is hashed; a
    changed spec restarts the component, an unchanged running one is left alone, so C(changed) is honest.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - systemd, or the C(daemon) package
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reports whether each component would be started, restarted or stopped.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  services:
    description: The components, in the order they are started (or stopped).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Service name (unit name, pid file name).
        type: str
        required: true
      argv:
        description: Command line; the first element is an absolute path. Required unless O(state=stopped).
        type: list
        elements: str
        default: []
      env:
        description: Environment of the component (C(PATH) defaults to the system path).
        type: dict
        default: {}
      files:
        description: Files the component reads (configs, certificates); a change in their content restarts it.
        type: list
        elements: path
        default: []
      log_file:
        description: File the component's output is appended to.
        type: path
        required: true
      kill_mode:
        description: systemd C(KillMode); C(process) keeps children (containerd's shims) running across restarts.
        type: str
        choices: [control-group, process]
        default: control-group
      description:
        description: Unit description.
        type: str
        default: ""
  state:
    description: C(started) (each restarted when its spec changed), C(restarted) (always) or C(stopped).
    type: str
    choices: [started, restarted, stopped]
    default: started
  run_dir:
    description: Pid files and spec files.
    type: path
    default: /run/k8s-cluster
  manager:
    description: C(auto) picks C(systemd) when PID 1 is systemd, else C(daemon).
    type: str
    choices: [auto, systemd, daemon]
    default: auto
"""

EXAMPLES = r"""
- name: Run containerd and etcd
  goaltrajectory.platform.k8s_cluster_service:
    services:
      - name: k8s-cluster-containerd
        argv: [/usr/bin/containerd, --config=/etc/k8s-cluster/containerd/config.toml]
        files: [/etc/k8s-cluster/containerd/config.toml]
        log_file: /var/log/k8s-cluster/containerd.log
        kill_mode: process
      - name: k8s-cluster-etcd
        argv: [/opt/k8s-cluster/etcd/v3.6.6/etcd, --config-file=/etc/k8s-cluster/etcd.yaml]
        files: [/etc/k8s-cluster/etcd.yaml]
        log_file: /var/log/k8s-cluster/etcd.log
"""

RETURN = r"""
services:
  description: Per service name, C(action) (what was, in check mode would be, done), C(changed) and C(pid) (0 when
    stopped or in check mode before a start).
  returned: always
  type: dict
  sample: {k8s-cluster-etcd: {action: none, changed: false, pid: 4242}}
manager:
  description: systemd or daemon.
  returned: always
  type: str
"""

import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import service


def argspec():
    one = {
        "name": {"type": "str", "required": True},
        "argv": {"type": "list", "elements": "str", "default": []},
        "env": {"type": "dict", "default": {}},
        "files": {"type": "list", "elements": "path", "default": []},
        "log_file": {"type": "path", "required": True},
        "kill_mode": {"type": "str", "choices": ["control-group", "process"], "default": "control-group"},
        "description": {"type": "str", "default": ""},
    }
    return {
        "services": {"type": "list", "elements": "dict", "required": True, "options": one},
        "state": {"type": "str", "choices": ["started", "restarted", "stopped"], "default": "started"},
        "run_dir": {"type": "path", "default": "/run/k8s-cluster"},
        "manager": {"type": "str", "choices": ["auto", "systemd", "daemon"], "default": "auto"},
    }


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    p = module.params
    kind = service.pick_manager(p["manager"])
    specs = [
        service.ServiceSpec(
            name=s["name"],
            argv=s["argv"],
            env={k: str(v) for k, v in s["env"].items()},
            files=s["files"],
            log_file=s["log_file"],
            run_dir=p["run_dir"],
            kill_mode=s["kill_mode"],
            description=s["description"],
        )
        for s in p["services"]
    ]
    if p["state"] != "stopped":
        problems = [problem for spec in specs for problem in spec.validate(require_binary=not module.check_mode)]
        if problems:
            module.fail_json(msg="k8s_cluster_service: " + "; ".join(problems))
    tool = "systemctl" if kind == "systemd" else "daemon"
    if shutil.which(tool) is None:
        # Nothing runs under a manager whose command is not installed yet (a host the role has not set
        # up, as molecule/k8s_cluster meets on a fresh machine): stopping is a no-op, and check mode,
        # whose package task installed nothing, reports every service as one it would start.
        if p["state"] == "stopped" or module.check_mode:
            action = "none" if p["state"] == "stopped" else "started"
            done = {spec.name: {"action": action, "changed": action != "none", "pid": 0} for spec in specs}
            module.exit_json(changed=action != "none", manager=kind, services=done)
        module.fail_json(msg=f"the {tool} command is missing (manager {kind})")
    manager = service.Manager(kind)
    done = {}
    for spec in specs:
        try:
            action = service.ensure(manager, spec, p["state"], module.check_mode)
        except (RuntimeError, OSError) as exc:
            module.fail_json(msg=f"{spec.name}: {exc}", manager=kind, services=done)
        pid = 0 if module.check_mode else manager.pid(spec)
        done[spec.name] = {"action": action, "changed": action != "none", "pid": pid}
    module.exit_json(changed=any(d["changed"] for d in done.values()), manager=kind, services=done)


if __name__ == "__main__":
    main()
