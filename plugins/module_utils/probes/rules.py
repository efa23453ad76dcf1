# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rule registry.  Every rule has a stable kebab-case id, a default severity, a scope
(input, k8s, compose, parity) and one line of documentation; its function yields Hits (or, for
schema-invalid, the Findings of the shared schema validator).  A rule that raises is a bug: the
engine fails the run naming the rule (engine.RuleError), it never turns into a finding."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlparse

from . import apis
from . import k8s as kube
from .durations import DurationError, parse_duration
from .findings import Finding
from .images import ImageInspector
from .index import WorkloadIndex
from .loader import ComposeProject, K8sObject

DEFAULT_THRESHOLDS = {
    # liveness initialDelaySeconds above this without a startupProbe is flagged
    "max_liveness_initial_delay": 60,
    # HorizontalPodAutoscaler minReplicas below this is flagged
    "min_hpa_replicas": 2,
    # a startup budget must be at least startup_seconds x this factor
    "startup_safety_factor": 1.0,
}
STARTUP_ANNOTATION = "probes.goaltrajectory.ai/startup-seconds"
# Pod Security Standards "baseline" allows only these added capabilities.
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
SHELL_BUILTINS = frozenset(
    {"exit", "test", "[", "[[", "true", "false", ":", "echo", "printf", "cd", "export", "set", "exec", "read", "!"}
)
COMPOSE_DEFAULTS = {"interval": 30.0, "timeout": 30.0, "retries": 3, "start_period": 0.0}


@dataclass(frozen=True)
class Hit:
    file: str
    object: str
    message: str
    container: str = ""
    field: str = ""
    line: int = 0


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    scope: str
    doc: str
    check: Callable | None = None


RULES: dict[str, Rule] = {}


def rule(rule_id: str, severity: str, scope: str, doc: str):
    def register(func):
        if rule_id in RULES:
            raise ValueError(f"duplicate rule id {rule_id}")
        RULES[rule_id] = Rule(rule_id, severity, scope, doc, func)
        return func

    return register


def _input_rule(rule_id: str, severity: str, doc: str) -> None:
    RULES[rule_id] = Rule(rule_id, severity, "input", doc, None)


_input_rule("input-missing", "error", "A path or glob matches no readable YAML file.")
_input_rule("yaml-invalid", "error", "A file is not valid YAML.")
_input_rule(
    "document-unrecognized",
    "info",
    "A YAML document is neither a Kubernetes object nor a Compose file (apiVersion without kind, tool configs).",
)
_input_rule(
    "template-unrendered",
    "info",
    "A file is a template (a Helm chart's templates/, or {{ }} / {% %} that is not YAML): lint its rendered output.",
)


@dataclass
class Context:
    """Everything a rule may look at, with lookup tables built once per run.

    Selector matching (which pods a Service, NetworkPolicy or HPA reaches) goes through one
    ``WorkloadIndex``; its answers are cached here so every rule shares them.
    """

    objects: list[K8sObject]
    projects: list[ComposeProject]
    thresholds: dict = field(default_factory=dict)
    startup_seconds: dict = field(default_factory=dict)
    parity: dict = field(default_factory=dict)
    images: ImageInspector | None = None
    # The shared k8s_validate.SchemaValidator, None when schema validation is off or nothing needs it.
    schema: object = None
    # The kubernetes_version option (None: the newest release), for removed API versions.
    kubernetes_version: str | None = None

    def __post_init__(self):
        self.thresholds = {**DEFAULT_THRESHOLDS, **(self.thresholds or {})}
        self.pods: dict[int, tuple[dict, list[kube.Container]]] = {}
        self.workloads = []
        for o in self.objects:
            spec = kube.pod_spec(o)
            if spec is not None:
                self.workloads.append(o)
                self.pods[id(o)] = (spec, kube.containers(spec))
        self.labels = {id(o): kube.pod_labels(o) for o in self.workloads}
        self.services = [o for o in self.objects if o.kind == "Service"]
        self.policies = [o for o in self.objects if o.kind == "NetworkPolicy"]
        self.hpas = [o for o in self.objects if o.kind == "HorizontalPodAutoscaler"]
        self.index = WorkloadIndex(self.workloads, self.labels)
        self.by_ns = self.index.by_ns
        self._by_name = {(o.namespace, o.kind, o.name): o for o in reversed(self.objects)}
        self._limit_ranges: dict[str, list[K8sObject]] = {}
        for o in self.objects:
            if o.kind == "LimitRange":
                self._limit_ranges.setdefault(o.namespace, []).append(o)
        self._selected: dict[int, list[K8sObject]] = {}
        self._served_by: dict[int, list[K8sObject]] | None = None
        self._isolated: set[int] | None = None

    def pod(self, obj: K8sObject) -> tuple[dict, list[kube.Container]]:
        """The pod spec of a workload and its containers, parsed once."""
        return self.pods[id(obj)]

    def selected_by_service(self, svc: K8sObject) -> list[K8sObject]:
        key = id(svc)
        if key not in self._selected:
            selector = (svc.data.get("spec") or {}).get("selector")
            self._selected[key] = self.index.select_map(svc.namespace, selector)
        return self._selected[key]

    def services_of(self, obj: K8sObject) -> list[K8sObject]:
        """The Services whose selector matches the workload's pod template."""
        if self._served_by is None:
            self._served_by = {}
            for svc in self.services:
                for w in self.selected_by_service(svc):
                    self._served_by.setdefault(id(w), []).append(svc)
        return self._served_by.get(id(obj), [])

    def is_served(self, obj: K8sObject) -> bool:
        """True when a Service in the input sends traffic to the workload's pods."""
        return bool(self.services_of(obj))

    def is_isolated(self, obj: K8sObject) -> bool:
        """True when a NetworkPolicy in the input selects the workload's pods."""
        if self._isolated is None:
            self._isolated = set()
            for policy in self.policies:
                selector = (policy.data.get("spec") or {}).get("podSelector", {})
                self._isolated.update(id(w) for w in self.index.select(policy.namespace, selector))
        return id(obj) in self._isolated

    def find(self, namespace: str, kind, name) -> K8sObject | None:
        """The first object of a kind and name in a namespace."""
        return self._by_name.get((namespace, kind, name))

    def limit_range_defaults(self, namespace: str) -> tuple[dict, dict]:
        """Container defaults the namespace's LimitRanges add: (requests, limits) resource -> LimitRange name."""
        requests: dict = {}
        limits: dict = {}
        for lr in self._limit_ranges.get(namespace, []):
            for item in (lr.data.get("spec") or {}).get("limits") or []:
                if not isinstance(item, dict) or item.get("type") != "Container":
                    continue
                for resource in item.get("default") or {}:
                    limits.setdefault(resource, lr.name)
                    requests.setdefault(resource, lr.name)
                for resource in item.get("defaultRequest") or {}:
                    requests[resource] = lr.name
        return requests, limits

    def startup_for(self, obj: K8sObject, container: str) -> float | None:
        keys = (f"{obj.ident}/{container}", obj.ident, f"{obj.kind}/{obj.name}", f"{obj.name}/{container}", obj.name)
        for key in keys:
            if key in self.startup_seconds:
                return float(self.startup_seconds[key])
        template = kube.pod_template(obj) or {}
        for meta in ((template.get("metadata") or {}), obj.metadata):
            annotations = meta.get("annotations") or {}
            for key in (f"{STARTUP_ANNOTATION}.{container}", STARTUP_ANNOTATION):
                if key in annotations:
                    try:
                        return float(annotations[key])
                    except (TypeError, ValueError):
                        return None
        return None

    def compose_startup_for(self, service: str) -> float | None:
        for key in (f"compose/{service}", service):
            if key in self.startup_seconds:
                return float(self.startup_seconds[key])
        return None


