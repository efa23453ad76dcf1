"""Engine options, summaries, fail_on, SARIF, crashing rules, the module logic and the shell entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine, findings, rules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GOOD = os.path.join(os.path.dirname(__file__), "fixtures", "good")
# One error (privileged) and a few warnings; no Service, so no readiness-missing.
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "demo"},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "securityContext": {"privileged": True}}]},
}


def test_fail_on_levels():
    for fail_on, failed in (("error", True), ("warning", True), ("info", True), ("none", False)):
        assert engine.lint(definitions=[POD], fail_on=fail_on, check_images=False)["failed"] is failed
    warnings_only = engine.lint(definitions=[POD], disable=["privileged"], check_images=False)
    assert warnings_only["summary"]["error"] == 0
    assert warnings_only["failed"] is False
    assert engine.lint(definitions=[POD], disable=["privileged"], fail_on="warning", check_images=False)["failed"]


def test_unknown_rule_and_threshold_are_errors():
    with pytest.raises(ValueError, match="unknown rule"):
        engine.lint(definitions=[POD], disable=["no-such-rule"])
    with pytest.raises(ValueError, match="unknown threshold"):
        engine.lint(definitions=[POD], thresholds={"nope": 1})


def test_thresholds_change_rule_results():
    pod = json.loads(json.dumps(POD))
    pod["spec"]["containers"][0]["livenessProbe"] = {"tcpSocket": {"port": 80}, "initialDelaySeconds": 45}
    rule = "liveness-initial-delay-without-startup"
    assert rule not in {f["rule"] for f in engine.lint(definitions=[pod], check_images=False)["findings"]}
    strict = engine.lint(definitions=[pod], thresholds={"max_liveness_initial_delay": 30}, check_images=False)
    assert rule in {f["rule"] for f in strict["findings"]}
    # startup_seconds may also come inside thresholds, and from an annotation.
    budget = "startup-budget-too-short"  # liveness budget: 45 + 3 x 10 = 75 s
    nested = engine.lint(definitions=[pod], thresholds={"startup_seconds": {"demo": 80}}, check_images=False)
    assert budget in {f["rule"] for f in nested["findings"]}
    pod["metadata"]["annotations"] = {rules.STARTUP_ANNOTATION: "70"}
    assert budget not in {f["rule"] for f in engine.lint(definitions=[pod], check_images=False)["findings"]}
    factor = engine.lint(definitions=[pod], thresholds={"startup_safety_factor": 1.5}, check_images=False)
    assert budget in {f["rule"] for f in factor["findings"]}


def test_summary_counts_every_severity():
    result = engine.lint(definitions=[POD, "kind: [broken"], check_images=False)
    summary = result["summary"]
    assert summary["total"] == len(result["findings"])
    assert summary["error"] + summary["warning"] + summary["info"] == summary["total"]
    assert summary["error"] >= 2  # privileged and yaml-invalid
    assert any(f["rule"] == "yaml-invalid" and f["file"] == "<definitions[1]>" for f in result["findings"])


def test_sarif_shape():
    result = engine.lint(definitions=[POD], check_images=False)
    sarif = findings.to_sarif(result["_findings"], rules.RULES)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert ids == sorted(rules.RULES)
    assert len(run["results"]) == len(result["findings"])
    for res in run["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "plugins.module_utils.probes", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_cli_json_and_exit_codes(tmp_path):
    clean = _cli("lint", GOOD, "--no-images")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["summary"]["total"] == 0
    bad = tmp_path / "pod.yaml"
    bad.write_text(json.dumps(POD))
    failing = _cli("lint", str(bad), "--no-images")
    assert failing.returncode == 1
    assert json.loads(failing.stdout)["summary"]["error"] >= 1
    relaxed = _cli("lint", str(bad), "--no-images", "--fail-on", "none", "--disable", "privileged")
    assert relaxed.returncode == 0
    assert _cli("lint", str(bad), "--disable", "nope").returncode == 2


def test_cli_sarif_and_rules(tmp_path):
    bad = tmp_path / "pod.yaml"
    bad.write_text(json.dumps(POD))
    out = _cli("lint", str(bad), "--no-images", "--format", "sarif")
    sarif = json.loads(out.stdout)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"privileged", "liveness-missing"}
    listing = json.loads(_cli("rules").stdout)
    assert {r["id"] for r in listing} == set(rules.RULES)


def _crashing_rule(monkeypatch):
    def explode(ctx):
        yield from ()
        raise ZeroDivisionError("division by zero in a rule")

    monkeypatch.setitem(rules.RULES, "test-crash", rules.Rule("test-crash", "warning", "k8s", "Raises.", explode))


def test_a_crashing_rule_fails_the_run_naming_the_rule(monkeypatch):
    _crashing_rule(monkeypatch)
    with pytest.raises(engine.RuleError) as caught:
        engine.lint(definitions=[POD], check_images=False)
    assert caught.value.rule == "test-crash"
    assert "rule test-crash crashed: ZeroDivisionError" in str(caught.value)
    assert "in explode" in caught.value.traceback and "ZeroDivisionError" in caught.value.traceback
    # The module logic fails with the rule id and the traceback in the result, not with a finding.
    ok, result = engine.run_module({"definitions": [POD], "check_images": False})
    assert ok is False
    assert result["rule"] == "test-crash"
    assert "test-crash" in result["msg"]
    assert result["traceback"].startswith("Traceback") and "in explode" in result["traceback"]
    assert result["findings"] == []
    # Disabled, it does not run and the run succeeds.
    ok, result = engine.run_module(
        {"definitions": [POD], "check_images": False, "disable": ["test-crash"], "fail_on": "none"}
    )
    assert ok is True
    assert "test-crash" not in {r["id"] for r in result["rules"]}


def test_a_crashing_rule_exits_3_from_the_shell(monkeypatch, tmp_path, capsys):
    from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import __main__ as cli

    _crashing_rule(monkeypatch)
    pod = tmp_path / "pod.yaml"
    pod.write_text(json.dumps(POD))
    assert cli.main(["lint", str(pod), "--no-images"]) == 3
    err = capsys.readouterr().err
    assert "rule test-crash crashed" in err and "Traceback" in err
    assert cli.main(["lint", str(pod), "--no-images", "--kubernetes-version", "1.20"]) == 2
    assert "supported versions: 1.25" in capsys.readouterr().err


def test_module_logic_results():
    ok, result = engine.run_module({"definitions": [POD], "check_images": False})
    assert ok is False
    assert result["msg"].startswith("probe_lint: 1 error(s)")
    assert set(result) == {"msg", "changed", "findings", "summary", "inputs", "kubernetes_version", "rules"}
    assert result["changed"] is False
    ok, result = engine.run_module({"check_images": False})
    assert ok is False and result["msg"].startswith("nothing to lint")
    ok, result = engine.run_module({"definitions": [POD], "disable": ["nope"], "check_images": False})
    assert ok is False and result["msg"].startswith("invalid options: unknown rule")


def test_lint_pauses_and_restores_the_garbage_collector():
    import gc

    assert gc.isenabled()
    engine.lint(definitions=[POD], check_images=False)
    assert gc.isenabled()
    with pytest.raises(ValueError):
        engine.lint(definitions=[POD], disable=["no-such-rule"])
    assert gc.isenabled()
    gc.disable()
    try:
        engine.lint(definitions=[POD], check_images=False)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
