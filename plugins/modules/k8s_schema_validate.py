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
  - Read-only; never reports C(changed).
author:
  - GoalTrajectory.AI platform team
requirements:
  - kubernetes-validate (ships the schemas)
  - jsonschema
  - PyYAML
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
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
        or glob patterns.
    type: list
    elements: path
    required: true
  kubernetes_version:
    description:
      - Target Kubernetes version, for example C(1.31) or C(1.31.0).
      - The newest shipped schema set whose minor version is not newer than this one is used; a version outside
        the shipped range is an error.
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
  description: Every document found, in file order.
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
  description: Every validation error. C(check) is C(schema), C(quantity) or C(parse).
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
  description: Counts of files, objects, errors and files with errors.
  returned: always
  type: dict
  sample: {files: 31, objects: 31, errors: 0, invalid_files: 0}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.goaltrajectory.platform.plugins.module_utils import k8s_validate


def argspec():
    return {
        "paths": {"type": "list", "elements": "path", "required": True},
        "kubernetes_version": {"type": "str", "required": True},
        "strict": {"type": "bool", "default": True},
        "fail_on_error": {"type": "bool", "default": True},
    }


def main():
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if k8s_validate.IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("kubernetes-validate"), exception=str(k8s_validate.IMPORT_ERROR))
    try:
        result = k8s_validate.validate_paths(
            module.params["paths"], module.params["kubernetes_version"], strict=module.params["strict"]
        )
    except (ValueError, FileNotFoundError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    if result["errors"] and module.params["fail_on_error"]:
        lines = [e["line"] for e in result["errors"]]
        module.fail_json(
            msg=f"{len(lines)} schema error(s) in {result['summary']['invalid_files']} file(s) "
            f"for Kubernetes {result['kubernetes_version']}:\n" + "\n".join(lines),
            changed=False,
            **result,
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