def _prefix(obj: K8sObject) -> str:
    if obj.kind == "Pod":
        return "spec"
    if obj.kind == "CronJob":
        return "spec.jobTemplate.spec.template.spec"
    if obj.kind == "PodTemplate":
        return "template.spec"
    return "spec.template.spec"


def _hit(obj: K8sObject, message: str, container: kube.Container | None = None, path: str = "") -> Hit:
    fld = _prefix(obj)
    if container is not None:
        fld = f"{fld}.{container.field}"
    if path:
        fld = f"{fld}.{path}"
    return Hit(obj.file, obj.ident, message, container.name if container else "", fld, obj.line)


def _containers(ctx: Context, roles=("container", "sidecar", "init")):
    for obj in ctx.workloads:
        spec, containers = ctx.pod(obj)
        for c in containers:
            if c.role in roles:
                yield obj, spec, c


def _probes(ctx: Context, kinds=kube.PROBE_KINDS, roles=("container", "sidecar", "init")):
    for obj, spec, c in _containers(ctx, roles):
        for kind in kinds:
            probe = c.probe(kind)
            if probe is not None:
                yield obj, spec, c, kind, probe


# --- schema --------------------------------------------------------------------------------


@rule("schema-invalid", "error", "input", "An object fails its Kubernetes JSON schema or a Compose file is malformed.")
def schema_invalid(ctx: Context) -> Iterator[Hit | Finding]:
    for obj in ctx.objects:
        removal, removed = api_status(ctx, obj)
        if removal is not None and removed:
            continue  # api-version-removed names the replacement; no schema of that release has it
        if openshift(obj):
            continue  # schema-unavailable: kubernetes-validate ships no OpenShift schemas
        if ctx.schema is not None:
            # The shared validator (k8s_validate.SchemaValidator): k8s_schema_validate reports the same findings.
            yield from ctx.schema.validate_object(obj)
        elif not obj.name:
            yield Hit(obj.file, obj.ident, "metadata.name is required", field="metadata.name", line=obj.line)
    for project in ctx.projects:
        for name, svc in project.services.items():
            where = project.file_of(name)
            line = project.lines.get(name, ("", 0))[1]
            if not isinstance(svc, dict):
                yield Hit(where, name, "a service must be a mapping", field=f"services.{name}", line=line)
                continue
            if "image" not in svc and "build" not in svc:
                yield Hit(where, name, "a service needs image or build", field=f"services.{name}", line=line)
            hc = svc.get("healthcheck")
            if hc is not None and not isinstance(hc, dict):
                yield Hit(
                    project.file_of(name, "healthcheck"),
                    name,
                    "healthcheck must be a mapping",
                    field=f"services.{name}.healthcheck",
                    line=line,
                )
            deps = svc.get("depends_on")
            if deps is not None and not isinstance(deps, list | dict):
                yield Hit(
                    where,
                    name,
                    "depends_on must be a list or a mapping",
                    field=f"services.{name}.depends_on",
                    line=line,
                )


def api_status(ctx: Context, obj: K8sObject) -> tuple[apis.Removal | None, bool]:
    """The removal record of the object's apiVersion and kind, and whether the target release lacks it."""
    removal = apis.removal(obj.api_version, obj.kind)
    if removal is None:
        return None, False
    if ctx.kubernetes_version is None:
        return removal, True
    return removal, apis.minor(ctx.kubernetes_version) >= apis.minor(removal.removed_in)


def openshift(obj: K8sObject) -> bool:
    """An object of an OpenShift API group (apps.openshift.io/v1 DeploymentConfig, ...)."""
    group = obj.api_version.split("/", 1)[0] if "/" in obj.api_version else ""
    return group.endswith(".openshift.io")


@rule(
    "schema-unavailable",
    "info",
    "input",
    "An OpenShift object (DeploymentConfig ...) is not schema-validated: no schema ships for it; its pod template "
    "is still linted.",
)
def schema_unavailable(ctx):
    if ctx.schema is None:
        return
    for obj in ctx.objects:
        if openshift(obj):
            what = "linted as a workload, " if id(obj) in ctx.pods else ""
            yield Hit(
                obj.file,
                obj.ident,
                f"no schema ships for {obj.api_version} {obj.kind}: {what}not schema-validated",
                field="apiVersion",
                line=obj.line,
            )


@rule(
    "api-version-removed",
    "error",
    "k8s",
    "The object's apiVersion is no longer served by the target Kubernetes release; names the replacement.",
)
def api_version_removed(ctx):
    for obj in ctx.objects:
        removal, removed = api_status(ctx, obj)
        if removal is not None and removed:
            target = f" (target {ctx.kubernetes_version})" if ctx.kubernetes_version else ""
            yield Hit(obj.file, obj.ident, removal.message() + target, field="apiVersion", line=obj.line)


@rule(
    "api-version-deprecated",
    "warning",
    "k8s",
    "The object's apiVersion is still served by the target release (kubernetes_version) but removed in a later one.",
)
def api_version_deprecated(ctx):
    for obj in ctx.objects:
        removal, removed = api_status(ctx, obj)
        if removal is not None and not removed:
            yield Hit(
                obj.file,
                obj.ident,
                f"{removal.api_version} {removal.kind} is still served by the target {ctx.kubernetes_version} but "
                f"removed in Kubernetes {removal.removed_in}; {removal.advice()} before upgrading",
                field="apiVersion",
                line=obj.line,
            )


# --- peers: probe presence and ports ---------------------------------------------------------


@rule(
    "liveness-missing",
    "warning",
    "k8s",
    "A long-running container has no livenessProbe (Jobs, CronJobs and init containers are exempt).",
)
def liveness_missing(ctx):
    for obj, _spec, c in _containers(ctx, ("container",)):
        if obj.kind not in kube.JOB_KINDS and c.probe("livenessProbe") is None:
            yield _hit(obj, "no livenessProbe: a hung process is never restarted", c, "livenessProbe")


