#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: docker_host_status
short_description: What a Docker host already has (packages, daemon settings, service, API, Compose), in one call
version_added: 0.1.0
description:
  - Answers, in one module run, every question the docker_host role asks before it changes anything.
    The role runs a task only where the answer is "not yet", so a host that already has everything costs one
    module run instead of one per package set, file, service and CLI.
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
  packages:
    description: Package names that must be installed.
    type: list
    elements: str
    required: true
  daemon_json:
    description:
      - The exact content the daemon settings file must have (root-owned, mode 0644); empty skips the check.
    type: str
    default: ""
  daemon_json_path:
    description: The daemon settings file.
    type: path
    default: /etc/docker/daemon.json
  clamp:
    description:
      - A marked block a file must hold once, as M(ansible.builtin.blockinfile) writes it; omitted skips the check.
    type: dict
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      begin:
        description: The block's first line (its begin marker).
        type: str
        required: true
      end:
        description: The block's last line (its end marker).
        type: str
        required: true
      block:
        description: The lines between the markers.
        type: str
        required: true
  service:
    description: A sysvinit service whose state and start links are read; empty skips them (systemd hosts).
    type: str
    default: ""
  docker:
    description: The docker CLI, asked for the server's version and for its Compose plugin's.
    type: str
    default: docker
"""

EXAMPLES = r"""
- name: Read what this host already has
  goaltrajectory.platform.docker_host_status:
    packages: [docker.io, python3-venv]
    daemon_json: "{{ {'log-driver': 'json-file'} | to_nice_json(indent=2) }}\n"
    service: docker
  register: host

- name: Install what is missing
  ansible.builtin.apt:
    name: "{{ host.missing }}"
  when: host.missing | length > 0
"""

RETURN = r"""
missing:
  description: The names of O(packages) not installed, in their order.
  returned: always
  type: list
  elements: str
daemon_json_current:
  description: Whether O(daemon_json_path) holds O(daemon_json) (true when O(daemon_json) is empty).
  returned: always
  type: bool
clamp_current:
  description: Whether O(clamp.path) holds O(clamp.block) between its markers once (true when O(clamp) is omitted).
  returned: always
  type: bool
service_running:
  description: Whether C(service <service> status) exits 0.
  returned: when O(service) is set
  type: bool
service_enabled:
  description: Whether a runlevel starts O(service) (the test M(ansible.builtin.sysvinit) makes).
  returned: when O(service) is set
  type: bool
api:
  description: C(docker version) for the server's version and API version, as RV(api.stdout) "<version> <api>".
  returned: always
  type: dict
  contains:
    rc:
      description: Its exit code (127 when the CLI is missing).
      type: int
    stdout:
      description: Its output.
      type: str
    stderr:
      description: Its error output.
      type: str
compose:
  description: C(docker compose version --short), as RV(api) (rc non-zero when the plugin is missing).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils import docker_host_status


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "packages": {"type": "list", "elements": "str", "required": True},
            "daemon_json": {"type": "str", "default": ""},
            "daemon_json_path": {"type": "path", "default": "/etc/docker/daemon.json"},
            "clamp": {
                "type": "dict",
                "options": {
                    "path": {"type": "path", "required": True},
                    "begin": {"type": "str", "required": True},
                    "end": {"type": "str", "required": True},
                    "block": {"type": "str", "required": True},
                },
            },
            "service": {"type": "str", "default": ""},
            "docker": {"type": "str", "default": "docker"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        answer = docker_host_status.status(
            packages=params["packages"],
            dpkg_query=module.get_bin_path("dpkg-query", required=True),
            docker=params["docker"],
            daemon_json=params["daemon_json"],
            daemon_json_path=params["daemon_json_path"],
            clamp=params["clamp"],
            service=params["service"],
            service_cmd=module.get_bin_path("service") or "service",
        )
    except OSError as exc:
        module.fail_json(msg=f"docker_host_status: {exc}")
    module.exit_json(changed=False, **answer)


if __name__ == "__main__":
    main()
