"""Single-layer OCI images from files on disk, pushed to a registry over its HTTP API.

The add-on images of the local cluster are one static binary (plus a few links) on an empty
base, the way ``ko`` builds Go images: a Dockerfile ``FROM scratch`` + ``COPY`` would add a
daemon dependency and nothing else. The layer is a deterministic tar (sorted entries, fixed
owner and mtime, gzip without a timestamp), so the same files always give the same digest and
a second run pushes nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import os
import re
import stat
import tarfile
import time
from pathlib import Path
from urllib.parse import urlsplit

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = "1970-01-01T00:00:00Z"


class RegistryError(Exception):
    pass


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def normalise_entries(entries: list[dict]) -> list[dict]:
    """Every entry with its parent directories, sorted by path, defaults filled in."""
    out: dict[str, dict] = {}
    for entry in entries:
        dest = "/" + entry["dest"].strip("/")
        kind = entry.get("type") or ("symlink" if entry.get("target") else ("file" if entry.get("src") else "dir"))
        default_mode = 0o755 if kind in ("dir", "file") else 0o777
        mode = entry.get("mode")
        item = {
            "dest": dest,
            "type": kind,
            "mode": int(str(mode), 8) if mode not in (None, "") else default_mode,
            "uid": int(entry.get("uid") or 0),
            "gid": int(entry.get("gid") or 0),
        }
        if kind == "file":
            item["src"] = entry["src"]
        if kind == "symlink":
            item["target"] = entry["target"]
        out[dest] = item
        parent = os.path.dirname(dest)
        while parent not in ("/", ""):
            out.setdefault(parent, {"dest": parent, "type": "dir", "mode": 0o755, "uid": 0, "gid": 0})
            parent = os.path.dirname(parent)
    return [out[k] for k in sorted(out)]


def layer_tar(entries: list[dict]) -> bytes:
    """The uncompressed layer: deterministic headers (mtime 0, numeric owners, no user names)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in normalise_entries(entries):
            info = tarfile.TarInfo(item["dest"].lstrip("/"))
            info.mtime = 0
            info.uid, info.gid = item["uid"], item["gid"]
            info.uname = info.gname = ""
            info.mode = item["mode"]
            if item["type"] == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif item["type"] == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = item["target"]
                tar.addfile(info)
            else:
                data = Path(item["src"]).read_bytes()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no name and mtime 0, so equal input gives equal bytes. Level 1: loopback, speed first."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0, filename="") as gz:
        gz.write(data)
    return out.getvalue()