@rule(
    "readiness-missing",
    "error",
    "k8s",
    "A Service sends traffic to a pod none of whose containers has a readinessProbe (one probed container is enough).",
)
def readiness_missing(ctx):
    for obj in ctx.workloads:
        if obj.kind in kube.JOB_KINDS or not ctx.is_served(obj):
            continue
        _spec, containers = ctx.pod(obj)
        running = [c for c in containers if c.long_running]
        if not running or any(c.probe("readinessProbe") is not None for c in running):
            continue
        main = next((c for c in running if c.role == "container"), running[0])
        services = ", ".join(svc.name for svc in ctx.services_of(obj))
        yield _hit(
            obj,
            f"no container has a readinessProbe, yet Service {services} sends traffic to these pods "
            "before they can serve it",
            main,
            "readinessProbe",
        )


@rule(
    "probe-port-name-unknown",
    "error",
    "k8s",
    "A probe names a port the container does not declare, so the kubelet cannot resolve it.",
)
def probe_port_name_unknown(ctx):
    for obj, _spec, c, kind, probe in _probes(ctx):
        handler, port = kube.probe_port(probe)
        if isinstance(port, str) and not port.isdigit() and port not in kube.declared_names(c):
            yield _hit(obj, f"{kind} port {port!r} is not a named port of the container", c, f"{kind}.{handler}.port")


@rule(
    "probe-port-undeclared",
    "warning",
    "k8s",
    "A probe's port number is not one of the container's declared containerPorts.",
)
def probe_port_undeclared(ctx):
    for obj, _spec, c, kind, probe in _probes(ctx):
        handler, port = kube.probe_port(probe)
        number = port if isinstance(port, int) and not isinstance(port, bool) else None
        if isinstance(port, str) and port.isdigit():
            number = int(port)
        if number is not None and number not in kube.declared_numbers(c):
            declared = sorted(kube.declared_numbers(c)) or "none"
            yield _hit(
                obj, f"{kind} probes port {number}, declared containerPorts: {declared}", c, f"{kind}.{handler}.port"
            )


@rule(
    "probe-port-udp",
    "warning",
    "k8s",
    "An httpGet, tcpSocket or grpc probe targets a port the container declares only as UDP (probes connect over TCP).",
)
def probe_port_udp(ctx):
    for obj, _spec, c, kind, probe in _probes(ctx):
        handler, port = kube.probe_port(probe)
        found = kube.protocols(c, port) if handler else set()
        if found and "TCP" not in found:
            yield _hit(
                obj,
                f"{kind} connects over TCP to port {port!r}, which the container declares only as "
                f"{'/'.join(sorted(found))}: the probe fails unless something also listens on TCP there",
                c,
                f"{kind}.{handler}.port",
            )


@rule(
    "port-invalid",
    "error",
    "k8s",
    "A port number is outside 1-65535 or a port name is not an IANA service name (at most 15 characters, a-z, 0-9, -).",
)
def port_invalid(ctx):
    for obj, _spec, c in _containers(ctx):
        for index, declared in enumerate(c.ports()):
            for key in ("containerPort", "hostPort"):
                problem = kube.port_number_problem(declared.get(key))
                if problem and not (key == "hostPort" and declared.get(key) == 0):
                    yield _hit(obj, f"{key} {problem}", c, f"ports[{index}].{key}")
            name = declared.get("name")
            problem = kube.port_name_problem(str(name)) if name is not None else ""
            if problem:
                yield _hit(obj, f"port name {name!r} {problem}", c, f"ports[{index}].name")
        for kind in kube.PROBE_KINDS:
            handler, port = kube.probe_port(c.probe(kind) or {})
            if handler is None:
                continue
            if isinstance(port, str) and not port.isdigit():
                problem = kube.port_name_problem(port)
            else:
                problem = kube.port_number_problem(int(port) if isinstance(port, str) else port)
            if problem:
                yield _hit(obj, f"{kind} port {port!r}: {problem}", c, f"{kind}.{handler}.port")
    for svc in ctx.services:
        for index, port, target in _service_ports(svc):
            checks = [("port", port.get("port")), ("nodePort", port.get("nodePort"))]
            if "targetPort" in port:
                checks.append(("targetPort", target))
            for key, value in checks:
                if isinstance(value, str) and not value.isdigit() and key == "targetPort":
                    problem = kube.port_name_problem(value)
                    text = f"targetPort name {value!r} {problem}"
                else:
                    number = int(value) if isinstance(value, str) and value.isdigit() else value
                    problem = kube.port_number_problem(number)
                    text = f"{key} {problem}"
                if problem and not (key == "nodePort" and value == 0):
                    yield Hit(svc.file, svc.ident, text, field=f"spec.ports[{index}].{key}", line=svc.line)


@rule(
    "liveness-readiness-identical",
    "warning",
    "k8s",
    "livenessProbe and readinessProbe are the same once defaults are filled in; liveness should give up later.",
)
def liveness_readiness_identical(ctx):
    for obj, _spec, c in _containers(ctx, ("container", "sidecar")):
        live, ready = c.probe("livenessProbe"), c.probe("readinessProbe")
        if live is not None and ready is not None and kube.effective_probe(c, live) == kube.effective_probe(c, ready):
            yield _hit(
                obj,
                "livenessProbe equals readinessProbe: a slow moment restarts the container instead of unreadying it",
                c,
                "livenessProbe",
            )


# --- peers: security -----------------------------------------------------------------------


@rule("run-as-root", "error", "k8s", "A container runs as uid 0 (runAsUser: 0).")
def run_as_root(ctx):
    for obj, spec, c in _containers(ctx):
        if kube.effective(c, spec, "runAsUser") == 0:
            yield _hit(obj, "runAsUser is 0 (root)", c, "securityContext.runAsUser")


@rule("run-as-root-group", "warning", "k8s", "A container runs with group id 0 (runAsGroup: 0).")
def run_as_root_group(ctx):
    for obj, spec, c in _containers(ctx):
        if kube.effective(c, spec, "runAsGroup") == 0:
            yield _hit(
                obj,
                "runAsGroup is 0: the process gets the root group's access to files and devices",
                c,
                "securityContext.runAsGroup",
            )


@rule(
    "run-as-non-root-unset",
    "warning",
    "k8s",
    "Neither runAsNonRoot: true nor a non-zero runAsUser is set, so the image decides.",
)
def run_as_non_root_unset(ctx):
    for obj, spec, c in _containers(ctx):
        uid = kube.effective(c, spec, "runAsUser")
        if kube.effective(c, spec, "runAsNonRoot") is not True and not (isinstance(uid, int) and uid > 0):
            yield _hit(obj, "set runAsNonRoot: true and a fixed non-root runAsUser", c, "securityContext.runAsNonRoot")


def _csc(c: kube.Container) -> dict:
    sc = c.spec.get("securityContext")
    return sc if isinstance(sc, dict) else {}


