"""Issue 14: probe_lint on other people's repositories.

Each fixture under fixtures/realworld/ is written by us in the shape of a case found by linting
public repositories (Helm charts, Grafana provisioning, old example manifests, upstream Compose
files); each test pins what probe_lint must say about it.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine, rules

REALWORLD = os.path.join(os.path.dirname(__file__), "fixtures", "realworld")


def lint(*parts, **options):
    options.setdefault("check_images", False)
    return engine.lint(paths=[os.path.join(REALWORLD, *parts)], **options)


def by_rule(result, rule_id):
    return [f for f in result["findings"] if f["rule"] == rule_id]


def name(finding):
    return os.path.relpath(finding["file"], REALWORLD)


# --- YAML that is not Kubernetes -----------------------------------------------------------


def test_helm_chart_is_recognised_not_an_error():
    result = lint("helm-chart")
    assert result["summary"]["error"] == 0 and result["summary"]["warning"] == 0, result["findings"]
    assert result["failed"] is False
    found = {(f["rule"], name(f)) for f in result["findings"]}
    assert found == {
        ("document-unrecognized", "helm-chart/shop/Chart.yaml"),
        ("document-unrecognized", "helm-chart/shop/values.yaml"),
        ("template-unrendered", "helm-chart/shop/templates/deployment.yaml"),
        ("template-unrendered", "helm-chart/shop/templates/service.yaml"),
        # It parses as YAML, but its values are template placeholders.
        ("template-unrendered", "helm-chart/shop/templates/tests/test-connection.yaml"),
    }
    chart = by_rule(result, "document-unrecognized")[0]
    assert chart["severity"] == "info" and "not a Kubernetes object" in chart["message"]
    assert "helm template" in by_rule(result, "template-unrendered")[0]["message"]


def test_grafana_provisioning_is_not_a_kubernetes_object():
    result = lint("grafana")
    assert [(f["rule"], f["severity"]) for f in result["findings"]] == [("document-unrecognized", "info")] * 2
    assert all("apiVersion 1 but no kind" in f["message"] for f in result["findings"])


def test_template_outside_a_chart_that_is_not_yaml(tmp_path):
    jinja = tmp_path / "deployment.yaml"
    jinja.write_text("apiVersion: apps/v1\nkind: Deployment\n{% if ha %}\nspec: {replicas: 3}\n{% endif %}\n")
    result = engine.lint(paths=[str(jinja)], check_images=False)
    assert [(f["rule"], f["severity"]) for f in result["findings"]] == [("template-unrendered", "info")]
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n")  # no template syntax: still a YAML error
    assert [f["rule"] for f in engine.lint(paths=[str(broken)], check_images=False)["findings"]] == ["yaml-invalid"]


def test_ci_files_and_tool_configs_are_not_kubernetes(tmp_path):
    (tmp_path / ".gitlab-ci.yml").write_text(
        "services: [postgres:16]\nstages: [test]\ntest:\n  script: [make test]\n  extends: !reference [.base]\n"
    )
    (tmp_path / "kind.yaml").write_text(
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}]\n"
    )
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: x\nmarkdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:m.twemoji\n"
    )
    (tmp_path / ".drone.yml").write_text("kind: pipeline\ntype: docker\nsteps: [{name: t, image: alpine:3}]\n")
    result = engine.lint(paths=[str(tmp_path)], check_images=False)
    assert {(os.path.basename(f["file"]), f["rule"], f["severity"]) for f in result["findings"]} == {
        (".gitlab-ci.yml", "document-unrecognized", "info"),
        ("kind.yaml", "document-unrecognized", "info"),
        ("mkdocs.yml", "document-unrecognized", "info"),
        (".drone.yml", "document-unrecognized", "info"),
    }
    assert "configuration file of kind" in by_rule(result, "document-unrecognized")[2]["message"]


# --- removed API versions ------------------------------------------------------------------

REMOVED = {
    "Deployment/default/guestbook": ("extensions/v1beta1", "1.16", "apps/v1"),
    "StatefulSet/default/cassandra": ("apps/v1beta1", "1.16", "apps/v1"),
    "DaemonSet/default/fluentd": ("apps/v1beta2", "1.16", "apps/v1"),
    "Ingress/default/guestbook": ("extensions/v1beta1", "1.22", "networking.k8s.io/v1"),
    "Ingress/default/shop": ("networking.k8s.io/v1beta1", "1.22", "networking.k8s.io/v1"),
    "CronJob/default/nightly-report": ("batch/v1beta1", "1.25", "batch/v1"),
    "PodDisruptionBudget/default/guestbook": ("policy/v1beta1", "1.25", "policy/v1"),
    "PodSecurityPolicy/default/restricted": ("policy/v1beta1", "1.25", "Pod Security admission"),
    "HorizontalPodAutoscaler/default/guestbook": ("autoscaling/v2beta1", "1.25", "autoscaling/v2"),
    "HorizontalPodAutoscaler/default/shop": ("autoscaling/v2beta2", "1.26", "autoscaling/v2"),
    "StorageClass/default/fast": ("storage.k8s.io/v1beta1", "1.22", "storage.k8s.io/v1"),
}


def test_removed_api_versions_name_the_replacement_and_the_release():
    result = lint("removed-apis")
    hits = {f["object"]: f for f in by_rule(result, "api-version-removed")}
    assert set(hits) == set(REMOVED)
    for ident, (api_version, release, replacement) in REMOVED.items():
        message = hits[ident]["message"]
        assert api_version in message and f"removed in Kubernetes {release}" in message and replacement in message
        assert hits[ident]["severity"] == "error"
    # No misleading "no schema for kind ..." on top of it.
    assert not [f for f in by_rule(result, "schema-invalid") if f["object"] in REMOVED]


def test_a_release_that_still_serves_the_api_gets_a_warning():
    result = lint("removed-apis", kubernetes_version="1.25")
    deprecated = {f["object"] for f in by_rule(result, "api-version-deprecated")}
    assert deprecated == {"HorizontalPodAutoscaler/default/shop"}  # autoscaling/v2beta2 is served until 1.26
    assert "HorizontalPodAutoscaler/default/shop" not in {f["object"] for f in by_rule(result, "api-version-removed")}
    # ... and it is schema-validated against 1.25, which has autoscaling/v2beta2.
    assert not [f for f in by_rule(result, "schema-invalid") if f["object"] == "HorizontalPodAutoscaler/default/shop"]


# --- readiness, requests, identical probes -------------------------------------------------


def test_no_readiness_needed_without_a_service():
    assert by_rule(lint("readiness", "worker.yaml"), "readiness-missing") == []


def test_one_probed_container_per_pod_is_enough():
    assert by_rule(lint("readiness", "sidecar.yaml"), "readiness-missing") == []


def test_a_served_pod_without_any_readiness_probe_is_an_error():
    hits = by_rule(lint("readiness", "served-unprobed.yaml"), "readiness-missing")
    assert [(f["object"], f["container"], f["severity"]) for f in hits] == [("Deployment/shop/cart", "cart", "error")]
    assert "Service cart" in hits[0]["message"]


def test_limits_count_as_requests_for_the_hpa():
    result = lint("hpa-limits-only")
    assert by_rule(result, "hpa-target-requests-missing") == []
    assert by_rule(result, "resources-requests-missing") == []


def test_limit_range_defaults_count_as_requests():
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "a", "namespace": "n"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}},
        },
    }
    limit_range = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "defaults", "namespace": "n"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}}]},
    }
    alone = {f["rule"] for f in engine.lint(definitions=[deploy], check_images=False)["findings"]}
    assert {"resources-requests-missing", "resources-limits-missing"} <= alone
    both = {f["rule"] for f in engine.lint(definitions=[deploy, limit_range], check_images=False)["findings"]}
    assert not {"resources-requests-missing", "resources-limits-missing"} & both


def test_probes_identical_once_defaults_are_filled_in():
    hits = by_rule(lint("identical-probes"), "liveness-readiness-identical")
    assert [(f["object"], f["container"]) for f in hits] == [("Deployment/shop/catalog", "catalog")]


# --- Compose -------------------------------------------------------------------------------


def test_upstream_compose_healthchecks_extends_and_include():
    result = lint("compose-upstream")
    assert result["summary"]["error"] == 0 and result["summary"]["warning"] == 0, result["findings"]
    assert by_rule(result, "compose-healthcheck-timeout-ge-interval") == []
    # One project: common-services.yml and db/compose.yaml are parts of it, not projects of their own.
    assert [[os.path.relpath(f, REALWORLD) for f in files] for files in result["inputs"]["compose_projects"]] == [
        ["compose-upstream/compose.yaml"]
    ]


def test_extends_and_include_are_resolved():
    from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import loader

    project = loader.load([os.path.join(REALWORLD, "compose-upstream", "compose.yaml")]).projects[0]
    vote = project.services["vote"]
    assert vote["image"] == "registry.example.com/voting/vote:1.0"
    assert vote["healthcheck"]["timeout"] == "10s" and vote["environment"] == {"LOG_LEVEL": "info"}
    assert "extends" not in vote
    assert project.services["db"]["image"] == "postgres:16-alpine"
    # A finding about an inherited key names the file that holds it.
    assert project.file_of("vote", "healthcheck").endswith("common-services.yml")
    assert project.file_of("db").endswith(os.path.join("db", "compose.yaml"))


def test_compose_extends_and_include_problems_are_named():
    result = engine.lint(
        definitions=[
            {
                "include": ["missing/compose.yaml"],
                "services": {
                    "a": {"extends": {"service": "nope"}},
                    "b": {"extends": {"file": "no-such-file.yml", "service": "x"}},
                    "c": {"image": "c:1", "extends": "c"},
                },
            }
        ],
        check_images=False,
    )
    messages = sorted(f["message"] for f in result["findings"] if f["severity"] == "error")
    assert any("include: " in m and "not a readable Compose file" in m for m in messages)
    assert any("extends service 'nope', which is not defined" in m for m in messages)
    assert any("extends file 'no-such-file.yml'" in m for m in messages)
    assert any("in a cycle" in m for m in messages)


def test_docker_runs_healthchecks_one_after_another():
    """The retired rule never fires, not on Docker's defaults (30 s / 30 s) nor on a timeout far above
    the interval: Docker starts the next check only after the previous one ended."""
    services = {
        "defaults": {"image": "a:1", "healthcheck": {"test": ["CMD", "true"]}},
        "equal": {"image": "a:1", "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "timeout": "10s"}},
        "longer": {"image": "a:1", "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "timeout": "60s"}},
    }
    result = engine.lint(definitions=[{"services": services}], check_images=False)
    assert by_rule(result, "compose-healthcheck-timeout-ge-interval") == []
    assert rules.RULES["compose-healthcheck-timeout-ge-interval"].check is None
    # Still a valid id for disable lists written before it was retired.
    engine.lint(
        definitions=[{"services": services}], check_images=False, disable=["compose-healthcheck-timeout-ge-interval"]
    )


class _NoLocalImages:
    """An ImageInspector on a host whose engine answers but has none of the images."""

    def available(self):
        return True

    def inspect(self, image):
        return None

    def healthcheck(self, image):
        return None

    def find_binary(self, image, name):
        return None


def test_image_not_local_is_said_not_silent():
    result = lint("compose-image-not-local", check_images=True, images=_NoLocalImages())
    hits = by_rule(result, "compose-healthcheck-binary-unchecked")
    assert [(f["object"], f["severity"]) for f in hits] == [("api", "info")]
    assert "registry.example.com/shop/api:2.4.1 is not present locally" in hits[0]["message"]
    assert by_rule(result, "compose-healthcheck-binary-missing") == []
    # With image checks turned off nothing is said: the user asked for it.
    assert by_rule(lint("compose-image-not-local"), "compose-healthcheck-binary-unchecked") == []


# --- checks the peers have -----------------------------------------------------------------


def test_tcp_probe_on_a_udp_only_port():
    hits = by_rule(lint("new-checks", "dns.yaml"), "probe-port-udp")
    assert [(f["object"], f["field"].rsplit(".", 3)[-3:]) for f in hits] == [
        ("Deployment/infra/dns", ["livenessProbe", "tcpSocket", "port"])
    ]


def test_run_as_group_zero():
    hits = by_rule(lint("new-checks", "root-group.yaml"), "run-as-root-group")
    assert [(f["object"], f["container"]) for f in hits] == [("Deployment/shop/reports", "reports")]


def test_service_target_port_out_of_range_and_long_port_names():
    hits = by_rule(lint("new-checks", "service-ports.yaml"), "port-invalid")
    assert sorted((f["object"], f["field"].removeprefix("spec.template.spec.")) for f in hits) == sorted(
        [
            ("Service/shop/exporter", "spec.ports[0].targetPort"),
            ("Service/shop/exporter", "spec.ports[1].targetPort"),
            ("Deployment/shop/exporter", "containers[exporter].ports[0].name"),
            ("Deployment/shop/exporter", "containers[exporter].readinessProbe.httpGet.port"),
        ]
    )
    assert any("80800 is outside 1-65535" in f["message"] for f in hits)
    assert any("is 21 characters long" in f["message"] for f in hits)


def test_openshift_deployment_config_is_a_workload():
    result = lint("new-checks", "deploymentconfig.yaml")
    found = {(f["rule"], f["severity"]) for f in result["findings"]}
    assert ("schema-unavailable", "info") in found
    assert ("selector-template-mismatch", "error") in found  # its map selector is checked
    assert ("privileged", "error") in found  # its pod template is linted
    assert by_rule(result, "schema-invalid") == []


def test_extra_metrics_port_is_not_service_port_not_probed():
    assert by_rule(lint("metrics-port"), "service-port-not-probed") == []


@pytest.mark.parametrize("probed, fires", [("http", False), ("metrics", False), ("admin", True)])
def test_service_port_not_probed_when_no_served_port_is_probed(probed, fires):
    import copy

    import yaml

    with open(os.path.join(REALWORLD, "metrics-port", "app.yaml"), encoding="utf-8") as handle:
        svc, deploy = yaml.safe_load_all(handle)
    deploy = copy.deepcopy(deploy)
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    container["ports"].append({"name": "admin", "containerPort": 8081})
    container["readinessProbe"]["httpGet"]["port"] = probed
    hits = by_rule(engine.lint(definitions=[svc, deploy], check_images=False), "service-port-not-probed")
    assert bool(hits) is fires
