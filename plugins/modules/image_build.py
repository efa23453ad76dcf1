#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_build
short_description: Build the service catalog's images with BuildKit, only when their inputs changed
version_added: 0.2.0
description:
  - Derives one build job per service of the checked service catalog (the C(service_catalog) filter's result), and
    one per dev stage (C(dev.target)), exposed as C(<name>-dev).
  - Writes the effective Dockerfile (the service's Dockerfile with the catalog's HEALTHCHECK appended to the target
    stage, which must be the last stage; dev stages get none) under O(work_dir) and builds from it.
  - Content-keyed. A digest of each image's inputs (effective Dockerfile, build context files honouring
    C(.dockerignore), target, build args, base image IDs) is stored as the label C(org.goaltrajectory.inputs); when
    the tag carries the digest of the current inputs, C(docker build) does not run at all.
  - Tags each image C(<repository>/<name>:<tag>) and C(<repository>/<name>:<environment>).
  - Reports per image what it did, why, and when it started and finished; the build log goes to
    C(<work_dir>/logs/<name>.log).
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - A docker CLI with BuildKit (the buildx plugin, or a CLI older than 23 with built-in BuildKit).
  - git, to name the tag after the last commit touching the sources (optional).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Computes every inputs digest and reports which images would be built or retagged and why; builds,
      tags and writes nothing.
  diff_mode:
    support: full
    details: Before and after inputs digest and image ID per image.
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  services:
    description:
      - The checked service catalog
        (C(catalog_services | goaltrajectory.platform.service_catalog(catalog_overrides))).
    type: dict
    required: true
  app_dir:
    description: Replaces C({app}) in the catalog's image paths.
    type: path
    required: true
  dockerfiles_dir:
    description: Replaces C({docker}) in the catalog's image paths.
    type: path
    required: true
  bases:
    description: Base image key (the catalog's C(image.bases) values and C(runtime_base)) to image reference.
    type: dict
    required: true
  base_variable:
    description: The variable O(bases) comes from, named in errors.
    type: str
    default: images_upstream_bases
  repository:
    description: Repository prefix of every image, C([<registry>/]<prefix>).
    type: str
    required: true
  tag:
    description: The version tag; empty means O(version) plus the git short sha of the last commit touching the sources.
    type: str
    default: ""
  version:
    description: The collection version (the tag's first part and the C(VERSION) label).
    type: str
    default: 0.0.0
  source:
    description: The C(SOURCE) label (the project's repository URL).
    type: str
    default: ""
  environment:
    description: The environment tag every image also gets.
    type: str
    required: true
  build_args:
    description: Extra build args per image name.
    type: dict
    default: {}
  dev_stages:
    description: Also build the C(dev.target) stage of services that have one, as C(<name>-dev).
    type: bool
    default: true
  only:
    description: Build only these image names (the plan still covers every image); empty means all.
    type: list
    elements: str
    default: []
  cli:
    description: Docker CLI for builds; empty picks buildx or a CLI from O(cli_candidates).
    type: str
    default: ""
  cli_candidates:
    description: CLIs tried, in order, for built-in BuildKit when buildx is missing.
    type: list
    elements: str
    default: [docker, /usr/bin/docker]
  ca_bundle:
    description: A CA bundle given to every build as the BuildKit secret C(build_ca); never in a layer.
    type: str
    default: ""
  work_dir:
    description: Where effective Dockerfiles, build logs and the inputs of the last build of each image go.
    type: path
    required: true
  golden:
    description:
      - The golden bases' plan settings (M(goaltrajectory.platform.image_golden)'s C(catalog), C(keys), C(suite),
        C(mirrors) and C(refresh)); given, the same call also works out which golden bases need a build
        (RV(golden)), so a run with every base current costs one module run for both plans.
    type: dict
  programs:
    description:
      - Go programs some images are made of (the monitoring images' binaries), as
        M(goaltrajectory.platform.k8s_cluster_go_build) takes them (C(components), C(dest_root), C(go)); given, the
        same call also says which of their builds are current (RV(programs)). Read-only; it builds nothing.
    type: dict
"""

EXAMPLES = r"""
- name: Work out which images need a build
  goaltrajectory.platform.image_build:
    services: "{{ catalog_services | goaltrajectory.platform.service_catalog(catalog_overrides) }}"
    app_dir: /srv/checkout
    dockerfiles_dir: /srv/checkout/docker
    bases: {python: gt-golden/python:3.11-bookworm, python_build: gt-golden/python-build:3.11-bookworm}
    repository: goaltrajectory
    environment: dev
    work_dir: /var/lib/goaltrajectory/images
  check_mode: true
  register: plan
"""

RETURN = r"""
golden:
  description: The golden bases' plan, as M(goaltrajectory.platform.image_golden) returns it in check mode.
  returned: when O(golden) is given
  type: dict
programs:
  description:
    - Each program of O(programs) as the C(status) mode of M(goaltrajectory.platform.k8s_cluster_go_build) reports
      it (C(name), C(version), C(current), C(reason), C(hash), C(binaries)), in the order given.
  returned: when O(programs) is given
  type: list
  elements: dict
tag:
  description: The version tag of every image.
  returned: success
  type: str
  sample: 0.1.0-d85fe50
revision:
  description: Full sha of the last commit touching the sources (C(unknown) outside git).
  returned: success
  type: str
created:
  description: That commit's time (the C(created) label).
  returned: success
  type: str
images:
  description: Per image name (services, and C(<name>-dev) for dev stages), what was done and the image's facts.
  returned: success
  type: dict
  contains:
    action:
      description: C(unchanged), C(retag) (only the environment tag moved) or C(build).
      type: str
    reasons:
      description: Why the image is built or retagged (missing tag, which files, build args or bases changed).
      type: list
      elements: str
    id:
      description: Image ID after the run (in check mode, the current one; empty when there is none).
      type: str
    inputs_digest:
      description: Digest of the image's inputs (the C(org.goaltrajectory.inputs) label).
      type: str
    started:
      description: When its build started (empty when none ran).
      type: str
    finished:
      description: When it finished.
      type: str
    seconds:
      description: How long the build took.
      type: float
built:
  description: Names of the images built in this run (in check mode, that would be).
  returned: success
  type: list
  elements: str
plan:
  description: Per image name, C(action) and C(reasons), for every image of the catalog (not only O(only)).
  returned: success
  type: dict
report:
  description: One line per image of the plan, for the console.
  returned: success
  type: list
  elements: str
builder:
  description: The CLI used and whether through buildx (empty when nothing was built).
  returned: success
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import build as build_mod
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import context as ctx
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import docker as dk
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import golden
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import jobs as jobs_mod
from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import gobuild


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "services": {"type": "dict", "required": True},
            "app_dir": {"type": "path", "required": True},
            "dockerfiles_dir": {"type": "path", "required": True},
            "bases": {"type": "dict", "required": True},
            "base_variable": {"type": "str", "default": "images_upstream_bases"},
            "repository": {"type": "str", "required": True},
            "tag": {"type": "str", "default": ""},
            "version": {"type": "str", "default": "0.0.0"},
            "source": {"type": "str", "default": ""},
            "environment": {"type": "str", "required": True},
            "build_args": {"type": "dict", "default": {}},
            "dev_stages": {"type": "bool", "default": True},
            "only": {"type": "list", "elements": "str", "default": []},
            "cli": {"type": "str", "default": ""},
            "cli_candidates": {"type": "list", "elements": "str", "default": ["docker", "/usr/bin/docker"]},
            "ca_bundle": {"type": "str", "default": ""},
            "work_dir": {"type": "path", "required": True},
            "golden": {"type": "dict"},
            "programs": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    p = module.params
    result = {"changed": False, "images": {}, "built": [], "plan": {}, "report": [], "builder": {}}
    if p["ca_bundle"] and not os.path.isfile(p["ca_bundle"]):
        module.fail_json(msg=f"images_build_ca_bundle={p['ca_bundle']} is not a file on the build host", **result)
    docker = dk.Docker()
    try:
        if p["golden"]:
            g = p["golden"]
            planned = golden.plan(g["catalog"], g["keys"], g["suite"], g["mirrors"], g["refresh"], docker.inspect)
            planned.pop("ids")
            result["golden"] = planned
        if p["programs"]:
            g = p["programs"]
            result["programs"] = gobuild.statuses(g["components"], g["dest_root"], g["go"])
        naming = build_mod.revision(p["app_dir"], p["dockerfiles_dir"], p["tag"], p["version"])
        result.update(naming)
        labels = {
            "VERSION": naming["tag"],
            "REVISION": naming["revision"],
            "CREATED": naming["created"],
            "SOURCE": p["source"],
        }
        jobs = jobs_mod.jobs(
            p["services"],
            app_dir=p["app_dir"],
            dockerfiles_dir=p["dockerfiles_dir"],
            bases=p["bases"],
            base_variable=p["base_variable"],
            repository=p["repository"],
            labels=labels,
            extra_args=p["build_args"],
            dev_stages=p["dev_stages"],
        )
        names = [job["name"] for job in jobs]
        unknown = [n for n in p["only"] if n not in names]
        if unknown:
            module.fail_json(
                msg=f"only: {', '.join(unknown)} is not an image of the catalog ({', '.join(names)})", **result
            )
        planned = build_mod.plan(jobs, docker, tag=naming["tag"], environment=p["environment"], work_dir=p["work_dir"])
    except (jobs_mod.JobError, ctx.ContextError, dk.DockerError, golden.GoldenError, gobuild.BuildError) as exc:
        module.fail_json(msg=str(exc), **result)
    result["plan"] = {item["name"]: {"action": item["action"], "reasons": item["reasons"]} for item in planned}
    result["report"] = [
        f"{item['name']}: {item['action']}"
        + (
            f" ({'; '.join(item['reasons'])})"
            if item["reasons"]
            else f" ({item['tag_ref']}, inputs {item['inputs_digest'][:19]})"
        )
        for item in planned
    ]
    selected = [item for item in planned if not p["only"] or item["name"] in p["only"]]
    diff = {"before": "", "after": ""}
    try:
        if not module.check_mode and any(item["action"] == "build" for item in selected):
            result["builder"] = dk.find_builder(p["cli"], p["cli_candidates"])
        for item in selected:
            if item["action"] != "unchanged":
                result["changed"] = True
                if item["action"] == "build":
                    result["built"].append(item["name"])
                diff["before"] += (
                    f"{item['name']}: {item['previous_inputs_digest'] or '(none)'} {item['previous_id']}\n"
                )
                diff["after"] += (
                    f"{item['name']}: {item['inputs_digest']} ({item['action']}: {'; '.join(item['reasons'])})\n"
                )
            if module.check_mode or item["action"] == "unchanged":
                result["images"][item["name"]] = build_mod.summary(
                    item, item["image"], dockerfile=f"{p['work_dir']}/dockerfiles/{item['name']}.Dockerfile"
                )
                if not module.check_mode:
                    # The effective Dockerfile and the sidecar record what the image was built from.
                    build_mod.write_file(
                        f"{p['work_dir']}/dockerfiles/{item['name']}.Dockerfile", item["dockerfile_text"]
                    )
                continue
            result["images"][item["name"]] = build_mod.execute(
                item,
                docker,
                result["builder"] or {"cli": "docker", "buildx": False},
                work_dir=p["work_dir"],
                ca_bundle=p["ca_bundle"],
            )
    except (build_mod.BuildError, dk.DockerError, OSError) as exc:
        module.fail_json(msg=str(exc), **result)
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
