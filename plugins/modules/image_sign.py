#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_sign
short_description: Sign pushed images by digest with cosign and attest their CycloneDX SBOMs
version_added: 0.3.0
description:
  - Signs each digest reference with C(cosign sign --key) and attaches its CycloneDX SBOM as a signed attestation
    (C(cosign attest --type cyclonedx)); signatures and attestations are stored in the registry next to the image.
  - A digest that already verifies with O(public_key) (and whose SBOM attestation verifies) is left alone, so a
    run with nothing new is a verification per image.
  - Offline there is no transparency log, so nothing is uploaded to Rekor (C(--tlog-upload=false)).
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - cosign v2 (built by the images role from github.com/sigstore/cosign/v2)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Verifies and reports which digests would be signed; signs nothing.
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
  key:
    description: cosign private key file (encrypted with O(password)).
    type: path
    required: true
  public_key:
    description: The matching public key, to find digests that are signed already.
    type: path
    required: true
  password:
    description: The private key's password (given to cosign as C(COSIGN_PASSWORD)).
    type: str
    required: true
  refs:
    description: Image name to C(<registry>/<repository>@sha256:...) reference.
    type: dict
    required: true
  sboms:
    description: Image name to its CycloneDX SBOM file on this host; an image without one is only signed.
    type: dict
    default: {}
  insecure:
    description:
      - A non-loopback registry speaks plain HTTP (C(--allow-insecure-registry)); loopback registries always are
        spoken to over plain HTTP, as the Docker daemon does.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Sign the pushed images
  goaltrajectory.platform.image_sign:
    cosign: /opt/goaltrajectory/tools/cosign/v2.6.5/cosign
    key: /etc/goaltrajectory/cosign/cosign.key
    public_key: /etc/goaltrajectory/cosign/cosign.pub
    password: "{{ vault_images_sign_password }}"
    refs: {backend: "127.0.0.1:5000/goaltrajectory/backend@sha256:0123..."}
    insecure: true
"""

RETURN = r"""
signed:
  description: Digest references signed (in check mode, that would be).
  returned: success
  type: list
  elements: str
unchanged:
  description: Digest references that already verified.
  returned: success
  type: list
  elements: str
images:
  description: Per image, the reference, SBOM file, and the seconds spent verifying and signing.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import sign


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cosign": {"type": "path", "required": True},
            "key": {"type": "path", "required": True},
            "public_key": {"type": "path", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "refs": {"type": "dict", "required": True},
            "sboms": {"type": "dict", "default": {}},
            "insecure": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    cosign = sign.Cosign(p["cosign"], p["password"])
    try:
        result = sign.sign_all(
            cosign,
            p["key"],
            p["public_key"],
            p["refs"],
            p["sboms"],
            sign.insecure_for(always=p["insecure"]),
            check_mode=module.check_mode,
        )
    except (sign.CosignError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(result["signed"]), **result)


if __name__ == "__main__":
    main()
