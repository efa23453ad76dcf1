"""Seed ansible-test's pip bootstrap script from PyPI, so `ansible-test sanity` runs offline.

Every sanity test that needs Python packages runs in a fresh virtual environment that
ansible-test creates without pip, then bootstraps pip into it with the get-pip script it
downloads from https://ci-files.testing.ansible.com/ansible-test/get-pip-<version>.py and
caches as ~/.ansible/test/cache/get_pip_<version>.py. Where that host is unreachable, its
error message says to save the script at that path by hand; this does that, building the
script from the pip wheel on PyPI, as pypa's get-pip.py does: the wheel rides in the script,
which installs pip from it (plus the arguments it is given) into the running interpreter.
The sanity tests' own requirements then come from PyPI, pinned by ansible-test.

Idempotent: an existing script at that path (this one's or the real one) is left alone.
"""

from __future__ import annotations

import base64
import os
import pathlib
import subprocess
import sys
import tempfile

from ansible_test._internal.python_requirements import get_venv_packages

TEMPLATE = '''\
"""Stand-in for ansible-test's get-pip-{version}.py, written by {writer}.

pip {version} from PyPI ({wheel}) rides below; like pypa's get-pip.py this puts it on
sys.path and runs `pip install --upgrade --force-reinstall <arguments> pip`.
"""

import argparse
import base64
import os
import sys
import tempfile

DATA = """
{data}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-setuptools", action="store_true")
    parser.add_argument("--no-wheel", action="store_true")
    known, args = parser.parse_known_args()
    packages = ["pip"]
    if not known.no_setuptools:
        packages.append("setuptools")
    if not known.no_wheel:
        packages.append("wheel")
    with tempfile.TemporaryDirectory() as tmpdir:
        wheel = os.path.join(tmpdir, "{wheel}")
        with open(wheel, "wb") as stream:
            stream.write(base64.b85decode(DATA.replace("\\n", "")))
        sys.path.insert(0, wheel)
        from pip._internal.cli.main import main as pip_main

        sys.exit(pip_main(["install", "--upgrade", "--force-reinstall", *args, *packages]))


if __name__ == "__main__":
    main()
'''


def cache_path(pip_version: str) -> pathlib.Path:
    """Where ansible-test looks for its pip bootstrap script (ansible_test/_util/target/setup/requirements.py)."""
    return pathlib.Path(os.path.expanduser(f"~/.ansible/test/cache/get_pip_{pip_version.replace('.', '_')}.py"))


def main() -> int:
    """Write the bootstrap script for the pip version the installed ansible-test pins, unless it is there."""
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    pip_version = get_venv_packages(type("Python", (), {"version": python_version})())["pip"]
    target = cache_path(pip_version)

    if target.is_file() and target.stat().st_size:
        print(f"ansible-test pip {pip_version} bootstrap: {target} (already there)")
        return 0

    target.parent.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmpdir:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                tmpdir,
                f"pip=={pip_version}",
            ],
            check=True,
        )
        wheels = list(pathlib.Path(tmpdir).glob(f"pip-{pip_version}-*.whl"))

        if len(wheels) != 1:
            print(f"expected one pip {pip_version} wheel, got {[w.name for w in wheels]}", file=sys.stderr)
            return 1

        encoded = base64.b85encode(wheels[0].read_bytes()).decode("ascii")
        data = "\n".join(encoded[i : i + 100] for i in range(0, len(encoded), 100))
        script = TEMPLATE.format(
            version=pip_version, writer="tests/sanity/seed_get_pip.py", wheel=wheels[0].name, data=data
        )

    partial = target.with_name(target.name + ".seed")
    partial.write_text(script, encoding="utf-8")
    partial.replace(target)
    print(f"ansible-test pip {pip_version} bootstrap: {target} (written from {wheels[0].name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
