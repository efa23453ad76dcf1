# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply a rendered Kubernetes tree: server-side apply in order, rollout waits, rollback, prune.

``normalize`` and ``rollout`` are pure functions (plain pytest); ``runner`` talks to the API
server through the kubernetes client's dynamic client.
"""
