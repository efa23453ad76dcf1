#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_tree_drift
short_description: Report per object whether the live cluster differs from a rendered Kubernetes tree
version_added: 0.3.0
description:
  - For every object of O(objects), in order, a server-side apply with C(dryRun=All) under O(field_manager)
    (conflicts forced, as the role applies), compared with the live object with managed fields, status and
    server bookkeeping hidden. Each object is C(in sync), C(drifted) (with a diff), C(missing) or C(error) (the
    API server refuses it). This is what Argo CD shows as OutOfSync.
  - The same code as M(goaltrajectory.platform.k8s_tree_apply) in check mode
    (C(plugins/module_utils/k8s_apply/runner.py), C(normalize.py)); nothing is ever written to the cluster.
  - When the API server cannot be reached within O(connect_timeout) seconds the module does not fail; it returns
    C(reachable=false) and the reason, and the caller decides.
  - Fields the tree does not set (added by another manager) are not drift; server-side apply leaves them alone.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - kubernetes (Python client)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
  - goaltrajectory.platform.k8s_tree
attributes:
  check_mode:
    support: full
    details: The module only reads and dry-runs; it behaves the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  connect_timeout:
    description: Seconds the API server has to answer before the cluster counts as unreachable.
    type: int
    default: 5
"""

EXAMPLES = r"""
- name: Compare the cluster with the tree
  goaltrajectory.platform.k8s_tree_drift:
    kubeconfig: /etc/k8s-cluster/kubeconfigs/admin.conf
    objects: "{{ objects }}"
  register: drift
"""

RETURN = r"""
reachable:
  description: Whether the API server answered.
  returned: always
  type: bool
reason:
  description: Why the cluster could not be checked (empty when it could).
  returned: always
  type: str
objects:
  description: Per object, in order, C(kind), C(name), C(namespace), C(in_tree), C(state) and, when drifted, C(diff).
  returned: always
  type: list
  elements: dict
  sample: [{kind: ConfigMap, name: app-config, namespace: goaltrajectory-dev, in_tree: true, state: drifted,
            diff: "--- ConfigMap/app-config (live)\n+++ ConfigMap/app-config (applied)\n..."}]
drifted:
  description: C(Kind/name) of every object not in sync (drifted, missing or refused).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_apply import drift, runner


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **runner.TREE_ARGS,
            "connect_timeout": {"type": "int", "default": 5},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        reason = runner.reachable(p["kubeconfig"], p["context"], p["connect_timeout"])
    except ImportError as exc:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(exc))
    if reason:
        module.exit_json(changed=False, reachable=False, reason=reason, objects=[], drifted=[])
    try:
        applier = runner.Applier(p["kubeconfig"], p["context"], p["field_manager"], True, check=True, diff=True)
        result = drift.check(applier, runner.with_secrets(p["objects"], p["secrets"]))
    except Exception as exc:
        module.fail_json(msg=f"k8s_tree_drift: {type(exc).__name__}: {exc}")
    module.exit_json(changed=False, reachable=True, reason="", **result)


if __name__ == "__main__":
    main()
