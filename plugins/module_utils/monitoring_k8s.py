# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitoring stack of a Kubernetes environment, derived from the service catalog.

:func:`objects` returns the objects ``k8s_tree_apply`` applies, in order, as
``[{object, wait}]``: the monitoring namespace (Pod Security ``restricted``), a ServiceAccount per
program, the RBAC each one needs and no more, NetworkPolicies that deny everything and open single
paths, Prometheus (its TSDB on a PVC), Alertmanager, the alert receiver and kube-state-metrics.

What is scraped comes from the catalog and from pod discovery, not from a list of targets: every
catalog service with ``metrics`` is a job named after it that keeps the app namespace's pods whose
``app.kubernetes.io/name`` is that service and whose ``prometheus.io/*`` annotations (which the
k8s role puts on them) name the port and path. The kubelet's cAdvisor is scraped through the API
server's node proxy (job ``kubelet``), kube-state-metrics watches the app namespace only
(``--namespaces``), with a Role there. These are the label sets the alert rules in
:mod:`monitoring_rules` select by.

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from . import k8s_tree
from . import monitoring_dashboards as md
from . import monitoring_rules as mr
from . import monitoring_stack as ms

PORTS = {"prometheus": 9090, "alertmanager": 9093, "alert_receiver": 9095, "kube_state_metrics": 8080,
         "postgres_exporter": 9187, "perses": 8080}  # fmt: skip
PROGRAMS = ("prometheus", "alertmanager", "alert_receiver", "kube_state_metrics", "postgres_exporter", "perses")
PART_OF = "goaltrajectory-monitoring"
MANAGED_BY = "goaltrajectory-platform"
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUANTITY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti)?$")
KSM_RESOURCES = (
    "pods",
    "deployments",
    "statefulsets",
    "replicasets",
    "horizontalpodautoscalers",
    "persistentvolumeclaims",
)
SETTINGS = {
    "environment",
    "namespace",
    "app_namespace",
    "images",
    "scrape_interval",
    "evaluation_interval",
    "retention",
    "storage_size",
    "storage_class",
    "alert_receiver",
    "webhook_urls",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "apiserver_endpoints",
    "dns_namespace",
    "dns_pod_labels",
    "prometheus_job",
    "rules",
    "dashboards",
    "postgres_db",
    "postgres_user",
    "postgres_password_set",
    "render",
}
EXPORTER_SECRET = "postgres-exporter"  # noqa: S105 - the name of the Secret holding DATA_SOURCE_PASS
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 - the path of the mounted token, not a secret


_fail = mr._fail


def settings(raw: Any) -> dict:
    """The role's variables for Kubernetes, checked; errors name the monitoring_<key> variable."""
    out = ms.checked_keys(raw, SETTINGS, "kubernetes")
    for key, variable in (("namespace", "k8s_namespace"), ("app_namespace", "namespace")):
        value = out.get(key)
        if not isinstance(value, str) or not NAME_RE.match(value) or len(value) > 63:
            raise _fail(variable, f"must be a namespace name (DNS-1123 label), got {value!r}")
    if out["namespace"] == out["app_namespace"]:
        raise _fail("k8s_namespace", "must differ from the app's namespace (monitoring_namespace)")
    ms.check_images(out, PROGRAMS)
    ms.check_alerting(out)
    if not isinstance(out.get("storage_size"), str) or not QUANTITY_RE.match(out["storage_size"]):
        raise _fail("k8s_storage_size", f"must be a storage quantity such as 5Gi, got {out.get('storage_size')!r}")
    endpoints = out.get("apiserver_endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        raise _fail("k8s_apiserver_endpoints", "must list the API server's endpoints as {ip, port}")
    for i, ep in enumerate(endpoints):
        try:
            ipaddress.ip_address(ep["ip"])
            port = int(ep["port"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _fail(f"k8s_apiserver_endpoints[{i}]", f"must be {{ip, port}}, got {ep!r}") from exc
        if not 1 <= port <= 65535:
            raise _fail(f"k8s_apiserver_endpoints[{i}].port", f"must be a port number, got {port}")
    for key in ("rules", "dashboards"):
        if not isinstance(out.get(key), list):
            raise _fail(key, f"must be the rendered {key[:-1]} files")
    return out


def tcp(port: int) -> dict:
    return {"protocol": "TCP", "port": port}


class _Objects:
    def __init__(self, services: dict, s: dict):
        self.services = services
        self.s = s
        self.ns = s["namespace"]
        self.app_ns = s["app_namespace"]
        self.items: list[dict] = []

    def labels(self, name: str | None = None) -> dict:
        out = {
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/instance": f"{PART_OF}-{self.s['environment']}",
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }
        if name:
            out["app.kubernetes.io/name"] = name
        return out

    def meta(self, name: str, namespace: str | None = "", component: str | None = None, **extra) -> dict:
        meta: dict[str, Any] = {"name": name}
        if namespace is not None:
            meta["namespace"] = namespace or self.ns
        meta["labels"] = self.labels(component)
        meta.update(extra)
        return meta

    def add(self, api_version: str, kind: str, body: dict, wait: bool = False) -> None:
        self.items.append({"object": {"apiVersion": api_version, "kind": kind, **body}, "wait": wait})

    # --- namespace, accounts and RBAC ---------------------------------------------------------
    def namespace(self) -> None:
        meta = self.meta(self.ns, namespace=None)
        meta["labels"].update(
            {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            }
        )
        self.add("v1", "Namespace", {"metadata": meta})

    def accounts(self) -> None:
        exporters = [(f"{svc['name']}-exporter", False) for svc in ms.postgres_services(self.services)]
        for name, token in (
            ("prometheus", True),
            ("kube-state-metrics", True),
            ("alertmanager", False),
            ("alert-receiver", False),
            ("perses", False),
            *exporters,
        ):
            self.add(
                "v1",
                "ServiceAccount",
                {"metadata": self.meta(name, component=name), "automountServiceAccountToken": token},
            )
        cluster_role = f"{self.ns}-prometheus"
        # Cluster-scoped: the node list (the kubelet job) and the node proxy to each kubelet's cAdvisor.
        self.add(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            {
                "metadata": self.meta(cluster_role, namespace=None, component="prometheus"),
                "rules": [
                    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": [""], "resources": ["nodes/proxy", "nodes/metrics"], "verbs": ["get"]},
                ],
            },
        )
        self.add(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            {
                "metadata": self.meta(cluster_role, namespace=None, component="prometheus"),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
                "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": self.ns}],
            },
        )
        # In the app's namespace only: pod discovery, and kube-state-metrics' objects.
        for account, rules in (
            ("prometheus", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]),
            (
                "kube-state-metrics",
                [
                    {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims"], "verbs": ["list", "watch"]},
                    {
                        "apiGroups": ["apps"],
                        "resources": ["deployments", "statefulsets", "replicasets"],
                        "verbs": ["list", "watch"],
                    },
                    {
                        "apiGroups": ["autoscaling"],
                        "resources": ["horizontalpodautoscalers"],
                        "verbs": ["list", "watch"],
                    },
                ],
            ),
        ):
            name = f"{self.ns}-{account}"
            self.add(
                "rbac.authorization.k8s.io/v1",
                "Role",
                {
                    "metadata": self.meta(name, namespace=self.app_ns, component=account),
                    "rules": rules,
                },
            )
            self.add(
                "rbac.authorization.k8s.io/v1",
                "RoleBinding",
                {
                    "metadata": self.meta(name, namespace=self.app_ns, component=account),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                    "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": self.ns}],
                },
            )

    # --- network policies ---------------------------------------------------------------------
    def _pods(self, name: str) -> dict:
        return {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}

    def _policy(self, name: str, pod: dict, ingress: list | None = None, egress: list | None = None) -> None:
        spec: dict[str, Any] = {"podSelector": pod, "policyTypes": []}
        # An empty list denies that direction; it is left out, as the API server stores it.
        for direction, rules in (("Ingress", ingress), ("Egress", egress)):
            if rules is not None:
                spec["policyTypes"].append(direction)
                if rules:
                    spec[direction.lower()] = rules
        self.add("networking.k8s.io/v1", "NetworkPolicy", {"metadata": self.meta(name), "spec": spec})

    def network_policies(self) -> None:
        apiserver = [
            {
                "to": [{"ipBlock": {"cidr": f"{ep['ip']}/{32 if ':' not in ep['ip'] else 128}"}}],
                "ports": [tcp(int(ep["port"]))],
            }
            for ep in self.s["apiserver_endpoints"]
        ]
        self._policy("default-deny-all", {}, ingress=[], egress=[])
        self._policy(
            "allow-dns-egress",
            {},
            egress=[
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
                    "ports": [{"protocol": "UDP", "port": 53}, tcp(53)],
                }
            ],
        )
        metrics_ports = sorted({svc["metrics"]["port_number"] for svc in self.services.values() if svc["metrics"]})
        app_pods = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.app_ns}}}
        # The API server's service proxy (kubectl get --raw .../services/<name>:<port>/proxy/...) is the
        # operators' way in: its endpoints may reach the HTTP APIs, nothing else may.
        via_apiserver = [
            {"ipBlock": {"cidr": f"{ep['ip']}/{32 if ':' not in ep['ip'] else 128}"}}
            for ep in self.s["apiserver_endpoints"]
        ]
        self._policy(
            "prometheus",
            self._pods("prometheus")["podSelector"],
            ingress=[{"from": [*via_apiserver, self._pods("perses")], "ports": [tcp(PORTS["prometheus"])]}],
            egress=[
                {"to": [app_pods], "ports": [tcp(p) for p in metrics_ports]},
                {"to": [self._pods("kube-state-metrics")], "ports": [tcp(PORTS["kube_state_metrics"])]},
                {"to": [self._pods("alertmanager")], "ports": [tcp(PORTS["alertmanager"])]},
                *[
                    {"to": [self._pods(f"{svc['name']}-exporter")], "ports": [tcp(PORTS["postgres_exporter"])]}
                    for svc in ms.postgres_services(self.services)
                ],
                *apiserver,
            ],
        )
        # Each PostgreSQL exporter: scraped by Prometheus, connects to its database (whose policy, from
        # the k8s role's k8s_metrics_namespace, admits it) and to nothing else.
        for svc in ms.postgres_services(self.services):
            port = next(p["port"] for p in svc["ports"] if p["name"] == "postgresql")
            database = {**app_pods, "podSelector": {"matchLabels": {"app.kubernetes.io/name": svc["name"]}}}
            self._policy(
                f"{svc['name']}-exporter",
                self._pods(f"{svc['name']}-exporter")["podSelector"],
                ingress=[{"from": [self._pods("prometheus")], "ports": [tcp(PORTS["postgres_exporter"])]}],
                egress=[{"to": [database], "ports": [tcp(port)]}],
            )
        self._policy(
            "kube-state-metrics",
            self._pods("kube-state-metrics")["podSelector"],
            ingress=[{"from": [self._pods("prometheus")], "ports": [tcp(PORTS["kube_state_metrics"])]}],
            egress=apiserver,
        )
        alert_egress = []
        if self.s["alert_receiver"]:
            alert_egress.append({"to": [self._pods("alert-receiver")], "ports": [tcp(PORTS["alert_receiver"])]})
        if self.s["webhook_urls"]:
            alert_egress.append({"ports": [tcp(80), tcp(443)]})
        self._policy(
            "alertmanager",
            self._pods("alertmanager")["podSelector"],
            ingress=[{"from": [self._pods("prometheus"), *via_apiserver], "ports": [tcp(PORTS["alertmanager"])]}],
            egress=alert_egress,
        )
        if self.s["alert_receiver"]:
            self._policy(
                "alert-receiver",
                self._pods("alert-receiver")["podSelector"],
                ingress=[
                    {"from": [self._pods("alertmanager"), *via_apiserver], "ports": [tcp(PORTS["alert_receiver"])]}
                ],
                egress=[],
            )

        # Perses asks Prometheus for the dashboards' series (the browser asks only Perses: kubectl
        # port-forward, which no policy sees, or the API server's service proxy for its API).
        self._policy(
            "perses",
            self._pods("perses")["podSelector"],
            ingress=[{"from": via_apiserver, "ports": [tcp(PORTS["perses"])]}],
            egress=[{"to": [self._pods("prometheus")], "ports": [tcp(PORTS["prometheus"])]}],
        )

    # --- configuration ------------------------------------------------------------------------
    def scrape_jobs(self) -> list[dict]:
        jobs = []
        for svc in self.services.values():
            if not svc["metrics"]:
                continue
            jobs.append(
                {
                    "job_name": svc["name"],
                    "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [self.app_ns]}}],
                    "relabel_configs": [
                        {
                            "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                            "regex": svc["name"],
                            "action": "keep",
                        },
                        {
                            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
                            "regex": "true",
                            "action": "keep",
                        },
                        {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Running", "action": "keep"},
                        {
                            "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
                            "regex": "(.+)",
                            "target_label": "__metrics_path__",
                        },
                        {
                            "source_labels": [
                                "__meta_kubernetes_pod_ip",
                                "__meta_kubernetes_pod_annotation_prometheus_io_port",
                            ],
                            "regex": "(.+);(.+)",
                            "replacement": "$1:$2",
                            "target_label": "__address__",
                        },
                        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                    ],
                }
            )
        for svc in ms.postgres_services(self.services):
            name = f"{svc['name']}-exporter"
            jobs.append(
                {
                    "job_name": name,
                    "static_configs": [
                        {"targets": [f"{name}:{PORTS['postgres_exporter']}"], "labels": {"service": svc["name"]}}
                    ],
                }
            )
        # The kubelet through the API server's node proxy: /metrics/resource has every container's CPU
        # and working set (from the runtime, whichever containerd it is); /metrics/cadvisor adds CFS
        # throttling and filesystems where the kubelet's cAdvisor sees the containers (not where the
        # cluster runs a containerd of its own on another socket, as the local cluster does).
        for job, path in (("kubelet", "resource"), ("kubelet-cadvisor", "cadvisor")):
            jobs.append(
                {
                    "job_name": job,
                    "scheme": "https",
                    "authorization": {"credentials_file": f"{SA_TOKEN}/token"},
                    "tls_config": {"ca_file": f"{SA_TOKEN}/ca.crt"},
                    "kubernetes_sd_configs": [{"role": "node"}],
                    "relabel_configs": [
                        {"target_label": "__address__", "replacement": "kubernetes.default.svc:443"},
                        {
                            "source_labels": ["__meta_kubernetes_node_name"],
                            "regex": "(.+)",
                            "replacement": f"/api/v1/nodes/$1/proxy/metrics/{path}",
                            "target_label": "__metrics_path__",
                        },
                        {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "instance"},
                    ],
                }
            )
        jobs.append(
            {
                "job_name": "kube-state-metrics",
                "honor_labels": True,
                "static_configs": [{"targets": [f"kube-state-metrics:{PORTS['kube_state_metrics']}"]}],
            }
        )
        jobs.append(
            {
                "job_name": self.s["prometheus_job"],
                "static_configs": [{"targets": [f"localhost:{PORTS['prometheus']}"]}],
            }
        )
        return jobs

    def prometheus_config(self) -> dict:
        return {
            "global": {
                "scrape_interval": self.s["scrape_interval"],
                "evaluation_interval": self.s["evaluation_interval"],
                "external_labels": {"environment": self.s["environment"]},
            },
            "rule_files": ["/etc/prometheus/*.rules.yml"],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"alertmanager:{PORTS['alertmanager']}"]}]}]
            },
            "scrape_configs": self.scrape_jobs(),
        }

    def alertmanager_config(self) -> dict:
        cfg = ms.alertmanager_config(self.s)
        hooks = cfg["receivers"][0]["webhook_configs"]
        if self.s["alert_receiver"]:
            hooks[0]["url"] = f"http://alert-receiver.{self.ns}.svc:{PORTS['alert_receiver']}/alerts"
        return cfg

    # --- workloads ----------------------------------------------------------------------------
    @staticmethod
    def _container(
        name: str,
        image: str,
        args: list[str],
        port: int,
        ready: str,
        live: str,
        cpu: str = "50m",
        memory: str = "64Mi",
        limit: str = "256Mi",
    ) -> dict:
        return {
            "name": name,
            "image": image,
            "args": args,
            "ports": [{"name": "http", "containerPort": port}],
            "readinessProbe": {"httpGet": {"path": ready, "port": "http"}, "periodSeconds": 5, "failureThreshold": 3},
            "livenessProbe": {"httpGet": {"path": live, "port": "http"}, "periodSeconds": 10, "failureThreshold": 6},
            "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": limit}},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "runAsNonRoot": True,
            },
        }

    def deployment(
        self,
        name: str,
        container: dict,
        volumes: list[dict],
        mounts: list[dict],
        annotations: dict | None = None,
        recreate: bool = False,
    ) -> None:
        container["volumeMounts"] = mounts
        spec = {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": self.labels(name), "annotations": annotations or {}},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": name in ("prometheus", "kube-state-metrics"),
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65534,
                        "runAsGroup": 65534,
                        "fsGroup": 65534,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        }
        if recreate:
            spec["strategy"] = {"type": "Recreate"}  # one TSDB on a ReadWriteOnce claim
        self.add(
            "v1",
            "Service",
            {
                "metadata": self.meta(name, component=name),
                "spec": {
                    "selector": {"app.kubernetes.io/name": name},
                    "ports": [{"name": "http", "port": container["ports"][0]["containerPort"], "targetPort": "http"}],
                },
            },
        )
        self.add("apps/v1", "Deployment", {"metadata": self.meta(name, component=name), "spec": spec}, wait=True)

    def build(self, prom_text: str, am_text: str, perses_text: str) -> list[dict]:
        self.namespace()
        self.accounts()
        self.network_policies()
        rules = {f["path"].split("/")[-1].replace(".yml", ".rules.yml"): f["content"] for f in self.s["rules"]}
        self.add(
            "v1",
            "ConfigMap",
            {
                "metadata": self.meta("prometheus-config", component="prometheus"),
                "data": {"prometheus.yml": prom_text, **rules},
            },
        )
        self.add(
            "v1",
            "ConfigMap",
            {
                "metadata": self.meta("alertmanager-config", component="alertmanager"),
                "data": {"alertmanager.yml": am_text},
            },
        )
        claim: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": self.s["storage_size"]}},
        }
        if self.s["storage_class"]:
            claim["storageClassName"] = self.s["storage_class"]
        self.add(
            "v1",
            "PersistentVolumeClaim",
            {"metadata": self.meta("prometheus-data", component="prometheus"), "spec": claim},
        )
        images = self.s["images"]
        prom_hash = hashlib.sha256((prom_text + "".join(rules.values())).encode()).hexdigest()[:16]
        self.deployment(
            "prometheus",
            self._container(
                "prometheus",
                images["prometheus"],
                [
                    "--config.file=/etc/prometheus/prometheus.yml",
                    "--storage.tsdb.path=/data",
                    f"--storage.tsdb.retention.time={self.s['retention']}",
                    f"--web.listen-address=:{PORTS['prometheus']}",
                ],
                PORTS["prometheus"],
                "/-/ready",
                "/-/healthy",
                cpu="100m",
                memory="256Mi",
                limit="1Gi",
            ),
            [
                {"name": "config", "configMap": {"name": "prometheus-config"}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "prometheus-data"}},
            ],
            [
                {"name": "config", "mountPath": "/etc/prometheus", "readOnly": True},
                {"name": "data", "mountPath": "/data"},
            ],
            annotations={ms.HASH_LABEL: prom_hash},
            recreate=True,
        )
        self.deployment(
            "alertmanager",
            self._container(
                "alertmanager",
                images["alertmanager"],
                [
                    "--config.file=/etc/alertmanager/alertmanager.yml",
                    "--storage.path=/data",
                    f"--web.listen-address=:{PORTS['alertmanager']}",
                    "--cluster.listen-address=",
                ],
                PORTS["alertmanager"],
                "/-/ready",
                "/-/healthy",
            ),
            [{"name": "config", "configMap": {"name": "alertmanager-config"}}, {"name": "data", "emptyDir": {}}],
            [
                {"name": "config", "mountPath": "/etc/alertmanager", "readOnly": True},
                {"name": "data", "mountPath": "/data"},
            ],
            annotations={ms.HASH_LABEL: hashlib.sha256(am_text.encode()).hexdigest()[:16]},
        )
        if self.s["alert_receiver"]:
            self.deployment(
                "alert-receiver",
                self._container(
                    "alert-receiver",
                    images["alert_receiver"],
                    [f"-listen_address=:{PORTS['alert_receiver']}"],
                    PORTS["alert_receiver"],
                    "/healthz",
                    "/healthz",
                    cpu="10m",
                    memory="16Mi",
                    limit="64Mi",
                ),
                [],
                [],
            )
        self.deployment(
            "kube-state-metrics",
            self._container(
                "kube-state-metrics",
                images["kube_state_metrics"],
                [
                    f"--port={PORTS['kube_state_metrics']}",
                    "--telemetry-port=8081",
                    f"--namespaces={self.app_ns}",
                    f"--resources={','.join(KSM_RESOURCES)}",
                ],
                PORTS["kube_state_metrics"],
                "/healthz",
                "/healthz",
                memory="64Mi",
                limit="256Mi",
            ),
            [],
            [],
        )
        self.perses(perses_text)
        for svc in ms.postgres_services(self.services):
            self.postgres_exporter(svc)
        return self.items

    def perses(self, config_text: str) -> None:
        """Perses with the dashboards provisioned from a ConfigMap; its file database and the plugins it
        unpacks at start in an emptyDir (the provisioned resources are all it holds)."""
        dashboards = {f["path"].split("/")[-1]: f["content"] for f in self.s["dashboards"]}
        self.add(
            "v1",
            "ConfigMap",
            {
                "metadata": self.meta("perses-config", component="perses"),
                "data": {"config.yaml": config_text, **dashboards},
            },
        )
        items = [{"key": "config.yaml", "path": "config.yaml"}] + [
            {"key": name, "path": f"provisioning/{name}"} for name in sorted(dashboards)
        ]
        self.deployment(
            "perses",
            self._container(
                "perses",
                self.s["images"]["perses"],
                ["--config=/etc/perses/config.yaml", f"--web.listen-address=:{PORTS['perses']}"],
                PORTS["perses"],
                "/api/v1/health",
                "/api/v1/health",
                memory="64Mi",
                limit="512Mi",
            ),
            [
                {"name": "config", "configMap": {"name": "perses-config", "items": items}},
                {"name": "data", "emptyDir": {}},
            ],
            [
                {"name": "config", "mountPath": "/etc/perses", "readOnly": True},
                {"name": "data", "mountPath": "/data"},
            ],
            annotations={
                ms.HASH_LABEL: hashlib.sha256((config_text + "".join(dashboards.values())).encode()).hexdigest()[:16]
            },
        )

    def postgres_exporter(self, svc: dict) -> None:
        """postgres_exporter for a catalog service with a postgresql port, logging in as the app."""
        name = f"{svc['name']}-exporter"
        port = next(p["port"] for p in svc["ports"] if p["name"] == "postgresql")
        # The app's password arrives through k8s_tree_apply's no_log `secrets`, never in these objects.
        if not any(i["object"]["kind"] == "Secret" for i in self.items):
            self.add(
                "v1",
                "Secret",
                {"metadata": self.meta(EXPORTER_SECRET, component="postgres-exporter"), "type": "Opaque"},
            )
        container = self._container(
            "postgres-exporter",
            self.s["images"]["postgres_exporter"],
            [f"--web.listen-address=:{PORTS['postgres_exporter']}"],
            PORTS["postgres_exporter"],
            "/",
            "/",
            cpu="20m",
            memory="32Mi",
            limit="128Mi",
        )
        host = f"{k8s_tree.service_name(svc['name'])}.{self.app_ns}.svc"
        container["env"] = [
            {
                "name": "DATA_SOURCE_URI",
                "value": f"{host}:{port}/{self.s['postgres_db']}?sslmode=disable",
            },
            {"name": "DATA_SOURCE_USER", "value": self.s["postgres_user"]},
            {
                "name": "DATA_SOURCE_PASS",
                "valueFrom": {"secretKeyRef": {"name": EXPORTER_SECRET, "key": "DATA_SOURCE_PASS"}},
            },
        ]
        self.deployment(name, container, [], [])


def endpoints(subsets: list[dict]) -> list[dict]:
    """The API server's {ip, port} from the ``kubernetes`` Endpoints' subsets."""
    out = []
    for subset in subsets or []:
        for address in subset.get("addresses") or []:
            for port in subset.get("ports") or []:
                out.append({"ip": address["ip"], "port": int(port["port"])})
    return out


def objects(services: dict, raw: Any) -> list[dict]:
    """[{object, wait}] of the environment's monitoring stack, in apply order."""
    from . import yaml_dump  # PyYAML: only on the controller

    s = settings(raw)
    if ms.postgres_services(services):
        for key in ("postgres_db", "postgres_user"):
            if not isinstance(s.get(key), str) or not s[key]:
                raise _fail(key, "must be a non-empty string")
        # A rendered tree leaves the exporter's Secret out (tree_files); an apply needs its value.
        if not s.get("postgres_password_set") and not s.get("render"):
            raise _fail("postgres_password", "must be set: the PostgreSQL exporter logs in with the app's password")
    builder = _Objects(services, s)
    header = ["Rendered by the goaltrajectory.platform monitoring role from the service catalog; do not edit."]
    prom_text = yaml_dump.document(builder.prometheus_config(), header)
    am_text = yaml_dump.document(builder.alertmanager_config(), header)
    perses_text = yaml_dump.document(md.config(), header)
    return builder.build(prom_text, am_text, perses_text)


def _file_name(obj: dict) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def tree_files(items: list[dict], environment: str, namespace: str) -> list[dict]:
    """``[{path, content}]`` of the stack as a GitOps tree: a file per object and a kustomization.yaml
    listing them in apply order (``sortOptions: fifo``: namespace, accounts and policies first). The
    exporter's Secret is left out: its value (the app's PostgreSQL password) must not sit in a repository.
    """
    from . import k8s_gitops, yaml_dump  # PyYAML: only on the controller

    header = [
        f"The monitoring stack of {environment!r} (namespace {namespace!r}), rendered by the goaltrajectory.platform",
        "monitoring role from the service catalog; change the catalog or the role's variables, not this file.",
    ]
    files, kept_out = [], []
    for item in items:
        obj = item["object"]
        if obj["kind"] == "Secret":
            kept_out.append(f"Secret {obj['metadata']['name']}")
            continue
        files.append({"path": _file_name(obj), "content": yaml_dump.document(obj, header)})
    names = [f["path"] for f in files]
    if len(set(names)) != len(names):
        raise mr.MonitoringError(f"two monitoring objects share a file name: {sorted(names)}")
    lines = [
        *header,
        "  kubectl apply --server-side --field-manager=<yours> -k <this directory>",
        "or point an Argo CD Application or a Flux Kustomization at it.",
    ]
    if kept_out:
        lines += [
            f"Not in the tree: {', '.join(kept_out)} (key DATA_SOURCE_PASS: the app's PostgreSQL password),",
            f"to be created in {namespace!r} from your vault.",
        ]
    return [*files, k8s_gitops.kustomization_file(names, lines)]
