# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An image's filesystem read from the host: `docker save` streamed through tarfile.

Nothing runs inside the image (it needs no shell: distroless images work), and nothing is
created in the engine. The layers are applied in order with their whiteouts, giving the
final tree: every path's type, mode and link target, and the bytes of the few files asked
for (``/etc/passwd``, the SBOM).
"""

from __future__ import annotations

import json
import posixpath
import tarfile

OPAQUE = ".wh..wh..opq"
WHITEOUT = ".wh."


class ImageFsError(ValueError):
    """The saved image cannot be read; the message says why."""


def _norm(name: str) -> str:
    name = posixpath.normpath("/" + name.lstrip("./").lstrip("/"))
    return "/" if name in ("/.", "//") else name


class Layer:
    """One layer's entries, whiteouts and wanted contents."""

    def __init__(self) -> None:
        self.entries: dict[str, dict] = {}
        self.removed: list[str] = []
        self.opaque: list[str] = []
        self.contents: dict[str, bytes] = {}

    @classmethod
    def read(cls, fileobj, wanted: set[str]) -> Layer:
        layer = cls()
        with tarfile.open(fileobj=fileobj, mode="r|*") as tar:
            for member in tar:
                path = _norm(member.name)
                base = posixpath.basename(path)
                parent = posixpath.dirname(path)
                if base == OPAQUE:
                    layer.opaque.append(parent)
                    continue
                if base.startswith(WHITEOUT):
                    layer.removed.append(posixpath.join(parent, base[len(WHITEOUT) :]))
                    continue
                kind = "d" if member.isdir() else "l" if member.issym() else "h" if member.islnk() else "f"
                entry = {"type": kind, "mode": member.mode, "size": member.size}
                if kind in ("l", "h"):
                    entry["link"] = member.linkname
                layer.entries[path] = entry
                if kind == "f" and path in wanted:
                    layer.contents[path] = tar.extractfile(member).read()
        return layer


class Tree:
    """The image's final filesystem."""

    def __init__(self) -> None:
        self.entries: dict[str, dict] = {"/": {"type": "d", "mode": 0o755}}
        self.contents: dict[str, bytes] = {}

    def _drop_below(self, directory: str, keep_dir: bool) -> None:
        prefix = directory.rstrip("/") + "/"
        for path in [p for p in self.entries if p.startswith(prefix) or (not keep_dir and p == directory)]:
            self.entries.pop(path, None)
            self.contents.pop(path, None)

    def apply(self, layer: Layer) -> None:
        for directory in layer.opaque:
            self._drop_below(directory, keep_dir=True)
        for path in layer.removed:
            self._drop_below(path, keep_dir=False)
        for path, entry in layer.entries.items():
            old = self.entries.get(path)
            if old and old["type"] == "d" and entry["type"] != "d":
                self._drop_below(path, keep_dir=False)
            self.entries[path] = entry
            if path in layer.contents:
                self.contents[path] = layer.contents[path]
            elif entry["type"] != "h":
                self.contents.pop(path, None)

    def resolve(self, path: str, hops: int = 0) -> str | None:
        """``path`` with every symlink resolved (inside the image), or None when it is dangling."""
        if hops > 40:
            return None
        parts = [p for p in _norm(path).split("/") if p]
        current = "/"
        for i, part in enumerate(parts):
            candidate = posixpath.join(current, part)
            entry = self.entries.get(candidate)
            if entry is None:
                if i == len(parts) - 1:
                    return None
                # Layers may omit parent directory entries: a missing one is a plain directory.
                current = candidate
                continue
            if entry["type"] == "l":
                target = entry["link"]
                target = target if target.startswith("/") else posixpath.join(current, target)
                resolved = self.resolve(target, hops + 1)
                if resolved is None:
                    return None
                rest = "/".join(parts[i + 1 :])
                return self.resolve(posixpath.join(resolved, rest), hops + 1) if rest else resolved
            if entry["type"] == "h":
                candidate = _norm(entry["link"])
            current = candidate
        return current

    def entry(self, path: str) -> dict | None:
        resolved = self.resolve(path)
        return self.entries.get(resolved) if resolved else None

    def is_executable(self, path: str) -> bool:
        entry = self.entry(path)
        return bool(entry and entry["type"] in ("f", "h") and entry["mode"] & 0o111)

    def children(self, directory: str) -> list[str]:
        resolved = self.resolve(directory)
        if not resolved or (self.entries.get(resolved) or {}).get("type") != "d":
            return []
        prefix = resolved.rstrip("/") + "/"
        return sorted({p[len(prefix) :].split("/")[0] for p in self.entries if p.startswith(prefix) and p != prefix})

    def read(self, path: str) -> bytes | None:
        resolved = self.resolve(path)
        if resolved is None:
            return None
        entry = self.entries.get(resolved) or {}
        if entry.get("type") == "h":
            resolved = _norm(entry["link"])
        return self.contents.get(resolved)


def _layer_members(manifest: list[dict]) -> list[str]:
    if not manifest or "Layers" not in manifest[0]:
        raise ImageFsError("docker save output has no manifest.json with Layers")
    return manifest[0]["Layers"]


def read_saved(stream, wanted: set[str]) -> Tree:
    """The final tree of the image in a `docker save` stream (legacy or OCI layout)."""
    layers: dict[str, Layer] = {}
    aliases: dict[str, str] = {}
    manifest = None
    with tarfile.open(fileobj=stream, mode="r|") as outer:
        for member in outer:
            if member.issym() and member.name.endswith("/layer.tar"):
                # The legacy layout links a layer seen before instead of storing it twice.
                target = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
                aliases[member.name] = target
                continue
            if not member.isfile():
                continue
            name = member.name
            if name == "manifest.json":
                manifest = json.loads(outer.extractfile(member).read())
            elif name.endswith("/layer.tar") or name.startswith("blobs/"):
                data = outer.extractfile(member)
                try:
                    layers[name] = Layer.read(data, {_norm(w) for w in wanted})
                except tarfile.TarError:
                    # OCI layouts keep configs and manifests among the blobs too.
                    continue
    tree = Tree()
    for name in _layer_members(manifest or []):
        name = aliases.get(name, name)
        if name not in layers:
            raise ImageFsError(f"docker save output lacks the layer {name}")
        tree.apply(layers[name])
    return tree
