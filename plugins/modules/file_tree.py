#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: file_tree
short_description: Make a directory hold exactly a set of rendered files
version_added: 0.2.0
description:
  - Writes every given file under O(dest) whose content or mode differs, atomically, and leaves the others alone,
    so a whole rendered tree costs one task instead of one template task per file.
  - With O(prune), files under O(dest) that match O(prune_patterns) and are not given are removed.
  - Reports C(changed) only when a file was written or removed, with a diff per file in diff mode.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be written or removed, with diffs, and writes nothing.
  diff_mode:
    support: full
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  dest:
    description: The directory the files live in; created when missing.
    type: path
    required: true
  files:
    description: The files, each with a C(path) relative to O(dest), its C(content) and optionally a C(mode).
    type: list
    elements: dict
    required: true
  mode:
    description: Mode of files that do not give their own.
    type: raw
    default: "0644"
  dir_mode:
    description: Mode of directories the module creates.
    type: raw
    default: "0755"
  prune:
    description: Remove files under O(dest) that match O(prune_patterns) and are not in O(files).
    type: bool
    default: false
  prune_patterns:
    description: File name patterns O(prune) considers.
    type: list
    elements: str
    default: ["*.yaml", "*.yml"]
  secret:
    description: The contents are secret; diffs say only which file changed.
    type: bool
    default: false
  owner:
    description: Numeric uid that owns the files written; unset leaves the writer's.
    type: int
  group:
    description: Numeric gid that owns the files written; unset leaves the writer's.
    type: int
"""

EXAMPLES = r"""
- name: Write the rendered Compose files
  goaltrajectory.platform.file_tree:
    dest: /srv/goaltrajectory/compose
    files:
      - path: docker-compose.yml
        content: "{{ compose_base | to_nice_yaml }}"
    prune: true
"""

RETURN = r"""
written:
  description: Files written (or, in check mode, that would be), relative to O(dest).
  returned: always
  type: list
  elements: str
  sample: [backend/deployment.yaml]
removed:
  description: Files removed by O(prune) (or that would be).
  returned: always
  type: list
  elements: str
unchanged:
  description: Files that already had the content and mode.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils import file_tree


def _mode(value) -> int:
    return int(value, 8) if isinstance(value, str) else int(value)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "dest": {"type": "path", "required": True},
            "files": {"type": "list", "elements": "dict", "required": True},
            "mode": {"type": "raw", "default": "0644"},
            "dir_mode": {"type": "raw", "default": "0755"},
            "prune": {"type": "bool", "default": False},
            "prune_patterns": {"type": "list", "elements": "str", "default": ["*.yaml", "*.yml"]},
            "secret": {"type": "bool", "default": False},
            "owner": {"type": "int"},
            "group": {"type": "int"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = file_tree.sync(
            p["dest"],
            p["files"],
            mode=_mode(p["mode"]),
            dir_mode=_mode(p["dir_mode"]),
            prune=p["prune"],
            prune_patterns=tuple(p["prune_patterns"]),
            check=module.check_mode,
            diff=module._diff,
            secret=p["secret"],
            owner=p["owner"],
            group=p["group"],
        )
    except (file_tree.TreeFileError, KeyError, OSError, ValueError) as exc:
        module.fail_json(msg=f"file_tree {p['dest']}: {exc}")
    out = {
        "changed": result.changed,
        "written": result.written,
        "removed": result.removed,
        "unchanged": result.unchanged,
    }
    if module._diff:
        out["diff"] = result.diffs
    module.exit_json(**out)


if __name__ == "__main__":
    main()
