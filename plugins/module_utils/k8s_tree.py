# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes manifest tree of one environment, derived from the service catalog.

:func:`build` returns every object in apply order, one entry per file::

    {"file": "backend/deployment.yaml", "api_version": "apps/v1", "kind": "Deployment",
     "name": "backend", "wait": True, "sources": [...], "object": {...}}

namespace -> quota and limits -> service accounts, config, Secret -> network policies ->
per service (in dependency order): claim, Service, workload -> autoscalers and
disruption budgets -> ingress.  One builder per kind serves every service, so a new
service in the catalog gets its objects without a new template.

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog as cat

APP_ENVIRONMENTS = {"dev": "development", "staging": "staging", "prod": "production"}
PART_OF = "goaltrajectory"
MANAGED_BY = "goaltrajectory.platform"
CONFIG_NAME = "app-config"
SECRET_NAME = "app-secrets"  # noqa: S105 - the Secret object's name, not a value
# On the Secret, which is not in the tree: values withheld from it, and GitOps controllers that
# come to track it (Argo CD label tracking on app.kubernetes.io/instance) never prune it.
SECRET_ANNOTATIONS = {
    "goaltrajectory.ai/secret-values": "withheld",
    "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
    "argocd.argoproj.io/sync-options": "Prune=false",
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
}
PRESTOP_SECONDS = 5
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]
# Kinds the role may prune: never Namespace or PersistentVolumeClaim (data lives there).
PRUNE_KINDS = (
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"),
)
REQUIRED_SETTINGS = (
    "environment",
    "namespace",
    "app_version",
    "images",
    "image_pull_policy",
    "image_pull_secrets",
    "pod_security_level",
    "pod_security_version",
    "tmp_size_limit",
    "topology_spread_keys",
    "topology_when_unsatisfiable",
    "resource_quota",
    "limit_range",
    "ingress_enabled",
    "ingress_host",
    "ingress_class_name",
    "ingress_tls_secret",
    "ingress_annotations",
    "ingress_controller_namespace",
    "dns_namespace",
    "dns_pod_labels",
    "external_egress",
    "metrics_namespace",
    "hpa_scale_up_stabilization_seconds",
    "hpa_scale_down_stabilization_seconds",
    "hpa_scale_down_period_seconds",
    "log_level",
    "postgres_db",
    "postgres_user",
    "config_extra",
    "secret_keys",
)


DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_NAME_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CONFIG_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
RESOURCE_NAME_RE = re.compile(r"^[-._a-zA-Z0-9/]+$")


def service_name(name: str) -> str:
    """The Service of a catalog service (what other pods, and the monitoring stack, connect to)."""
    return f"{name}-service"


class TreeError(ValueError):
    """The tree cannot be built from these settings; the message names the variable."""


def _quantity(var: str, value, kind: str) -> None:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    pattern = {"cpu": cat.CPU_RE, "memory": cat.MEM_RE, "count": re.compile(r"^[0-9]+$")}[kind]
    if not isinstance(text, str) or not pattern.match(text):
        hint = {
            "cpu": "a CPU quantity like 250m or 1",
            "memory": "a memory quantity like 512Mi or 1Gi (MB/GB are not units)",
            "count": "a whole number",
        }[kind]
        raise TreeError(f"{var}: {value!r} is not {hint}")


