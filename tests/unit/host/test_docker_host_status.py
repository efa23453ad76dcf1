"""module_utils.docker_host_status against real files, this host's dpkg and real programs."""

from __future__ import annotations

import os

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils import docker_host_status

BEGIN = "# BEGIN clamp"
END = "# END clamp"
BLOCK = "ulimit() {\n  return 0\n}\n"


@pytest.fixture
def as_root():
    if os.geteuid() != 0:
        pytest.fail("the ownership checks need root, as make test runs")


def write(path, text, mode=0o644):
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_file_matches_only_the_exact_content_and_mode(tmp_path, as_root):
    path = write(tmp_path / "daemon.json", '{\n  "a": 1\n}\n')
    assert docker_host_status.file_matches(path, '{\n  "a": 1\n}\n')
    # The same JSON formatted otherwise is rewritten by the copy task, so it is not current.
    assert not docker_host_status.file_matches(path, '{"a": 1}\n')
    os.chmod(path, 0o600)
    assert not docker_host_status.file_matches(path, '{\n  "a": 1\n}\n')
    assert not docker_host_status.file_matches(str(tmp_path / "absent"), "{}\n")


def test_block_present_wants_the_block_once_between_its_markers(tmp_path):
    path = write(tmp_path / "docker", f"export A=1\n{BEGIN}\n{BLOCK}{END}\nexport B=2\n")
    assert docker_host_status.block_present(path, BEGIN, END, BLOCK)
    assert not docker_host_status.block_present(path, BEGIN, END, BLOCK.replace("return 0", "return 1"))
    twice = write(tmp_path / "twice", f"{BEGIN}\n{BLOCK}{END}\n{BEGIN}\n{BLOCK}{END}\n")
    assert not docker_host_status.block_present(twice, BEGIN, END, BLOCK)
    assert not docker_host_status.block_present(write(tmp_path / "none", "export A=1\n"), BEGIN, END, BLOCK)
    assert not docker_host_status.block_present(str(tmp_path / "absent"), BEGIN, END, BLOCK)


def test_run_reports_a_missing_program_as_a_shell_would():
    assert docker_host_status.run(["/nonexistent/docker", "version"])["rc"] == 127
    answer = docker_host_status.run(["sh", "-c", "echo ' 2.40.3 '; exit 3"])
    assert answer == {"rc": 3, "stdout": "2.40.3", "stderr": ""}


def test_status_answers_every_question_from_real_files_and_programs(tmp_path, as_root):
    daemon = write(tmp_path / "daemon.json", "{}\n")
    clamp = {"path": write(tmp_path / "docker", f"{BEGIN}\n{BLOCK}{END}\n"), "begin": BEGIN, "end": END, "block": BLOCK}
    # A stand-in CLI whose answers depend on its arguments, as docker's do.
    script = '#!/bin/sh\n[ "$1" = compose ] && { echo 2.40.3; exit 0; }\necho "20.10 1.41"\n'
    cli = write(tmp_path / "docker-cli", script, 0o755)
    answer = docker_host_status.status(
        packages=["dpkg", "goaltrajectory-no-such-package"],
        dpkg_query="dpkg-query",
        docker=cli,
        daemon_json="{}\n",
        daemon_json_path=daemon,
        clamp=clamp,
    )
    assert answer["missing"] == ["goaltrajectory-no-such-package"]
    assert answer["daemon_json_current"] and answer["clamp_current"]
    assert answer["api"]["stdout"] == "20.10 1.41" and answer["compose"]["stdout"] == "2.40.3"
    assert "service_running" not in answer

    stale = docker_host_status.status(["dpkg"], "dpkg-query", cli, '{"x": 1}\n', daemon, dict(clamp, block="other\n"))
    assert not stale["daemon_json_current"] and not stale["clamp_current"]


def test_status_asks_the_service_and_its_start_links(tmp_path):
    # `true`/`false` stand in for `service`: exit 0 is running, as LSB status says.
    cli = "/nonexistent/docker"
    running = docker_host_status.status([], "dpkg-query", cli, service="goaltrajectory-none", service_cmd="true")
    stopped = docker_host_status.status([], "dpkg-query", cli, service="goaltrajectory-none", service_cmd="false")
    assert running["service_running"] and not stopped["service_running"]
    assert running["service_enabled"] is False
    assert running["api"]["rc"] == 127
