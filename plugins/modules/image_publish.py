#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: image_publish
short_description: Push built images to a registry, or promote an environment tag to the next, by digest
version_added: 0.2.0
description:
  - C(push) pushes every tag of the given images (dev stages stay local) unless the registry's tag already points
    at the image's digest, and returns each image's C(<registry>/<repository>@sha256:...) reference.
  - C(promote) points C(<repository>/<name>:<to>) at the manifest C(:<from>) points at, through the registry API
    (the same manifest bytes, so the same digest; no layer is pulled or pushed), reads it back and fails unless
    the digests agree. It fails naming the image when C(:<from>) does not exist.
  - Loopback registries (and O(insecure) ones) are spoken to over plain HTTP, others over HTTPS; basic auth and
    bearer tokens are supported.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reads the registry's digests and reports which tags would be pushed or moved; pushes nothing.
  diff_mode:
    support: full
    details: Before and after digest per tag.
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  mode:
    description: What to do.
    type: str
    choices: [push, promote]
    required: true
  registry:
    description: Registry host[:port].
    type: str
    required: true
  repository:
    description: Repository prefix after the registry (C(<registry>/<repository>/<name>)).
    type: str
    required: true
  images:
    description: For O(mode=push), the C(images) of an M(goaltrajectory.platform.image_build) result.
    type: dict
    default: {}
  names:
    description: For O(mode=promote), the image names to promote.
    type: list
    elements: str
    default: []
  promote_from:
    description: The environment tag promoted.
    type: str
    default: ""
  promote_to:
    description: The environment tag it becomes.
    type: str
    default: ""
  username:
    description: Registry user; empty means anonymous (and C(docker push) uses the CLI's login).
    type: str
    default: ""
  password:
    description: Registry password.
    type: str
    default: ""
  insecure:
    description: Plain HTTP for a non-loopback registry (it must be in the daemon's insecure-registries too).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Promote dev to staging by digest
  goaltrajectory.platform.image_publish:
    mode: promote
    registry: registry.example.com
    repository: goaltrajectory
    names: [backend, frontend]
    promote_from: dev
    promote_to: staging
"""

RETURN = r"""
refs:
  description: Image name to its digest reference in the registry.
  returned: success
  type: dict
  sample: {backend: "127.0.0.1:5000/goaltrajectory/backend@sha256:0123..."}
pushed:
  description: Tags pushed (O(mode=push)) or moved (O(mode=promote)); in check mode, that would be.
  returned: success
  type: list
  elements: str
unchanged:
  description: Tags that already pointed at the right digest.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import docker as dk
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import registry as reg


def _local_digest(image: dict, repo_ref: str) -> str:
    for entry in image.get("RepoDigests") or []:
        if entry.startswith(repo_ref + "@"):
            return entry.split("@", 1)[1]
    return ""


def push(module, client, docker, result, diff) -> None:
    p = module.params
    images = {name: item for name, item in p["images"].items() if not item.get("dev")}
    found = docker.inspect([item["ref"] for item in images.values()])
    for name, item in sorted(images.items()):
        repo = f"{p['repository']}/{name}"
        repo_ref = f"{p['registry']}/{repo}"
        local = _local_digest(found.get(item["ref"]) or {}, repo_ref)
        digest = ""
        for tag_ref in item["tags"]:
            tag = tag_ref.rsplit(":", 1)[1]
            remote = client.digest(repo, tag)
            if local and remote == local:
                result["unchanged"].append(tag_ref)
                digest = local
                continue
            result["pushed"].append(tag_ref)
            diff["before"] += f"{tag_ref}: {remote or '(absent)'}\n"
            diff["after"] += f"{tag_ref}: {local or 'pushed'}\n"
            if not module.check_mode:
                digest = docker.push(tag_ref)
                local = digest
        if digest:
            result["refs"][name] = f"{repo_ref}@{digest}"


def promote(module, client, result, diff) -> None:
    p = module.params
    missing = []
    for name in p["names"]:
        repo = f"{p['repository']}/{name}"
        source = client.digest(repo, p["promote_from"])
        if not source:
            missing.append(f"{p['registry']}/{repo}:{p['promote_from']}")
            continue
        target_ref = f"{p['registry']}/{repo}:{p['promote_to']}"
        current = client.digest(repo, p["promote_to"])
        if current == source:
            result["unchanged"].append(target_ref)
        else:
            result["pushed"].append(target_ref)
            diff["before"] += f"{target_ref}: {current or '(absent)'}\n"
            diff["after"] += f"{target_ref}: {source}\n"
            if not module.check_mode:
                client.retag(repo, p["promote_from"], p["promote_to"])
                after = client.digest(repo, p["promote_to"])
                if after != source:
                    module.fail_json(
                        msg=f"{target_ref} points at {after or 'nothing'} after the promotion, not {source}", **result
                    )
        result["refs"][name] = f"{p['registry']}/{repo}@{source}"
    if missing and module.check_mode:
        # A dry run of a play that also builds and pushes cannot see what it would have pushed.
        result["changed"] = True
        module.warn(
            f"check mode: {', '.join(missing)} not in the registry yet; the promotion can only happen after a push"
        )
        return
    if missing:
        module.fail_json(
            msg=f"cannot promote {p['promote_from']} to {p['promote_to']}: {', '.join(missing)} does not exist in the "
            "registry (build and push it first)",
            **result,
        )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "mode": {"type": "str", "choices": ["push", "promote"], "required": True},
            "registry": {"type": "str", "required": True},
            "repository": {"type": "str", "required": True},
            "images": {"type": "dict", "default": {}},
            "names": {"type": "list", "elements": "str", "default": []},
            "promote_from": {"type": "str", "default": ""},
            "promote_to": {"type": "str", "default": ""},
            "username": {"type": "str", "default": ""},
            "password": {"type": "str", "default": "", "no_log": True},
            "insecure": {"type": "bool", "default": False},
        },
        required_if=[("mode", "promote", ("promote_from", "promote_to", "names"))],
        supports_check_mode=True,
    )
    p = module.params
    result = {"changed": False, "refs": {}, "pushed": [], "unchanged": []}
    diff = {"before": "", "after": ""}
    client = reg.Registry(p["registry"], p["username"], p["password"], p["insecure"])
    try:
        if p["mode"] == "push":
            push(module, client, dk.Docker(), result, diff)
        else:
            promote(module, client, result, diff)
    except (reg.RegistryError, dk.DockerError) as exc:
        module.fail_json(msg=str(exc), **result)
    result["changed"] = bool(result["pushed"])
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
