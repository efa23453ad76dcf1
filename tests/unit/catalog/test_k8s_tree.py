"""The Kubernetes tree derived from the catalog."""

from __future__ import annotations

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog, k8s_tree


def by_file(objects):
    return {o["file"]: o for o in objects}


def test_default_catalog_gives_the_design_tree_in_apply_order(services, k8s_settings):
    objects = k8s_tree.build(services, k8s_settings)
    files = [o["file"] for o in objects]
    # 29 objects; the Secret is applied from memory and has no file in the tree (28 files).
    assert len(objects) == 29 and len({f for f in files if f}) == 28
    assert files[0] == "base/namespace.yaml" and files[-1] == "ingress/ingress.yaml"
    secret = next(i for i, o in enumerate(objects) if o["kind"] == "Secret")
    assert objects[secret]["file"] is None
    assert secret < files.index("postgres/statefulset.yaml")
    assert files.index("postgres/statefulset.yaml") < files.index("backend/deployment.yaml")
    assert [o["name"] for o in objects if o["wait"]] == ["postgres", "chromadb", "backend", "frontend"]


def test_probes_from_the_health_entry(services, k8s_settings):
    tree = by_file(k8s_tree.build(services, k8s_settings))
    backend = tree["backend/deployment.yaml"]["object"]["spec"]["template"]["spec"]["containers"][0]
    assert backend["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert backend["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert backend["startupProbe"]["failureThreshold"] * backend["startupProbe"]["periodSeconds"] >= 90
    postgres = tree["postgres/statefulset.yaml"]["object"]["spec"]["template"]["spec"]["containers"][0]
    assert "pg_isready" in postgres["readinessProbe"]["exec"]["command"][-1]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert postgres[probe]["timeoutSeconds"] < postgres[probe]["periodSeconds"]


def test_network_policies_follow_connects_to(services, k8s_settings):
    tree = by_file(k8s_tree.build(services, k8s_settings))
    backend = tree["base/network-policy-backend.yaml"]["object"]["spec"]
    peers = [
        r["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
        for r in backend["egress"]
    ]
    assert peers == ["postgres", "chromadb", None]  # None: the public HTTPS rule
    assert backend["egress"][2]["to"][0]["ipBlock"]["cidr"] == "0.0.0.0/0"
    sources = [r["from"][0] for r in backend["ingress"]]
    assert sources[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "frontend"
    assert sources[1]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "ingress-nginx"
    postgres = tree["base/network-policy-postgres.yaml"]["object"]["spec"]
    assert postgres["policyTypes"] == ["Ingress"]


def test_no_external_egress_when_turned_off(services, k8s_settings):
    tree = by_file(k8s_tree.build(services, {**k8s_settings, "external_egress": False}))
    egress = tree["base/network-policy-backend.yaml"]["object"]["spec"]["egress"]
    assert all("ipBlock" not in r["to"][0] for r in egress)


def test_config_and_secret_keys(services, k8s_settings):
    tree = by_file(k8s_tree.build(services, k8s_settings))
    data = tree["base/configmap.yaml"]["object"]["data"]
    assert data["CHROMA_HOST"] == "chromadb-service" and data["BACKEND_URL"] == "http://backend-service:8000"
    assert data["ENVIRONMENT"] == "production"
    secret = tree[None]["object"]
    assert set(secret["data"].values()) == {""}  # keys only: the values come from the vault at apply time
    assert secret["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false"
    assert secret["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"] == "disabled"


def test_conflicting_env_values_are_named(with_worker, k8s_settings):
    with_worker["worker"]["env"] = {"LOG_LEVEL": "DEBUG"}
    with pytest.raises(k8s_tree.TreeError, match="backend and worker set LOG_LEVEL to different values"):
        k8s_tree.build(with_worker, k8s_settings)


def test_worker_gets_deployment_account_and_policy_only(with_worker, k8s_settings):
    files = {o["file"] for o in k8s_tree.build(with_worker, k8s_settings) if o["file"]}
    assert {f for f in files if "worker" in f} == {
        "worker/deployment.yaml",
        "base/serviceaccount-worker.yaml",
        "base/network-policy-worker.yaml",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"namespace": "Bad_NS"}, "k8s_namespace"),
        ({"resource_quota": {"requests.cpu": "4 cores"}}, r"k8s_resource_quota\['requests.cpu'\]"),
        ({"limit_range": {"default": {"cpu": "1"}}}, r"k8s_limit_range.default.memory"),
        ({"ingress_host": ""}, "k8s_ingress_host"),
        ({"config_extra": {"bad key": "x"}}, "k8s_config_extra"),
        ({"images": {}}, "no image reference for 'postgres'"),
    ],
)
def test_bad_settings_name_the_variable(services, k8s_settings, change, message):
    with pytest.raises(k8s_tree.TreeError, match=message):
        k8s_tree.build(services, {**k8s_settings, **change})


def test_quota_need_counts_a_rolling_update_at_every_autoscaler_max(services):
    need = k8s_tree.quota_need(services)
    # backend and frontend autoscale to 3 and roll (3 + surge + terminating each);
    # postgres (StatefulSet) and chromadb (Recreate: it owns a volume) never run two pods.
    assert k8s_tree.peak_pods(services["backend"]) == 5
    assert k8s_tree.peak_pods(services["postgres"]) == 1
    assert k8s_tree.peak_pods(services["chromadb"]) == 1
    assert need["pods"] == sum(k8s_tree.peak_pods(s) for s in services.values())
    # every pod at the peak, at its CPU limit, in millicores
    expected = sum(
        k8s_tree.peak_pods(s) * catalog.cpu_millis(s["resources"]["limits"]["cpu"]) for s in services.values()
    )
    assert need["limits.cpu"] == expected and expected > 0


def test_a_quota_too_small_for_a_rollout_at_max_is_refused_naming_the_key(services, k8s_settings):
    need = k8s_tree.quota_need(services)
    small = {**k8s_settings["resource_quota"], "limits.cpu": f"{need['limits.cpu'] - 1}m", "pods": str(need["pods"])}
    with pytest.raises(k8s_tree.TreeError, match=r"k8s_resource_quota .*limits\.cpu \d+m < \d+m") as err:
        k8s_tree.build(services, {**k8s_settings, "resource_quota": small})
    assert "pods" not in str(err.value)
    exact = {**small, "limits.cpu": f"{need['limits.cpu']}m"}
    assert k8s_tree.build(services, {**k8s_settings, "resource_quota": exact})
