#!/usr/bin/python
# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: probe_lint
short_description: Lint Kubernetes manifests and Compose files for probe, health and security mistakes
version_added: 0.1.0
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
description:
  - Statically checks Kubernetes objects and Docker Compose projects with one rule registry
    (C(python -m plugins.module_utils.probes rules) lists every rule id, severity and one-line doc).
  - Covers what kube-linter, Polaris, kube-score and kubeconform check about probes, security context,
    resources, selectors, HorizontalPodAutoscalers, NetworkPolicies, schema and removed API versions; C(bench/README.md)
    compares its findings with kube-score's and kubeconform's on the same corpus.
  - Also checks what none of them does, the rules only the API server enforces (liveness and startup
    C(successThreshold) must be 1, one handler per probe, no C(terminationGracePeriodSeconds) on readiness probes,
    no probes on non-sidecar init containers, no zero or negative timings, HTTP scheme), probe timing
    (timeout below period, liveness giving up after readiness, a startup budget that covers the declared or
    measured startup time), Service C(targetPort) to container port to probe port agreement, Compose
    healthchecks, and parity between a service's Compose healthcheck and its Kubernetes probes.
  - Kubernetes probe defaults are applied as the API server does (initialDelaySeconds 0, periodSeconds 10,
    timeoutSeconds 1, successThreshold 1, failureThreshold 3); Compose healthcheck defaults are interval 30s,
    timeout 30s, retries 3, start_period 0s.
  - A YAML or schema error in an input is reported as a finding naming the file, not as a module error.
  - Kubernetes objects are schema-validated by the validator M(goaltrajectory.platform.k8s_schema_validate) uses,
    strict, against O(kubernetes_version); its errors are C(schema-invalid) findings, the same errors
    M(goaltrajectory.platform.k8s_schema_validate) reports for the same object and version.
  - A rule that raises is a bug in the rule, not a finding about the input; the module fails naming the rule in
    RV(rule) with the traceback in RV(traceback).
  - Compose override files are merged the way Compose merges them (C(compose.override.yaml) next to
    C(compose.yaml); explicit O(compose_projects) in order like C(-f a -f b); C(!reset) and C(!override) tags).
  - "Compose C(include:) (a path, a list of paths, or C(path:) entries) and C(extends:) (C(extends: name) or
    C(extends: {file, service}), chained) are resolved the way Compose resolves them; a file that another one
    includes or extends from is linted as part of that project, not as a project of its own. A missing file or
    service, or a cycle, is a C(schema-invalid) or C(input-missing) finding naming the file."
  - "B(What is a Kubernetes object.) A YAML document (a mapping) with both C(kind) and C(apiVersion), or each item
    of a C(*List) document. Exceptions, reported as C(document-unrecognized) info findings and not checked:
    configuration files that tools read and the API server never sees (a kubeconfig C(v1 Config); kind, k3d,
    kubeadm, kubelet, kube-proxy, scheduler, API server and audit configurations; skaffold and ctlptl files). A
    C(Kustomization) or kustomize C(Component) is skipped silently. A document with C(kind) and a C(metadata)
    mapping but no C(apiVersion) is a broken object (C(schema-invalid) error)."
  - "B(What is a Compose file.) A document without C(kind) whose C(services) is a mapping. A C(services) that is a
    list (GitLab CI) makes the document not Compose."
  - "B(What is ignored, with an info finding.) A document with C(apiVersion) but no C(kind) (a Helm C(Chart.yaml),
    Grafana provisioning), every other document that is neither of the above (C(values.yaml), CI pipelines,
    C(mkdocs.yml), pre-commit configurations: C(document-unrecognized)), and templates (C(template-unrendered)):
    every file under a Helm chart's C(templates/) directory (one whose parent holds C(Chart.yaml)) that contains
    C({{), and any other file that contains C({{) or C({%) and is not valid YAML. Lint what C(helm template)
    renders instead. Info findings never fail the module unless O(fail_on=info)."
  - "B(What is ignored without a word.) Files not named C(*.yaml) or C(*.yml) in a directory (C(_helpers.tpl),
    C(NOTES.txt)), hidden directories (C(.github/), C(.git/)), empty documents. YAML tags that only another
    application understands (C(!reference), C(!Ref), C(!!python/name:...)) are read as their plain value."
  - "Removed API versions (C(extensions/v1beta1), C(apps/v1beta1), C(apps/v1beta2), C(batch/v1beta1),
    C(policy/v1beta1), C(autoscaling/v2beta1), C(autoscaling/v2beta2), C(networking.k8s.io/v1beta1),
    C(storage.k8s.io/v1beta1) and the other API versions of the Kubernetes deprecation guide) are
    C(api-version-removed) errors naming the replacement API and the release that removed it, or
    C(api-version-deprecated) warnings when O(kubernetes_version) still serves them. They are not also
    reported as C(schema-invalid)."
  - "OpenShift C(DeploymentConfig) is linted as a workload (pod template, probes, security context, its plain-map
    selector); no schema ships for OpenShift kinds, which is a C(schema-unavailable) info finding."
  - "C(readiness-missing) asks for a readinessProbe only where a Service in the input selects the pod, and one
    probed container per pod is enough (sidecars). Requests count as set when only limits are (the API server
    copies limits into requests) or when a LimitRange of the namespace supplies a default.
    C(liveness-readiness-identical) compares the probes with the API server's defaults filled in and named ports
    resolved."
  - "C(compose-healthcheck-timeout-ge-interval) is retired and never fires (kept so O(disable) lists stay valid):
    Docker starts the next healthcheck an interval after the previous one ended, so checks never overlap."
  - "Services, NetworkPolicies and HorizontalPodAutoscalers are matched to workloads through one index of pod
    template labels per namespace built once per run, so a run grows linearly with the number of objects."
requirements:
  - PyYAML
  - kubernetes-validate, jsonschema and referencing, when Kubernetes objects are schema-validated (O(schema), the
    default) or O(kubernetes_version) is set
  - The docker CLI and a running engine (optional, to check healthcheck binaries in local images)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
  - goaltrajectory.platform.probes
attributes:
  check_mode:
    support: full
    details: Read-only; check mode runs the same checks.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  paths:
    description:
      - Files, directories (searched recursively for C(*.yaml) and C(*.yml)) or globs of multi-document
        Kubernetes YAML and Compose files, on the managed host.
      - Relative paths are resolved against O(base_dir).
      - A path that matches nothing is an C(input-missing) finding.
    type: list
    elements: path
    default: []
  definitions:
    description:
      - Inputs held in memory, checked together with O(paths) exactly as a file with the same content would be.
        Nothing is written or read (a Compose project given here reads no C(.env) file).
      - "Each entry is a Kubernetes object or a Compose project (a mapping), YAML text (any number of documents),
        or a mapping with the keys C(definition) and C(source): C(definition) is a mapping, a list of mappings or
        YAML text, and C(source) is the file name findings report, for example the path the file would be written
        to, so a role can lint what it would write in check mode."
      - Without C(source) findings name the entry C(<definitions[N]>).
      - The C(definition)/C(source) form was added in version 0.2.0.
    type: list
    elements: raw
    default: []
  compose_projects:
    description:
      - Compose projects given as lists of files merged in order, as with C(docker compose -f a -f b).
    type: list
    elements: list
    default: []
  base_dir:
    description: Directory that relative O(paths) are resolved against; the current directory when empty.
    type: path
    default: ""
  fail_on:
    description:
      - The least severe finding that makes the module fail. V(none) never fails.
    type: str
    choices: [error, warning, info, none]
    default: error
  disable:
    description: Rule ids to skip, for example V(network-policy-missing).
    type: list
    elements: str
    default: []
  thresholds:
    description:
      - Rule thresholds. Keys are V(max_liveness_initial_delay) (default 60 seconds),
        V(min_hpa_replicas) (default 2), V(startup_safety_factor) (default 1.0, multiplies startup times)
        and V(startup_seconds) (same as O(startup_seconds)).
    type: dict
    default: {}
  startup_seconds:
    description:
      - Declared or measured startup time in seconds per object or Compose service, checked against the
        startup budget of the probes.
      - Keys are tried in this order, C(Kind/namespace/name/container), C(Kind/namespace/name), C(Kind/name),
        C(name/container), C(name); for Compose services C(compose/service) and C(service).
      - The pod template annotation C(probes.goaltrajectory.ai/startup-seconds) (or
        C(probes.goaltrajectory.ai/startup-seconds.<container>)) declares it in the manifest itself.
      - The C(time_to_first_success) or C(recommended.startup_seconds) returned by
        M(goaltrajectory.platform.probe_check) is a measured value to feed in here.
    type: dict
    default: {}
  parity:
    description:
      - Maps a Compose service name to the Kubernetes workload (C(Kind/namespace/name), C(Kind/name) or C(name))
        whose probes must agree with its healthcheck. By default a workload with the service's name is used.
    type: dict
    default: {}
  check_images:
    description: Inspect images present locally (never pulled) for HEALTHCHECKs and healthcheck binaries.
    type: bool
    default: true
  schema:
    description:
      - Validate Kubernetes objects against the strict schemas of O(kubernetes_version) (C(schema-invalid) findings).
      - Unknown fields, a kind without a schema for that version (custom resources included), a missing
        C(metadata.name) and malformed resource quantities (C(512MB)) are errors, as in
        M(goaltrajectory.platform.k8s_schema_validate). Until version 0.2.0 kinds without a schema were skipped,
        quantities were not checked and at most five schema errors were reported per object.
      - Objects of a removed API version are reported by C(api-version-removed) instead, OpenShift objects by
        C(schema-unavailable) (info).
    type: bool
    default: true
  kubernetes_version:
    description:
      - Kubernetes version whose schemas objects are validated against, for example C(1.31) or C(1.31.0); pass the
        version of the target cluster.
      - When unset, the newest schema set the installed C(kubernetes-validate) ships (1.37 with kubernetes-validate
        1.37.0, the version in the collection's requirements).
      - A version outside the shipped minors fails the module with a message naming this option and listing the
        supported versions (also in RV(supported_versions)), whether or not O(schema) is enabled. Until version
        0.2.0 such a version silently fell back to another schema set.
    type: str
seealso:
  - module: goaltrajectory.platform.probe_check
  - name: Configure Liveness, Readiness and Startup Probes
    description: Kubernetes documentation of probe fields and defaults.
    link: https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/
  - name: Compose file healthcheck
    description: Compose specification of healthcheck and its defaults.
    link: https://docs.docker.com/reference/compose-file/services/#healthcheck
"""

EXAMPLES = r"""
- name: Lint the rendered manifests and the Compose project
  goaltrajectory.platform.probe_lint:
    paths:
      - /srv/goaltrajectory/k8s/
      - /srv/goaltrajectory/compose/compose.yaml
    startup_seconds:
      backend: 40
  register: probe_lint_result

- name: Lint one Compose project made of a base and a production file, failing on warnings too
  goaltrajectory.platform.probe_lint:
    compose_projects:
      - [/srv/app/compose.yaml, /srv/app/compose.prod.yaml]
    fail_on: warning
    disable:
      - compose-healthcheck-binary-missing

- name: Lint manifests rendered in memory against the cluster's Kubernetes version, named like their files
  goaltrajectory.platform.probe_lint:
    definitions:
      - source: backend/deployment.yaml
        definition: "{{ lookup('ansible.builtin.template', 'backend/deployment.yaml.j2') }}"
    kubernetes_version: "1.31"

- name: Check an inline object with a stricter liveness delay
  goaltrajectory.platform.probe_lint:
    definitions:
      - apiVersion: v1
        kind: Pod
        metadata:
          name: demo
        spec:
          containers:
            - name: web
              image: nginx:1.27
              livenessProbe:
                httpGet:
                  port: 80
                initialDelaySeconds: 45
    thresholds:
      max_liveness_initial_delay: 30
    fail_on: none
"""

RETURN = r"""
findings:
  description: Every finding, ordered by file and position.
  returned: always
  type: list
  elements: dict
  contains:
    rule:
      description: Rule id.
      returned: always
      type: str
      sample: probe-port-undeclared
    severity:
      description: V(error), V(warning) or V(info).
      returned: always
      type: str
      sample: warning
    file:
      description: The input file; for O(definitions) the entry's C(source), or C(<definitions[N]>) without one.
      returned: always
      type: str
      sample: k8s/backend-deployment.yaml
    object:
      description:
        - C(Kind/namespace/name) of a Kubernetes object or the Compose service name.
        - Empty for file-level findings.
      returned: always
      type: str
      sample: Deployment/goaltrajectory/backend
    container:
      description: The container name, empty when the finding is not about one container.
      returned: always
      type: str
      sample: backend
    field:
      description: Dotted path of the offending field.
      returned: always
      type: str
      sample: spec.template.spec.containers[backend].livenessProbe.httpGet.port
    message:
      description: What is wrong and why it matters.
      returned: always
      type: str
      sample: livenessProbe probes port 8080, declared containerPorts [8000]
    line:
      description: Line of the YAML document (or Compose service) the finding belongs to; 0 when unknown.
      returned: always
      type: int
      sample: 12
summary:
  description: Number of findings per severity and in total.
  returned: always
  type: dict
  sample: {"error": 0, "warning": 3, "info": 0, "total": 3}
inputs:
  description: What was read, the number of Kubernetes objects and the files of each Compose project.
  returned: success
  type: dict
  sample: {"objects": 12, "compose_projects": [["compose.yaml", "compose.override.yaml"]]}
rules:
  description: Every rule that ran, with its id, default severity, scope and one-line doc.
  returned: success
  type: list
  elements: dict
  sample: [{"id": "liveness-missing", "severity": "warning", "scope": "k8s", "doc": "A long-running container ..."}]
kubernetes_version:
  description: The schema version Kubernetes objects were validated against; null when none was schema-validated.
  returned: success
  type: str
  sample: 1.31.0
  version_added: 0.2.0
rule:
  description: The id of the rule that crashed.
  returned: when a rule raised an exception
  type: str
  sample: probe-port-undeclared
  version_added: 0.2.0
traceback:
  description: The traceback of the exception the rule raised.
  returned: when a rule raised an exception
  type: str
  version_added: 0.2.0
supported_versions:
  description: The Kubernetes versions whose schemas are installed, when O(kubernetes_version) is not one of them.
  returned: when O(kubernetes_version) is not supported
  type: list
  elements: str
  sample: ["1.25.0", "1.26.0", "1.37.0"]
  version_added: 0.2.0
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine, loader


def argspec() -> dict:
    return {
        "paths": {"type": "list", "elements": "path", "default": []},
        "definitions": {"type": "list", "elements": "raw", "default": []},
        "compose_projects": {"type": "list", "elements": "list", "default": []},
        "base_dir": {"type": "path", "default": ""},
        "fail_on": {"type": "str", "choices": ["error", "warning", "info", "none"], "default": "error"},
        "disable": {"type": "list", "elements": "str", "default": []},
        "thresholds": {"type": "dict", "default": {}},
        "startup_seconds": {"type": "dict", "default": {}},
        "parity": {"type": "dict", "default": {}},
        "check_images": {"type": "bool", "default": True},
        "schema": {"type": "bool", "default": True},
        "kubernetes_version": {"type": "str"},
        "docker_cli": {"type": "str", "default": "docker"},
    }


def main() -> None:
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    if loader.IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=str(loader.IMPORT_ERROR))
    ok, result = engine.run_module(module.params)
    if not ok:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
