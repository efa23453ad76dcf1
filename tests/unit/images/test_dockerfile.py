"""Effective Dockerfiles: the catalog's HEALTHCHECK appended to the last (target) stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import dockerfile

ROOT = Path(__file__).resolve().parents[3]
TEXT = """ARG BASE=python:3.11
FROM ${BASE} AS build
RUN echo build \\
    && echo more
FROM build AS dev
# FROM nothing AS comment
FROM ${BASE} AS runtime
CMD ["python3"]
"""
HEALTH = {"command": ["sh", "-c", 'pg_isready -U "$USER"'], "timeout": 5, "start_period": 120}


def test_stages_in_order():
    assert dockerfile.stages(TEXT) == ["build", "dev", "runtime"]
    assert dockerfile.stages("FROM a\nFROM b AS x\n") == ["0", "x"]


def test_healthcheck_appended_to_the_last_stage():
    out = dockerfile.effective(TEXT, "Dockerfile", "runtime", HEALTH, "postgres")
    assert out.startswith(TEXT.rstrip("\n"))
    last = out.rstrip("\n").splitlines()[-1]
    assert last.startswith("HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 CMD ")
    assert json.loads(last.split(" CMD ", 1)[1]) == HEALTH["command"]


def test_target_must_be_the_last_stage():
    with pytest.raises(dockerfile.DockerfileError, match=r"backend: target stage 'dev' must be the last stage"):
        dockerfile.effective(TEXT, "Dockerfile", "dev", HEALTH, "backend")


def test_dev_stage_gets_no_healthcheck():
    assert dockerfile.effective(TEXT, "Dockerfile", "dev", None, "frontend") == TEXT


def test_unknown_target_is_an_error():
    with pytest.raises(dockerfile.DockerfileError, match="'nope' is not in Dockerfile"):
        dockerfile.effective(TEXT, "Dockerfile", "nope", None, "x")


@pytest.mark.parametrize("name", ["backend", "frontend", "chromadb", "postgres"])
def test_shipped_dockerfiles_have_no_healthcheck_and_end_in_runtime(name):
    text = (ROOT / "docker" / name / "Dockerfile").read_text()
    assert not [line for line in text.splitlines() if line.startswith("HEALTHCHECK")]
    assert dockerfile.stages(text)[-1] == "runtime"
