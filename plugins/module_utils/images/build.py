# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content-keyed builds: a digest of each image's inputs decides whether `docker build` runs.

The inputs digest covers the effective Dockerfile, every file of the build context the
engine would receive (``.dockerignore`` honoured), the target, the build args and the image
IDs of the base images. It is stored on the image as the label ``org.goaltrajectory.inputs``;
when the tag already carries the digest of the current inputs, no build runs at all. A
sidecar file per image (``<work_dir>/inputs/<name>.json``) keeps the file listing of the last
build, so a run can say which files changed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import tempfile

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import context as ctx
from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import jobs as jobs_mod

INPUTS_LABEL = "org.goaltrajectory.inputs"
# Bump when the digest's recipe changes: every image is rebuilt once.
KEY_VERSION = 1


class BuildError(RuntimeError):
    """A build failed; the message names the image and ends with the build log's tail."""


def revision(app_dir: str, dockerfiles_dir: str, tag: str, version: str) -> dict:
    """The tag (``<version>-<short sha>`` unless ``tag`` is given), revision and commit time.

    The sha and time are those of the last commit touching the sources or the Dockerfiles, so
    unrelated commits rebuild nothing. Outside git: the version alone.
    """
    argv = ["git", "-C", app_dir, "log", "-1", "--format=%h %H %cI", "--", ".", os.path.realpath(dockerfiles_dir)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        fields = proc.stdout.split() if proc.returncode == 0 else []
    except FileNotFoundError:
        fields = []
    if len(fields) != 3:
        fields = []
    return {
        "tag": tag or (version + (f"-{fields[0]}" if fields else "")),
        "revision": fields[1] if fields else "unknown",
        "created": fields[2] if fields else "1970-01-01T00:00:00Z",
    }


def inputs_digest(dockerfile_text: str, context_digest: str, target: str, build_args: dict, base_ids: dict) -> str:
    doc = {
        "key": KEY_VERSION,
        "dockerfile": hashlib.sha256(dockerfile_text.encode()).hexdigest(),
        "context": context_digest,
        "target": target,
        "build_args": build_args,
        "bases": base_ids,
    }
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _labels(image: dict | None) -> dict:
    return ((image or {}).get("Config") or {}).get("Labels") or {}


def _sidecar(work_dir: str, name: str) -> dict:
    try:
        with open(os.path.join(work_dir, "inputs", f"{name}.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def write_file(path: str, content: str) -> bool:
    """Atomically write ``content`` when it differs; whether it was written."""
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == content:
                return False
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return True


def plan(jobs: list[dict], docker, *, tag: str, environment: str, work_dir: str) -> list[dict]:
    """Each job with its inputs digest, the image its tag has now and what must happen to it.

    ``action``: ``unchanged`` (the tag carries this digest and the environment tag points at
    it), ``retag`` (only the environment tag is off) or ``build``; ``reasons`` says why.
    """
    refs = [f"{job['ref']}:{tag}" for job in jobs] + [f"{job['ref']}:{environment}" for job in jobs]
    bases = sorted({b for job in jobs for b in job["bases"]} | {job["runtime_base"] for job in jobs})
    found = docker.inspect(refs + bases)
    planned = []
    for job in jobs:
        text = jobs_mod.effective_dockerfile(job)
        files = ctx.manifest(job["context"])
        context_digest = ctx.digest(files)
        base_ids = {ref: (found.get(ref) or {}).get("Id", f"absent:{ref}") for ref in job["bases"]}
        digest = inputs_digest(text, context_digest, job["target"], job["build_args"], base_ids)
        ref = f"{job['ref']}:{tag}"
        env_ref = f"{job['ref']}:{environment}"
        current = found.get(ref)
        current_digest = _labels(current).get(INPUTS_LABEL, "")
        reasons = []
        if current is None:
            reasons.append(f"no image tagged {ref}")
        elif current_digest != digest:
            before = _sidecar(work_dir, job["name"])
            if before.get("digest") == current_digest and before:
                if before.get("dockerfile") != hashlib.sha256(text.encode()).hexdigest():
                    reasons.append("Dockerfile changed")
                changed = ctx.changed_paths(before.get("files", {}), files)
                if changed:
                    reasons.append("context files changed: " + ", ".join(changed))
                if before.get("build_args") != job["build_args"]:
                    keys = sorted(
                        k
                        for k in set(before.get("build_args", {})) | set(job["build_args"])
                        if before.get("build_args", {}).get(k) != job["build_args"].get(k)
                    )
                    reasons.append("build args changed: " + ", ".join(keys))
                if before.get("base_ids") != base_ids:
                    reasons.append("base image changed")
            if not reasons:
                reasons.append(
                    f"inputs digest {digest[:19]} differs from the image's {current_digest[:19] or '(none)'}"
                )
        action = "build" if reasons else "unchanged"
        env_image = found.get(env_ref)
        if action == "unchanged" and (env_image or {}).get("Id") != current["Id"]:
            action = "retag"
            reasons.append(f"{env_ref} does not point at {ref}")
        planned.append(
            {
                **job,
                "tag_ref": ref,
                "tags": [ref, env_ref],
                "dockerfile_text": text,
                "files": files,
                "context_digest": context_digest,
                "base_ids": base_ids,
                "inputs_digest": digest,
                "image": current,
                "previous_id": (current or {}).get("Id", ""),
                "previous_inputs_digest": current_digest,
                "action": action,
                "reasons": reasons,
            }
        )
    return planned


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def execute(item: dict, docker, builder: dict, *, work_dir: str, ca_bundle: str) -> dict:
    """Build (or retag) one planned job; its result (raises BuildError when the build fails)."""
    started = _now()
    seconds = 0.0
    effective_path = os.path.join(work_dir, "dockerfiles", f"{item['name']}.Dockerfile")
    write_file(effective_path, item["dockerfile_text"])
    if item["action"] == "build":
        argv = ["--file", effective_path, "--tag", item["tag_ref"], "--target", item["target"]]
        argv += [f"--build-arg={k}={v}" for k, v in item["build_args"].items()]
        argv += [f"--label={INPUTS_LABEL}={item['inputs_digest']}"]
        if ca_bundle:
            argv += ["--secret", f"id=build_ca,src={ca_bundle}"]
        argv.append(item["context"])
        log_path = os.path.join(work_dir, "logs", f"{item['name']}.log")
        outcome = docker.build(builder, argv, log_path)
        seconds = outcome["seconds"]
        if outcome["rc"] != 0:
            raise BuildError(
                f"building {item['tag_ref']} (service {item['service']}, target {item['target']}) failed after "
                f"{seconds} s; full log {log_path}; its end:\n{outcome['log_tail']}"
            )
    image = docker.inspect([item["tag_ref"]]).get(item["tag_ref"])
    if image is None:
        raise BuildError(f"{item['tag_ref']}: no such image after the build")
    for extra in item["tags"][1:]:
        docker.tag(item["tag_ref"], extra)
    sidecar = {
        "digest": item["inputs_digest"],
        "dockerfile": hashlib.sha256(item["dockerfile_text"].encode()).hexdigest(),
        "build_args": item["build_args"],
        "base_ids": item["base_ids"],
        "files": item["files"],
    }
    write_file(os.path.join(work_dir, "inputs", f"{item['name']}.json"), json.dumps(sidecar, indent=1) + "\n")
    return summary(item, image, started=started, finished=_now(), seconds=seconds, dockerfile=effective_path)


def summary(
    item: dict, image: dict | None, *, started: str = "", finished: str = "", seconds: float = 0.0, dockerfile: str = ""
) -> dict:
    """What the module returns and the results file records about one image."""
    image = image or {}
    return {
        "name": item["name"],
        "service": item["service"],
        "dev": item["dev"],
        "ref": item["tag_ref"],
        "tags": item["tags"],
        "id": image.get("Id", ""),
        "previous_id": item["previous_id"],
        "inputs_digest": item["inputs_digest"],
        "action": item["action"],
        "reasons": item["reasons"],
        "rebuilt": item["action"] == "build" and image.get("Id", "") != item["previous_id"],
        "context": item["context"],
        "dockerfile": dockerfile or os.path.join("<work_dir>", "dockerfiles", f"{item['name']}.Dockerfile"),
        "target": item["target"],
        "build_args": item["build_args"],
        "base": item["runtime_base"],
        "budget_mb": item["budget_mb"],
        "distroless": item.get("distroless", False),
        "size": image.get("Size", 0),
        "labels": _labels(image),
        "started": started,
        "finished": finished,
        "seconds": seconds,
    }
