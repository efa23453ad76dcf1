# Copyright: (c) 2026, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by goaltrajectory.platform.k8s_tree_apply and k8s_tree_drift (runner.TREE_ARGS)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description: Kubeconfig file.
    type: path
    required: true
  context:
    description: Kubeconfig context; empty for the current one.
    type: str
  objects:
    description: The objects in apply order, each C({object, wait, file}) as the k8s role renders them.
    type: list
    elements: dict
    required: true
  secrets:
    description: Secret name -> C(data) (base64 values) merged into the rendered Secret of that name; never shown.
    type: dict
    default: {}
  field_manager:
    description: Server-side apply field manager the tree is applied with.
    type: str
    default: goaltrajectory-platform
"""
