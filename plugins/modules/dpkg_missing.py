#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: dpkg_missing
short_description: List which of some Debian packages are not installed, with one dpkg-query
version_added: 0.1.0
description:
  - Runs C(dpkg-query -W) once for O(names) and returns those not in the C(installed) state.
  - The roles install only what it returns with M(ansible.builtin.apt), which costs seconds even when every package
    is installed (it opens the package cache and re-executes itself under the system Python).
  - Read-only; never reports C(changed).
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - dpkg (Debian or Ubuntu)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reads the same way.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: debian
options:
  names:
    description: Package names.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Find the packages that are not installed
  goaltrajectory.platform.dpkg_missing:
    names: [containerd, runc]
  register: packages

- name: Install them
  ansible.builtin.apt:
    name: "{{ packages.missing }}"
  when: packages.missing | length > 0
"""

RETURN = r"""
missing:
  description: The names of O(names) not installed, in their order.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils import dpkg_status


def main() -> None:
    module = AnsibleModule(
        argument_spec={"names": {"type": "list", "elements": "str", "required": True}},
        supports_check_mode=True,
    )
    try:
        missing = dpkg_status.missing(module.params["names"], module.get_bin_path("dpkg-query", required=True))
    except OSError as exc:
        module.fail_json(msg=f"dpkg_missing: {exc}")
    module.exit_json(changed=False, missing=missing)


if __name__ == "__main__":
    main()
