"""Verify the trees converge.yml rendered for dev, staging and prod.

Checks the files on disk (testinfra, local connection), strict schema validation,
probe_lint, Pod Security "restricted" admission and the secret handling.
"""

import json
import os
import sys

import pytest
import yaml

testinfra_hosts = ["local://"]

ENVIRONMENTS = ["dev", "staging", "prod"]
ROOT = os.environ.get("K8S_RENDER_ROOT") or os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "rendered")
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(__file__, "..", "..", "..", "..")))
KUBERNETES_VERSION = "1.31.0"


def _expected_objects() -> list:
    """Every object in apply order, from the same builder the role renders with."""
    sys.path.insert(0, os.path.join(PROJECT, ".collections"))
    from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog, k8s_tree

    with open(os.path.join(PROJECT, "roles/catalog/defaults/main.yml"), encoding="utf-8") as handle:
        services = catalog.build(yaml.safe_load(handle)["catalog_services"])
    with open(os.path.join(PROJECT, "roles/k8s/defaults/main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    settings = {key[4:]: value for key, value in defaults.items() if key.startswith("k8s_")}
    settings.update(
        environment="prod",
        namespace="expected",
        images=dict.fromkeys(services, "image"),
        ingress_host="example.com",
        secret_keys=[],
        metrics_namespace="",
    )
    return k8s_tree.build(services, settings)


OBJECTS = _expected_objects()
# File -> (kind, name) of every object written to the tree: all but the Secret, which the role
# applies from memory (values from the vault) and never writes.
EXPECTED_FILES = {o["file"]: (o["kind"], o["name"]) for o in OBJECTS if o["file"]}
# Volume types Pod Security "restricted" admits.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
# The plaintext example secrets in the vault-encrypted inventories all contain this.
PLAINTEXT_MARKERS = ["supabase-service-role-key-", "gemini-api-key-", "openrouter-api-key-", "postgres-password-"]


def tree(env):
    return os.path.join(ROOT, env, "k8s")


def load(env, rel):
    with open(os.path.join(tree(env), rel), encoding="utf-8") as handle:
        docs = [d for d in yaml.safe_load_all(handle) if d is not None]
    assert len(docs) == 1, f"{env}/{rel}: expected one object, found {len(docs)}"
    return docs[0]


def pod_specs(env):
    for rel, (kind, _name) in EXPECTED_FILES.items():
        if kind in ("Deployment", "StatefulSet"):
            yield rel, load(env, rel)


def test_default_catalog_gives_the_designed_tree():
    # The design's tree: 4 services -> 29 objects (base, per-service objects, autoscalers, ingress),
    # 28 of them files: the Secret is not in the tree.
    assert len(OBJECTS) == 29 and len(EXPECTED_FILES) == 28
    assert [o["kind"] for o in OBJECTS if not o["file"]] == ["Secret"]
    assert {"backend/deployment.yaml", "postgres/statefulset.yaml", "chromadb/pvc.yaml", "ingress/ingress.yaml"} <= set(
        EXPECTED_FILES
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tree_has_one_object_per_expected_file(host, env):
    root = host.file(tree(env))
    assert root.is_directory
    found = host.run("find %s -type f -name '*.yaml' -printf '%%P\\n'", tree(env)).stdout.split()
    assert sorted(found) == sorted([*EXPECTED_FILES, "kustomization.yaml"])
    for rel, (kind, name) in EXPECTED_FILES.items():
        f = host.file(os.path.join(tree(env), rel))
        assert f.mode == 0o644, rel
        assert f.content_string.startswith(f"# {kind} "), f"{rel} lacks the provenance header"
        obj = load(env, rel)
        assert obj["kind"] == kind
        if kind != "Namespace":
            assert obj["metadata"]["name"] == name
            assert obj["metadata"]["namespace"] == f"goaltrajectory-{env}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_namespace_enforces_restricted(env):
    labels = load(env, "base/namespace.yaml")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_strict_schema_validation_has_no_errors(env):
    sys.path.insert(0, PROJECT)
    from plugins.module_utils import k8s_validate

    result = k8s_validate.validate_paths([tree(env)], KUBERNETES_VERSION, strict=True)
    assert result["summary"]["objects"] == len(EXPECTED_FILES)
    assert result["errors"] == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_probe_lint_reports_no_errors(host, env):
    cmd = host.run(
        "cd %s && %s -m plugins.module_utils.probes lint --kubernetes-version %s %s",
        PROJECT,
        sys.executable,
        KUBERNETES_VERSION,
        tree(env),
    )
    report = json.loads(cmd.stdout)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert errors == []
    assert report["summary"]["error"] == 0
    assert report["inputs"]["objects"] == len(EXPECTED_FILES)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pods_would_be_admitted_under_restricted(env):
    for rel, obj in pod_specs(env):
        spec = obj["spec"]["template"]["spec"]
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True, rel
        assert psc["runAsUser"] >= 10000, rel
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", rel
        assert spec["automountServiceAccountToken"] is False, rel
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key), rel
        for vol in spec.get("volumes", []):
            assert set(vol) - {"name"} <= RESTRICTED_VOLUMES, f"{rel}: volume {vol['name']}"
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, rel
            assert sc["capabilities"]["drop"] == ["ALL"], rel
            assert "add" not in sc["capabilities"], rel
            assert sc["readOnlyRootFilesystem"] is True, rel
            assert sc["runAsNonRoot"] is True, rel
            assert sc["runAsUser"] >= 10000, rel
            assert not sc.get("privileged"), rel
            assert c["resources"]["requests"] and c["resources"]["limits"], rel
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in c, f"{rel}: {c['name']} lacks {probe}"
            assert "/tmp" in [m["mountPath"] for m in c["volumeMounts"]], rel


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_probes_match_the_images_health_endpoints(env):
    def container(rel):
        return load(env, rel)["spec"]["template"]["spec"]["containers"][0]

    backend = container("backend/deployment.yaml")
    assert backend["livenessProbe"]["httpGet"]["path"] == "/health"
    assert backend["readinessProbe"]["httpGet"]["path"] == "/ready"
    frontend = container("frontend/deployment.yaml")
    assert frontend["readinessProbe"]["httpGet"]["path"] == "/api/health"
    assert frontend["ports"][0]["containerPort"] == 3000
    chroma = container("chromadb/deployment.yaml")
    assert chroma["livenessProbe"]["httpGet"]["path"] == "/api/v2/heartbeat"
    postgres = container("postgres/statefulset.yaml")
    assert "pg_isready" in " ".join(postgres["readinessProbe"]["exec"]["command"])
    mounts = {m["mountPath"] for m in postgres["volumeMounts"]}
    assert {"/var/lib/postgresql/data", "/var/run/postgresql", "/tmp"} <= mounts


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_apps_roll_without_unavailability_and_spread_when_scaled(env):
    for app in ("backend", "frontend"):
        dep = load(env, f"{app}/deployment.yaml")
        hpa = load(env, f"{app}/hpa.yaml")
        assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert "behavior" in hpa["spec"]
        assert "replicas" not in dep["spec"], "the HPA owns the replica count of an autoscaled workload"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        spread = dep["spec"]["template"]["spec"].get("topologySpreadConstraints")
        scaled = hpa["spec"]["maxReplicas"] > 1
        assert bool(spread) == scaled
    annotations = load(env, "backend/deployment.yaml")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"


def test_prod_is_larger_than_staging():
    for app in ("backend", "frontend"):
        assert (
            load("prod", f"{app}/hpa.yaml")["spec"]["maxReplicas"]
            > load("staging", f"{app}/hpa.yaml")["spec"]["maxReplicas"]
        )
    assert load("prod", "ingress/ingress.yaml")["spec"]["rules"][0]["host"] == "goaltrajectory.example.com"
    assert load("prod", "base/configmap.yaml")["data"]["ENVIRONMENT"] == "production"


def test_postgres_statefulset_claims_its_volume():
    sts = load("prod", "postgres/statefulset.yaml")
    assert sts["spec"]["serviceName"] == "postgres-service"
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert load("prod", "postgres/service.yaml")["spec"]["clusterIP"] == "None"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tree_holds_no_secret_and_a_kustomization_of_every_file_in_apply_order(host, env):
    kustomization = load(env, "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["sortOptions"] == {"order": "fifo"}
    assert kustomization["resources"] == list(EXPECTED_FILES)
    grep = host.run("grep -rln -- '^kind: Secret' %s", tree(env))
    assert grep.rc == 1, f"a Secret in the tree: {grep.stdout}"
    for marker in PLAINTEXT_MARKERS:
        grep = host.run("grep -rl -- %s %s", marker, tree(env))
        assert grep.rc == 1, f"plaintext secret {marker}* found in {grep.stdout}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_network_policies_deny_by_default(env):
    deny = load(env, "base/network-policy-default-deny.yaml")["spec"]
    assert deny["podSelector"] == {}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    dns = load(env, "base/network-policy-allow-dns.yaml")["spec"]["egress"][0]["ports"]
    assert sorted((p["protocol"], p["port"]) for p in dns) == [("TCP", 53), ("UDP", 53)]
    pg_from = load(env, "base/network-policy-postgres.yaml")["spec"]["ingress"]
    assert pg_from[0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "backend"


WORKER_TREE = os.path.join(os.path.dirname(ROOT), "rendered-worker", "dev", "k8s")


def _worker(rel):
    with open(os.path.join(WORKER_TREE, rel), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_fifth_service_from_the_catalog_alone_gets_its_objects():
    found = sorted(
        os.path.relpath(os.path.join(d, f), WORKER_TREE) for d, _dirs, fs in os.walk(WORKER_TREE) for f in fs
    )
    added = sorted(set(found) - set(EXPECTED_FILES) - {"kustomization.yaml"})
    # No port: no Service, no ingress route; no autoscale: no HPA or PDB.
    assert added == ["base/network-policy-worker.yaml", "base/serviceaccount-worker.yaml", "worker/deployment.yaml"]
    pod = _worker("worker/deployment.yaml")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert "ports" not in container
    assert container["livenessProbe"]["exec"]["command"][0] == "python3"
    env = {e["name"]: e["valueFrom"] for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["secretKeyRef"]["key"] == "POSTGRES_PASSWORD"
    assert _worker("base/configmap.yaml")["data"]["POSTGRES_HOST"] == "postgres-service"


def test_fifth_service_gets_exactly_its_network_paths():
    policy = _worker("base/network-policy-worker.yaml")["spec"]
    assert policy["policyTypes"] == ["Egress"], "nobody connects to the worker: no ingress rule"
    (rule,) = policy["egress"]
    assert rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "postgres"
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]
    postgres_in = _worker("base/network-policy-postgres.yaml")["spec"]["ingress"]
    sources = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for r in postgres_in for peer in r["from"]}
    assert sources == {"backend", "worker"}


def test_check_mode_after_converge_changes_nothing():
    sys.path.insert(0, os.path.join(PROJECT, "molecule", "shared"))
    import check_mode

    files = check_mode.files_state(os.path.dirname(ROOT))
    vault = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "vault-pass.txt")
    result = check_mode.converge_check(env={"ANSIBLE_VAULT_IDENTITY_LIST": f"test@{vault}"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert check_mode.changed_count(output) == 0, output[-3000:]
    assert check_mode.files_state(os.path.dirname(ROOT)) == files
