"""Every probe_lint rule: a fixture that must trigger it and a near miss that must not."""

from __future__ import annotations

import copy
import os
import re

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine, rules

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _load(name):
    with open(os.path.join(FIXTURES, "good", name), encoding="utf-8") as handle:
        return list(yaml.safe_load_all(handle))


K8S = _load("k8s.yaml")
COMPOSE = _load("compose.yaml")[0]


def baseline() -> dict:
    deploy, svc, netpol, hpa = copy.deepcopy(K8S)
    return {"deploy": deploy, "svc": svc, "netpol": netpol, "hpa": hpa, "compose": copy.deepcopy(COMPOSE)}


def pod(d):
    return d["deploy"]["spec"]["template"]["spec"]


def c0(d):
    return pod(d)["containers"][0]


def sc(d):
    return c0(d)["securityContext"]


def hc(d, service="backend"):
    return d["compose"]["services"][service]["healthcheck"]


def lint(d, **options):
    options.setdefault("check_images", False)
    return engine.lint(definitions=[d["deploy"], d["svc"], d["netpol"], d["hpa"], d["compose"]], **options)


def rules_hit(result):
    return {f["rule"] for f in result["findings"]}


def _set(target, key, value):
    target[key] = value


def _del(target, key):
    target.pop(key, None)


def to_job(d):
    deploy = d["deploy"]
    deploy.update(apiVersion="batch/v1", kind="Job")
    deploy["spec"] = {"template": deploy["spec"]["template"]}
    pod(d)["restartPolicy"] = "Never"


def add_init(d, **extra):
    init = {"name": "migrate", "image": "busybox:1.36", "readinessProbe": {"exec": {"command": ["true"]}}, **extra}
    pod(d)["initContainers"] = [init]


def to_deployment_config(d):
    """The Deployment as an OpenShift DeploymentConfig (map selector, no schema shipped)."""
    deploy = d["deploy"]
    deploy["apiVersion"] = "apps.openshift.io/v1"
    deploy["kind"] = "DeploymentConfig"
    deploy["spec"]["selector"] = dict(deploy["spec"]["selector"]["matchLabels"])
    d["hpa"]["spec"]["scaleTargetRef"].update(apiVersion="apps.openshift.io/v1", kind="DeploymentConfig")


def metrics_port(d):
    c0(d)["ports"].append({"name": "metrics", "containerPort": 9090})
    c0(d)["readinessProbe"]["httpGet"]["port"] = "metrics"


