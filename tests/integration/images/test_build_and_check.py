"""image_build / image_check logic against the real engine: content keys skip builds, checks read docker save.

Builds the molecule worker (molecule/images/worker) on the golden Python base into a
throwaway repository (gt-itest/*), which the test removes again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import build, checks, docker, jobs

ROOT = Path(__file__).resolve().parents[3]
PYTHON_BASE = "gt-golden/python:3.11-bookworm"
REPO = "gt-itest"


def _have(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def engine():
    if not _have(PYTHON_BASE):
        pytest.fail(f"{PYTHON_BASE} is missing: run playbooks/images.yml (or molecule/images) first")
    client = docker.Docker()
    yield client
    for ref in subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"{REPO}/*"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split():
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, check=False)


def _jobs(context: Path) -> list[dict]:
    services = catalog.build(
        {
            "worker": {
                "image": {
                    "context": str(context),
                    "dockerfile": str(context / "Dockerfile"),
                    "bases": {"PYTHON_IMAGE": "python"},
                    "runtime_base": "python",
                    "budget_mb": 5,
                },
                "health": {"command": ["python3", "/app/worker.py", "--check"], "startup_seconds": 10, "timeout": 3},
                "resources": {"requests": {"cpu": "1", "memory": "1Mi"}, "limits": {"cpu": "1", "memory": "1Mi"}},
            }
        }
    )
    return jobs.jobs(
        services,
        app_dir="/nonexistent",
        dockerfiles_dir="/nonexistent",
        bases={"python": PYTHON_BASE},
        base_variable="test",
        repository=REPO,
        labels={"VERSION": "t", "REVISION": "r", "CREATED": "1970-01-01T00:00:00Z", "SOURCE": "s"},
        extra_args={},
    )


def test_build_is_skipped_when_inputs_are_unchanged_and_checks_read_the_image(engine, tmp_path):
    context = tmp_path / "worker"
    shutil.copytree(ROOT / "molecule/images/worker", context)
    work = tmp_path / "work"
    builder = docker.find_builder("", ["docker", "/usr/bin/docker"])

    first = build.plan(_jobs(context), engine, tag="t", environment="itest", work_dir=str(work))
    assert [item["action"] for item in first] == ["build"]
    done = build.execute(first[0], engine, builder, work_dir=str(work), ca_bundle="")
    assert done["id"] and done["labels"][build.INPUTS_LABEL] == first[0]["inputs_digest"]

    again = build.plan(_jobs(context), engine, tag="t", environment="itest", work_dir=str(work))
    assert again[0]["action"] == "unchanged" and again[0]["inputs_digest"] == first[0]["inputs_digest"]

    (context / "worker.py").write_text((context / "worker.py").read_text() + "\n# changed\n")
    changed = build.plan(_jobs(context), engine, tag="t", environment="itest", work_dir=str(work))
    assert changed[0]["action"] == "build"
    assert changed[0]["reasons"] == ["context files changed: worker.py"]

    image = engine.inspect([done["id"]])[done["id"]]
    assert image["Config"]["Healthcheck"]["Test"] == ["CMD", "python3", "/app/worker.py", "--check"]
    settings = {
        "cache_dir": str(work / "checks"),
        "max_age": 3600,
        "forbidden": ["gcc", "make"],
        "cache_dirs": ["/var/lib/apt/lists"],
        "min_uid": 10000,
        "scan": False,
        "security_check": "skip",
        "pypi_url": "",
        "npm_url": "",
    }
    spec = {"base": PYTHON_BASE, "budget_mb": 5, "service": "worker"}
    base = engine.inspect([PYTHON_BASE])[PYTHON_BASE]
    out = checks.check_image("worker", spec, image, base, engine, settings, check_mode=False)
    assert out["policy"]["passed"], out["policy"]["violations"]
    assert out["policy"]["uid"] == 10001 and out["cache"]["fs"] == "read"
    assert out["sbom_components"] > 5 and out["ecosystems"] == []
    cached = checks.check_image("worker", spec, image, base, engine, settings, check_mode=False)
    assert cached["cache"]["fs"] == "cached" and cached["policy"] == out["policy"]
    assert (
        json.loads((work / "checks" / (image["Id"].split(":")[1] + ".json")).read_text())["fs"]["facts"]["uid"] == 10001
    )
