"""The collection tarball: what a user gets, installed into an empty collections path and used.

Builds with ansible-galaxy, checks the members (no molecule, tests, bench or vault password),
installs it offline (--no-deps: community.docker and kubernetes.core come with the `ansible`
package) and runs the render-only prod play from the installed copy, with the test vault passed
explicitly (no default vault identity anywhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from ..conftest import release_digests

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
VAULT = ROOT / "molecule" / "k8s" / "vault-pass.txt"
RELEASE = release_digests("c")
DIGESTS = RELEASE["k8s_images"]


def run(argv, cwd, env=None):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    result = run([BIN / "ansible-galaxy", "collection", "build", "--output-path", str(out), str(ROOT)], cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = out.glob("goaltrajectory-platform-*.tar.gz")
    return path


def test_tarball_holds_what_users_need_and_nothing_else(tarball):
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    for needed in ("roles/catalog/defaults/main.yml", "plugins/filter/catalog.py", "plugins/modules/file_tree.py",
                   "deploy.yml", "playbooks/k8s.yml", "docker/backend/Dockerfile", "app/backend/requirements.txt",
                   "inventories/prod/group_vars/clusters/main.yml", "MANIFEST.json"):  # fmt: skip
        assert needed in names, needed
    for banned in ("molecule", "tests", "bench", "Makefile", "ansible.cfg"):
        assert not any(n == banned or n.startswith(banned + "/") for n in names), banned
    assert not any(n.endswith("vault-pass.txt") for n in names)
    assert not any("/node_modules/" in n or "/.venv/" in n for n in names)


def test_installed_copy_renders_prod_with_the_vault_passed_explicitly(tarball, tmp_path):
    collections = tmp_path / "collections"
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")  # no vault identity, no roles path: nothing from the checkout
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(collections),
               ANSIBLE_FORCE_COLOR="0", PATH=f"{BIN}:{env.get('PATH', '')}")  # fmt: skip
    install = run([BIN / "ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", str(collections),
                   str(tarball)], cwd=tmp_path, env=env)  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    installed = collections / "ansible_collections" / "goaltrajectory" / "platform"
    assert (installed / "deploy.yml").is_file(), install.stdout
    argv = [BIN / "ansible-playbook", str(installed / "deploy.yml"), "-i", str(installed / "inventories/prod"),
            "-e", "k8s_apply=false", "-e", f"k8s_output_dir={tmp_path / 'out'}",
            "-e", yaml.safe_dump(RELEASE, default_flow_style=True).strip(),
            "-e", f"ansible_python_interpreter={sys.executable}"]  # fmt: skip
    without_vault = run(argv, cwd=tmp_path, env=env)
    assert without_vault.returncode != 0, "the prod secrets must not decrypt without a vault password"
    result = run([*argv, "--vault-id", f"test@{VAULT}"], cwd=tmp_path, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    files = sorted((tmp_path / "out" / "prod" / "k8s").rglob("*.yaml"))
    assert len(files) == 29
    backend = yaml.safe_load((tmp_path / "out/prod/k8s/backend/deployment.yaml").read_text())
    assert backend["spec"]["template"]["spec"]["containers"][0]["image"] == DIGESTS["backend"]
    assert str(ROOT) not in output, "the play used files of the checkout instead of the installed copy"
