# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Walking Kubernetes objects: pod templates, containers, probes, selectors and ports."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .loader import K8sObject

PROBE_DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}
PROBE_KINDS = ("livenessProbe", "readinessProbe", "startupProbe")
HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
JOB_KINDS = frozenset({"Job", "CronJob"})
CONTROLLER_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "DeploymentConfig"}
)
# Controllers whose spec.selector is a plain label map (the others take a LabelSelector).
MAP_SELECTOR_KINDS = frozenset({"ReplicationController", "DeploymentConfig"})
# IANA_SVC_NAME (RFC 6335 section 5.1), what the API server requires of port names.
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9]|-(?!-))*$")


@dataclass
class Container:
    """A container of a pod template and its role: container, sidecar (restartable init) or init."""

    spec: dict
    role: str
    index: int

    @property
    def name(self) -> str:
        return str(self.spec.get("name", f"#{self.index}"))

    @property
    def field(self) -> str:
        group = "containers" if self.role == "container" else "initContainers"
        return f"{group}[{self.name}]"

    @property
    def long_running(self) -> bool:
        return self.role in ("container", "sidecar")

    def probe(self, kind: str) -> dict | None:
        probe = self.spec.get(kind)
        return probe if isinstance(probe, dict) else None

    def ports(self) -> list[dict]:
        ports = self.spec.get("ports")
        return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def pod_template(obj: K8sObject) -> dict | None:
    """The pod template (metadata + spec) of a workload, or the Pod itself."""
    data = obj.data
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else None
    if spec is None:
        return None
    if obj.kind == "Pod":
        return {"metadata": obj.metadata, "spec": spec}
    if obj.kind == "CronJob":
        job = spec.get("jobTemplate", {})
        spec = job.get("spec") if isinstance(job, dict) else None
        if not isinstance(spec, dict):
            return None
    if obj.kind == "PodTemplate":
        spec = data
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        return template
    return None


def pod_spec(obj: K8sObject) -> dict | None:
    template = pod_template(obj)
    return template["spec"] if template else None


def pod_labels(obj: K8sObject) -> dict:
    template = pod_template(obj)
    if not template:
        return {}
    labels = (template.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def containers(spec: dict) -> list[Container]:
    result = []
    for index, c in enumerate(spec.get("initContainers") or []):
        if isinstance(c, dict):
            role = "sidecar" if c.get("restartPolicy") == "Always" else "init"
            result.append(Container(c, role, index))
    for index, c in enumerate(spec.get("containers") or []):
        if isinstance(c, dict):
            result.append(Container(c, "container", index))
    return result


def timing(probe: dict) -> dict:
    """Effective probe timing: the API server replaces missing or zero values with the defaults."""
    result = {}
    for key, default in PROBE_DEFAULTS.items():
        value = probe.get(key)
        result[key] = value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
    if key_is_zero_ok(probe, "initialDelaySeconds"):
        result["initialDelaySeconds"] = probe["initialDelaySeconds"]
    return result


def key_is_zero_ok(probe: dict, key: str) -> bool:
    value = probe.get(key)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def handlers(probe: dict) -> list[str]:
    return [h for h in HANDLERS if probe.get(h) is not None]


def probe_port(probe: dict):
    for handler in ("httpGet", "tcpSocket", "grpc"):
        spec = probe.get(handler)
        if isinstance(spec, dict) and "port" in spec:
            return handler, spec["port"]
    return None, None


def resolve_port(container: Container, port) -> int | None:
    """A probe or Service port (number or name) -> the container port number, None if unknown."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        for declared in container.ports():
            if declared.get("name") == port:
                value = declared.get("containerPort")
                return value if isinstance(value, int) else None
    return None


def port_name_problem(name: str) -> str:
    """Why ``name`` is not a valid port name (IANA_SVC_NAME), or an empty string when it is."""
    if not 1 <= len(name) <= 15:
        return f"is {len(name)} characters long; port names have at most 15"
    if not _PORT_NAME.match(name) or name.endswith("-"):
        return "may only hold lowercase letters, digits and single inner hyphens"
    if not any("a" <= ch <= "z" for ch in name):
        return "needs at least one letter"
    return ""


def port_number_problem(value) -> str:
    """Why ``value`` is not a port number (1-65535), or an empty string when it is."""
    if isinstance(value, bool) or not isinstance(value, int):
        return ""
    return "" if 1 <= value <= 65535 else f"{value} is outside 1-65535"


def protocols(container: Container, port) -> set[str]:
    """Protocols the container declares for a port number or name (TCP when unset); empty if undeclared."""
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    found = set()
    for declared in container.ports():
        if port == declared.get("containerPort") or (isinstance(port, str) and port == declared.get("name")):
            found.add(str(declared.get("protocol") or "TCP"))
    return found


def effective_probe(container: Container, probe: dict) -> dict:
    """A probe as the kubelet runs it: defaults filled in, named ports resolved, handler fields normalized."""
    result: dict = {"timing": timing(probe), "grace": probe.get("terminationGracePeriodSeconds")}
    http = probe.get("httpGet")
    if isinstance(http, dict):
        port = http.get("port")
        result["httpGet"] = {
            "host": http.get("host") or "",
            "path": http.get("path") or "/",
            "port": resolve_port(container, port) or port,
            "scheme": str(http.get("scheme") or "HTTP"),
            "headers": sorted(
                (str(h.get("name")), str(h.get("value"))) for h in http.get("httpHeaders") or [] if isinstance(h, dict)
            ),
        }
    tcp = probe.get("tcpSocket")
    if isinstance(tcp, dict):
        port = tcp.get("port")
        result["tcpSocket"] = {"host": tcp.get("host") or "", "port": resolve_port(container, port) or port}
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        result["grpc"] = {"port": grpc.get("port"), "service": grpc.get("service") or ""}
    exec_ = probe.get("exec")
    if isinstance(exec_, dict):
        result["exec"] = [str(arg) for arg in exec_.get("command") or []]
    return result


def declared_numbers(container: Container) -> set[int]:
    return {p["containerPort"] for p in container.ports() if isinstance(p.get("containerPort"), int)}


def declared_names(container: Container) -> set[str]:
    return {str(p["name"]) for p in container.ports() if p.get("name")}


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against labels; empty selects everything."""
    if not isinstance(selector, dict):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            return False
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def map_selector_matches(selector: dict | None, labels: dict) -> bool:
    """A Service-style plain map selector; an empty or missing selector selects nothing here."""
    if not isinstance(selector, dict) or not selector:
        return False
    return all(labels.get(k) == v for k, v in selector.items())


def effective(container: Container, spec: dict, key: str):
    """A securityContext field from the container, falling back to the pod securityContext."""
    csc = container.spec.get("securityContext") or {}
    if isinstance(csc, dict) and key in csc:
        return csc[key]
    psc = spec.get("securityContext") or {}
    return psc.get(key) if isinstance(psc, dict) else None


def image_tag(image: str) -> tuple[str, str]:
    """(tag, digest) of an image reference; empty strings when absent."""
    digest = ""
    if "@" in image:
        image, digest = image.split("@", 1)
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    return tag, digest
