#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_golden
short_description: Provide the golden base images the service catalog's images are built on
version_added: 0.2.0
description:
  - Takes the golden base catalog (dependency order) and the base keys the service catalog needs, adds their
    ancestors, and reuses every base whose C(org.goaltrajectory.golden.recipe) label matches the hash of its recipe
    (bootstrap script or Dockerfile, parent image ID, downloaded npm package, suite, mirrors).
  - Builds the others in order, so a rebuilt base rebuilds everything above it. The Debian base comes from the
    debootstrap script (needs root and C(debootstrap)); the others are BuildKit builds of C(docker/golden/*).
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reports which bases would be built and why; builds and downloads nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  catalog:
    description: The golden bases, each with C(key), C(tag), C(recipe_file), and for derived bases C(parent), C(arg)
      (the build arg naming the parent) and optionally C(download) (C(package), C(version), C(file)).
    type: list
    elements: dict
    required: true
  keys:
    description: The base keys needed (C(catalog_base_images) of the service catalog).
    type: list
    elements: str
    required: true
  suite:
    description: Debian suite.
    type: str
    required: true
  mirrors:
    description: The Debian mirror and the security mirror.
    type: list
    elements: str
    required: true
  npm_registry:
    description: npm registry for the C(download) packages.
    type: str
    default: https://registry.npmjs.org
  refresh:
    description: Rebuild every needed base even when its recipe is unchanged.
    type: bool
    default: false
  work_dir:
    description: Build contexts of the derived bases go to C(<work_dir>/golden/<key>).
    type: path
    required: true
  cli:
    description: Docker CLI for builds; empty picks buildx or a CLI from O(cli_candidates).
    type: str
    default: ""
  cli_candidates:
    description: CLIs tried for built-in BuildKit.
    type: list
    elements: str
    default: [docker, /usr/bin/docker]
  ca_bundle:
    description: CA bundle passed as the BuildKit secret C(build_ca).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Provide the golden bases
  goaltrajectory.platform.image_golden:
    catalog: "{{ __images_golden_catalog }}"
    keys: [python, python_build]
    suite: bookworm
    mirrors: [http://deb.debian.org/debian, http://deb.debian.org/debian-security]
    work_dir: /var/lib/goaltrajectory/images
"""

RETURN = r"""
bases:
  description: Base key to image tag, for every needed base.
  returned: success
  type: dict
  sample: {debian: gt-golden/debian:bookworm, python: gt-golden/python:3.11-bookworm}
plan:
  description: Per base key, C(action) (C(reuse) or C(build)) and C(reason).
  returned: success
  type: dict
built:
  description: Keys of the bases built (in check mode, that would be).
  returned: success
  type: list
  elements: str
bootstrap:
  description: Whether a base without parent (the debootstrapped Debian base) is to be built.
  returned: success
  type: bool
seconds:
  description: How long the call took (the builds, when it built).
  returned: success
  type: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import docker as dk
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import golden


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "catalog": {"type": "list", "elements": "dict", "required": True},
            "keys": {"type": "list", "elements": "str", "required": True, "no_log": False},
            "suite": {"type": "str", "required": True},
            "mirrors": {"type": "list", "elements": "str", "required": True},
            "npm_registry": {"type": "str", "default": "https://registry.npmjs.org"},
            "refresh": {"type": "bool", "default": False},
            "work_dir": {"type": "path", "required": True},
            "cli": {"type": "str", "default": ""},
            "cli_candidates": {"type": "list", "elements": "str", "default": ["docker", "/usr/bin/docker"]},
            "ca_bundle": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    p = module.params
    started = time.monotonic()
    result = {"changed": False, "bases": {}, "plan": {}, "built": [], "bootstrap": False}
    docker = dk.Docker()
    try:
        # The plan first (what check mode reports), then the bases it found missing or stale,
        # parents first; a rebuilt parent's new ID goes into its children's recipes.
        planned = golden.plan(p["catalog"], p["keys"], p["suite"], p["mirrors"], p["refresh"], docker.inspect)
        ids = planned.pop("ids")
        result.update(planned, changed=bool(planned["built"]))
        if module.check_mode:
            module.exit_json(**result)
        by_key = {base["key"]: base for base in golden.needed(p["catalog"], p["keys"])}
        builder = None
        for key in planned["built"]:
            base, tag = by_key[key], by_key[key]["tag"]
            parent = base.get("parent") or ""
            recipe = golden.recipe(base, ids.get(parent, ""), p["suite"], p["mirrors"])
            if not parent:
                out = golden.bootstrap(
                    base, builder_cli(p, docker), p["suite"], p["mirrors"][0], p["mirrors"][1], recipe
                )
                if out["rc"] != 0:
                    module.fail_json(msg=f"bootstrapping {tag} failed: {out['output']}", **result)
            else:
                builder = builder or dk.find_builder(p["cli"], p["cli_candidates"])
                context = os.path.join(p["work_dir"], "golden", key)
                os.makedirs(context, exist_ok=True)
                if base.get("download"):
                    golden.download(base, p["npm_registry"], context)
                argv = [
                    "--file",
                    base["recipe_file"],
                    "--tag",
                    tag,
                    f"--build-arg={base['arg']}={result['bases'][parent]}",
                    f"--label={golden.RECIPE_LABEL}={recipe}",
                    f"--label=org.opencontainers.image.title=gt-golden-{key.replace('_', '-')}",
                ]
                if p["ca_bundle"]:
                    argv += ["--secret", f"id=build_ca,src={p['ca_bundle']}"]
                outcome = docker.build(
                    builder, [*argv, context], os.path.join(p["work_dir"], "logs", f"golden-{key}.log")
                )
                if outcome["rc"] != 0:
                    module.fail_json(msg=f"building the golden base {tag} failed: {outcome['log_tail']}", **result)
            image = docker.inspect([tag]).get(tag)
            if image is None:
                module.fail_json(msg=f"{tag}: no such image after building it", **result)
            ids[key] = image["Id"]
    except (golden.GoldenError, dk.DockerError, OSError) as exc:
        module.fail_json(msg=str(exc), **result)
    result["seconds"] = round(time.monotonic() - started, 1)
    module.exit_json(**result)


def builder_cli(params: dict, docker) -> str:
    return params["cli"] or docker.cli


if __name__ == "__main__":
    main()