@rule("privileged", "error", "k8s", "A container runs privileged.")
def privileged(ctx):
    for obj, _spec, c in _containers(ctx):
        if _csc(c).get("privileged") is True:
            yield _hit(
                obj,
                "privileged: true gives the container the host's devices and capabilities",
                c,
                "securityContext.privileged",
            )


@rule("privilege-escalation-allowed", "warning", "k8s", "allowPrivilegeEscalation is not set to false.")
def privilege_escalation(ctx):
    for obj, _spec, c in _containers(ctx):
        if _csc(c).get("allowPrivilegeEscalation") is not False:
            yield _hit(obj, "set allowPrivilegeEscalation: false", c, "securityContext.allowPrivilegeEscalation")


def _caps(c: kube.Container, key: str) -> set[str]:
    caps = _csc(c).get("capabilities") or {}
    values = caps.get(key) if isinstance(caps, dict) else None
    return {str(v).upper().removeprefix("CAP_") for v in values} if isinstance(values, list) else set()


@rule("capabilities-not-dropped", "warning", "k8s", "capabilities.drop does not include ALL.")
def capabilities_not_dropped(ctx):
    for obj, _spec, c in _containers(ctx):
        if "ALL" not in _caps(c, "drop"):
            yield _hit(
                obj, "drop ALL capabilities and add back only what is needed", c, "securityContext.capabilities.drop"
            )


@rule(
    "capabilities-dangerous",
    "error",
    "k8s",
    "capabilities.add includes a capability outside the Pod Security baseline set.",
)
def capabilities_dangerous(ctx):
    for obj, _spec, c in _containers(ctx):
        bad = sorted(_caps(c, "add") - BASELINE_CAPABILITIES)
        if bad:
            yield _hit(
                obj,
                f"adds capabilities outside the baseline set: {', '.join(bad)}",
                c,
                "securityContext.capabilities.add",
            )


@rule(
    "seccomp-profile",
    "warning",
    "k8s",
    "The seccomp profile is not RuntimeDefault or Localhost (Pod Security restricted).",
)
def seccomp_profile(ctx):
    for obj, spec, c in _containers(ctx):
        profile = kube.effective(c, spec, "seccompProfile")
        kind = profile.get("type") if isinstance(profile, dict) else None
        if kind not in ("RuntimeDefault", "Localhost"):
            yield _hit(
                obj,
                f"seccompProfile.type is {kind or 'unset'}; use RuntimeDefault",
                c,
                "securityContext.seccompProfile",
            )


@rule("read-only-root-fs", "warning", "k8s", "readOnlyRootFilesystem is not true.")
def read_only_root_fs(ctx):
    for obj, _spec, c in _containers(ctx):
        if _csc(c).get("readOnlyRootFilesystem") is not True:
            yield _hit(
                obj,
                "set readOnlyRootFilesystem: true and mount emptyDirs where writes are needed",
                c,
                "securityContext.readOnlyRootFilesystem",
            )


@rule("host-namespace", "error", "k8s", "The pod shares the host's network, PID or IPC namespace.")
def host_namespace(ctx):
    for obj in ctx.workloads:
        spec = ctx.pod(obj)[0]
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key) is True:
                yield _hit(obj, f"{key}: true shares the host namespace", path=key)


@rule("image-tag-latest", "warning", "k8s", "An image is untagged or tagged latest (and not pinned by digest).")
def image_tag_latest(ctx):
    for obj, _spec, c in _containers(ctx):
        image = c.spec.get("image")
        if not isinstance(image, str) or not image:
            continue
        tag, digest = kube.image_tag(image)
        if not digest and tag in ("", "latest"):
            yield _hit(obj, f"image {image!r} is not pinned: use a version tag or a digest", c, "image")


def _resources(c: kube.Container, key: str) -> dict:
    res = c.spec.get("resources") or {}
    section = res.get(key) if isinstance(res, dict) else None
    return section if isinstance(section, dict) else {}


def effective_requests(ctx: Context, obj: K8sObject, c: kube.Container) -> set[str]:
    """Resources the container has a request for once admitted: its own requests, its limits (the API
    server copies a limit into a missing request) and its namespace's LimitRange defaults."""
    defaults, _limits = ctx.limit_range_defaults(obj.namespace)
    return set(_resources(c, "requests")) | set(_resources(c, "limits")) | set(defaults)


def effective_limits(ctx: Context, obj: K8sObject, c: kube.Container) -> set[str]:
    """Resources the container has a limit for once admitted: its own and its LimitRange's defaults."""
    _requests, defaults = ctx.limit_range_defaults(obj.namespace)
    return set(_resources(c, "limits")) | set(defaults)


@rule(
    "resources-requests-missing",
    "warning",
    "k8s",
    "A container has no CPU or memory request (a limit, or a LimitRange default, counts as one).",
)
def resources_requests_missing(ctx):
    for obj, _spec, c in _containers(ctx):
        requested = effective_requests(ctx, obj, c)
        missing = [r for r in ("cpu", "memory") if r not in requested]
        if missing:
            yield _hit(
                obj,
                f"no {' and '.join(missing)} request: the scheduler and HPA cannot account for it",
                c,
                "resources.requests",
            )


@rule(
    "resources-limits-missing",
    "warning",
    "k8s",
    "A container has no CPU or memory limit (a LimitRange default counts as one).",
)
def resources_limits_missing(ctx):
    for obj, _spec, c in _containers(ctx):
        limited = effective_limits(ctx, obj, c)
        missing = [r for r in ("cpu", "memory") if r not in limited]
        if missing:
            yield _hit(obj, f"no {' and '.join(missing)} limit", c, "resources.limits")


# --- peers: objects ------------------------------------------------------------------------


@rule(
    "hpa-min-replicas",
    "warning",
    "k8s",
    "A HorizontalPodAutoscaler allows fewer than min_hpa_replicas (default 2) replicas.",
)
def hpa_min_replicas(ctx):
    floor = ctx.thresholds["min_hpa_replicas"]
    for obj in ctx.hpas:
        value = (obj.data.get("spec") or {}).get("minReplicas", 1)
        if isinstance(value, int) and value < floor:
            yield Hit(
                obj.file,
                obj.ident,
                f"minReplicas {value} < {floor}: one pod is a single point of failure",
                field="spec.minReplicas",
                line=obj.line,
            )


def _hpa_target(ctx, hpa: K8sObject) -> tuple[dict, K8sObject | None]:
    ref = (hpa.data.get("spec") or {}).get("scaleTargetRef") or {}
    if not isinstance(ref, dict):
        return {}, None
    return ref, ctx.find(hpa.namespace, ref.get("kind"), ref.get("name"))


