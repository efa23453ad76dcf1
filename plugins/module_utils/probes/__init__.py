# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health and probe validation for goaltrajectory.platform.

``engine.lint`` checks Kubernetes manifests and Compose files statically (rules in ``rules``);
``prober.run_probes`` runs Kubernetes-style probes against live targets.  Both are plain Python,
importable by pytest without Ansible, and callable from the shell with
``python -m plugins.module_utils.probes`` (see ``__main__``).
"""
