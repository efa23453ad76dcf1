"""Verify docker_host: the API answers, Compose v2 is new enough, a container runs."""

import json
import os
import shlex
import sys

import pytest

testinfra_hosts = ["ansible://localhost"]

MIN_COMPOSE = (2, 18)


def _version_tuple(text):
    return tuple(int(part) for part in text.strip().lstrip("v").split("-")[0].split(".")[:3])


def test_api_answers(host):
    out = host.check_output("docker version --format '{{json .Server}}'")
    server = json.loads(out)
    assert server["Version"], out
    assert _version_tuple(server["ApiVersion"]) >= (1, 41)


def test_compose_v2_is_new_enough(host):
    version = host.check_output("docker compose version --short")
    assert _version_tuple(version) >= MIN_COMPOSE, version


def test_daemon_json_settings_applied(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["LoggingDriver"] == "json-file"
    assert "127.0.0.1:5000" in json.dumps(info["RegistryConfig"]["IndexConfigs"]) or any(
        cidr.startswith("127.0.0.1") for cidr in info["RegistryConfig"]["InsecureRegistryCIDRs"]
    )
    daemon_json = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert daemon_json["log-opts"] == {"max-size": "10m", "max-file": "3"}


def test_user_in_docker_group(host):
    assert "docker" in host.user("gt-molecule").groups


@pytest.fixture(scope="module")
def bootstrapped_image(host, tmp_path_factory):
    """An image made here from Debian's busybox-static: no registry involved."""
    host.run_expect([0], "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static")
    work = tmp_path_factory.mktemp("rootfs")
    rootfs = work / "rootfs"
    script = f"""
        set -e
        mkdir -p {rootfs}/bin
        cp /bin/busybox {rootfs}/bin/busybox
        for tool in sh echo true test; do ln -sf busybox {rootfs}/bin/$tool; done
        tar -C {rootfs} -c . | docker import - gt-molecule/busybox:bootstrap
        DOCKER_BUILDKIT=0 docker build -q -t gt-molecule/busybox:built {work}
    """
    (work / "Dockerfile").write_text(
        'FROM gt-molecule/busybox:bootstrap\nRUN echo built > /built\nCMD ["/bin/sh", "-c", "test -f /built"]\n'
    )
    host.run_expect([0], f"bash -c {shlex.quote(script)}")
    yield "gt-molecule/busybox:built"
    host.run("docker image rm -f gt-molecule/busybox:built gt-molecule/busybox:bootstrap")


def test_container_from_bootstrapped_image_exits_zero(host, bootstrapped_image):
    result = host.run(f"docker run --rm {bootstrapped_image}")
    assert result.rc == 0, result.stderr
    failing = host.run(f"docker run --rm {bootstrapped_image} /bin/sh -c 'exit 3'")
    assert failing.rc == 3


def test_check_mode_after_converge_changes_nothing():
    sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "shared"))
    import check_mode

    files = check_mode.files_state("/etc/docker", "/etc/default/docker", "/usr/local/lib/docker/cli-plugins")
    engine = check_mode.engine_state()
    result = check_mode.converge_check()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert check_mode.changed_count(output) == 0, output[-3000:]
    assert check_mode.files_state("/etc/docker", "/etc/default/docker", "/usr/local/lib/docker/cli-plugins") == files
    assert check_mode.engine_state() == engine
