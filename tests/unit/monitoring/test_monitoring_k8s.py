"""The Kubernetes monitoring stack: discovery from the catalog, least privilege, closed network,
bad input named (plugins/module_utils/monitoring_k8s.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_dashboards as md
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_k8s as mk
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_rules as mr

ROOT = Path(__file__).resolve().parents[3]
RAW_CATALOG = yaml.safe_load((ROOT / "roles/catalog/defaults/main.yml").read_text())["catalog_services"]
SERVICES = catalog.build(copy.deepcopy(RAW_CATALOG))
DEFAULTS = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())
RULE_SETTINGS = {
    "environment": "local",
    "engine": "kubernetes",
    "namespace": "gt",
    "compose_project": "gt",
    "compose_volume_mountpoint": "/",
    "cadvisor_job": "cadvisor",
    "node_job": "node",
    "prometheus_job": "prometheus",
    "thresholds": DEFAULTS["monitoring_thresholds"],
    "threshold_overrides": {},
}
DASHBOARDS = md.files(SERVICES, RULE_SETTINGS, "http://prometheus.gt-mon.svc:9090")


def settings(**over):
    raw = {
        "environment": "local",
        "namespace": "gt-mon",
        "app_namespace": "gt",
        "images": {p: f"r/{p}@sha256:{'a' * 64}" for p in mk.PROGRAMS},
        "scrape_interval": "15s",
        "evaluation_interval": "15s",
        "retention": "15d",
        "storage_size": "5Gi",
        "storage_class": "",
        "alert_receiver": True,
        "webhook_urls": [],
        "group_wait": "10s",
        "group_interval": "30s",
        "repeat_interval": "4h",
        "apiserver_endpoints": [{"ip": "10.0.0.5", "port": 6443}],
        "dns_namespace": "kube-system",
        "dns_pod_labels": {"k8s-app": "kube-dns"},
        "prometheus_job": "prometheus",
        "rules": [{"path": "rules/goaltrajectory-alerts.yml", "content": "groups: []\n"}],
        "dashboards": DASHBOARDS,
        "postgres_db": "db",
        "postgres_user": "u",
        "postgres_password_set": True,
    }
    raw.update(over)
    return raw


def objects(**over):
    return {
        (o["object"]["kind"], o["object"]["metadata"]["name"], o["object"]["metadata"].get("namespace")): o
        for o in mk.objects(SERVICES, settings(**over))
    }


def test_each_service_with_metrics_is_a_discovery_job_of_the_app_namespace():
    out = objects()
    prom = yaml.safe_load(out[("ConfigMap", "prometheus-config", "gt-mon")]["object"]["data"]["prometheus.yml"])
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert set(jobs) == {
        "backend",
        "frontend",
        "postgres-exporter",
        "kubelet",
        "kubelet-cadvisor",
        "kube-state-metrics",
        "prometheus",
    }
    backend = jobs["backend"]
    assert backend["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["gt"]}}]
    keep = [r for r in backend["relabel_configs"] if r.get("action") == "keep"]
    assert {
        "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
        "regex": "backend",
        "action": "keep",
    } in keep
    assert "/proxy/metrics/resource" in str(jobs["kubelet"]["relabel_configs"])
    assert "/proxy/metrics/cadvisor" in str(jobs["kubelet-cadvisor"]["relabel_configs"])
    assert jobs["kube-state-metrics"]["honor_labels"] is True


def test_least_privilege():
    out = objects()
    cluster = out[("ClusterRole", "gt-mon-prometheus", None)]["object"]["rules"]
    assert {r for rule in cluster for r in rule["resources"]} == {"nodes", "nodes/proxy", "nodes/metrics"}
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in cluster)
    role = out[("Role", "gt-mon-kube-state-metrics", "gt")]["object"]["rules"]
    assert "secrets" not in str(role) and all(set(r["verbs"]) == {"list", "watch"} for r in role)
    tokens = {
        name: o["object"]["automountServiceAccountToken"]
        for (kind, name, _namespace), o in out.items()
        if kind == "ServiceAccount"
    }
    assert tokens == {
        "prometheus": True,
        "kube-state-metrics": True,
        "alertmanager": False,
        "alert-receiver": False,
        "perses": False,
        "postgres-exporter": False,
    }
    ns = out[("Namespace", "gt-mon", None)]["object"]["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    for (kind, name, _namespace), o in out.items():
        if kind == "Deployment":
            pod = o["object"]["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]
            c = pod["containers"][0]["securityContext"]
            assert c["readOnlyRootFilesystem"] and c["capabilities"] == {"drop": ["ALL"]}, name
            assert not c["allowPrivilegeEscalation"], name


def test_the_network_is_closed_but_for_single_paths():
    out = objects()
    deny = out[("NetworkPolicy", "default-deny-all", "gt-mon")]["object"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    prom = out[("NetworkPolicy", "prometheus", "gt-mon")]["object"]["spec"]
    app = next(r for r in prom["egress"] if "namespaceSelector" in r["to"][0])
    assert app["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "gt"}
    assert sorted(p["port"] for p in app["ports"]) == [3000, 8000]
    assert {"to": [{"ipBlock": {"cidr": "10.0.0.5/32"}}], "ports": [{"protocol": "TCP", "port": 6443}]} in prom[
        "egress"
    ]
    receiver = out[("NetworkPolicy", "alert-receiver", "gt-mon")]["object"]["spec"]
    assert "egress" not in receiver and receiver["policyTypes"] == ["Ingress", "Egress"]
    alertmanager = out[("NetworkPolicy", "alertmanager", "gt-mon")]["object"]["spec"]
    assert all(r.get("to") for r in alertmanager["egress"]), "no egress to anywhere without webhook URLs"
    perses = out[("NetworkPolicy", "perses", "gt-mon")]["object"]["spec"]
    to_prometheus = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
    assert perses["egress"] == [{"to": [to_prometheus], "ports": [{"protocol": "TCP", "port": 9090}]}]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "perses"}}} in prom["ingress"][0]["from"]
    with_hooks = objects(webhook_urls=["https://hooks.example.test/x"])
    hooks = with_hooks[("NetworkPolicy", "alertmanager", "gt-mon")]["object"]["spec"]["egress"]
    assert {"ports": [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 443}]} in hooks


def test_a_rule_change_rolls_prometheus_only():
    def hashes(**over):
        return {
            name: o["object"]["spec"]["template"]["metadata"]["annotations"].get(
                "ai.goaltrajectory.monitoring.config-hash"
            )
            for (kind, name, _namespace), o in objects(**over).items()
            if kind == "Deployment"
        }

    base = hashes()
    other = hashes(rules=[{"path": "rules/goaltrajectory-alerts.yml", "content": "groups: [{name: x, rules: []}]\n"}])
    assert other["prometheus"] != base["prometheus"] and other["alertmanager"] == base["alertmanager"]
    assert other["perses"] == base["perses"]
    board = hashes(dashboards=[{**DASHBOARDS[0], "content": "{}\n"}, *DASHBOARDS[1:]])
    assert board["perses"] != base["perses"] and board["prometheus"] == base["prometheus"]


def test_perses_is_provisioned_from_a_config_map_and_queries_prometheus_in_cluster():
    out = objects()
    data = out[("ConfigMap", "perses-config", "gt-mon")]["object"]["data"]
    config = yaml.safe_load(data["config.yaml"])
    assert config["provisioning"]["folders"] == ["/etc/perses/provisioning/"]
    assert config["plugin"]["archive_path"] == "/usr/share/perses/plugins-archive"
    assert config["security"]["readonly"] is True
    names = [f["path"].split("/")[-1] for f in DASHBOARDS]
    assert set(data) == {"config.yaml", *names}
    datasource = json.loads(next(data[n] for n in names if "-datasource-" in n))
    assert datasource["spec"]["plugin"]["spec"]["proxy"]["spec"]["url"] == "http://prometheus.gt-mon.svc:9090"
    pod = out[("Deployment", "perses", "gt-mon")]["object"]["spec"]["template"]["spec"]
    items = pod["volumes"][0]["configMap"]["items"]
    assert {i["path"] for i in items} == {"config.yaml", *(f"provisioning/{n}" for n in names)}
    assert pod["volumes"][1] == {"name": "data", "emptyDir": {}}
    assert pod["containers"][0]["image"] == settings()["images"]["perses"]
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/api/v1/health"


@pytest.mark.parametrize(
    ("over", "named"),
    [
        ({"namespace": "gt"}, "monitoring_k8s_namespace"),
        ({"namespace": "Bad_NS"}, "monitoring_k8s_namespace"),
        ({"storage_size": "5 GB"}, "monitoring_k8s_storage_size"),
        ({"apiserver_endpoints": []}, "monitoring_k8s_apiserver_endpoints"),
        ({"apiserver_endpoints": [{"ip": "not-an-ip", "port": 6443}]}, r"monitoring_k8s_apiserver_endpoints\[0\]"),
        ({"images": {"prometheus": "x"}}, "monitoring_images.alertmanager"),
        ({"retention": "forever"}, "monitoring_retention"),
        ({"postgres_password_set": False}, "monitoring_postgres_password"),
    ],
)
def test_bad_input_names_the_variable(over, named):
    with pytest.raises(mr.MonitoringError, match=named):
        mk.objects(SERVICES, settings(**over))


def test_endpoints_from_the_kubernetes_endpoints_object():
    subsets = [{"addresses": [{"ip": "10.0.0.5"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]
    assert mk.endpoints(subsets) == [{"ip": "10.0.0.5", "port": 6443}]
    assert mk.endpoints(None) == []


def test_the_exporter_reads_the_password_from_a_secret_and_reaches_only_its_database():
    out = objects()
    secret = out[("Secret", "postgres-exporter", "gt-mon")]["object"]
    assert "data" not in secret and "stringData" not in secret, "the password comes only through the no_log option"
    env = {
        e["name"]: e
        for e in out[("Deployment", "postgres-exporter", "gt-mon")]["object"]["spec"]["template"]["spec"]["containers"][
            0
        ]["env"]
    }
    assert env["DATA_SOURCE_PASS"]["valueFrom"]["secretKeyRef"] == {
        "name": "postgres-exporter",
        "key": "DATA_SOURCE_PASS",
    }
    assert env["DATA_SOURCE_URI"]["value"] == "postgres-service.gt.svc:5432/db?sslmode=disable"
    policy = out[("NetworkPolicy", "postgres-exporter", "gt-mon")]["object"]["spec"]
    assert policy["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gt"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "postgres"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 5432}],
        }
    ]


def test_a_render_only_tree_needs_no_password_and_leaves_the_secret_out():
    with pytest.raises(mr.MonitoringError, match="monitoring_postgres_password"):
        mk.objects(SERVICES, settings(postgres_password_set=False))
    items = mk.objects(SERVICES, settings(postgres_password_set=False, render=True))
    files = {f["path"]: f["content"] for f in mk.tree_files(items, "staging", "gt-mon")}
    kustomization = yaml.safe_load(files.pop("kustomization.yaml"))
    # Every object but the Secret, a file each, listed in apply order (namespace first).
    in_tree = [i["object"] for i in items if i["object"]["kind"] != "Secret"]
    assert kustomization["resources"] == [f"{o['kind'].lower()}-{o['metadata']['name']}.yaml" for o in in_tree]
    assert kustomization["resources"][0] == "namespace-gt-mon.yaml"
    assert kustomization["sortOptions"] == {"order": "fifo"}
    assert sorted(files) == sorted(kustomization["resources"])
    assert [yaml.safe_load(files[name]) for name in kustomization["resources"]] == in_tree
    assert not any(yaml.safe_load(c)["kind"] == "Secret" for c in files.values())
    assert any(i["object"]["kind"] == "Secret" for i in items), "the exporter's Secret is an object of the apply"


def test_a_render_only_tree_checks_the_api_server_endpoints_it_is_given():
    with pytest.raises(mr.MonitoringError, match="monitoring_k8s_apiserver_endpoints"):
        mk.objects(SERVICES, settings(render=True, apiserver_endpoints=[]))