# rule id -> (mutation that must trigger it, mutation that must not, extra lint options)
CASES = {
    "liveness-missing": (lambda d: _del(c0(d), "livenessProbe"), lambda d: (_del(c0(d), "livenessProbe"), to_job(d))),
    "readiness-missing": (
        lambda d: _del(c0(d), "readinessProbe"),
        lambda d: (_del(c0(d), "readinessProbe"), _set(d["svc"]["spec"], "selector", {"app": "other"})),
    ),
    "probe-port-name-unknown": (
        lambda d: _set(c0(d)["readinessProbe"]["httpGet"], "port", "web"),
        lambda d: _set(c0(d)["readinessProbe"]["httpGet"], "port", "http"),
    ),
    "probe-port-undeclared": (
        lambda d: _set(c0(d)["readinessProbe"]["httpGet"], "port", 9000),
        lambda d: _set(c0(d)["readinessProbe"]["httpGet"], "port", 8000),
    ),
    "liveness-readiness-identical": (
        lambda d: _set(c0(d), "livenessProbe", copy.deepcopy(c0(d)["readinessProbe"])),
        lambda d: _set(c0(d)["livenessProbe"], "failureThreshold", 6),
    ),
    "run-as-root": (
        lambda d: _set(sc(d), "runAsUser", 0),
        lambda d: (_set(pod(d)["securityContext"], "runAsUser", 0), _set(sc(d), "runAsUser", 10001)),
    ),
    "run-as-non-root-unset": (
        lambda d: (_del(pod(d)["securityContext"], "runAsNonRoot"), _del(pod(d)["securityContext"], "runAsUser")),
        lambda d: _del(pod(d)["securityContext"], "runAsNonRoot"),
    ),
    "privileged": (lambda d: _set(sc(d), "privileged", True), lambda d: _set(sc(d), "privileged", False)),
    "privilege-escalation-allowed": (
        lambda d: _del(sc(d), "allowPrivilegeEscalation"),
        lambda d: _set(sc(d), "allowPrivilegeEscalation", False),
    ),
    "capabilities-not-dropped": (
        lambda d: _set(sc(d)["capabilities"], "drop", ["NET_RAW"]),
        lambda d: _set(sc(d)["capabilities"], "add", ["NET_BIND_SERVICE"]),
    ),
    "capabilities-dangerous": (
        lambda d: _set(sc(d)["capabilities"], "add", ["CAP_SYS_ADMIN"]),
        lambda d: _set(sc(d)["capabilities"], "add", ["NET_BIND_SERVICE"]),
    ),
    "seccomp-profile": (
        lambda d: _set(pod(d)["securityContext"], "seccompProfile", {"type": "Unconfined"}),
        lambda d: (
            _del(pod(d)["securityContext"], "seccompProfile"),
            _set(sc(d), "seccompProfile", {"type": "Localhost", "localhostProfile": "profiles/backend.json"}),
        ),
    ),
    "read-only-root-fs": (
        lambda d: _set(sc(d), "readOnlyRootFilesystem", False),
        lambda d: _set(sc(d), "readOnlyRootFilesystem", True),
    ),
    "host-namespace": (lambda d: _set(pod(d), "hostNetwork", True), lambda d: _set(pod(d), "hostNetwork", False)),
    "image-tag-latest": (
        lambda d: _set(c0(d), "image", "ghcr.io/goaltrajectory/backend:latest"),
        lambda d: _set(c0(d), "image", "ghcr.io/goaltrajectory/backend@sha256:" + "a" * 64),
    ),
    "resources-requests-missing": (
        lambda d: (_del(c0(d)["resources"]["requests"], "memory"), _del(c0(d)["resources"]["limits"], "memory")),
        # The API server copies a limit into a missing request.
        lambda d: _del(c0(d)["resources"]["requests"], "memory"),
    ),
    "resources-limits-missing": (
        lambda d: _del(c0(d)["resources"]["limits"], "cpu"),
        lambda d: _set(c0(d)["resources"]["limits"], "cpu", "2"),
    ),
    "hpa-min-replicas": (
        lambda d: _set(d["hpa"]["spec"], "minReplicas", 1),
        lambda d: _set(d["hpa"]["spec"], "minReplicas", 3),
    ),
    "hpa-target-missing": (
        lambda d: _set(d["hpa"]["spec"]["scaleTargetRef"], "name", "nope"),
        lambda d: _set(d["hpa"]["spec"]["scaleTargetRef"], "name", "backend"),
    ),
    "hpa-target-replicas-set": (
        lambda d: _set(d["deploy"]["spec"], "replicas", 2),
        lambda d: (_set(d["deploy"]["spec"], "replicas", 2), _set(d["hpa"]["spec"]["scaleTargetRef"], "name", "other")),
    ),
    "hpa-target-requests-missing": (
        lambda d: (_del(c0(d)["resources"]["requests"], "cpu"), _del(c0(d)["resources"]["limits"], "cpu")),
        lambda d: (
            _del(c0(d)["resources"]["requests"], "cpu"),
            _del(c0(d)["resources"]["limits"], "cpu"),
            _set(d["hpa"]["spec"]["metrics"][0]["resource"], "name", "memory"),
        ),
    ),
    "service-selects-nothing": (
        lambda d: _set(d["svc"]["spec"], "selector", {"app": "nope"}),
        lambda d: _set(d["svc"]["spec"], "selector", {"app": "backend"}),
    ),
    "selector-template-mismatch": (
        lambda d: _set(d["deploy"]["spec"]["selector"], "matchLabels", {"app": "other"}),
        lambda d: _set(
            d["deploy"]["spec"],
            "selector",
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["backend", "api"]}]},
        ),
    ),
    "network-policy-missing": (
        lambda d: _set(d["netpol"]["spec"], "podSelector", {"matchLabels": {"app": "other"}}),
        lambda d: _set(d["netpol"]["spec"], "podSelector", {"matchLabels": {"app": "backend"}}),
    ),
    "liveness-success-threshold": (
        lambda d: _set(c0(d)["livenessProbe"], "successThreshold", 2),
        lambda d: _set(c0(d)["livenessProbe"], "successThreshold", 1),
    ),
    "startup-success-threshold": (
        lambda d: _set(c0(d)["startupProbe"], "successThreshold", 3),
        lambda d: _set(c0(d)["readinessProbe"], "successThreshold", 3),
    ),
    "probe-handler-count": (
        lambda d: _set(c0(d)["readinessProbe"], "tcpSocket", {"port": "http"}),
        lambda d: _set(c0(d), "readinessProbe", {"tcpSocket": {"port": "http"}, "periodSeconds": 5}),
    ),
    "readiness-termination-grace": (
        lambda d: _set(c0(d)["readinessProbe"], "terminationGracePeriodSeconds", 10),
        lambda d: _set(c0(d)["livenessProbe"], "terminationGracePeriodSeconds", 10),
    ),
    "init-container-probe": (add_init, lambda d: add_init(d, restartPolicy="Always")),
    "probe-timing-invalid": (
        lambda d: _set(c0(d)["readinessProbe"], "periodSeconds", 0),
        lambda d: _set(c0(d)["readinessProbe"], "initialDelaySeconds", 0),
    ),
    "probe-http-scheme": (
        lambda d: _set(c0(d)["readinessProbe"]["httpGet"], "scheme", "http"),
        lambda d: _set(c0(d)["readinessProbe"]["httpGet"], "scheme", "HTTPS"),
    ),
    "probe-timeout-ge-period": (
        lambda d: _set(c0(d)["readinessProbe"], "timeoutSeconds", 5),
        lambda d: _set(c0(d)["readinessProbe"], "timeoutSeconds", 4),
    ),
    "liveness-before-readiness": (
        lambda d: _set(c0(d)["livenessProbe"], "failureThreshold", 1),
        lambda d: _set(c0(d)["livenessProbe"], "failureThreshold", 2),
    ),
    "liveness-initial-delay-without-startup": (
        lambda d: (_del(c0(d), "startupProbe"), _set(c0(d)["livenessProbe"], "initialDelaySeconds", 90)),
        lambda d: _set(c0(d)["livenessProbe"], "initialDelaySeconds", 90),
    ),
    "startup-budget-too-short": (
        lambda d: d.setdefault("_options", {"startup_seconds": {"Deployment/gt/backend": 61}}),
        lambda d: d.setdefault("_options", {"startup_seconds": {"Deployment/gt/backend": 60}}),
    ),
    "service-target-port-unknown": (
        lambda d: _set(d["svc"]["spec"]["ports"][0], "targetPort", "web"),
        lambda d: _set(d["svc"]["spec"]["ports"][0], "targetPort", "http"),
    ),
    "service-target-port-undeclared": (
        lambda d: _set(d["svc"]["spec"]["ports"][0], "targetPort", 9000),
        lambda d: _set(d["svc"]["spec"]["ports"][0], "targetPort", 8000),
    ),
    "service-port-not-probed": (
        metrics_port,
        lambda d: (metrics_port(d), _set(d["svc"]["spec"]["ports"][0], "targetPort", "metrics")),
    ),
    "compose-depends-on-unknown": (
        lambda d: _set(d["compose"]["services"]["frontend"], "depends_on", ["api"]),
        lambda d: _set(d["compose"]["services"]["frontend"], "depends_on", ["backend"]),
    ),
    "compose-depends-healthy-no-healthcheck": (
        lambda d: _set(hc(d), "test", ["NONE"]),
        lambda d: (
            _del(d["compose"]["services"]["backend"], "healthcheck"),
            _set(d["compose"]["services"]["frontend"], "depends_on", {"backend": {"condition": "service_started"}}),
        ),
    ),
    "compose-healthcheck-test-invalid": (
        lambda d: _set(hc(d), "test", ["CMD"]),
        lambda d: _set(hc(d), "test", "curl -f http://localhost:8000/health"),
    ),
    "compose-healthcheck-retries": (lambda d: _set(hc(d), "retries", 0), lambda d: _set(hc(d), "retries", 1)),
    "compose-duration-invalid": (
        lambda d: _set(hc(d), "interval", "5 seconds"),
        lambda d: _set(hc(d), "interval", "1m30s"),
    ),
    "compose-startup-budget-too-short": (
        lambda d: d.setdefault("_options", {"startup_seconds": {"backend": 46}}),
        lambda d: d.setdefault("_options", {"startup_seconds": {"compose/backend": 45}}),
    ),
    "parity-probe-target": (
        lambda d: _set(hc(d), "test", ["CMD", "curl", "-f", "http://localhost:8000/healthz"]),
        lambda d: _set(hc(d), "test", "curl -fsS http://127.0.0.1:8000/health || exit 1"),
    ),
    "parity-probe-timing": (lambda d: _set(hc(d), "timeout", "3s"), lambda d: _set(hc(d), "timeout", "2s")),
    "api-version-removed": (
        lambda d: _set(d["hpa"], "apiVersion", "autoscaling/v2beta2"),
        lambda d: _set(d["hpa"], "apiVersion", "autoscaling/v2"),
    ),
    "api-version-deprecated": (
        lambda d: (
            _set(d["hpa"], "apiVersion", "autoscaling/v2beta2"),
            d.setdefault("_options", {"kubernetes_version": "1.25"}),
        ),
        lambda d: _set(d["hpa"], "apiVersion", "autoscaling/v2beta2"),
    ),
    "probe-port-udp": (
        lambda d: _set(c0(d)["ports"][0], "protocol", "UDP"),
        lambda d: _set(c0(d)["ports"][0], "protocol", "TCP"),
    ),
    "port-invalid": (
        lambda d: _set(d["svc"]["spec"]["ports"][0], "targetPort", 70000),
        lambda d: _set(d["svc"]["spec"]["ports"][0], "targetPort", 8000),
    ),
    "run-as-root-group": (
        lambda d: _set(pod(d)["securityContext"], "runAsGroup", 0),
        lambda d: (_set(pod(d)["securityContext"], "runAsGroup", 0), _set(sc(d), "runAsGroup", 10001)),
    ),
    "schema-unavailable": (to_deployment_config, lambda d: None),
    "schema-invalid": (
        lambda d: _set(c0(d)["readinessProbe"], "periodSeconds", "five"),
        lambda d: _set(c0(d)["readinessProbe"], "periodSeconds", 6),
    ),
}
# Rules that need files, a Docker image or a kubernetes_version: tested in their own functions
# (here or in test_realworld.py); the retired rule is tested never to fire.
ELSEWHERE = {
    "input-missing",
    "yaml-invalid",
    "document-unrecognized",
    "template-unrendered",
    "compose-healthcheck-binary-missing",
    "compose-healthcheck-binary-unchecked",
    "compose-healthcheck-timeout-ge-interval",
}