def check_settings(settings: dict, routed: bool) -> None:
    """Every check of the role's input that the schemas cannot make, naming the variable."""
    s = settings
    for key in ("namespace", "ingress_controller_namespace", "dns_namespace"):
        if not isinstance(s[key], str) or not DNS_LABEL_RE.match(s[key]):
            raise TreeError(f"k8s_{key}: {s[key]!r} is not a DNS-1123 label (lower case, digits, '-', at most 63)")
    if s["metrics_namespace"] and not DNS_LABEL_RE.match(str(s["metrics_namespace"])):
        raise TreeError(f"k8s_metrics_namespace: {s['metrics_namespace']!r} is not a DNS-1123 label")
    if not isinstance(s["resource_quota"], dict):
        raise TreeError("k8s_resource_quota must be a mapping of resource name to quantity")
    for key, value in s["resource_quota"].items():
        if not RESOURCE_NAME_RE.match(str(key)):
            raise TreeError(f"k8s_resource_quota: key {key!r} is not a resource name such as requests.cpu or pods")
        kind = "cpu" if key.endswith("cpu") else "memory" if key.endswith(("memory", "storage")) else "count"
        _quantity(f"k8s_resource_quota[{key!r}]", value, kind)
    for group in ("default", "default_request", "max"):
        values = s["limit_range"].get(group) if isinstance(s["limit_range"], dict) else None
        if not isinstance(values, dict):
            raise TreeError(f"k8s_limit_range.{group} must be a mapping with cpu and memory")
        for kind in ("cpu", "memory"):
            _quantity(f"k8s_limit_range.{group}.{kind}", values.get(kind), kind)
    _quantity("k8s_tmp_size_limit", s["tmp_size_limit"], "memory")
    for key in s["config_extra"]:
        if not CONFIG_KEY_RE.match(str(key)):
            raise TreeError(f"k8s_config_extra: key {key!r} is not a valid ConfigMap key ([-._a-zA-Z0-9]+)")
    host = s["ingress_host"]
    wanted = s["ingress_enabled"] and routed and (s["environment"] != "dev" or host)
    if wanted and not (host and DNS_NAME_RE.match(str(host))):
        raise TreeError(
            f"k8s_ingress_host: {host!r} must be set to a DNS name in {s['environment']}"
            " (or set k8s_ingress_enabled: false)"
        )


def peak_pods(svc: dict) -> int:
    """Pods of one service the quota must admit at once: at its max, mid rolling update.

    A RollingUpdate (maxSurge 1, maxUnavailable 0) runs max + 1 pods, and the old pod it has
    just scaled down still counts against the quota until its grace period ends: + 2.
    Recreate and StatefulSet updates remove a pod before they start its successor.
    """
    top = svc["autoscale"]["max"] if svc["autoscale"] else svc["replicas"]
    rolling = not svc["stateful"] and not svc["volumes"]
    return top + (2 if rolling else 0)


def quota_need(services: dict[str, dict]) -> dict[str, int]:
    """What every service at its peak (see :func:`peak_pods`) takes from the namespace quota."""
    need = dict.fromkeys(
        ("requests.cpu", "limits.cpu", "requests.memory", "limits.memory", "pods",
         "persistentvolumeclaims", "requests.storage"),
        0,
    )  # fmt: skip
    for svc in services.values():
        pods = peak_pods(svc)
        need["pods"] += pods
        for group in ("requests", "limits"):
            need[f"{group}.cpu"] += pods * cat.cpu_millis(svc["resources"][group]["cpu"])
            need[f"{group}.memory"] += pods * cat.memory_bytes(svc["resources"][group]["memory"])
        claims = svc["replicas"] if svc["stateful"] else 1
        for volume in svc["volumes"]:
            need["persistentvolumeclaims"] += claims
            need["requests.storage"] += claims * cat.memory_bytes(volume["size"])
    return need


def _amount(key: str, value: str) -> int:
    """A quota value in the unit of :func:`quota_need`: millicores, bytes or a count."""
    if key.endswith("cpu"):
        return cat.cpu_millis(value)
    if key.endswith(("memory", "storage")):
        return cat.memory_bytes(value)
    return int(value)


def _shown(key: str, amount: int) -> str:
    if key.endswith("cpu"):
        return f"{amount}m"
    if key.endswith(("memory", "storage")):
        return f"{math.ceil(amount / (1 << 20))}Mi"
    return str(amount)


