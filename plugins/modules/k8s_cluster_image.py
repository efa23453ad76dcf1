#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_cluster_image
short_description: Push single-layer OCI images made of local files to a registry
version_added: 0.1.0
description:
  - Makes, for each image, one reproducible layer from files on this host (static binaries, links, empty
    directories) on an empty base, the way C(ko) builds Go images, and pushes it with its config and OCI manifest to
    a registry through the distribution HTTP API. No container engine is involved. One call pushes every image.
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
  images:
    description:
      - The images, pushed in this order; every name, tag and source file is checked before anything is pushed.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name the results are keyed by; the repository when unset.
        type: str
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
            description: Entry type; by default C(file) with O(images[].files[].src), C(symlink) with
              O(images[].files[].target), else C(dir).
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
- name: Push the add-on images
  goaltrajectory.platform.k8s_cluster_image:
    registry: 127.0.0.1:5000
    images:
      - name: coredns
        repository: k8s-cluster/coredns
        tag: v1.14.7
        files: [{dest: /coredns, src: /opt/k8s-cluster/coredns/v1.14.7/coredns, mode: "0755"}]
        entrypoint: [/coredns]
        user: "65532:65532"
    cache_dir: /var/cache/k8s-cluster/images
  register: pushed
"""

RETURN = r"""
refs:
  description: Name -> pull reference by digest; empty in check mode for an image never pushed.
  returned: always
  type: dict
  sample: {coredns: "127.0.0.1:5000/k8s-cluster/coredns@sha256:3b1f0c..."}
images:
  description: Name -> C(digest), C(ref), C(tag_ref), C(changed), C(seconds) and, when the layer was made in this
    run, C(layer_bytes).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import oci


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
    image = {
        "name": {"type": "str"},
        "repository": {"type": "str", "required": True},
        "tag": {"type": "str", "required": True},
        "files": {"type": "list", "elements": "dict", "required": True, "options": entry},
        "entrypoint": {"type": "list", "elements": "str", "default": []},
        "cmd": {"type": "list", "elements": "str", "default": []},
        "user": {"type": "str", "default": ""},
        "env": {"type": "list", "elements": "str", "default": []},
        "labels": {"type": "dict", "default": {}},
        "annotations": {"type": "dict", "default": {}},
    }
    return {
        "registry": {"type": "str", "required": True},
        "insecure": {"type": "bool", "default": True},
        "images": {"type": "list", "elements": "dict", "required": True, "options": image},
        "cache_dir": {"type": "path", "required": True},
    }


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    p = module.params
    images = [{**image, "name": image["name"] or image["repository"]} for image in p["images"]]
    try:
        results = oci.ensure_images(oci.Registry(p["registry"], insecure=p["insecure"]), images, p["cache_dir"],
                                    check_mode=module.check_mode)  # fmt: skip
    except (oci.RegistryError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(
        changed=any(r["changed"] for r in results.values()),
        refs={name: r["ref"] for name, r in results.items()},
        images=results,
    )


if __name__ == "__main__":
    main()