def _run(mutation):
    d = baseline()
    mutation(d)
    return lint(d, **d.pop("_options", {}))


def test_baseline_is_clean():
    result = lint(baseline())
    assert result["findings"] == []
    assert result["summary"] == {"error": 0, "warning": 0, "info": 0, "total": 0}
    assert result["failed"] is False


def test_every_rule_has_cases():
    assert set(rules.RULES) == set(CASES) | ELSEWHERE
    for rule in rules.RULES.values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
        assert rule.severity in ("error", "warning", "info")
        assert rule.doc and "\n" not in rule.doc


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fails(rule_id):
    result = _run(CASES[rule_id][0])
    hits = [f for f in result["findings"] if f["rule"] == rule_id]
    assert hits, f"{rule_id} did not fire: {rules_hit(result)}"
    for finding in hits:
        assert finding["severity"] == rules.RULES[rule_id].severity
        assert finding["file"] and finding["message"]
        assert set(finding) == {"rule", "severity", "file", "object", "container", "field", "message", "line"}
    assert result["summary"][rules.RULES[rule_id].severity] >= len(hits)
    assert result["failed"] is (rules.RULES[rule_id].severity == "error" or result["summary"]["error"] > 0)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes(rule_id):
    result = _run(CASES[rule_id][1])
    assert rule_id not in rules_hit(result), [f for f in result["findings"] if f["rule"] == rule_id]


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_can_be_disabled(rule_id):
    d = baseline()
    CASES[rule_id][0](d)
    assert rule_id not in rules_hit(lint(d, disable=[rule_id], **d.pop("_options", {})))


