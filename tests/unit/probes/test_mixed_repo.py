"""probe_lint pointed at a whole repository of mixed YAML (issue 14, point 4).

fixtures/mixed-clean is a repository with a Helm chart, CI files, tool configurations, Grafana
provisioning, a Compose project and Kubernetes manifests, none with a real defect: probe_lint exits
0 and says only what it did not check (info).  fixtures/mixed-defects is the same repository with
six planted defects: probe_lint names exactly those.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _relevant(result, repo):
    return sorted(
        (f["rule"], f["severity"], os.path.relpath(f["file"], os.path.join(FIXTURES, repo)), f["object"])
        for f in result["findings"]
        if f["severity"] != "info"
    )


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "plugins.module_utils.probes", "lint", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_clean_repository_passes_and_says_what_it_skipped():
    result = engine.lint(paths=[os.path.join(FIXTURES, "mixed-clean")], check_images=False)
    assert _relevant(result, "mixed-clean") == []
    assert result["failed"] is False
    skipped = sorted(
        (f["rule"], os.path.relpath(f["file"], os.path.join(FIXTURES, "mixed-clean"))) for f in result["findings"]
    )
    assert skipped == [
        ("document-unrecognized", ".gitlab-ci.yml"),
        ("document-unrecognized", ".pre-commit-config.yaml"),
        ("document-unrecognized", "charts/shop/Chart.yaml"),
        ("document-unrecognized", "charts/shop/values.yaml"),
        ("document-unrecognized", "deploy/kind-cluster.yaml"),
        ("document-unrecognized", "mkdocs.yml"),
        ("document-unrecognized", "monitoring/grafana/provisioning/datasources/prometheus.yaml"),
        ("template-unrendered", "charts/shop/templates/deployment.yaml"),
    ]
    # Everything that is Kubernetes or Compose was read: 10 objects (the Kustomization is plumbing)
    # and one Compose project with its override file; .github/ is a hidden directory.
    assert result["inputs"]["objects"] == 10
    assert [[os.path.basename(f) for f in p] for p in result["inputs"]["compose_projects"]] == [
        ["compose.yaml", "compose.override.yaml"]
    ]


def test_clean_repository_exits_0_from_the_shell_and_the_module():
    out = _cli(os.path.join(FIXTURES, "mixed-clean"), "--no-images")
    assert out.returncode == 0, out.stdout[-2000:]
    assert json.loads(out.stdout)["summary"]["error"] == 0
    ok, result = engine.run_module({"paths": [os.path.join(FIXTURES, "mixed-clean")], "check_images": False})
    assert ok is True and result["summary"]["warning"] == 0


def test_defects_are_named_exactly():
    result = engine.lint(paths=[os.path.join(FIXTURES, "mixed-defects")], check_images=False)
    assert _relevant(result, "mixed-defects") == sorted(
        [
            ("hpa-target-missing", "error", "deploy/k8s/api.yaml", "HorizontalPodAutoscaler/shop/api"),
            ("liveness-readiness-identical", "warning", "deploy/k8s/api.yaml", "Deployment/shop/api"),
            ("schema-invalid", "error", "deploy/k8s/configmap.yaml", "ConfigMap/shop/shop-config"),
            ("api-version-removed", "error", "deploy/k8s/cronjob.yaml", "CronJob/shop/nightly-report"),
            ("run-as-root", "error", "deploy/k8s/worker.yaml", "Deployment/shop/worker"),
            # api and worker both wait for db with service_healthy; db lost its healthcheck.
            ("compose-depends-healthy-no-healthcheck", "error", "docker/compose.yaml", "db"),
            ("compose-depends-healthy-no-healthcheck", "error", "docker/compose.yaml", "db"),
        ]
    )
    assert _cli(os.path.join(FIXTURES, "mixed-defects"), "--no-images").returncode == 1