@rule("hpa-target-missing", "error", "k8s", "A HorizontalPodAutoscaler's scaleTargetRef names no object in the input.")
def hpa_target_missing(ctx):
    for obj in ctx.hpas:
        ref, target = _hpa_target(ctx, obj)
        if target is None:
            yield Hit(
                obj.file,
                obj.ident,
                f"scaleTargetRef {ref.get('kind')}/{ref.get('name')} is not defined",
                field="spec.scaleTargetRef",
                line=obj.line,
            )


@rule(
    "hpa-target-requests-missing",
    "error",
    "k8s",
    "An HPA scales on CPU/memory utilization but its target's containers have no request (nor limit) for it.",
)
def hpa_target_requests_missing(ctx):
    for obj in ctx.hpas:
        spec = obj.data.get("spec") or {}
        resources = set()
        if spec.get("targetCPUUtilizationPercentage") is not None:
            resources.add("cpu")
        for metric in spec.get("metrics") or []:
            res = (metric or {}).get("resource") or {}
            if (metric or {}).get("type") == "Resource" and (res.get("target") or {}).get("type") == "Utilization":
                resources.add(res.get("name"))
        _ref, target = _hpa_target(ctx, obj)
        if target is None or id(target) not in ctx.pods:
            continue
        for c in ctx.pod(target)[1]:
            if c.role == "init":
                continue
            requested = effective_requests(ctx, target, c)
            missing = sorted(r for r in resources if r not in requested)
            if missing:
                yield Hit(
                    obj.file,
                    obj.ident,
                    f"{target.ident} container {c.name} has no {'/'.join(missing)} request; utilization is undefined",
                    c.name,
                    "spec.metrics",
                    obj.line,
                )


@rule(
    "hpa-target-replicas-set",
    "warning",
    "k8s",
    "The workload an HPA scales sets spec.replicas: every apply resets the replica count the HPA chose.",
)
def hpa_target_replicas_set(ctx):
    for obj in ctx.hpas:
        _ref, target = _hpa_target(ctx, obj)
        spec = target.data.get("spec") if target is not None else None
        if isinstance(spec, dict) and "replicas" in spec:
            yield Hit(
                target.file,
                target.ident,
                f"spec.replicas {spec['replicas']!r} is set while {obj.ident} scales it: each apply sets the replicas "
                "back to it (and server-side apply then contends with the autoscaler); leave it out of the manifest",
                field="spec.replicas",
                line=target.line,
            )


@rule("service-selects-nothing", "error", "k8s", "A Service's selector matches no pod template in its namespace.")
def service_selects_nothing(ctx):
    for svc in ctx.services:
        spec = svc.data.get("spec") or {}
        if spec.get("type") == "ExternalName" or not spec.get("selector"):
            continue
        if not ctx.selected_by_service(svc):
            yield Hit(
                svc.file,
                svc.ident,
                f"selector {spec['selector']} matches no pod template",
                field="spec.selector",
                line=svc.line,
            )


@rule("selector-template-mismatch", "error", "k8s", "A workload's selector does not match its own pod template labels.")
def selector_template_mismatch(ctx):
    for obj in ctx.workloads:
        if obj.kind not in kube.CONTROLLER_KINDS:
            continue
        selector = (obj.data.get("spec") or {}).get("selector")
        labels = ctx.labels[id(obj)]
        if obj.kind in kube.MAP_SELECTOR_KINDS:
            ok = selector is None or kube.map_selector_matches(selector, labels)
        elif not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            yield Hit(
                obj.file,
                obj.ident,
                "spec.selector is required and must not be empty",
                field="spec.selector",
                line=obj.line,
            )
            continue
        else:
            ok = kube.selector_matches(selector, labels)
        if not ok:
            yield Hit(
                obj.file,
                obj.ident,
                f"selector {selector} does not match template labels {labels}",
                field="spec.selector",
                line=obj.line,
            )


@rule("network-policy-missing", "warning", "k8s", "No NetworkPolicy in the input selects the pod.")
def network_policy_missing(ctx):
    for obj in ctx.workloads:
        if not ctx.is_isolated(obj):
            yield Hit(
                obj.file,
                obj.ident,
                "no NetworkPolicy selects these pods: all ingress and egress is allowed",
                field="spec.template.metadata.labels",
                line=obj.line,
            )


# --- what only the API server enforces -----------------------------------------------------


@rule("liveness-success-threshold", "error", "k8s", "livenessProbe.successThreshold must be 1 (API server rule).")
def liveness_success_threshold(ctx):
    yield from _success_threshold(ctx, "livenessProbe")


@rule("startup-success-threshold", "error", "k8s", "startupProbe.successThreshold must be 1 (API server rule).")
def startup_success_threshold(ctx):
    yield from _success_threshold(ctx, "startupProbe")


def _success_threshold(ctx, kind):
    for obj, _spec, c, _kind, probe in _probes(ctx, (kind,)):
        value = probe.get("successThreshold")
        if value is not None and value not in (0, 1):
            yield _hit(
                obj, f"{kind}.successThreshold is {value}; the API server only accepts 1", c, f"{kind}.successThreshold"
            )


@rule("probe-handler-count", "error", "k8s", "A probe must have exactly one handler: exec, httpGet, tcpSocket or grpc.")
def probe_handler_count(ctx):
    for obj, _spec, c, kind, probe in _probes(ctx):
        found = kube.handlers(probe)
        if len(found) != 1:
            text = ", ".join(found) if found else "none"
            yield _hit(obj, f"{kind} has {len(found)} handlers ({text}); exactly one is allowed", c, kind)


@rule(
    "readiness-termination-grace", "error", "k8s", "terminationGracePeriodSeconds is not allowed on a readinessProbe."
)
def readiness_termination_grace(ctx):
    for obj, _spec, c, kind, probe in _probes(ctx, ("readinessProbe",)):
        if "terminationGracePeriodSeconds" in probe:
            yield _hit(
                obj,
                "readinessProbe.terminationGracePeriodSeconds is rejected by the API server",
                c,
                f"{kind}.terminationGracePeriodSeconds",
            )


@rule(
    "init-container-probe",
    "error",
    "k8s",
    "An init container that is not a sidecar (restartPolicy: Always) must not have probes.",
)
def init_container_probe(ctx):
    for obj, _spec, c, kind, _probe in _probes(ctx, roles=("init",)):
        yield _hit(
            obj,
            f"{kind} on an init container is rejected; make it a sidecar (restartPolicy: Always) or drop the probe",
            c,
            kind,
        )


@rule("probe-timing-invalid", "error", "k8s", "A probe timing field is negative, zero or not an integer.")
def probe_timing_invalid(ctx):
    for obj, _spec, c, kind, probe in _probes(ctx):
        for key in (*kube.PROBE_DEFAULTS, "terminationGracePeriodSeconds"):
            if key not in probe:
                continue
            value = probe[key]
            if not isinstance(value, int) or isinstance(value, bool):
                yield _hit(obj, f"{key} must be an integer, got {value!r}", c, f"{kind}.{key}")
            elif value < 0:
                yield _hit(obj, f"{key} is negative ({value})", c, f"{kind}.{key}")
            elif value == 0 and key != "initialDelaySeconds":
                default = kube.PROBE_DEFAULTS.get(key)
                text = f"silently becomes the default {default}" if default else "is rejected"
                yield _hit(obj, f"{key}: 0 {text}; write the value you mean", c, f"{kind}.{key}")


