#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: compose_status
short_description: Read a Compose project's containers, the images it needs and its last healthy release in one call
version_added: 0.3.0
description:
  - Returns C(docker inspect) of every container of O(project_name) (running or not), which of O(images) the engine
    holds (and the ID of each), and the JSON release recorded in O(release_file) after the project's last healthy C(up).
  - The roles decide from it whether C(up) has anything to do and which images need a build; one call instead of
    an image lookup, an inspect and a file read.
  - Without O(project_name) it only looks up O(images) (one C(docker image inspect) of all of them).
  - Read-only; never reports C(changed).
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - The docker CLI and a running engine
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
    platforms: posix
options:
  project_name:
    description:
      - Compose project name (the C(com.docker.compose.project) label of its containers).
      - Omitted, no containers are read (an image lookup only).
    type: str
  images:
    description: Image references to look up on the engine.
    type: list
    elements: str
    default: []
  release_file:
    description: The JSON file of the project's last healthy release; a missing file means none yet.
    type: path
"""

EXAMPLES = r"""
- name: Read the project's containers and its last healthy release
  goaltrajectory.platform.compose_status:
    project_name: goaltrajectory
    release_file: /srv/goaltrajectory/dev/releases/last-good.json
  register: before
"""

RETURN = r"""
containers:
  description: C(docker inspect) of the project's containers.
  returned: always
  type: list
  elements: dict
images_present:
  description: The references of O(images) the engine holds.
  returned: always
  type: list
  elements: str
image_ids:
  description:
    - Image reference -> the ID the engine holds for it now, for O(images) and for every reference a container of the
      project was created from. A container whose C(Image) differs runs an image its tag no longer names.
  returned: always
  type: dict
release:
  description: The recorded release; empty when there is none yet.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils import compose_status


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "project_name": {"type": "str"},
            "images": {"type": "list", "elements": "str", "default": []},
            "release_file": {"type": "path"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = compose_status.status(p["project_name"], p["images"], p["release_file"])
    except (compose_status.StatusError, OSError) as exc:
        module.fail_json(msg=f"compose_status: {exc}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