def image_config(diff_id: str, config: dict) -> bytes:
    """The OCI image config: entrypoint, user, env etc. from ``config`` (Docker-style keys)."""
    keys = ("Entrypoint", "Cmd", "User", "Env", "WorkingDir", "Labels", "ExposedPorts", "StopSignal")
    body = {
        "architecture": config.get("architecture", "amd64"),
        "os": "linux",
        "created": EPOCH,
        "config": {k: config[k] for k in keys if config.get(k) not in (None, "", [], {})},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": EPOCH, "created_by": "k8s_cluster_image: single layer"}],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def manifest(config_blob: bytes, layer_blob: bytes, annotations: dict | None = None) -> bytes:
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": sha256(config_blob), "size": len(config_blob)},
        "layers": [{"mediaType": LAYER, "digest": sha256(layer_blob), "size": len(layer_blob)}],
    }
    if annotations:
        body["annotations"] = dict(sorted(annotations.items()))
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def fingerprint(entries: list[dict], config: dict, annotations: dict) -> str:
    """Cheap identity of the inputs: entry list plus each source file's size, mtime and inode."""
    items = []
    for item in normalise_entries(entries):
        if item["type"] == "file":
            st = os.stat(item["src"])
            item = {**item, "stat": [st.st_size, st.st_mtime_ns, st.st_ino]}
        items.append(item)
    raw = json.dumps({"entries": items, "config": config, "annotations": annotations}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()


class Registry:
    """The parts of the distribution API a push needs: blob and manifest HEAD, upload, manifest PUT."""

    def __init__(self, registry: str, insecure: bool = True, timeout: int = 120):
        self.host = registry
        self.scheme = "http" if insecure else "https"
        self.timeout = timeout

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        parsed = urlsplit(f"{self.scheme}://{self.host}{path}")
        conn_cls = http.client.HTTPConnection if parsed.scheme == "http" else http.client.HTTPSConnection
        conn = conn_cls(parsed.netloc, timeout=self.timeout)
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        except OSError as exc:
            raise RegistryError(f"{method} {self.scheme}://{self.host}{path}: {exc}") from exc
        finally:
            conn.close()

    def ping(self) -> None:
        status, _headers, data = self._request("GET", "/v2/")
        if status != 200:
            raise RegistryError(f"registry {self.host} answered {status} to /v2/: {data[:200]!r}")

    def has_blob(self, repo: str, digest: str) -> bool:
        status, _headers, _body = self._request("HEAD", f"/v2/{repo}/blobs/{digest}")
        return status == 200

    def manifest_digest(self, repo: str, ref: str) -> str:
        status, headers, _body = self._request("HEAD", f"/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST})
        if status != 200:
            return ""
        return {k.lower(): v for k, v in headers.items()}.get("docker-content-digest", "")

    def upload_blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        if self.has_blob(repo, digest):
            return digest
        status, headers, body = self._request("POST", f"/v2/{repo}/blobs/uploads/")
        if status != 202:
            raise RegistryError(f"starting an upload to {repo} answered {status}: {body[:200]!r}")
        location = {k.lower(): v for k, v in headers.items()}["location"]
        parsed = urlsplit(location)
        path = parsed.path + "?" + (parsed.query + "&" if parsed.query else "") + f"digest={digest}"
        status, _headers, body = self._request(
            "PUT",
            path,
            body=data,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
        )
        if status != 201:
            raise RegistryError(f"uploading {digest} to {repo} answered {status}: {body[:200]!r}")
        return digest

    def put_manifest(self, repo: str, tag: str, body: bytes) -> str:
        status, headers, data = self._request(
            "PUT", f"/v2/{repo}/manifests/{tag}", body=body, headers={"Content-Type": MANIFEST}
        )
        if status != 201:
            raise RegistryError(f"pushing the manifest {repo}:{tag} answered {status}: {data[:300]!r}")
        return {k.lower(): v for k, v in headers.items()}.get("docker-content-digest", sha256(body))


def ensure_image(
    registry: Registry,
    repo: str,
    tag: str,
    entries: list[dict],
    config: dict,
    annotations: dict,
    cache_file: str,
    check_mode: bool = False,
) -> dict:
    """Make ``<registry>/<repo>:<tag>`` hold the image of ``entries``; return its digest and whether it changed."""
    start = time.monotonic()
    fp = fingerprint(entries, config, annotations)
    cache_path = Path(cache_file)
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    registry.ping()
    result = {"repository": repo, "tag": tag, "registry": registry.host}

    if cache.get("fingerprint") == fp and cache.get("digest"):
        digest = cache["digest"]
        in_registry = registry.manifest_digest(repo, digest) == digest
        if in_registry and registry.manifest_digest(repo, tag) == digest:
            return {**result, "digest": digest, "changed": False, "seconds": round(time.monotonic() - start, 2)}

    if check_mode:
        return {**result, "digest": cache.get("digest", ""), "changed": True, "seconds": 0.0}

    raw = layer_tar(entries)
    layer = gzip_bytes(raw)
    config_blob = image_config(sha256(raw), config)
    body = manifest(config_blob, layer, annotations)
    digest = sha256(body)
    changed = registry.manifest_digest(repo, tag) != digest
    if changed:
        registry.upload_blob(repo, layer)
        registry.upload_blob(repo, config_blob)
        pushed = registry.put_manifest(repo, tag, body)
        if pushed != digest:
            raise RegistryError(f"{repo}:{tag}: registry stored {pushed}, expected {digest}")
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps({"fingerprint": fp, "digest": digest, "layer_bytes": len(layer)}) + "\n")
    os.chmod(cache_path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    return {
        **result,
        "digest": digest,
        "changed": changed,
        "layer_bytes": len(layer),
        "seconds": round(time.monotonic() - start, 2),
    }


REPO_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def unreadable(image: dict) -> list[str]:
    """``dest: cannot read src: why`` for each file entry of ``image`` whose source cannot be opened."""
    problems = []
    for entry in image["files"]:
        if entry.get("type") in (None, "file") and entry.get("src") and not entry.get("target"):
            try:
                with open(entry["src"], "rb"):
                    pass
            except OSError as exc:
                problems.append(f"{entry['dest']}: cannot read {entry['src']}: {exc}")
    return problems


def ensure_images(registry: Registry, images: list[dict], cache_dir: str, check_mode: bool = False) -> dict:
    """Push each of ``images`` (``name``, ``repository``, ``tag``, ``files`` and the config fields).

    Every name, tag and source file is checked before anything is pushed. In check mode an image
    whose files do not exist yet (before the first build) counts as changed, with no digest.
    Returns ``{name: result}`` in the given order; ``ref`` is the pull reference by digest.
    """
    problems, missing, seen = [], set(), set()
    for image in images:
        name = f"{image['repository']}:{image['tag']}"
        if image["name"] in seen:
            problems.append(f"images[{image['name']}] is given twice")
        seen.add(image["name"])
        if not REPO_RE.match(image["repository"]):
            problems.append(
                f"images[{image['name']}].repository {image['repository']!r} is not a valid repository name"
            )
        if not TAG_RE.match(image["tag"]):
            problems.append(f"images[{image['name']}].tag {image['tag']!r} is not a valid tag")
        unread = unreadable(image)
        if unread and check_mode:
            missing.add(image["name"])
        else:
            problems += [f"{name}: {p}" for p in unread]
    if problems:
        raise RegistryError("; ".join(problems))
    results = {}
    for image in images:
        tag_ref = f"{registry.host}/{image['repository']}:{image['tag']}"
        if image["name"] in missing:
            results[image["name"]] = {"digest": "", "ref": "", "tag_ref": tag_ref, "changed": True, "seconds": 0.0}
            continue
        config = {k: image[v] for k, v in (("Entrypoint", "entrypoint"), ("Cmd", "cmd"), ("User", "user"),
                                           ("Env", "env"), ("Labels", "labels"))}  # fmt: skip
        cache_file = f"{cache_dir}/{image['repository'].replace('/', '_')}_{image['tag']}.json"
        try:
            result = ensure_image(registry, image["repository"], image["tag"], image["files"], config,
                                  image["annotations"], cache_file, check_mode=check_mode)  # fmt: skip
        except (RegistryError, OSError) as exc:
            raise RegistryError(f"{image['repository']}:{image['tag']}: {exc}") from exc
        digest = result["digest"]
        result["ref"] = f"{registry.host}/{image['repository']}@{digest}" if digest else ""
        result["tag_ref"] = tag_ref
        results[image["name"]] = result
    return results