@rule("probe-http-scheme", "error", "k8s", "httpGet.scheme must be HTTP or HTTPS.")
def probe_http_scheme(ctx):
    for obj, _spec, c, kind, probe in _probes(ctx):
        http = probe.get("httpGet")
        if isinstance(http, dict) and "scheme" in http and http["scheme"] not in ("HTTP", "HTTPS"):
            yield _hit(obj, f"scheme {http['scheme']!r} is not HTTP or HTTPS", c, f"{kind}.httpGet.scheme")


# --- timing --------------------------------------------------------------------------------


@rule(
    "probe-timeout-ge-period",
    "warning",
    "k8s",
    "A probe's timeoutSeconds is not below its periodSeconds: hanging probes then run back to back.",
)
def probe_timeout_ge_period(ctx):
    for obj, _spec, c, kind, probe in _probes(ctx, roles=("container", "sidecar")):
        t = kube.timing(probe)
        if t["timeoutSeconds"] >= t["periodSeconds"]:
            yield _hit(
                obj,
                f"timeoutSeconds {t['timeoutSeconds']} >= periodSeconds {t['periodSeconds']}: the kubelet runs one "
                "probe at a time, so a probe that hangs until its timeout is followed at once by the next: a "
                f"struggling container is probed back to back and failures count every {t['timeoutSeconds']}s",
                c,
                f"{kind}.timeoutSeconds",
            )


@rule(
    "liveness-before-readiness",
    "warning",
    "k8s",
    "Liveness gives up (failureThreshold x periodSeconds) before readiness does.",
)
def liveness_before_readiness(ctx):
    for obj, _spec, c in _containers(ctx, ("container", "sidecar")):
        live, ready = c.probe("livenessProbe"), c.probe("readinessProbe")
        if live is None or ready is None:
            continue
        lt, rt = kube.timing(live), kube.timing(ready)
        live_window = lt["failureThreshold"] * lt["periodSeconds"]
        ready_window = rt["failureThreshold"] * rt["periodSeconds"]
        if live_window < ready_window:
            yield _hit(
                obj,
                f"liveness restarts after {live_window}s of failures, before readiness unreadies after {ready_window}s",
                c,
                "livenessProbe.failureThreshold",
            )


@rule(
    "liveness-initial-delay-without-startup",
    "warning",
    "k8s",
    "A liveness initialDelaySeconds above max_liveness_initial_delay without a startupProbe.",
)
def liveness_initial_delay(ctx):
    limit = ctx.thresholds["max_liveness_initial_delay"]
    for obj, _spec, c in _containers(ctx, ("container", "sidecar")):
        live = c.probe("livenessProbe")
        if live is None or c.probe("startupProbe") is not None:
            continue
        delay = kube.timing(live)["initialDelaySeconds"]
        if delay > limit:
            yield _hit(
                obj,
                f"initialDelaySeconds {delay} > {limit}: use a startupProbe so slow starts do not delay detection",
                c,
                "livenessProbe.initialDelaySeconds",
            )


def startup_budget(container: kube.Container) -> tuple[float, str]:
    """Seconds before the kubelet kills a container that has not started, and which probe sets it."""
    for kind in ("startupProbe", "livenessProbe"):
        probe = container.probe(kind)
        if probe is not None:
            t = kube.timing(probe)
            return t["initialDelaySeconds"] + t["failureThreshold"] * t["periodSeconds"], kind
    return math.inf, ""


@rule(
    "startup-budget-too-short",
    "error",
    "k8s",
    "initialDelaySeconds + failureThreshold x periodSeconds is below the declared or measured startup time.",
)
def startup_budget_too_short(ctx):
    factor = ctx.thresholds["startup_safety_factor"]
    for obj, _spec, c in _containers(ctx, ("container", "sidecar")):
        startup = ctx.startup_for(obj, c.name)
        if startup is None:
            continue
        budget, kind = startup_budget(c)
        if budget < startup * factor:
            yield _hit(
                obj,
                f"{kind} allows {budget:g}s to start, the container needs {startup:g}s (x{factor:g}): killed before up",
                c,
                f"{kind}.failureThreshold",
            )


# --- Service <-> container port <-> probe port ---------------------------------------------


def _service_ports(svc: K8sObject):
    for index, port in enumerate((svc.data.get("spec") or {}).get("ports") or []):
        if isinstance(port, dict):
            yield index, port, port.get("targetPort", port.get("port"))


@rule(
    "service-target-port-unknown",
    "error",
    "k8s",
    "A Service targetPort name is not a named containerPort of any selected pod.",
)
def service_target_port_unknown(ctx):
    for svc in ctx.services:
        pods = ctx.selected_by_service(svc)
        if not pods:
            continue
        for index, _port, target in _service_ports(svc):
            if isinstance(target, str) and not target.isdigit():
                names = {n for w in pods for c in ctx.pod(w)[1] for n in kube.declared_names(c)}
                if target not in names:
                    yield Hit(
                        svc.file,
                        svc.ident,
                        f"targetPort {target!r} is not a named port of the selected pods ({sorted(names) or 'none'})",
                        field=f"spec.ports[{index}].targetPort",
                        line=svc.line,
                    )


@rule(
    "service-target-port-undeclared",
    "warning",
    "k8s",
    "A Service targetPort number is not declared by any selected container.",
)
def service_target_port_undeclared(ctx):
    for svc in ctx.services:
        pods = ctx.selected_by_service(svc)
        if not pods:
            continue
        for index, _port, target in _service_ports(svc):
            if isinstance(target, int) and not isinstance(target, bool):
                numbers = {n for w in pods for c in ctx.pod(w)[1] for n in kube.declared_numbers(c)}
                if target not in numbers:
                    yield Hit(
                        svc.file,
                        svc.ident,
                        f"targetPort {target} is not a containerPort of the selected pods ({sorted(numbers) or '-'})",
                        field=f"spec.ports[{index}].targetPort",
                        line=svc.line,
                    )


