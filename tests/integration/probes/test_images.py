"""compose-healthcheck-binary-missing and image HEALTHCHECKs, against a real local image.

The image is built in the test from the host's static busybox with `docker import`, so no
registry is needed.  They need a running Docker engine and busybox on the host (`make integration`
runs after molecule's docker_host scenario started the engine and installs busybox-static).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import uuid

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import engine
from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes.images import ImageInspector

BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def build_image(tag: str, applets=("sh", "true", "wget", "sleep"), healthcheck: str | None = None) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in applets:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    changes = ["--change", "ENV PATH=/bin", "--change", 'CMD ["/bin/sleep", "3600"]']
    if healthcheck:
        changes += ["--change", f"HEALTHCHECK {healthcheck}"]
    subprocess.run(["docker", "import", *changes, "-", tag], input=buffer.getvalue(), check=True, capture_output=True)
    return tag


@pytest.fixture(scope="module")
def image():
    tag = f"goaltrajectory-probes-test/busybox:{uuid.uuid4().hex[:8]}"
    build_image(tag)
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


@pytest.fixture(scope="module")
def image_with_healthcheck():
    tag = f"goaltrajectory-probes-test/busybox-hc:{uuid.uuid4().hex[:8]}"
    build_image(tag, healthcheck='CMD ["/bin/true"]')
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


def _compose(image, test):
    return {"services": {"web": {"image": image, "healthcheck": {"test": test, "interval": "5s", "timeout": "2s"}}}}


def _rules(result):
    return [(f["rule"], f["object"]) for f in result["findings"]]


def test_inspector_finds_binaries(image):
    inspector = ImageInspector()
    try:
        assert inspector.available()
        assert inspector.path_dirs(image) == ["/bin"]
        assert inspector.find_binary(image, "wget") is True
        assert inspector.find_binary(image, "/bin/sh") is True
        assert inspector.find_binary(image, "curl") is False
        assert inspector.find_binary("goaltrajectory-probes-test/absent:0", "sh") is None
    finally:
        inspector.close()
    leftovers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"ancestor={image}"], capture_output=True, text=True, check=True
    )
    assert leftovers.stdout.strip() == ""


@pytest.mark.parametrize(
    "test",
    [
        ["CMD", "curl", "-f", "http://localhost/"],
        ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
        ["CMD-SHELL", "true && pg_isready -h 127.0.0.1"],
    ],
)
def test_binary_missing_fails(image, test):
    result = engine.lint(definitions=[_compose(image, test)])
    assert ("compose-healthcheck-binary-missing", "web") in _rules(result)
    assert result["failed"] is True


@pytest.mark.parametrize(
    "test",
    [
        ["CMD", "wget", "-q", "-O-", "http://localhost/"],
        ["CMD", "/bin/true"],
        ["CMD-SHELL", "wget -qO- http://localhost/ >/dev/null || exit 1"],
        "A=1 true",
    ],
)
def test_binary_present_passes(image, test):
    result = engine.lint(definitions=[_compose(image, test)])
    assert "compose-healthcheck-binary-missing" not in {r for r, _obj in _rules(result)}


def test_image_not_local_is_not_checked():
    result = engine.lint(definitions=[_compose("goaltrajectory-probes-test/absent:0", ["CMD", "curl"])])
    assert "compose-healthcheck-binary-missing" not in {r for r, _obj in _rules(result)}


def test_image_healthcheck_satisfies_service_healthy(image, image_with_healthcheck):
    def project(db_image):
        return {
            "services": {
                "db": {"image": db_image},
                "api": {"image": image, "depends_on": {"db": {"condition": "service_healthy"}}},
            }
        }

    rule = ("compose-depends-healthy-no-healthcheck", "db")
    assert rule in _rules(engine.lint(definitions=[project(image)]))
    assert rule not in _rules(engine.lint(definitions=[project(image_with_healthcheck)]))
    # Without image checks the image's HEALTHCHECK is unknown, so the dependency is flagged.
    assert rule in _rules(engine.lint(definitions=[project(image_with_healthcheck)], check_images=False))


def test_the_compose_check_leaves_no_probe_container_behind(image, tmp_path):
    """compose_check lints the staged project with the images' files (a container created per image,
    never started): those containers are removed with the check, whether it passes or not."""
    from ansible_collections.goaltrajectory.platform.plugins.module_utils import compose_check

    def leftovers():
        ps = ["docker", "ps", "-aq", "--filter", f"ancestor={image}"]
        return subprocess.run(ps, capture_output=True, text=True, check=True).stdout.split()

    for test, fails in ((["CMD", "wget", "-q", "http://localhost/"], False), (["CMD", "curl"], True)):
        content = yaml.safe_dump(_compose(image, test))
        files = [{"path": "docker-compose.yml", "content": content}]
        args = (files, ["docker-compose.yml"], f"probes-{uuid.uuid4().hex[:6]}", {"web": image})
        if fails:
            with pytest.raises(compose_check.CheckError, match="compose-healthcheck-binary-missing"):
                compose_check.check(*args, cache_file=str(tmp_path / "cache.json"))
        else:
            assert compose_check.check(*args, cache_file=str(tmp_path / "cache.json"))["cached"] is False
        assert leftovers() == [], test
