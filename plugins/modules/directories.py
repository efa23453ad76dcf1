#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: directories
short_description: Make a set of directories exist with their modes, in one call
version_added: 0.2.0
description:
  - Creates each directory in O(paths) that is missing and corrects the mode (and owner and group, when given) of
    those that differ, leaving the others alone; one task instead of a M(ansible.builtin.file) task per directory.
  - Every path is checked first; a relative path or one that exists and is not a directory fails naming it, before
    anything is changed.
  - Reports C(changed) only when a directory was created or corrected, with a diff per directory in diff mode.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be created or corrected, with diffs, and changes nothing.
  diff_mode:
    support: full
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  paths:
    description: The directories, each with an absolute C(path) and a C(mode) (default C(0755)).
    type: list
    elements: dict
    required: true
  owner:
    description: Numeric uid that owns the directories; unset leaves it as it is (new ones get the writer's).
    type: int
  group:
    description: Numeric gid that owns the directories; unset leaves it as it is (new ones get the writer's).
    type: int
"""

EXAMPLES = r"""
- name: Create the state and configuration directories
  goaltrajectory.platform.directories:
    paths:
      - {path: /var/lib/k8s-cluster, mode: "0755"}
      - {path: /var/lib/k8s-cluster/etcd, mode: "0700"}
    owner: 0
    group: 0
"""

RETURN = r"""
created:
  description: Directories created (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
fixed:
  description: Existing directories whose mode or owner was corrected (or would be).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils import file_tree


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "dict", "required": True},
            "owner": {"type": "int"},
            "group": {"type": "int"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = file_tree.ensure_directories(p["paths"], owner=p["owner"], group=p["group"], check=module.check_mode)
    except (file_tree.TreeFileError, OSError, ValueError) as exc:
        module.fail_json(msg=f"directories: {exc}")
    out = {"changed": result.changed, "created": result.created, "fixed": result.fixed}
    if module._diff:
        out["diff"] = result.diffs
    module.exit_json(**out)


if __name__ == "__main__":
    main()