@rule(
    "service-port-not-probed",
    "warning",
    "k8s",
    "The container port a Service sends traffic to is not the port its readinessProbe checks.",
)
def service_port_not_probed(ctx):
    for svc in ctx.services:
        for w in ctx.selected_by_service(svc):
            for c in ctx.pod(w)[1]:
                if c.role == "init":
                    continue
                ready = c.probe("readinessProbe")
                handler, probe_port = kube.probe_port(ready or {})
                if handler is None:
                    continue
                probed = kube.resolve_port(c, probe_port)
                declared = kube.declared_numbers(c)
                # The Service ports that land on this container; readiness gates all of them, so it
                # is enough that it checks one of them (a metrics port beside the traffic port is fine).
                served = {}
                for index, _port, target in _service_ports(svc):
                    number = kube.resolve_port(c, target)
                    if number is not None and number in declared:
                        served.setdefault(number, index)
                if probed is None or not served or probed in served:
                    continue
                (number, index), *_others = served.items()
                ports = ", ".join(str(n) for n in served)
                yield Hit(
                    svc.file,
                    svc.ident,
                    f"{w.ident} container {c.name} serves targetPort {ports}, its readinessProbe checks {probed}",
                    c.name,
                    f"spec.ports[{index}].targetPort",
                    svc.line,
                )


# --- Compose -------------------------------------------------------------------------------


def _depends(svc: dict) -> dict:
    deps = svc.get("depends_on")
    if isinstance(deps, list):
        return {str(d): {"condition": "service_started"} for d in deps}
    if isinstance(deps, dict):
        return {str(k): (v if isinstance(v, dict) else {}) for k, v in deps.items()}
    return {}


def _services(ctx):
    for project in ctx.projects:
        for name, svc in project.services.items():
            if isinstance(svc, dict):
                yield project, name, svc


def _chit(project: ComposeProject, name: str, message: str, key: str = "", path: str = "") -> Hit:
    line = project.lines.get(name, ("", 0))[1]
    return Hit(project.file_of(name, key), name, message, "", f"services.{name}" + (f".{path}" if path else ""), line)


def healthcheck(svc: dict) -> dict | None:
    """The service's effective healthcheck mapping, or None when absent or disabled."""
    hc = svc.get("healthcheck")
    if not isinstance(hc, dict) or hc.get("disable") is True:
        return None
    test = hc.get("test")
    if test == ["NONE"] or test == "NONE" or (isinstance(test, list) and test[:1] == ["NONE"]):
        return None
    return hc


@rule("compose-depends-on-unknown", "error", "compose", "depends_on names a service that the project does not define.")
def compose_depends_on_unknown(ctx):
    for project, name, svc in _services(ctx):
        for dep in _depends(svc):
            if dep not in project.services:
                yield _chit(
                    project,
                    name,
                    f"depends_on {dep!r}, which is not a service of the project",
                    "depends_on",
                    "depends_on",
                )


@rule(
    "compose-depends-healthy-no-healthcheck",
    "error",
    "compose",
    "A service others wait for with service_healthy has no healthcheck (or it is disabled/NONE).",
)
def compose_depends_healthy(ctx):
    for project, name, svc in _services(ctx):
        for dep, cond in _depends(svc).items():
            target = project.services.get(dep)
            if cond.get("condition") != "service_healthy" or not isinstance(target, dict) or healthcheck(target):
                continue
            image = target.get("image")
            explicit = isinstance(target.get("healthcheck"), dict)
            if not explicit and isinstance(image, str) and ctx.images is not None and ctx.images.healthcheck(image):
                continue
            yield _chit(
                project,
                dep,
                f"{name} waits for {dep} with service_healthy but {dep} has no healthcheck: `up` fails",
                "healthcheck",
                "healthcheck",
            )


def _hc_items(ctx):
    for project, name, svc in _services(ctx):
        hc = healthcheck(svc)
        if hc is not None:
            yield project, name, svc, hc


def _durations(hc: dict) -> dict:
    values = {}
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in hc:
            try:
                values[key] = parse_duration(hc[key])
            except DurationError:
                values[key] = None
    return values


def compose_timing(hc: dict) -> dict:
    """Effective healthcheck timing in seconds (Compose defaults for what is missing or invalid)."""
    parsed = _durations(hc)
    result = {k: (parsed.get(k) if parsed.get(k) else v) for k, v in COMPOSE_DEFAULTS.items() if k != "retries"}
    if parsed.get("start_period") == 0.0:
        result["start_period"] = 0.0
    retries = hc.get("retries")
    result["retries"] = retries if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0 else 3
    return result


def compose_budget(hc: dict) -> float:
    t = compose_timing(hc)
    return t["start_period"] + t["retries"] * t["interval"]


@rule(
    "compose-duration-invalid",
    "error",
    "compose",
    "A healthcheck duration (interval, timeout, start_period, start_interval) does not parse.",
)
def compose_duration_invalid(ctx):
    for project, name, _svc, hc in _hc_items(ctx):
        for key in ("interval", "timeout", "start_period", "start_interval"):
            if key not in hc:
                continue
            try:
                value = parse_duration(hc[key])
            except DurationError as exc:
                yield _chit(project, name, str(exc), "healthcheck", f"healthcheck.{key}")
                continue
            if value < 0 or (value == 0 and key in ("interval", "timeout")):
                yield _chit(
                    project, name, f"{key} must be positive, got {hc[key]!r}", "healthcheck", f"healthcheck.{key}"
                )


# Retired: the rule warned that a timeout at or above the interval makes checks overlap. Docker never
# overlaps them: it starts the next check `interval` after the previous one ended (moby's health
# monitor resets its timer once a probe returns), so a hanging check only lengthens the cycle to
# interval + timeout.  The id stays registered, without a check, so `disable` lists that name it
# stay valid.
RULES["compose-healthcheck-timeout-ge-interval"] = Rule(
    "compose-healthcheck-timeout-ge-interval",
    "info",
    "compose",
    "Retired, never fires: Docker runs healthchecks one after another, so a timeout at or above the interval "
    "overlaps nothing.",
    None,
)


@rule("compose-healthcheck-retries", "error", "compose", "A healthcheck's retries is below 1 or not an integer.")
def compose_retries(ctx):
    for project, name, _svc, hc in _hc_items(ctx):
        if "retries" in hc:
            value = hc["retries"]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                yield _chit(
                    project,
                    name,
                    f"retries must be an integer >= 1, got {value!r}",
                    "healthcheck",
                    "healthcheck.retries",
                )


def test_argv(test) -> tuple[str, list[str]] | None:
    """(form, argv) of a healthcheck test: form is CMD or CMD-SHELL; None if malformed."""
    if isinstance(test, str):
        return ("CMD-SHELL", [test]) if test.strip() else None
    if not isinstance(test, list) or not test or not all(isinstance(t, str) for t in test):
        return None
    form, rest = test[0], test[1:]
    if form == "CMD" and rest:
        return form, rest
    if form == "CMD-SHELL" and len(rest) == 1 and rest[0].strip():
        return form, rest
    return None


@rule(
    "compose-healthcheck-test-invalid",
    "error",
    "compose",
    "healthcheck.test is not a string or a [CMD, ...] / [CMD-SHELL, cmd] / [NONE] list.",
)
def compose_test_invalid(ctx):
    for project, name, _svc, hc in _hc_items(ctx):
        if "test" not in hc:
            continue
        if test_argv(hc["test"]) is None:
            yield _chit(
                project,
                name,
                f"test {hc['test']!r} is not [CMD, args...], [CMD-SHELL, 'command'] or a string",
                "healthcheck",
                "healthcheck.test",
            )


