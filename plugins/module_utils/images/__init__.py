# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The images role's logic: content keys, effective Dockerfiles, builds, checks, registry.

Each module of this package is importable by plain pytest (no AnsibleModule; HTTP goes through
ansible.module_utils.urls, a plain library); the thin ``image_*`` modules in plugins/modules call
into it.
"""