def check_quota(services: dict[str, dict], quota: dict) -> None:
    """Refuse a ResourceQuota too small for a rolling update with every autoscaler at its max."""
    short = [
        f"{key} {quota[key]} < {_shown(key, need)}"
        for key, need in quota_need(services).items()
        if key in quota and _amount(key, str(quota[key])) < need
    ]
    if short:
        raise TreeError(
            "k8s_resource_quota is too small for a rolling update with every autoscaler at its max "
            "(max + 1 surge pod + 1 terminating pod per rolling Deployment): " + "; ".join(short)
        )


class _Tree:
    def __init__(self, services: dict[str, dict], settings: dict) -> None:
        missing = [key for key in REQUIRED_SETTINGS if key not in settings]
        if missing:
            raise TreeError(f"k8s tree settings lack {', '.join(missing)}")
        self.services = services
        self.s = settings
        self.ns = settings["namespace"]
        self.instance = f"goaltrajectory-{settings['environment']}"
        self.objects: list[dict] = []

    # --- metadata -------------------------------------------------------------------
    def common_labels(self) -> dict:
        return {
            "app.kubernetes.io/instance": self.instance,
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/version": str(self.s["app_version"]),
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }

    def labels(self, svc: dict) -> dict:
        return {
            "app.kubernetes.io/name": svc["name"],
            "app.kubernetes.io/instance": self.instance,
            "app.kubernetes.io/component": svc["component"],
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/version": str(self.s["app_version"]),
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }

    def selector(self, name: str) -> dict:
        return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": self.instance}

    def meta(self, name: str, labels: dict, namespaced: bool = True, **extra) -> dict:
        meta = {"name": name}
        if namespaced:
            meta["namespace"] = self.ns
        meta["labels"] = labels
        meta.update(extra)
        return meta

    def add(
        self,
        file: str | None,
        api_version: str,
        kind: str,
        body: dict,
        sources: list[str],
        wait: bool = False,
    ) -> None:
        """One object in apply order; ``file`` None: applied by the role, never written to the tree."""
        obj = {"apiVersion": api_version, "kind": kind, **body}
        self.objects.append(
            {
                "file": file,
                "api_version": api_version,
                "kind": kind,
                "name": obj["metadata"]["name"],
                "wait": wait,
                "sources": sources,
                "object": obj,
            }
        )

    # --- helpers ---------------------------------------------------------------------
    @staticmethod
    def service_name(name: str) -> str:
        return service_name(name)

    def image(self, name: str) -> str:
        image = self.s["images"].get(name)
        if not image:
            raise TreeError(f"no image reference for {name!r} (k8s_images / images results)")
        return image

    def env(self, svc: dict) -> dict:
        settings = {
            "environment": APP_ENVIRONMENTS[self.s["environment"]],
            "log_level": self.s["log_level"],
            "postgres_db": self.s["postgres_db"],
            "postgres_user": self.s["postgres_user"],
        }
        return cat.env_for(svc, settings, self.service_name)

    def scales(self, svc: dict) -> bool:
        return max(svc["replicas"], (svc["autoscale"] or {}).get("max", 1)) > 1

    # --- base ----------------------------------------------------------------------------
    def namespace(self) -> None:
        level, version = self.s["pod_security_level"], self.s["pod_security_version"]
        labels = dict(self.common_labels())
        for mode in ("enforce", "audit", "warn"):
            labels[f"pod-security.kubernetes.io/{mode}"] = level
            labels[f"pod-security.kubernetes.io/{mode}-version"] = version
        self.add(
            "base/namespace.yaml",
            "v1",
            "Namespace",
            {"metadata": self.meta(self.ns, labels, namespaced=False)},
            ["Pod Security admission: k8s_pod_security_level at k8s_pod_security_version."],
        )

    def guard_rails(self) -> None:
        self.add(
            "base/resourcequota.yaml",
            "v1",
            "ResourceQuota",
            {
                "metadata": self.meta("goaltrajectory-quota", self.common_labels()),
                "spec": {"hard": {k: str(v) for k, v in self.s["resource_quota"].items()}},
            },
            ["Hard limits: k8s_resource_quota (size it for every autoscaler at its max plus one surge pod each)."],
        )
        lr = self.s["limit_range"]
        self.add(
            "base/limitrange.yaml",
            "v1",
            "LimitRange",
            {
                "metadata": self.meta("goaltrajectory-limits", self.common_labels()),
                "spec": {
                    "limits": [
                        {
                            "type": "Container",
                            "default": {k: str(v) for k, v in lr["default"].items()},
                            "defaultRequest": {k: str(v) for k, v in lr["default_request"].items()},
                            "max": {k: str(v) for k, v in lr["max"].items()},
                        }
                    ]
                },
            },
            ["Defaults and maximum for containers that do not say: k8s_limit_range."],
        )

    def service_accounts(self) -> None:
        for svc in self.services.values():
            self.add(
                f"base/serviceaccount-{svc['name']}.yaml",
                "v1",
                "ServiceAccount",
                {"metadata": self.meta(svc["name"], self.labels(svc)), "automountServiceAccountToken": False},
                [f"Identity of the {svc['name']} pods; no API token is mounted."],
            )

    def config(self) -> None:
        data: dict[str, str] = {}
        owner: dict[str, str] = {}
        for svc in self.services.values():
            for key, value in self.env(svc).items():
                if key in data and data[key] != value:
                    raise TreeError(
                        f"{CONFIG_NAME}: {owner[key]} and {svc['name']} set {key} to different values "
                        f"({data[key]!r}, {value!r}); rename one in the service catalog"
                    )
                data[key], owner[key] = value, owner.get(key, svc["name"])
        data.update({k: str(v) for k, v in self.s["config_extra"].items()})
        self.add(
            "base/configmap.yaml",
            "v1",
            "ConfigMap",
            {"metadata": self.meta(CONFIG_NAME, self.common_labels()), "data": dict(sorted(data.items()))},
            ["Every service's env from the service catalog, plus k8s_config_extra. Non-secret settings only."],
        )

    def secret(self) -> None:
        """The Secret lives in memory only: the role (or playbooks/k8s_secrets.yml) applies it with the
        vaulted values. It is not in the tree, so applying the tree (kubectl -k, Argo CD, Flux) never
        touches a live Secret; the annotations keep those controllers from pruning it."""
        keys = self.s["secret_keys"]
        self.add(
            None,
            "v1",
            "Secret",
            {
                "metadata": self.meta(SECRET_NAME, self.common_labels(), annotations=dict(SECRET_ANNOTATIONS)),
                "type": "Opaque",
                "data": {key: "" for key in keys},
            },
            ["Values from the vaulted k8s_secrets, applied from memory; never written to the tree."],
        )

    # --- network policies ------------------------------------------------------------------
    def network_policies(self) -> None:
        self.add(
            "base/network-policy-default-deny.yaml",
            "networking.k8s.io/v1",
            "NetworkPolicy",
            {
                "metadata": self.meta("default-deny-all", self.common_labels()),
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            },
            ["Deny all ingress and egress for every pod in the namespace; the other policies open single paths."],
        )
        self.add(
            "base/network-policy-allow-dns.yaml",
            "networking.k8s.io/v1",
            "NetworkPolicy",
            {
                "metadata": self.meta("allow-dns-egress", self.common_labels()),
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {"kubernetes.io/metadata.name": self.s["dns_namespace"]}
                                    },
                                    "podSelector": {
                                        "matchLabels": {k: str(v) for k, v in sorted(self.s["dns_pod_labels"].items())}
                                    },
                                }
                            ],
                            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                        }
                    ],
                },
            },
            ["Cluster DNS: k8s_dns_namespace and k8s_dns_pod_labels (53/UDP and 53/TCP, the pod's port)."],
        )
        for svc in self.services.values():
            self.network_policy(svc)

    def network_policy(self, svc: dict) -> None:
        ingress, sources = [], []
        by_port: dict[int, list[str]] = {}
        for client in svc["clients"]:
            by_port.setdefault(client["port_number"], []).append(client["name"])
        for port, clients in by_port.items():
            ingress.append(
                {
                    "from": [{"podSelector": {"matchLabels": self.selector(c)}} for c in clients],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            )
            sources.append(f"In: {', '.join(clients)} on {port} (connects_to in the catalog).")
        if svc["ingress"] and self.s["ingress_enabled"]:
            port = next(p["port"] for p in svc["ports"] if p["name"] == svc["ingress"]["port"])
            ingress.append(
                {
                    "from": [self.namespace_peer(self.s["ingress_controller_namespace"])],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            )
            sources.append(f"In: the ingress controller (k8s_ingress_controller_namespace) on {port}.")
        if svc["metrics"] and self.s["metrics_namespace"]:
            ingress.append(
                {
                    "from": [self.namespace_peer(self.s["metrics_namespace"])],
                    "ports": [{"protocol": "TCP", "port": svc["metrics"]["port_number"]}],
                }
            )
            sources.append(f"In: Prometheus (k8s_metrics_namespace) on {svc['metrics']['port_number']}.")
        for port in svc["ports"]:
            if port["name"] == "postgresql" and self.s["metrics_namespace"]:
                # Its exporter (postgres_exporter of the monitoring role) connects as a client.
                exporter = {
                    **self.namespace_peer(self.s["metrics_namespace"]),
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": f"{svc['name']}-exporter"}},
                }
                ingress.append({"from": [exporter], "ports": [{"protocol": "TCP", "port": port["port"]}]})
                sources.append(f"In: {svc['name']}-exporter (k8s_metrics_namespace) on {port['port']}.")
        egress = []
        for peer, link in svc["connects_to"].items():
            egress.append(
                {
                    "to": [{"podSelector": {"matchLabels": self.selector(peer)}}],
                    "ports": [{"protocol": "TCP", "port": link["port_number"]}],
                }
            )
            sources.append(f"Out: {peer} on {link['port_number']}.")
        if svc["external_egress"] and self.s["external_egress"]:
            egress.append(
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}],
                    "ports": [{"protocol": "TCP", "port": p} for p in svc["external_egress"]],
                }
            )
            sources.append(
                f"Out: public addresses on {', '.join(map(str, svc['external_egress']))} (k8s_external_egress)."
            )
        if not ingress and not egress:
            return  # default deny covers it
        spec: dict = {"podSelector": {"matchLabels": self.selector(svc["name"])}, "policyTypes": []}
        if ingress:
            spec["policyTypes"].append("Ingress")
            spec["ingress"] = ingress
        if egress:
            spec["policyTypes"].append("Egress")
            spec["egress"] = egress
        self.add(
            f"base/network-policy-{svc['name']}.yaml",
            "networking.k8s.io/v1",
            "NetworkPolicy",
            {"metadata": self.meta(svc["name"], self.labels(svc)), "spec": spec},
            sources,
        )

    @staticmethod
    def namespace_peer(namespace: str) -> dict:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}

    # --- per service -------------------------------------------------------------------------
    def claim(self, svc: dict, volume: dict) -> None:
        spec: dict = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": volume["size"]}}}
        if volume["storage_class"]:
            spec["storageClassName"] = volume["storage_class"]
        name = f"{svc['name']}-{volume['name']}"
        file = f"{svc['name']}/pvc.yaml" if len(svc["volumes"]) == 1 else f"{svc['name']}/pvc-{volume['name']}.yaml"
        self.add(
            file,
            "v1",
            "PersistentVolumeClaim",
            {"metadata": self.meta(name, self.labels(svc)), "spec": spec},
            [f"{volume['size']} for {volume['path']}; class: the cluster default unless the catalog names one."],
        )

    def service(self, svc: dict) -> None:
        spec: dict = {}
        if svc["stateful"]:
            spec.update(clusterIP="None", publishNotReadyAddresses=False)
        else:
            spec["type"] = "ClusterIP"
        spec["selector"] = self.selector(svc["name"])
        spec["ports"] = [
            {"name": p["name"], "port": p["port"], "targetPort": p["name"], "protocol": p["protocol"]}
            for p in svc["ports"]
        ]
        kind = "Headless: governs the StatefulSet and resolves to its pod" if svc["stateful"] else "ClusterIP"
        self.add(
            f"{svc['name']}/service.yaml",
            "v1",
            "Service",
            {"metadata": self.meta(self.service_name(svc["name"]), self.labels(svc)), "spec": spec},
            [f"{kind}; ports to the named container ports."],
        )

    def probes(self, svc: dict) -> dict:
        health = svc["health"]
        timeout = health["timeout"]

        def handler(probe: str) -> dict:
            if health["kind"] == "exec":
                return {"exec": {"command": list(health["command"])}}
            return {"httpGet": {"path": health[probe], "port": health["port"]}}

        # Fast probes every 5 s (longer than the timeout, so two never overlap), liveness every 10 s.
        fast = max(5, timeout + 1)
        return {
            "startupProbe": {
                **handler("liveness"),
                "periodSeconds": fast,
                "timeoutSeconds": timeout,
                "failureThreshold": max(3, math.ceil(health["startup_seconds"] / fast)),
            },
            "livenessProbe": {
                **handler("liveness"),
                "periodSeconds": max(10, timeout + 1),
                "timeoutSeconds": timeout,
                "failureThreshold": 3,
            },
            "readinessProbe": {
                **handler("readiness"),
                "periodSeconds": fast,
                "timeoutSeconds": timeout,
                "failureThreshold": 3,
            },
        }

    def container(self, svc: dict, env_keys: list[str]) -> dict:
        env = [{"name": k, "valueFrom": {"configMapKeyRef": {"name": CONFIG_NAME, "key": k}}} for k in env_keys]
        env += [{"name": k, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": k}}} for k in svc["secrets"]]
        mounts = [{"name": v["name"], "mountPath": v["path"]} for v in svc["volumes"]]
        mounts += [{"name": s["name"], "mountPath": s["path"]} for s in svc["scratch"]]
        if svc["shm_size"]:
            mounts.append({"name": "dshm", "mountPath": "/dev/shm"})  # noqa: S108 - the pod's shared memory mount
        container: dict = {
            "name": svc["name"],
            "image": self.image(svc["name"]),
            "imagePullPolicy": self.s["image_pull_policy"],
        }
        if svc["ports"]:
            container["ports"] = [
                {"name": p["name"], "containerPort": p["port"], "protocol": p["protocol"]} for p in svc["ports"]
            ]
        if env:
            container["env"] = env
        container["resources"] = {
            "requests": dict(svc["resources"]["requests"]),
            "limits": dict(svc["resources"]["limits"]),
        }
        container.update(self.probes(svc))
        if svc["clients"] or svc["ingress"]:
            # Keep serving while the endpoint removal reaches kube-proxy and the ingress
            # controller, so a rolling update drops no request (the kubelet sleeps; no binary needed).
            container["lifecycle"] = {"preStop": {"sleep": {"seconds": PRESTOP_SECONDS}}}
        container["securityContext"] = {
            "runAsNonRoot": True,
            "runAsUser": svc["user"],
            "runAsGroup": svc["user"],
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        if mounts:
            container["volumeMounts"] = mounts
        return container

    def pod(self, svc: dict) -> dict:
        env = self.env(svc)
        annotations = {
            # A change of the service's settings rolls its pods, as a changed image does.
            "checksum/config": hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest(),
        }
        if svc["metrics"]:
            annotations.update(
                {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": str(svc["metrics"]["port_number"]),
                    "prometheus.io/path": svc["metrics"]["path"],
                }
            )
        spec: dict = {
            "serviceAccountName": svc["name"],
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": svc["stop_grace_seconds"],
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": svc["user"],
                "runAsGroup": svc["user"],
                "fsGroup": svc["user"],
                "fsGroupChangePolicy": "OnRootMismatch",
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }
        if self.scales(svc):
            spec["topologySpreadConstraints"] = [
                {
                    "maxSkew": 1,
                    "topologyKey": key,
                    "whenUnsatisfiable": self.s["topology_when_unsatisfiable"],
                    "labelSelector": {"matchLabels": self.selector(svc["name"])},
                }
                for key in self.s["topology_spread_keys"]
            ]
        if self.s["image_pull_secrets"]:
            spec["imagePullSecrets"] = [{"name": n} for n in self.s["image_pull_secrets"]]
        spec["containers"] = [self.container(svc, sorted(env))]
        volumes = []
        if not svc["stateful"]:
            volumes += [
                {"name": v["name"], "persistentVolumeClaim": {"claimName": f"{svc['name']}-{v['name']}"}}
                for v in svc["volumes"]
            ]
        volumes += [
            {"name": s["name"], "emptyDir": {"sizeLimit": str(self.s["tmp_size_limit"])}} for s in svc["scratch"]
        ]
        if svc["shm_size"]:
            volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": svc["shm_size"]}})
        if volumes:
            spec["volumes"] = volumes
        return {"metadata": {"labels": self.labels(svc), "annotations": annotations}, "spec": spec}

    def workload(self, svc: dict) -> None:
        name = svc["name"]
        spec: dict = {}
        if not svc["autoscale"]:
            # An autoscaled workload leaves replicas to its HPA: owning the field here would make
            # every apply reset what the HPA chose.
            spec["replicas"] = svc["replicas"]
        spec.update(revisionHistoryLimit=5, selector={"matchLabels": self.selector(name)})
        sources = [
            f"Image: {self.image(name)}.",
            f"From the service catalog entry {name!r}: replicas, resources, probes (health), volumes, scratch dirs.",
        ]
        if svc["stateful"]:
            kind, file = "StatefulSet", f"{name}/statefulset.yaml"
            spec.update(
                serviceName=self.service_name(name),
                podManagementPolicy="OrderedReady",
                updateStrategy={"type": "RollingUpdate"},
                persistentVolumeClaimRetentionPolicy={"whenDeleted": "Retain", "whenScaled": "Retain"},
            )
        else:
            kind, file = "Deployment", f"{name}/deployment.yaml"
            if svc["volumes"]:
                # One ReadWriteOnce volume, one writer: a surge pod would open the same files.
                spec["strategy"] = {"type": "Recreate"}
                sources.append("Strategy Recreate: its volume must never be opened by two pods at once.")
            else:
                spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        spec["template"] = self.pod(svc)
        if svc["stateful"]:
            spec["volumeClaimTemplates"] = [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": v["name"], "labels": self.labels(svc)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        **({"storageClassName": v["storage_class"]} if v["storage_class"] else {}),
                        "resources": {"requests": {"storage": v["size"]}},
                    },
                }
                for v in svc["volumes"]
            ]
        self.add(
            file, "apps/v1", kind, {"metadata": self.meta(name, self.labels(svc)), "spec": spec}, sources, wait=True
        )

    def autoscaling(self, svc: dict) -> None:
        auto = svc["autoscale"]
        name = svc["name"]
        self.add(
            f"{name}/hpa.yaml",
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            {
                "metadata": self.meta(name, self.labels(svc)),
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": auto["min"],
                    "maxReplicas": auto["max"],
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": auto["cpu"]},
                            },
                        }
                    ],
                    "behavior": {
                        "scaleUp": {
                            "stabilizationWindowSeconds": self.s["hpa_scale_up_stabilization_seconds"],
                            "selectPolicy": "Max",
                            "policies": [
                                {"type": "Pods", "value": 2, "periodSeconds": 60},
                                {"type": "Percent", "value": 100, "periodSeconds": 60},
                            ],
                        },
                        "scaleDown": {
                            "stabilizationWindowSeconds": self.s["hpa_scale_down_stabilization_seconds"],
                            "selectPolicy": "Min",
                            "policies": [
                                {"type": "Pods", "value": 1, "periodSeconds": self.s["hpa_scale_down_period_seconds"]}
                            ],
                        },
                    },
                },
            },
            [f"Bounds {auto['min']}..{auto['max']} at {auto['cpu']} % CPU of requests (catalog autoscale)."],
        )
        if self.scales(svc):
            self.add(
                f"{name}/pdb.yaml",
                "policy/v1",
                "PodDisruptionBudget",
                {
                    "metadata": self.meta(name, self.labels(svc)),
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": self.selector(name)}},
                },
                ["At most one pod down at a time during voluntary disruptions (node drains)."],
            )

    def ingress(self) -> None:
        routed = [svc for svc in self.services.values() if svc["ingress"]]
        if not (self.s["ingress_enabled"] and routed):
            return
        paths = [
            {
                "path": svc["ingress"]["path"],
                "pathType": "Prefix",
                "backend": {
                    "service": {"name": self.service_name(svc["name"]), "port": {"name": svc["ingress"]["port"]}}
                },
            }
            for svc in sorted(routed, key=lambda s: (-len(s["ingress"]["path"]), s["name"]))
        ]
        meta = self.meta("goaltrajectory", self.common_labels())
        if self.s["ingress_annotations"]:
            meta["annotations"] = {k: str(v) for k, v in sorted(self.s["ingress_annotations"].items())}
        spec: dict = {"ingressClassName": self.s["ingress_class_name"]}
        if self.s["ingress_tls_secret"]:
            spec["tls"] = [{"hosts": [self.s["ingress_host"]], "secretName": self.s["ingress_tls_secret"]}]
        rule: dict = {"http": {"paths": paths}}
        if self.s["ingress_host"]:
            rule = {"host": self.s["ingress_host"], **rule}
        spec["rules"] = [rule]
        routes = ", ".join(f"{p['path']} -> {p['backend']['service']['name']}" for p in paths)
        self.add(
            "ingress/ingress.yaml",
            "networking.k8s.io/v1",
            "Ingress",
            {"metadata": meta, "spec": spec},
            [f"Host: k8s_ingress_host; class: k8s_ingress_class_name; routes (catalog ingress): {routes}."],
        )

    def build(self) -> list[dict]:
        self.namespace()
        self.guard_rails()
        self.service_accounts()
        self.config()
        self.secret()
        self.network_policies()
        for svc in self.services.values():
            if not svc["stateful"]:
                for volume in svc["volumes"]:
                    self.claim(svc, volume)
            if svc["ports"]:
                self.service(svc)
            self.workload(svc)
        for svc in self.services.values():
            if svc["autoscale"]:
                self.autoscaling(svc)
        self.ingress()
        return self.objects


def build(services: dict[str, dict], settings: dict) -> list[dict]:
    """Every object of the environment's tree, in apply order (see the module docstring)."""
    if settings.get("environment") not in APP_ENVIRONMENTS:
        raise TreeError(f"k8s_environment: {settings.get('environment')!r} is not one of dev, staging, prod")
    tree = _Tree(services, settings)
    check_settings(settings, routed=any(svc["ingress"] for svc in services.values()))
    check_quota(services, settings["resource_quota"])
    return tree.build()


def secret_objects(services: dict[str, dict], settings: dict) -> list[dict]:
    """The Namespace and the Secret only (what playbooks/k8s_secrets.yml applies): no images needed."""
    tree = _Tree(services, {**dict.fromkeys(REQUIRED_SETTINGS), **settings, "images": {}})
    tree.namespace()
    tree.secret()
    return tree.objects


def prune_kinds() -> list[dict]:
    return [{"api_version": a, "kind": k} for a, k in PRUNE_KINDS]
