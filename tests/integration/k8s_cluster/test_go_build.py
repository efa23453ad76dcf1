"""module_utils.k8s_cluster.gobuild with the real Go toolchain on the role's own tools module (offline)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_cluster import gobuild

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / "roles/k8s_cluster/files/tools"
GO = "/usr/local/go/bin/go"
# The role's Go caches: warm after molecule/k8s_cluster, so this costs seconds.
CACHE = "/var/cache/k8s-cluster/go"


def tools(source: Path) -> gobuild.Component:
    return gobuild.Component(
        name="tools",
        version="v0.1.0",
        source_dir=str(source),
        packages={"pause": "k8s-cluster.local/tools/cmd/pause", "toolbox": "k8s-cluster.local/tools/cmd/toolbox"},
    )


@pytest.fixture()
def builder(tmp_path):
    assert Path(GO).exists(), f"Go is needed at {GO} (k8s_cluster_go)"
    return gobuild.Builder(GO, CACHE, str(tmp_path / "log/tools.log"))


def test_builds_static_binaries_once_and_then_finds_them_current(builder, tmp_path):
    dest = tmp_path / "opt/tools/v0.1.0"
    first = builder.build(tools(TOOLS), str(dest), str(tmp_path / "work"))
    assert first["built"] is True
    assert set(first["binaries"]) == {"pause", "toolbox"}
    assert subprocess.run([str(dest / "pause"), "-v"], capture_output=True, text=True, check=True).stdout.startswith(
        "pause"
    )
    assert (
        "statically linked"
        in subprocess.run(["file", str(dest / "toolbox")], capture_output=True, text=True, check=True).stdout
    )
    assert gobuild.status(tools(TOOLS), str(dest), builder.go_version())["current"]
    second = builder.build(tools(TOOLS), str(dest), str(tmp_path / "work"))
    assert second["built"] is False
    log = (tmp_path / "log/tools.log").read_text()
    assert "== " in log and "build: " in log and "done in" in log


def test_a_compile_error_fails_with_the_compilers_message(builder, tmp_path):
    broken = tmp_path / "tools"
    shutil.copytree(TOOLS, broken)
    main = broken / "cmd/pause/main.go"
    main.write_text(main.read_text().replace("func main() {", "func main() {\n\tundefinedCall()"))
    with pytest.raises(gobuild.BuildError) as err:
        builder.build(tools(broken), str(tmp_path / "opt/tools/v0.1.0"), str(tmp_path / "work"))
    assert err.value.phase == "build"
    assert "undefined: undefinedCall" in err.value.log_tail
    assert not (tmp_path / "opt/tools/v0.1.0").exists()