def shell_commands(script: str) -> list[str]:
    """First word of each simple command of a shell line (best effort, builtins removed)."""
    words = []
    for segment in re.split(r"&&|\|\||[;|&\n]", script):
        try:
            parts = shlex.split(segment)
        except ValueError:
            parts = segment.split()
        while parts and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", parts[0]):
            parts.pop(0)
        if parts and parts[0] not in SHELL_BUILTINS and "$" not in parts[0] and not parts[0].startswith(("(", "{")):
            words.append(parts[0])
    return words


@rule(
    "compose-healthcheck-binary-missing",
    "error",
    "compose",
    "The healthcheck command's binary is not in the image (checked when the image is present locally).",
)
def compose_binary_missing(ctx):
    if ctx.images is None:
        return
    for project, name, svc, hc in _hc_items(ctx):
        image = svc.get("image")
        parsed = test_argv(hc.get("test"))
        if not isinstance(image, str) or parsed is None or ctx.images.inspect(image) is None:
            continue
        form, argv = parsed
        binaries = [argv[0]] if form == "CMD" else ["/bin/sh", *shell_commands(argv[0])]
        for binary in dict.fromkeys(binaries):
            if ctx.images.find_binary(image, binary) is False:
                yield _chit(
                    project,
                    name,
                    f"healthcheck runs {binary!r}, which image {image} does not contain: the check always fails",
                    "healthcheck",
                    "healthcheck.test",
                )


@rule(
    "compose-healthcheck-binary-unchecked",
    "info",
    "compose",
    "compose-healthcheck-binary-missing could not look inside the image: it is not present locally (never pulled).",
)
def compose_binary_unchecked(ctx):
    if ctx.images is None:
        return
    for project, name, svc, hc in _hc_items(ctx):
        image = svc.get("image")
        if test_argv(hc.get("test")) is None:
            continue
        if not isinstance(image, str) or not image:
            reason = "the service has no image: name (Compose builds it under a generated name)"
        elif not ctx.images.available():
            reason = f"no Docker engine answers, so image {image} was not inspected"
        elif ctx.images.inspect(image) is None:
            reason = f"image {image} is not present locally and is never pulled"
        else:
            continue
        yield _chit(
            project,
            name,
            f"healthcheck binary not checked: {reason}; build or pull it and lint again to check it",
            "healthcheck",
            "healthcheck.test",
        )


@rule(
    "compose-startup-budget-too-short",
    "error",
    "compose",
    "start_period + retries x interval is below the declared or measured startup time.",
)
def compose_startup_budget(ctx):
    factor = ctx.thresholds["startup_safety_factor"]
    for project, name, _svc, hc in _hc_items(ctx):
        startup = ctx.compose_startup_for(name)
        if startup is None:
            continue
        budget = compose_budget(hc)
        if budget < startup * factor:
            yield _chit(
                project,
                name,
                f"healthcheck turns unhealthy after {budget:g}s, the service needs {startup:g}s (x{factor:g}) to start",
                "healthcheck",
                "healthcheck.start_period",
            )


# --- Compose <-> Kubernetes parity ---------------------------------------------------------


def _parity_pairs(ctx):
    for project, name, svc, hc in _hc_items(ctx):
        ref = ctx.parity.get(name, name)
        for obj in ctx.workloads:
            if ref not in (obj.ident, f"{obj.kind}/{obj.name}", obj.name):
                continue
            regular = [c for c in ctx.pod(obj)[1] if c.role == "container"]
            chosen = next((c for c in regular if c.name == name), regular[0] if regular else None)
            if chosen is not None:
                yield project, name, svc, hc, obj, chosen


def _compose_target(hc: dict) -> dict:
    parsed = test_argv(hc.get("test"))
    if parsed is None:
        return {}
    form, argv = parsed
    text = " ".join(argv)
    url = re.search(r"https?://[^\s'\"]+", text)
    if url:
        parts = urlparse(url.group(0))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return {"port": port, "path": parts.path or "/"}
    first = argv[0] if form == "CMD" else (shell_commands(argv[0]) or [""])[0]
    return {"binary": first.rsplit("/", 1)[-1]}


@rule(
    "parity-probe-target",
    "warning",
    "parity",
    "A service's Compose healthcheck and its Kubernetes probe check different endpoints or commands.",
)
def parity_probe_target(ctx):
    for project, name, _svc, hc, obj, c in _parity_pairs(ctx):
        compose = _compose_target(hc)
        probe = c.probe("readinessProbe") or c.probe("livenessProbe")
        if not compose or probe is None:
            continue
        http, exec_ = probe.get("httpGet"), probe.get("exec")
        if "port" in compose and isinstance(http, dict):
            port = kube.resolve_port(c, http.get("port"))
            path = http.get("path", "/")
            if (port, path) != (compose["port"], compose["path"]):
                yield _chit(
                    project,
                    name,
                    f"Compose checks :{compose['port']}{compose['path']}, {obj.ident} probes :{port}{path}",
                    "healthcheck",
                    "healthcheck.test",
                )
        elif "binary" in compose and isinstance(exec_, dict):
            command = exec_.get("command") or [""]
            first = str(command[0]).rsplit("/", 1)[-1]
            if first in ("sh", "bash") and len(command) > 2:
                first = (shell_commands(str(command[-1])) or [""])[0].rsplit("/", 1)[-1]
            if first != compose["binary"]:
                yield _chit(
                    project,
                    name,
                    f"Compose runs {compose['binary']!r}, {obj.ident} runs {first!r}",
                    "healthcheck",
                    "healthcheck.test",
                )


@rule(
    "parity-probe-timing",
    "warning",
    "parity",
    "Kubernetes probes are stricter than the Compose healthcheck (shorter timeout or startup budget).",
)
def parity_probe_timing(ctx):
    for project, name, _svc, hc, obj, c in _parity_pairs(ctx):
        ct = compose_timing(hc)
        probe = c.probe("readinessProbe") or c.probe("livenessProbe")
        if probe is not None:
            timeout = kube.timing(probe)["timeoutSeconds"]
            if ct["timeout"] > timeout:
                yield _chit(
                    project,
                    name,
                    f"Compose allows {ct['timeout']:g}s per check, {obj.ident} only timeoutSeconds {timeout}",
                    "healthcheck",
                    "healthcheck.timeout",
                )
        budget, kind = startup_budget(c)
        if kind and compose_budget(hc) > budget:
            yield _chit(
                project,
                name,
                f"Compose waits {compose_budget(hc):g}s for a start, {obj.ident} {kind} kills after {budget:g}s",
                "healthcheck",
                "healthcheck.start_period",
            )
