#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: sysctl_file
short_description: Keep kernel parameters in one sysctl.d file and set them live, in one call
version_added: 0.2.0
description:
  - Writes O(path) with O(values) when its content differs, and writes under C(/proc/sys) each value the running
    kernel does not already have; one task instead of an M(ansible.posix.sysctl) task per parameter.
  - Every parameter must exist in the running kernel; a missing one (a module not loaded) fails naming it before
    anything is written.
  - Reports C(changed) when the file or a live value changed, with a diff of each in diff mode.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be written or set, with diffs, and changes nothing.
  diff_mode:
    support: full
  idempotent:
    support: full
  platform:
    platforms: linux
options:
  path:
    description: The file under C(/etc/sysctl.d) that keeps the values across reboots.
    type: path
    required: true
  values:
    description: Parameter name (dotted, e.g. C(net.ipv4.ip_forward)) -> value.
    type: dict
    required: true
  header:
    description: The file's first line, as a comment.
    type: str
    default: Managed by Ansible; changes are overwritten.
"""

EXAMPLES = r"""
- name: Set the kernel parameters pods and Services need
  goaltrajectory.platform.sysctl_file:
    path: /etc/sysctl.d/90-k8s-cluster.conf
    values:
      net.ipv4.ip_forward: "1"
      net.bridge.bridge-nf-call-iptables: "1"
"""

RETURN = r"""
file_changed:
  description: Whether O(path) was (or would be) written.
  returned: always
  type: bool
live:
  description: The parameters whose running value was (or would be) set, each with C(before) and C(after).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils import sysctl_file


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "values": {"type": "dict", "required": True},
            "header": {"type": "str", "default": "Managed by Ansible; changes are overwritten."},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = sysctl_file.apply(p["path"], p["values"], p["header"], check=module.check_mode, diff=module._diff)
    except (sysctl_file.SysctlError, OSError) as exc:
        module.fail_json(msg=f"sysctl_file {p['path']}: {exc}")
    out = {"changed": result.changed, "file_changed": result.file_changed, "live": result.live}
    if module._diff:
        out["diff"] = result.diffs
    module.exit_json(**out)


if __name__ == "__main__":
    main()
