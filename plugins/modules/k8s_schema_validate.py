#!/usr/bin/python
# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: k8s_schema_validate
short_description: Validate Kubernetes manifests offline against a Kubernetes version's strict schemas
version_added: 0.1.0
description:
  - Reads every YAML document in the given files, directories and globs and validates it against the OpenAPI
    schemas that the C(kubernetes-validate) package ships for the target Kubernetes version. No cluster is contacted.
  - In strict mode (the default) unknown fields are errors, as they are for C(kubectl apply --validate=strict).
  - Reports every error of every document, not just the first, each naming the file, the object and the field path.
  - A kind without a schema for the target version is an error, and resource quantities (C(512MB)) are checked
    against the Kubernetes quantity grammar, which the schemas do not express.
  - The validator, the reading of files and O(definitions), and the findings are the ones
    M(goaltrajectory.platform.probe_lint) uses for its C(schema-invalid) rule; both modules report the same errors
    for the same object and the same O(kubernetes_version).
  - The items of a C(List) (or C(ConfigMapList) and the like) are validated one by one.
  - Read-only; never reports C(changed).
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
requirements:
  - kubernetes-validate (ships the schemas)
  - jsonschema
  - PyYAML
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
attributes:
  check_mode:
    support: full
    details: Validation is read-only and runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  paths:
    description:
      - Manifest files, directories (searched recursively for C(*.yaml) and C(*.yml), hidden directories skipped)
        or glob patterns. Entries are read in the order given; the files of a directory or glob in path order.
      - A path that matches nothing fails the module.
      - At least one of O(paths) and O(definitions) is required.
    type: list
    elements: path
  definitions:
    description:
      - Manifests held in memory, validated together with O(paths) exactly as a file with the same content would
        be. Nothing is written or read, so a role can validate what it would write in check mode.
      - "Each entry is a Kubernetes object (a mapping), YAML text (any number of documents), or a mapping with the
        keys C(definition) and C(source): C(definition) is an object, a list of objects or YAML text, and C(source)
        is the file name errors and RV(objects) report, for example the path the file would be written to."
      - Without C(source) an entry is reported as C(<definitions[N]>). Each entry counts as one file in RV(summary).
    type: list
    elements: raw
    version_added: 0.2.0
  kubernetes_version:
    description:
      - Target Kubernetes version, for example C(1.31) or C(1.31.0).
      - The newest shipped schema set whose minor version is not newer than this one is used. A version outside
        the minors whose schemas the installed C(kubernetes-validate) ships (1.25 to 1.37 with kubernetes-validate
        1.37.0) fails the module with a message that names this option and lists the supported versions, also
        returned as RV(supported_versions).
    type: str
    required: true
  strict:
    description: Reject fields the schema does not define.
    type: bool
    default: true
  fail_on_error:
    description:
      - "Fail the task when any document has an error. The failure message lists every error as
        C(file: Kind/name: field: message)."
      - With C(false) the task succeeds and the caller inspects RV(errors).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Validate the rendered prod tree against Kubernetes 1.31
  goaltrajectory.platform.k8s_schema_validate:
    paths:
      - build/rendered/prod/k8s
    kubernetes_version: "1.31.0"

- name: Validate objects rendered in memory (for example in check mode), named like the files they would become
  goaltrajectory.platform.k8s_schema_validate:
    definitions:
      - source: backend/deployment.yaml
        definition: "{{ lookup('ansible.builtin.template', 'backend/deployment.yaml.j2') }}"
      - source: base/configmap.yaml
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: app-config
          data:
            LOG_LEVEL: info
    kubernetes_version: "1.31"

- name: Collect errors without failing
  goaltrajectory.platform.k8s_schema_validate:
    paths: ["manifests/**/*.yaml"]
    kubernetes_version: "1.33"
    fail_on_error: false
  register: schema_result
"""

RETURN = r"""
kubernetes_version:
  description: The schema version actually used.
  returned: always
  type: str
  sample: 1.31.0
objects:
  description:
    - Every object found, in file order; the items of a List are listed one by one.
    - C(file) is the file, the C(source) of a definition or C(<definitions[N]>); C(document) is the position of the
      YAML document in it.
  returned: always
  type: list
  elements: dict
  sample:
    - file: build/rendered/prod/k8s/backend/deployment.yaml
      document: 0
      api_version: apps/v1
      kind: Deployment
      name: backend
      namespace: goaltrajectory-prod
      valid: true
errors:
  description:
    - Every validation error. C(check) is C(schema), C(quantity) or C(parse).
    - The same findings as the C(schema-invalid) and C(yaml-invalid) findings of M(goaltrajectory.platform.probe_lint)
      for the same input; C(line) is the one-line text of the error.
  returned: always
  type: list
  elements: dict
  sample:
    - file: build/rendered/prod/k8s/backend/deployment.yaml
      document: 0
      kind: Deployment
      name: backend
      field: spec.template.spec.containers[0].resources.limits.memory
      message: "'512MB' is not a Kubernetes quantity (e.g. 500m, 512Mi, 1Gi)"
      check: quantity
      line: "backend/deployment.yaml: Deployment/backend: spec...memory: '512MB' is not a Kubernetes quantity"
summary:
  description: Counts of files (each definition counts as one), objects, errors and files with errors.
  returned: always
  type: dict
  sample: {files: 31, objects: 31, errors: 0, invalid_files: 0}
supported_versions:
  description: The Kubernetes versions whose schemas are installed, when O(kubernetes_version) is not one of them.
  returned: when O(kubernetes_version) is not supported
  type: list
  elements: str
  sample: ["1.25.0", "1.26.0", "1.37.0"]
  version_added: 0.2.0
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.goaltrajectory.platform.plugins.module_utils import k8s_validate
from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import loader


def argspec():
    return {
        "paths": {"type": "list", "elements": "path"},
        "definitions": {"type": "list", "elements": "raw"},
        "kubernetes_version": {"type": "str", "required": True},
        "strict": {"type": "bool", "default": True},
        "fail_on_error": {"type": "bool", "default": True},
    }


def main():
    module = AnsibleModule(
        argument_spec=argspec(), required_one_of=[("paths", "definitions")], supports_check_mode=True
    )
    if k8s_validate.IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes-validate"), exception=str(k8s_validate.IMPORT_ERROR))
    if loader.IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=str(loader.IMPORT_ERROR))
    ok, result = k8s_validate.run_module(module.params)
    if not ok:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
