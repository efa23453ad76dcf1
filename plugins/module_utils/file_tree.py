# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make a directory hold exactly a set of rendered files, writing only what differs.

Used by the compose and k8s roles through the ``file_tree`` module: one call writes a
whole rendered tree (instead of a template task per file), reports which files changed
with a diff per file, removes files that are no longer rendered, and in check mode only
reports.  Writes are atomic (temporary file, then rename).  ``ensure_directories`` does the
same for a set of directories and their modes (the ``directories`` module).

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from dataclasses import dataclass, field


class TreeFileError(ValueError):
    """A file entry that cannot be written; the message names it."""


@dataclass
class Result:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    diffs: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _meta(path: str) -> tuple[int, int, int] | None:
    """(mode, uid, gid) of a file, None when absent."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mode & 0o7777, st.st_uid, st.st_gid


def _atomic_write(path: str, content: str, mode: int, owner: int | None = None, group: int | None = None) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        if owner is not None or group is not None:
            os.chown(tmp, -1 if owner is None else owner, -1 if group is None else group)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _file_mode(value, default: int) -> int:
    """A mode given as an octal string ("0600") or a number; nothing means the default."""
    if value in (None, ""):
        return default
    return int(value, 8) if isinstance(value, str) else int(value)


def _relative(path: str) -> str:
    norm = os.path.normpath(path)
    if os.path.isabs(path) or norm.startswith(".."):
        raise TreeFileError(f"files[].path {path!r} must be relative and stay inside dest")
    return norm


def sync(
    dest: str,
    files: list[dict],
    mode: int = 0o644,
    dir_mode: int = 0o755,
    prune: bool = False,
    prune_patterns: tuple[str, ...] = ("*.yaml", "*.yml"),
    check: bool = False,
    diff: bool = False,
    secret: bool = False,
    owner: int | None = None,
    group: int | None = None,
) -> Result:
    """Write ``files`` (path relative to dest, content, optional mode) into ``dest``.

    ``secret``: contents never appear in diffs (only that the file changed). ``owner`` and
    ``group`` (numeric ids) own the files written; None leaves them to the writer.
    """
    result = Result()
    wanted = {}
    for item in files:
        rel = _relative(item["path"])
        if rel in wanted:
            raise TreeFileError(f"files[].path {rel!r} is given twice")
        wanted[rel] = item
    if not check:
        os.makedirs(dest, mode=dir_mode, exist_ok=True)
    for rel, item in wanted.items():
        path = os.path.join(dest, rel)
        content = item["content"]
        file_mode = _file_mode(item.get("mode"), mode)
        before = _read(path)
        meta = _meta(path)
        same_owner = meta is not None and (owner is None or meta[1] == owner) and (group is None or meta[2] == group)
        if before == content and meta is not None and meta[0] == file_mode and same_owner:
            result.unchanged.append(rel)
            continue
        result.written.append(rel)
        if diff:
            hidden = "(secret content hidden)\n"
            result.diffs.append(
                {
                    "before_header": path if before is not None else "(absent)",
                    "after_header": path,
                    "before": (hidden if secret and before is not None else before) or "",
                    "after": hidden if secret else content,
                }
            )
        if not check:
            os.makedirs(os.path.dirname(path), mode=dir_mode, exist_ok=True)
            _atomic_write(path, content, file_mode, owner, group)
    if prune and os.path.isdir(dest):
        for root, _dirs, names in os.walk(dest):
            for name in names:
                rel = os.path.relpath(os.path.join(root, name), dest)
                if rel in wanted or not any(fnmatch.fnmatch(name, p) for p in prune_patterns):
                    continue
                result.removed.append(rel)
                if diff:
                    result.diffs.append(
                        {
                            "before_header": os.path.join(dest, rel),
                            "after_header": "(removed)",
                            "before": "",
                            "after": "",
                        }
                    )
                if not check:
                    os.unlink(os.path.join(dest, rel))
    return result


@dataclass
class DirResult:
    created: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    diffs: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.fixed)


def _describe(meta: tuple[int, int, int] | None) -> str:
    return "state: absent\n" if meta is None else f"mode: {meta[0]:04o}\nowner: {meta[1]}\ngroup: {meta[2]}\n"


def ensure_directories(
    entries: list[dict],
    owner: int | None = None,
    group: int | None = None,
    check: bool = False,
) -> DirResult:
    """Make each ``{path, mode}`` a directory with that mode (and owner/group when given).

    Every path is checked (absolute, not an existing non-directory) before anything is
    changed. Missing parents get the default mode, as with ``mkdir -p``.
    """
    result = DirResult()
    wanted = []
    for item in entries:
        path = item.get("path") or ""
        if not os.path.isabs(path):
            raise TreeFileError(f"paths[].path {path!r} must be absolute")
        if os.path.exists(path) and not os.path.isdir(path):
            raise TreeFileError(f"paths[].path {path!r} exists and is not a directory")
        wanted.append((os.path.normpath(path), _file_mode(item.get("mode"), 0o755)))
    for path, mode in wanted:
        meta = _meta(path)
        uid = owner if owner is not None else (meta[1] if meta else os.geteuid())
        gid = group if group is not None else (meta[2] if meta else os.getegid())
        if meta == (mode, uid, gid):
            continue
        (result.created if meta is None else result.fixed).append(path)
        result.diffs.append(
            {
                "before_header": path,
                "after_header": path,
                "before": _describe(meta),
                "after": _describe((mode, uid, gid)),
            }
        )
        if check:
            continue
        os.makedirs(path, mode=mode, exist_ok=True)
        os.chmod(path, mode)
        if owner is not None or group is not None:
            os.chown(path, uid, gid)
    return result
