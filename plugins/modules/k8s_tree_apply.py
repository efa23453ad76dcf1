#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_tree_apply
short_description: Server-side apply a rendered Kubernetes tree in order, wait for rollouts, undo failed ones
version_added: 0.2.0
description:
  - Applies every object of O(objects) in the order given with server-side apply under O(field_manager), in one
    process (one API connection), the way C(kubectl apply --server-side) does, and reports per object whether it was
    created, updated or unchanged, with a diff that hides managed fields and server-set values.
  - After each Deployment or StatefulSet marked C(wait), waits for its rollout like C(kubectl rollout status). A pod
    that will not become ready (crash loop, failing image pull, repeated restarts) fails the rollout at once, quoting
    the pods' warning events and their containers' last log lines.
  - With O(undo), a failed rollout of an object that existed before is undone to its previous revision, like
    C(kubectl rollout undo), and waited for; then the module fails, saying so.
  - With O(prune), objects carrying O(prune_labels) of O(prune_kinds) in O(namespace) that are not in O(objects) are
    deleted; Namespaces and PersistentVolumeClaims never are.
  - Secret values come through O(secrets) (no_log), merged into the rendered Secret objects of that name.
  - Before anything is applied, the module checks that O(kubeconfig) exists and that the API server answers within
    O(connect_timeout) seconds; if not, it fails with the reason and O(unreachable_hint), having changed nothing.
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
    details: Every object is applied with C(dryRun=All); nothing is waited for, undone or deleted.
  diff_mode:
    support: full
    details: Per-object diffs between the live object and what applying it gives, Secret values hidden.
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  force_conflicts:
    description: Take over fields another manager owns (C(--force-conflicts)).
    type: bool
    default: true
  wait:
    description: Wait for the rollouts of workloads marked C(wait).
    type: bool
    default: true
  wait_timeout:
    description: Seconds each rollout may take.
    type: int
    default: 600
  undo:
    description: Undo a failed rollout to the previous revision.
    type: bool
    default: true
  prune:
    description: Delete our objects that are no longer in O(objects).
    type: bool
    default: false
  namespace:
    description: Namespace pruned and summarised.
    type: str
  prune_labels:
    description: Labels every object of ours carries.
    type: dict
    default: {}
  prune_kinds:
    description: C({api_version, kind}) considered for pruning.
    type: list
    elements: dict
    default: []
  routes:
    description: Workload name -> URL for the summary.
    type: dict
    default: {}
  connect_timeout:
    description: Seconds the API server has to answer before the cluster counts as unreachable.
    type: int
    default: 5
  unreachable_hint:
    description: What the operator can do, appended to the failure when the cluster cannot be reached.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Apply the tree
  goaltrajectory.platform.k8s_tree_apply:
    kubeconfig: /etc/k8s-cluster/kubeconfigs/admin.conf
    objects: "{{ objects }}"
    secrets: {app-secrets: {POSTGRES_PASSWORD: "{{ 'pw' | b64encode }}"}}
    namespace: goaltrajectory-dev
  no_log: false
"""

RETURN = r"""
objects:
  description: Per object, in order, what applying it did (C(create), C(update), C(unchanged)).
  returned: always
  type: list
  elements: dict
  sample: [{kind: Deployment, name: backend, namespace: goaltrajectory-dev, action: update, changed: true}]
rollouts:
  description: Per workload waited for, its result and seconds.
  returned: always
  type: list
  elements: dict
pruned:
  description: C(Kind/name) of the objects deleted (or that would be).
  returned: always
  type: list
  elements: str
reachable:
  description: C(false) when the kubeconfig is missing or the API server did not answer; nothing was applied.
  returned: failure
  type: bool
summary:
  description: Per workload, ready/desired replicas, pods ready, probe failures in events, image digests, URL.
  returned: success
  type: list
  elements: dict
"""


from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_apply import runner


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **runner.TREE_ARGS,
            "force_conflicts": {"type": "bool", "default": True},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 600},
            "undo": {"type": "bool", "default": True},
            "prune": {"type": "bool", "default": False},
            "namespace": {"type": "str"},
            "prune_labels": {"type": "dict", "default": {}},
            "prune_kinds": {"type": "list", "elements": "dict", "default": []},
            "routes": {"type": "dict", "default": {}},
            "connect_timeout": {"type": "int", "default": 5},
            "unreachable_hint": {"type": "str", "default": ""},
        },
        required_if=[("prune", True, ("namespace", "prune_labels"))],
        supports_check_mode=True,
    )
    missing = runner.load_client()
    if missing is not None:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=str(missing))
    p = module.params
    reason = runner.reachable(p["kubeconfig"], p["context"], p["connect_timeout"])
    if reason:
        msg = f"Cannot reach the Kubernetes cluster: {reason}. {p['unreachable_hint']}"
        module.fail_json(msg=msg.strip(), reachable=False)
    try:
        applier = runner.Applier(
            p["kubeconfig"], p["context"], p["field_manager"], p["force_conflicts"], module.check_mode, module._diff
        )
        objects = runner.with_secrets(p["objects"], p["secrets"])
        result = runner.public(applier.run(objects, p["wait"], p["wait_timeout"], p["undo"]))
        keep = {f"{o['object']['kind']}/{o['object']['metadata']['name']}" for o in objects}
        result["pruned"] = (
            applier.prune(p["namespace"], p["prune_labels"], p["prune_kinds"], keep) if p["prune"] else []
        )
        result["changed"] = result["changed"] or bool(result["pruned"])
        if p["namespace"] and not module.check_mode:
            result["summary"] = applier.summary(objects, p["routes"])
    except runner.ApplyError as exc:
        module.fail_json(msg=str(exc), **runner.public(exc.result))
    except Exception as exc:
        module.fail_json(msg=f"k8s_tree_apply: {type(exc).__name__}: {exc}")
    if module._diff:
        result["diff"] = [
            {"before_header": f"{o['kind']}/{o['name']} (live)", "after_header": "(applied)", "prepared": o["diff"]}
            for o in result["objects"]
            if o.get("diff")
        ]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
