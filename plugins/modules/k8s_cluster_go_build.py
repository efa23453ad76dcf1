#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_cluster_go_build
short_description: Build Go commands from the Go module proxy into versioned directories
version_added: 0.1.0
description:
  - Builds each component (one C(go build) invocation compiling all of its commands) into
    O(dest_root)/<name>/<version>/ with C(-trimpath), C(-ldflags '-s -w') and the component's C(-X) version
    variables.
  - Modules that C(go install) cannot build are built through a generated wrapper module requiring the upstream
    module and copying its remote C(replace), C(exclude) and C(godebug) lines; local replaces of modules required
    at C(v0.0.0) (Kubernetes' staging modules) are mapped to the component's O(components[].staging_version).
  - A component whose directory holds a stamp with the same settings hash is left alone, so a warm run is a stat.
  - Each component's go output, with a timestamped line per phase, goes to O(log_dir)/<name>.log.
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - Go (C(go) at O(go)) and access to a Go module proxy
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Reports which components would be built without building.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  components:
    description: Components to check or build, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Component name; the directory under O(dest_root) and the log file name.
        type: str
        required: true
      version:
        description: Module version (C(v1.37.2)); the directory under O(dest_root)/<name>.
        type: str
        required: true
      module:
        description: Go module to require. Exactly one of O(components[].module) and O(components[].source_dir).
        type: str
      source_dir:
        description: A local Go module to build in place instead of a proxy module.
        type: path
      packages:
        description: Binary name to Go main package.
        type: dict
        required: true
      staging_version:
        description:
          - Version given to local replaces of modules required at C(v0.0.0). C({major}), C({minor}) and
            C({patch}) are taken from O(components[].version), e.g. C(v0.{minor}.{patch}) for Kubernetes.
        type: str
        default: ""
      requires:
        description: Extra C(require) lines (module to version), e.g. to raise vulnerable dependencies.
        type: dict
        default: {}
      ldflags:
        description:
          - C(-X) symbol to value. C({version}), C({major}), C({minor}), C({patch}), C({date}) and C({commit})
            (from the proxy's version info) are filled in.
        type: dict
        default: {}
      cgo:
        description: Build with C(CGO_ENABLED=1).
        type: bool
        default: false
      tags:
        description: Build tags.
        type: list
        elements: str
        default: []
      env:
        description: Extra environment for go (for example C(GONOSUMDB)).
        type: dict
        default: {}
  mode:
    description:
      - C(status) reports whether each component's directory is current and never changes anything.
      - C(build) builds the components that are not current.
    type: str
    choices: [status, build]
    default: build
  dest_root:
    description: Root of the versioned binary directories.
    type: path
    required: true
  cache_dir:
    description: GOCACHE, GOMODCACHE and GOPATH live under this directory.
    type: path
    required: true
  work_root:
    description: Wrapper modules are written to <work_root>/<name>-<version>.
    type: path
    required: true
  log_dir:
    description: Build logs, one per component.
    type: path
    required: true
  go:
    description: The go command.
    type: path
    default: /usr/local/go/bin/go
  goproxy:
    description: GOPROXY for the builds; empty keeps the environment's.
    type: str
    default: ""
  jobs:
    description: C(go build -p); 0 lets go use every CPU.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Build etcd and etcdctl v3.6.6
  goaltrajectory.platform.k8s_cluster_go_build:
    components:
      - name: etcd
        version: v3.6.6
        module: go.etcd.io/etcd/server/v3
        requires: {go.etcd.io/etcd/etcdctl/v3: v3.6.6}
        packages: {etcd: go.etcd.io/etcd/server/v3, etcdctl: go.etcd.io/etcd/etcdctl/v3}
    dest_root: /opt/k8s-cluster
    cache_dir: /var/cache/k8s-cluster/go
    work_root: /var/cache/k8s-cluster/src
    log_dir: /var/log/k8s-cluster/build
"""

RETURN = r"""
components:
  description: One entry per component, in order.
  returned: always
  type: list
  elements: dict
  sample:
    - name: etcd
      version: v3.6.6
      dest: /opt/k8s-cluster/etcd/v3.6.6
      current: true
      built: true
      reason: not built yet
      seconds: 31.2
      prepare_seconds: 6.0
      bytes: 41943040
      binaries: {etcd: /opt/k8s-cluster/etcd/v3.6.6/etcd}
      log: /var/log/k8s-cluster/build/etcd.log
seconds:
  description: Wall time of this call.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import gobuild


def argspec():
    component = {
        "name": {"type": "str", "required": True},
        "version": {"type": "str", "required": True},
        "module": {"type": "str"},
        "source_dir": {"type": "path"},
        "packages": {"type": "dict", "required": True},
        "staging_version": {"type": "str", "default": ""},
        "requires": {"type": "dict", "default": {}},
        "ldflags": {"type": "dict", "default": {}},
        "cgo": {"type": "bool", "default": False},
        "tags": {"type": "list", "elements": "str", "default": []},
        "env": {"type": "dict", "default": {}},
    }
    return {
        "components": {"type": "list", "elements": "dict", "required": True, "options": component},
        "mode": {"type": "str", "choices": ["status", "build"], "default": "build"},
        "dest_root": {"type": "path", "required": True},
        "cache_dir": {"type": "path", "required": True},
        "work_root": {"type": "path", "required": True},
        "log_dir": {"type": "path", "required": True},
        "go": {"type": "path", "default": "/usr/local/go/bin/go"},
        "goproxy": {"type": "str", "default": ""},
        "jobs": {"type": "int", "default": 0},
    }


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    p = module.params
    start = time.monotonic()
    components = [gobuild.Component.from_dict(c) for c in p["components"]]
    problems = [e for c in components for e in c.validate()]
    if problems:
        module.fail_json(msg="k8s_cluster_go_build: " + "; ".join(problems))

    results, changed = [], False
    go_version = None
    for comp in components:
        dest = f"{p['dest_root']}/{comp.name}/{comp.version}"
        log = f"{p['log_dir']}/{comp.name}.log"
        builder = gobuild.Builder(p["go"], p["cache_dir"], log, goproxy=p["goproxy"], jobs=p["jobs"])
        if go_version is None:
            try:
                go_version = builder.go_version()
            except gobuild.BuildError as exc:
                module.fail_json(msg=str(exc))
        state = gobuild.status(comp, dest, go_version)
        state.update({"built": False, "log": log})
        if state["current"] or p["mode"] == "status" or module.check_mode:
            if not state["current"] and p["mode"] == "build":
                changed = True
            results.append(state)
            continue
        # One build per component at a time (make test starts one in the background): wait for a
        # running one, then look again: it may have built exactly this.
        with gobuild.component_lock(p["cache_dir"], comp):
            state = gobuild.status(comp, dest, go_version)
            state.update({"built": False, "log": log})
            if state["current"]:
                results.append(state)
                continue
            try:
                built = builder.build(comp, dest, f"{p['work_root']}/{comp.name}-{comp.version}")
            except gobuild.BuildError as exc:
                module.fail_json(
                    msg=f"{comp.name} {comp.version}: {exc} (full log: {log}). Last lines:\n{exc.log_tail}",
                    components=results,
                    failed_component=comp.name,
                    phase=exc.phase,
                    log=log,
                )
        state.update(built, current=True, reason=state["reason"])
        results.append(state)
        changed = changed or built["built"]
    module.exit_json(changed=changed, components=results, seconds=round(time.monotonic() - start, 1))


if __name__ == "__main__":
    main()
