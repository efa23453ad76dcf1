#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: compose_check
short_description: Validate a rendered Compose project in a staging directory, once per input
version_added: 0.2.0
description:
  - Writes O(files) into a fresh staging directory and checks them there, before they replace the live ones
    (C(docker compose config --quiet), C(probe_lint) on the merged project, every image present on the engine).
  - The answer is recorded in O(cache_file) under a key made of the files' contents and the images' IDs; the same
    key later skips the parser and the lint. The image lookup always runs.
  - With O(dest), the validated files then replace the live ones there (as M(goaltrajectory.platform.file_tree)
    writes them, only what differs and atomically), in the same call; C(changed) says whether one did. Without it the
    module is read-only and never reports C(changed).
  - With O(release_file), the same call also reads what the engine runs of the project, as
    M(goaltrajectory.platform.compose_status) does (its containers, the IDs of the images they were created from, the
    last healthy release), so the role decides whether C(up) has anything to do without another module call.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - PyYAML
  - The docker CLI with Compose v2 (C(docker compose)) and a running engine
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Validates the same way; does not record the answer, and writes nothing into O(dest).
  diff_mode:
    support: full
    details: With O(dest), the live files' differences.
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  files:
    description: The rendered files (C(path) relative to the project directory, C(content)).
    type: list
    elements: dict
    required: true
  compose_files:
    description: The Compose files of O(files), merged in this order.
    type: list
    elements: str
    required: true
  project_name:
    description: Compose project name.
    type: str
    required: true
  images:
    description: Image reference by service (and dev stage); each must be on the engine.
    type: dict
    required: true
  unbuilt:
    description: Stand-in references of images a check-mode run would build; not looked up.
    type: list
    elements: str
    default: []
  cache_file:
    description: Where the last valid input's key is recorded.
    type: path
    required: true
  dest:
    description: The project directory the validated O(files) are written into; omitted writes nothing.
    type: path
  release_file:
    description:
      - The JSON file of the project's last healthy release; a missing file means none yet.
      - When set, RV(status) is returned.
    type: path
"""

EXAMPLES = r"""
- name: Validate the project
  goaltrajectory.platform.compose_check:
    files: "{{ rendered }}"
    compose_files: [docker-compose.yml, docker-compose.dev.yml]
    project_name: goaltrajectory
    images: {backend: goaltrajectory/backend:0.1.0}
    cache_file: /srv/goaltrajectory/dev/releases/validated.json
"""

RETURN = r"""
cached:
  description: Whether an earlier run had validated exactly this input.
  returned: success
  type: bool
key:
  description: The input's key (files and image IDs).
  returned: success
  type: str
lint:
  description: probe_lint's summary (empty when cached).
  returned: success
  type: dict
written:
  description: The files of O(files) written into O(dest) (would be, in check mode).
  returned: when O(dest) is set
  type: list
  elements: str
unchanged:
  description: The files of O(files) O(dest) already held.
  returned: when O(dest) is set
  type: list
  elements: str
status:
  description:
    - What the engine runs of the project, read in this call; the keys M(goaltrajectory.platform.compose_status)
      returns (C(containers), C(images_present), C(image_ids), C(release)).
  returned: when O(release_file) is set
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.goaltrajectory.platform.plugins.module_utils import compose_check, compose_status, file_tree
from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import loader


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "required": True},
            "compose_files": {"type": "list", "elements": "str", "required": True},
            "project_name": {"type": "str", "required": True},
            "images": {"type": "dict", "required": True},
            "unbuilt": {"type": "list", "elements": "str", "default": []},
            "cache_file": {"type": "path", "required": True},
            "dest": {"type": "path"},
            "release_file": {"type": "path"},
        },
        supports_check_mode=True,
    )
    if loader.IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=str(loader.IMPORT_ERROR))
    p = module.params
    try:
        result = compose_check.check(
            p["files"],
            p["compose_files"],
            p["project_name"],
            p["images"],
            p["cache_file"],
            unbuilt=p["unbuilt"],
            check_mode=module.check_mode,
        )
    except compose_check.CheckError as exc:
        module.fail_json(msg=str(exc))
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"compose_check: {type(exc).__name__}: {exc}")
    # The engine's side too (read-only): the role's one status call, instead of a compose_status task after this one.
    if p["release_file"]:
        try:
            result["status"] = compose_status.status(p["project_name"], [], p["release_file"])
        except (compose_status.StatusError, OSError) as exc:
            module.fail_json(msg=f"compose_check: reading the engine: {exc}", **result)
    if not p["dest"]:
        module.exit_json(changed=False, **result)
    # Validated: the files replace the live ones (one call instead of a file_tree task after this one).
    try:
        synced = file_tree.sync(p["dest"], p["files"], check=module.check_mode, diff=module._diff)
    except (file_tree.TreeFileError, KeyError, OSError, ValueError) as exc:
        module.fail_json(msg=f"compose_check: writing {p['dest']}: {exc}", **result)
    result.update(written=synced.written, unchanged=synced.unchanged)
    if module._diff:
        result["diff"] = synced.diffs
    module.exit_json(changed=synced.changed, **result)


if __name__ == "__main__":
    main()