def test_input_missing(tmp_path):
    result = engine.lint(paths=[str(tmp_path / "nope.yaml"), str(tmp_path / "*.yml")], check_images=False)
    assert [f["rule"] for f in result["findings"]] == ["input-missing", "input-missing"]
    (tmp_path / "ok.yml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    assert engine.lint(paths=[str(tmp_path / "*.yml")], check_images=False)["findings"] == []


def test_yaml_invalid_names_the_file_and_line(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [unclosed\n")
    result = engine.lint(paths=[str(bad)], check_images=False)
    assert [(f["rule"], f["file"]) for f in result["findings"]] == [("yaml-invalid", str(bad))]
    assert result["findings"][0]["line"] >= 5
    assert result["failed"] is True
    good = tmp_path / "fine.yaml"
    good.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: b}\n")
    assert engine.lint(paths=[str(good)], check_images=False)["findings"] == []


def test_document_unrecognized(tmp_path):
    odd = tmp_path / "values.yaml"
    odd.write_text("replicaCount: 2\n")
    result = engine.lint(paths=[str(odd)], check_images=False)
    assert [(f["rule"], f["severity"]) for f in result["findings"]] == [("document-unrecognized", "info")]
    assert result["failed"] is False
    odd.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    assert engine.lint(paths=[str(odd)], check_images=False)["findings"] == []


def test_schema_invalid_for_compose_and_missing_name():
    result = engine.lint(
        definitions=[{"services": {"web": {"ports": ["80:80"]}}}, {"apiVersion": "v1", "kind": "ConfigMap"}],
        check_images=False,
    )
    assert {(f["rule"], f["object"]) for f in result["findings"]} == {
        ("schema-invalid", "web"),
        ("schema-invalid", "ConfigMap/default/"),
    }


def test_schema_invalid_comes_from_the_shared_validator():
    nameless = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"size": "1Gi"}}
    bad_quantity = baseline()
    c0(bad_quantity)["resources"]["limits"]["memory"] = "512MB"
    with_schema = engine.lint(definitions=[nameless, bad_quantity["deploy"]], check_images=False)["_findings"]
    assert {(f.object, f.field, f.check) for f in with_schema if f.rule == "schema-invalid"} == {
        ("ConfigMap/default/", "metadata.name", "schema"),
        ("Deployment/gt/backend", "spec.template.spec.containers[0].resources.limits.memory", "quantity"),
    }
    # Without schema validation the rule still requires a name, and checks nothing else.
    without = engine.lint(definitions=[nameless, bad_quantity["deploy"]], schema=False, check_images=False)
    assert [(f["object"], f["field"]) for f in without["findings"] if f["rule"] == "schema-invalid"] == [
        ("ConfigMap/default/", "metadata.name")
    ]
