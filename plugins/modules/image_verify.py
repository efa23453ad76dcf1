#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_verify
short_description: Refuse images whose digest is not signed by the release key (cosign)
version_added: 0.3.0
description:
  - Verifies every image reference by digest with C(cosign verify --key) before a deploy changes anything.
  - A reference with only a tag is resolved to the digest the tag points at now (registry API), so an unsigned
    image pushed under a signed tag is refused.
  - Fails naming every refused image and cosign's reason (for instance C(no signatures found)).
  - Without a transparency log (the offline default) the Rekor inclusion check is skipped
    (C(--insecure-ignore-tlog=true)); the signature itself is always checked.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - cosign v2
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Only reads; verifies in check mode too.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  cosign:
    description: Path of the cosign binary.
    type: path
    required: true
  public_key:
    description: The release public key.
    type: path
    required: true
  refs:
    description: Image name to reference (C(<registry>/<repository>@sha256:...) or C(<registry>/<repository>:<tag>)).
    type: dict
    required: true
  attestation:
    description: Also require a signed CycloneDX SBOM attestation.
    type: bool
    default: false
  insecure_registries:
    description: Registries spoken to over plain HTTP besides loopback ones.
    type: list
    elements: str
    default: []
  username:
    description: Registry user, to resolve tags; empty means anonymous.
    type: str
    default: ""
  password:
    description: Registry password.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Verify the images before the deploy
  goaltrajectory.platform.image_verify:
    cosign: /opt/goaltrajectory/tools/cosign/v2.6.5/cosign
    public_key: /etc/goaltrajectory/cosign/cosign.pub
    refs: {backend: "127.0.0.1:5000/goaltrajectory/backend@sha256:0123..."}
"""

RETURN = r"""
images:
  description: Per image, the reference, the digest reference verified, whether it verified and the seconds taken.
  returned: always
  type: dict
refused:
  description: One line per refused image, naming it and cosign's reason.
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import registry as reg
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import sign


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cosign": {"type": "path", "required": True},
            "public_key": {"type": "path", "required": True},
            "refs": {"type": "dict", "required": True},
            "attestation": {"type": "bool", "default": False},
            "insecure_registries": {"type": "list", "elements": "str", "default": []},
            "username": {"type": "str", "default": ""},
            "password": {"type": "str", "default": "", "no_log": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    insecure = set(p["insecure_registries"])
    insecure_for = sign.insecure_for(hosts=insecure)

    def resolve(parsed: dict) -> str:
        client = reg.Registry(parsed["registry"], p["username"], p["password"], parsed["registry"] in insecure)
        return client.digest(parsed["repository"], parsed["tag"])

    try:
        images, refused = sign.verify_all(
            sign.Cosign(p["cosign"]), p["public_key"], p["refs"], resolve, insecure_for, p["attestation"]
        )
    except (sign.CosignError, reg.RegistryError) as exc:
        module.fail_json(msg=str(exc), images={})
    if refused:
        module.fail_json(
            msg="refusing unsigned or re-tagged images: " + "; ".join(refused), images=images, refused=refused
        )
    module.exit_json(changed=False, images=images)


if __name__ == "__main__":
    main()
