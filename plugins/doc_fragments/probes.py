# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by goaltrajectory.platform.probe_lint and probe_check."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  docker_cli:
    description:
      - Name or path of the docker CLI.
      - M(goaltrajectory.platform.probe_lint) uses it to look inside images that are present locally
        (never pulling); M(goaltrajectory.platform.probe_check) uses it for C(exec) targets that name a
        C(container).
      - When the CLI or the engine is missing, image checks are skipped (M(goaltrajectory.platform.probe_lint) says so
        with a C(compose-healthcheck-binary-unchecked) info finding per healthcheck) and C(exec) targets in containers
        fail.
    type: str
    default: docker
attributes:
  action_group:
    description: Use C(group/goaltrajectory.platform.probes) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - goaltrajectory.platform.probes
notes:
  - The module only reads; it never changes the target and always returns C(changed=false), also in check mode,
    where it runs exactly as without check mode.
"""
