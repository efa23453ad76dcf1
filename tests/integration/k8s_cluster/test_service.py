"""module_utils.k8s_cluster.service with the real `daemon` supervisor and a real process."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import service


@pytest.fixture()
def spec(tmp_path):
    config = tmp_path / "config"
    config.write_text("one\n")
    yield service.ServiceSpec(
        name=f"k8s-cluster-test-{os.getpid()}",
        argv=["/bin/sleep", "600"],
        files=[str(config)],
        log_file=str(tmp_path / "log"),
        run_dir=str(tmp_path / "run"),
    )


@pytest.fixture()
def manager(spec):
    assert shutil.which("daemon"), "Debian's daemon package is needed (the k8s_cluster role installs it)"
    mgr = service.Manager("daemon")
    yield mgr
    mgr.stop(spec)


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_start_is_changed_then_unchanged(manager, spec):
    assert service.ensure(manager, spec, "started", check_mode=False) == "started"
    assert wait_for(lambda: manager.pid(spec) > 0)
    assert service.ensure(manager, spec, "started", check_mode=False) == "none"


def test_a_changed_config_file_restarts_the_process(manager, spec):
    service.ensure(manager, spec, "started", check_mode=False)
    assert wait_for(lambda: manager.pid(spec) > 0)
    before = manager.pid(spec)
    with open(spec.files[0], "w") as fh:
        fh.write("two\n")
    assert service.ensure(manager, spec, "started", check_mode=True) == "restarted"
    assert manager.pid(spec) == before, "check mode restarted the process"
    assert service.ensure(manager, spec, "started", check_mode=False) == "restarted"
    assert wait_for(lambda: manager.pid(spec) not in (0, before))


def test_the_supervisor_respawns_a_killed_process(manager, spec):
    service.ensure(manager, spec, "started", check_mode=False)
    assert wait_for(lambda: manager.pid(spec) > 0)
    victim = manager.pid(spec)
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: manager.pid(spec) not in (0, victim), timeout=20), "not respawned"


def test_stop_ends_the_process_and_is_idempotent(manager, spec):
    service.ensure(manager, spec, "started", check_mode=False)
    assert wait_for(lambda: manager.pid(spec) > 0)
    child = manager.pid(spec)
    assert service.ensure(manager, spec, "stopped", check_mode=False) == "stopped"
    assert not manager.is_running(spec)
    assert not os.path.exists(f"/proc/{child}") or Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"
    assert service.ensure(manager, spec, "stopped", check_mode=False) == "none"


def test_output_is_appended_to_the_log_file(manager, spec, tmp_path):
    spec.argv = ["/bin/sh", "-c", "echo hello-from-the-component; exec sleep 600"]
    service.ensure(manager, spec, "started", check_mode=False)
    assert wait_for(lambda: "hello-from-the-component" in Path(spec.log_file).read_text())
    assert "k8s_cluster: starting" in Path(spec.log_file).read_text()


def test_systemd_unit_keeps_shims_with_kill_mode_process(spec):
    spec.kill_mode = "process"
    unit = service.systemd_unit(spec)
    assert "KillMode=process" in unit
    assert f"StandardOutput=append:{spec.log_file}" in unit
    assert "ExecStart=/bin/sleep 600" in unit
    assert "Restart=always" in unit
