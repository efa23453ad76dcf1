# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the docker_host role; the logic lives in module_utils/docker_host_inputs.py."""

from ansible_collections.goaltrajectory.platform.plugins.module_utils import docker_host_inputs


class FilterModule:
    def filters(self):
        return {"docker_host_input_problems": docker_host_inputs.problems}
