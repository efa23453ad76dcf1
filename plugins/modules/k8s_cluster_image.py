#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_cluster_image
short_description: Push a single-layer OCI image made of local files to a registry
version_added: 0.1.0
description:
  - Makes one reproducible layer from files on this host (static binaries, links, empty directories) on an
    empty base, the way C(ko) builds Go images, and pushes it with its config and OCI manifest to a registry
    through the distribution HTTP API. No container engine is involved.
  - Equal inputs give an equal digest (sorted entries, numeric owners, mtime 0, gzip without timestamp), so a
    second run finds the manifest in the registry and reports no change.
  - A cache file per image remembers the inputs' sizes, mtimes and inodes, so an unchanged image costs two
    C(HEAD) requests and no compression.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reports whether the push would change the registry; nothing is pushed.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  registry:
    description: Registry C(host:port).
    type: str
    required: true
  insecure:
    description: Talk plain HTTP (a loopback registry).
    type: bool
    default: true
  repository:
    description: Repository in the registry, e.g. C(k8s-cluster/coredns).
    type: str
    required: true
  tag:
    description: Tag the manifest is pushed under.
    type: str
    required: true
  files:
    description: The layer's entries. Parent directories are added with mode 0755.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path inside the image.
        type: str
        required: true
      src:
        description: File on this host to copy (a regular file entry).
        type: path
      target:
        description: Link target (a symlink entry).
        type: str
      type:
        description: Entry type; by default C(file) with O(files[].src), C(symlink) with O(files[].target), else C(dir).
        type: str
        choices: [file, dir, symlink]
      mode:
        description: Octal mode as a string, e.g. C("0755") or C("1777").
        type: str
      uid:
        description: Numeric owner.
        type: int
        default: 0
      gid:
        description: Numeric group.
        type: int
        default: 0
  entrypoint:
    description: Image entrypoint.
    type: list
    elements: str
    default: []
  cmd:
    description: Image default arguments.
    type: list
    elements: str
    default: []
  user:
    description: C(uid[:gid]) the image runs as.
    type: str
    default: ""
  env:
    description: C(KEY=value) entries.
    type: list
    elements: str
    default: []
  labels:
    description: Image labels.
    type: dict
    default: {}
  annotations:
    description: Manifest annotations.
    type: dict
    default: {}
  cache_dir:
    description: Where the per-image input cache lives.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Push CoreDNS as a one-binary image
  goaltrajectory.platform.k8s_cluster_image:
    registry: 127.0.0.1:5000
    repository: k8s-cluster/coredns
    tag: v1.14.7
    files:
      - {dest: /coredns, src: /opt/k8s-cluster/coredns/v1.14.7/coredns, mode: "0755"}
    entrypoint: [/coredns]
    user: "65532:65532"
    cache_dir: /var/cache/k8s-cluster/images
  register: coredns_image
"""

RETURN = r"""
digest:
  description: Manifest digest; empty in check mode for an image never pushed.
  returned: always
  type: str
  sample: sha256:3b1f0c...
ref:
  description: Pull reference by digest.
  returned: always
  type: str
  sample: 127.0.0.1:5000/k8s-cluster/coredns@sha256:3b1f0c...
tag_ref:
  description: Pull reference by tag.
  returned: always
  type: str
  sample: 127.0.0.1:5000/k8s-cluster/coredns:v1.14.7
layer_bytes:
  description: Compressed layer size, when the layer was made in this run.
  returned: when built
  type: int
seconds:
  description: Time spent.
  returned: always
  type: float
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import oci

REPO_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def argspec():
    entry = {
        "dest": {"type": "str", "required": True},
        "src": {"type": "path"},
        "target": {"type": "str"},
        "type": {"type": "str", "choices": ["file", "dir", "symlink"]},
        "mode": {"type": "str"},
        "uid": {"type": "int", "default": 0},
        "gid": {"type": "int", "default": 0},
    }
    return {
        "registry": {"type": "str", "required": True},
        "insecure": {"type": "bool", "default": True},
        "repository": {"type": "str", "required": True},
        "tag": {"type": "str", "required": True},
        "files": {"type": "list", "elements": "dict", "required": True, "options": entry},
        "entrypoint": {"type": "list", "elements": "str", "default": []},
        "cmd": {"type": "list", "elements": "str", "default": []},
        "user": {"type": "str", "default": ""},
        "env": {"type": "list", "elements": "str", "default": []},
        "labels": {"type": "dict", "default": {}},
        "annotations": {"type": "dict", "default": {}},
        "cache_dir": {"type": "path", "required": True},
    }


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    p = module.params
    if not REPO_RE.match(p["repository"]):
        module.fail_json(msg=f"repository {p['repository']!r} is not a valid repository name")
    if not TAG_RE.match(p["tag"]):
        module.fail_json(msg=f"tag {p['tag']!r} is not a valid tag")
    tag_ref = f"{p['registry']}/{p['repository']}:{p['tag']}"
    for entry in p["files"]:
        if (entry.get("type") in (None, "file")) and entry.get("src") and not entry.get("target"):
            try:
                with open(entry["src"], "rb"):
                    pass
            except OSError as exc:
                if module.check_mode:
                    # A check-mode run before the build: the binary does not exist yet; the real run pushes it.
                    module.exit_json(changed=True, digest="", ref="", tag_ref=tag_ref, seconds=0.0)
                module.fail_json(msg=f"{p['repository']}: {entry['dest']}: cannot read {entry['src']}: {exc}")
    config = {
        "Entrypoint": p["entrypoint"],
        "Cmd": p["cmd"],
        "User": p["user"],
        "Env": p["env"],
        "Labels": p["labels"],
    }
    cache_file = f"{p['cache_dir']}/{p['repository'].replace('/', '_')}_{p['tag']}.json"
    registry = oci.Registry(p["registry"], insecure=p["insecure"])
    try:
        result = oci.ensure_image(
            registry,
            p["repository"],
            p["tag"],
            p["files"],
            config,
            p["annotations"],
            cache_file,
            check_mode=module.check_mode,
        )
    except (oci.RegistryError, OSError) as exc:
        module.fail_json(msg=f"{p['repository']}:{p['tag']}: {exc}")
    digest = result["digest"]
    result["ref"] = f"{p['registry']}/{p['repository']}@{digest}" if digest else ""
    result["tag_ref"] = tag_ref
    module.exit_json(**result)


if __name__ == "__main__":
    main()
