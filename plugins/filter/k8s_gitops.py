# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the k8s role's render-only (GitOps) path: drift reports, the Secret's objects
(logic in module_utils/k8s_gitops.py and k8s_tree.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.goaltrajectory.platform.plugins.module_utils import k8s_gitops, k8s_tree

DOCUMENTATION = r"""
name: k8s_drift_report
short_description: Lines saying, per object, whether the live cluster differs from the rendered tree
version_added: 0.3.0
description:
  - From the result of M(goaltrajectory.platform.k8s_tree_drift), one line per object (C(in sync), C(drifted)
    followed by its diff, C(missing), C(error)) and a total naming every object out of sync.
positional: tree
options:
  _input:
    description: The k8s_tree_drift module's result.
    type: dict
    required: true
  tree:
    description: The tree's directory, named in the total.
    type: str
"""


def k8s_drift_report(result, tree=""):
    return k8s_gitops.drift_report(result, tree)


def k8s_drift_repaired(applied, objects, written):
    """``Kind/name`` of the objects the apply changed although their rendered file did not change."""
    return k8s_gitops.drift_repaired(applied, objects, list(written or []))


def k8s_secret_objects(services, settings):
    """The Namespace and the Secret (keys only) that playbooks/k8s_secrets.yml applies."""
    try:
        return k8s_tree.secret_objects(services, settings)
    except k8s_tree.TreeError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {
            "k8s_drift_report": k8s_drift_report,
            "k8s_drift_repaired": k8s_drift_repaired,
            "k8s_secret_objects": k8s_secret_objects,
        }
