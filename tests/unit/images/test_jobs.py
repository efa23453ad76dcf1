"""Build jobs derived from the service catalog: no service named in the images role."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import jobs as jobs_mod

ROOT = Path(__file__).resolve().parents[3]
SERVICES = yaml.safe_load((ROOT / "roles/catalog/defaults/main.yml").read_text())["catalog_services"]
BASES = {k: f"gt-golden/{k}:x" for k in ("debian", "python", "python_build", "node", "node_build", "postgres")}
LABELS = {"VERSION": "0.1.0-abc", "REVISION": "abc", "CREATED": "2026-01-01T00:00:00Z", "SOURCE": "https://x"}
WORKER = {
    "worker": {
        "image": {
            "context": "{app}/worker",
            "dockerfile": "{app}/worker/Dockerfile",
            "bases": {"PYTHON_IMAGE": "python"},
            "runtime_base": "python",
            "budget_mb": 5,
        },
        "health": {"command": ["python3", "/app/worker.py", "--check"], "startup_seconds": 10, "timeout": 3},
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
    }
}


def _jobs(overrides=None, **kwargs):
    args = {
        "app_dir": "/src/app",
        "dockerfiles_dir": "/src/docker",
        "bases": BASES,
        "base_variable": "images_upstream_bases",
        "repository": "reg:5000/gt",
        "labels": LABELS,
        "extra_args": {},
        **kwargs,
    }
    return jobs_mod.jobs(catalog.build(SERVICES, overrides), **args)


def test_one_job_per_service_and_dev_target():
    jobs = _jobs()
    names = [job["name"] for job in jobs]
    assert sorted(names) == sorted([*SERVICES, "frontend-dev"])
    backend = next(job for job in jobs if job["name"] == "backend")
    assert backend["context"] == "/src/app/backend"
    assert backend["dockerfile"] == "/src/docker/backend/Dockerfile"
    assert backend["build_args"]["PYTHON_IMAGE"] == BASES["python"]
    assert backend["build_args"]["VERSION"] == "0.1.0-abc"
    assert backend["runtime_base"] == BASES["python"]
    assert backend["health"]["command"][-2:] == ["http://127.0.0.1:8000/health", "3"]
    assert backend["budget_mb"] == 60 and backend["target"] == "runtime" and backend["ref"] == "reg:5000/gt/backend"
    dev = next(job for job in jobs if job["name"] == "frontend-dev")
    assert dev["dev"] and dev["target"] == "dev" and dev["health"] is None


def test_no_dev_stages_when_not_wanted():
    assert "frontend-dev" not in [job["name"] for job in _jobs(dev_stages=False)]


def test_a_fifth_service_from_overrides_alone():
    jobs = _jobs(WORKER)
    worker = next(job for job in jobs if job["name"] == "worker")
    assert worker["context"] == "/src/app/worker"
    assert worker["health"] == {"command": ["python3", "/app/worker.py", "--check"], "timeout": 3, "start_period": 10}
    assert worker["budget_mb"] == 5


def test_catalog_args_and_extra_args():
    chromadb = next(job for job in _jobs(extra_args={"chromadb": {"X": 1}}) if job["name"] == "chromadb")
    assert chromadb["build_args"]["CHROMADB_VERSION"] == "1.5.9"
    assert chromadb["build_args"]["X"] == "1"


def test_unknown_base_names_the_field():
    bad = {"backend": {"image": {"bases": {"PYTHON_IMAGE": "pythn"}}}}
    with pytest.raises(jobs_mod.JobError, match=r"backend\.image\.bases\.PYTHON_IMAGE: base 'pythn'"):
        _jobs(bad)


def test_build_args_for_unknown_image_names_the_variable():
    with pytest.raises(jobs_mod.JobError, match="images_build_args: nope"):
        _jobs(extra_args={"nope": {}})


def test_effective_dockerfile_of_the_shipped_files():
    for job in _jobs(app_dir=str(ROOT / "app"), dockerfiles_dir=str(ROOT / "docker")):
        text = jobs_mod.effective_dockerfile(job)
        tail = text.rstrip("\n").splitlines()[-1]
        assert tail.startswith("HEALTHCHECK") == (not job["dev"]), job["name"]


def test_target_not_last_fails_naming_the_service(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM a AS runtime\nFROM a AS other\n")
    over = {"postgres": {"image": {"dockerfile": str(tmp_path / "Dockerfile"), "context": str(tmp_path)}}}
    job = next(job for job in _jobs(over) if job["name"] == "postgres")
    with pytest.raises(jobs_mod.JobError, match="postgres: target stage 'runtime' must be the last stage"):
        jobs_mod.effective_dockerfile(job)
