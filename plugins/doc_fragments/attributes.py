# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes every module of goaltrajectory.platform documents, next to ansible.builtin.action_common_attributes."""

from __future__ import annotations


class ModuleDocFragment:
    # ansible-core's action_common_attributes describes check_mode, diff_mode and platform, not idempotent.
    DOCUMENTATION = r"""
attributes:
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled or queried by the module has not changed in a relevant way.
"""
