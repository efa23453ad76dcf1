# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a build context holds, as Docker sends it: .dockerignore rules and a content digest.

:func:`manifest` lists every file the engine would receive (path, type, executable bit,
content hash, symlink target) honouring ``.dockerignore`` the way Docker's pattern matcher
does (``**``, ``*``, ``?``, character classes, ``!`` exceptions, the last matching rule
wins, a rule that matches a directory matches everything below it). :func:`digest` turns
that listing into one sha256.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat


class ContextError(ValueError):
    """A build context that cannot be read; the message names it."""


def _glob_regex(pattern: str) -> re.Pattern:
    """Docker's pattern syntax (moby/patternmatcher) as an anchored regular expression."""
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i : i + 2] == "**":
                i += 1
                if pattern[i + 1 : i + 2] == "/":
                    # `**/` also matches nothing (no directory at all).
                    out.append("(.*/)?")
                    i += 1
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out))


class Ignore:
    """The rules of one .dockerignore file."""

    def __init__(self, lines: list[str]) -> None:
        self.rules: list[tuple[bool, re.Pattern, str]] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:].strip()
            line = os.path.normpath(line).lstrip("/")
            if line in ("", "."):
                continue
            self.rules.append((negate, _glob_regex(line), line))
        self.has_exceptions = any(negate for negate, _regex, _line in self.rules)

    @classmethod
    def read(cls, context: str) -> Ignore:
        path = os.path.join(context, ".dockerignore")
        try:
            with open(path, encoding="utf-8") as handle:
                return cls(handle.read().splitlines())
        except FileNotFoundError:
            return cls([])

    def excluded(self, rel: str) -> bool:
        """Whether the engine leaves ``rel`` (a path relative to the context) out."""
        parents = []
        parts = rel.split("/")
        for n in range(1, len(parts)):
            parents.append("/".join(parts[:n]))
        result = False
        for negate, regex, _line in self.rules:
            if regex.match(rel) or any(regex.match(parent) for parent in parents):
                result = not negate
        return result


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(context: str) -> dict[str, str]:
    """Relative path -> a fingerprint of what the engine receives for it."""
    if not os.path.isdir(context):
        raise ContextError(f"build context {context} is not a directory")
    ignore = Ignore.read(context)
    files: dict[str, str] = {}
    for root, dirs, names in os.walk(context):
        rel_root = os.path.relpath(root, context)
        rel_root = "" if rel_root == "." else rel_root
        kept = []
        for name in sorted(dirs):
            rel = f"{rel_root}/{name}" if rel_root else name
            full = os.path.join(root, name)
            if os.path.islink(full):
                # os.walk does not follow it; it is a symlink entry like a file.
                names.append(name)
                continue
            if ignore.excluded(rel) and not ignore.has_exceptions:
                continue
            if not ignore.excluded(rel):
                files[rel + "/"] = "dir"
            kept.append(name)
        dirs[:] = kept
        for name in sorted(names):
            rel = f"{rel_root}/{name}" if rel_root else name
            if ignore.excluded(rel):
                continue
            full = os.path.join(root, name)
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                files[rel] = "link:" + os.readlink(full)
            elif stat.S_ISREG(info.st_mode):
                try:
                    files[rel] = f"file:{info.st_mode & 0o777:o}:{_sha256_file(full)}"
                except OSError as exc:
                    raise ContextError(f"build context {context}: cannot read {rel}: {exc}") from exc
    return dict(sorted(files.items()))


def digest(files: dict[str, str]) -> str:
    """One sha256 over a :func:`manifest`."""
    h = hashlib.sha256()
    for rel, fingerprint in files.items():
        h.update(rel.encode())
        h.update(b"\0")
        h.update(fingerprint.encode())
        h.update(b"\n")
    return h.hexdigest()


def changed_paths(before: dict[str, str], after: dict[str, str], limit: int = 10) -> list[str]:
    """Paths added, removed or changed between two manifests (at most ``limit``, then a count)."""
    paths = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    if len(paths) > limit:
        return [*paths[:limit], f"... and {len(paths) - limit} more"]
    return paths
