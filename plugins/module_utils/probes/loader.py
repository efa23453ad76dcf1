# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read inputs: expand paths, parse multi-document YAML, sort documents into Kubernetes
objects and Compose projects, and merge Compose override files the way Compose does."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

import yaml

from .findings import Finding

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

COMPOSE_BASES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
YAML_SUFFIXES = (".yaml", ".yml")
# Kinds that carry no runtime object (kustomize/helm plumbing).
IGNORED_KINDS = frozenset({"Kustomization", "Component"})


class Reset:
    """Compose ``!reset``: drop the value inherited from earlier files."""

    def __init__(self, value=None):
        self.value = value


class Override:
    """Compose ``!override``: replace the inherited value instead of merging."""

    def __init__(self, value):
        self.value = value


class _Loader(_Base):  # type: ignore[misc,valid-type]
    pass


def _reset(loader, node):
    return Reset()


def _override(loader, node):
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))


_Loader.add_constructor("!reset", _reset)
_Loader.add_constructor("!override", _override)


@dataclass
class K8sObject:
    """A Kubernetes object with where it came from."""

    file: str
    line: int
    data: dict

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def metadata(self) -> dict:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", "") or self.metadata.get("generateName", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "default")

    @property
    def ident(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass
class ComposeProject:
    """One Compose project after merging its files in order."""

    files: list[str]
    data: dict
    # service -> top-level service key -> file that last set it
    origins: dict = field(default_factory=dict)
    # service -> line of its key in the file that first declared it
    lines: dict = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.files[0] if self.files else "<inline>"

    @property
    def services(self) -> dict:
        services = self.data.get("services")
        return services if isinstance(services, dict) else {}

    def file_of(self, service: str, key: str = "") -> str:
        origin = self.origins.get(service, {})
        return origin.get(key) or origin.get("") or self.file


@dataclass
class Inputs:
    objects: list[K8sObject] = field(default_factory=list)
    projects: list[ComposeProject] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _finding(rule, severity, file, message, line=0, obj="", fld=""):
    return Finding(
        rule=rule, severity=severity, file=file, object=obj, container="", field=fld, message=message, line=line
    )


def expand_paths(paths: list[str], base_dir: str = "") -> tuple[list[str], list[Finding]]:
    """Files, directories (recursive, *.yaml/*.yml) and globs -> ordered unique file list."""
    files: list[str] = []
    findings: list[Finding] = []
    for raw in paths:
        path = os.path.join(base_dir, raw) if base_dir and not os.path.isabs(raw) else raw
        if any(ch in raw for ch in "*?["):
            matches = sorted(glob.glob(path, recursive=True))
            candidates = [m for m in matches if os.path.isfile(m)]
            for m in matches:
                if os.path.isdir(m):
                    candidates.extend(_walk(m))
        elif os.path.isdir(path):
            candidates = _walk(path)
        elif os.path.isfile(path):
            candidates = [path]
        else:
            candidates = []
        if not candidates:
            findings.append(_finding("input-missing", "error", raw, f"{raw!r} matches no readable YAML file"))
        for candidate in candidates:
            if candidate not in files:
                files.append(candidate)
    return files, findings


def _walk(directory: str) -> list[str]:
    found = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(YAML_SUFFIXES))
    return found


def parse_documents(text: str, file: str) -> tuple[list[tuple[int, object, dict]], list[Finding]]:
    """Parse every YAML document; return (line, data, service_lines) triples and parse findings."""
    docs = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            service_lines = _service_lines(node)
            docs.append((line, loader.construct_document(node), service_lines))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return docs, [_finding("yaml-invalid", "error", file, f"YAML does not parse: {problem}", line=line)]
    finally:
        loader.dispose()
    return docs, []


def _service_lines(node) -> dict:
    if not isinstance(node, yaml.MappingNode):
        return {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "services" and isinstance(value, yaml.MappingNode):
            return {k.value: k.start_mark.line + 1 for k, _ in value.value if isinstance(k, yaml.ScalarNode)}
    return {}


def is_k8s(doc: object) -> bool:
    return isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc


def is_compose(doc: object) -> bool:
    return isinstance(doc, dict) and "kind" not in doc and isinstance(doc.get("services"), dict)


def load(
    paths: list[str] | None = None,
    definitions: list | None = None,
    compose_projects: list[list[str]] | None = None,
    base_dir: str = "",
    environ: dict | None = None,
) -> Inputs:
    """Load every input and return Kubernetes objects, merged Compose projects and input findings."""
    inputs = Inputs()
    files, missing = expand_paths(list(paths or []), base_dir)
    inputs.findings.extend(missing)
    compose_docs: dict[str, tuple[dict, dict]] = {}

    for file in files:
        try:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            inputs.findings.append(_finding("input-missing", "error", file, f"cannot read {file}: {exc}"))
            continue
        docs, errors = parse_documents(text, file)
        inputs.findings.extend(errors)
        for line, doc, service_lines in docs:
            _classify(inputs, file, line, doc, service_lines, compose_docs)

    for file in list(compose_docs):
        for extra in sibling_overrides(file):
            if extra not in compose_docs and extra not in files:
                _load_compose_file(extra, inputs, compose_docs)

    for index, definition in enumerate(definitions or []):
        where = f"<definitions[{index}]>"
        if isinstance(definition, str):
            docs, errors = parse_documents(definition, where)
            inputs.findings.extend(errors)
            for line, doc, service_lines in docs:
                _classify(inputs, where, line, doc, service_lines, compose_docs)
        else:
            _classify(inputs, where, 0, definition, {}, compose_docs)

    explicit: set[str] = set()
    for group in compose_projects or []:
        group_files, group_missing = expand_paths(list(group), base_dir)
        inputs.findings.extend(group_missing)
        layers = []
        for file in group_files:
            explicit.add(file)
            if file not in compose_docs:
                _load_compose_file(file, inputs, compose_docs)
            if file in compose_docs:
                layers.append(file)
        if layers:
            inputs.projects.append(merge_project(layers, compose_docs, environ))

    for group in _auto_groups([f for f in compose_docs if f not in explicit]):
        inputs.projects.append(merge_project(group, compose_docs, environ))
    return inputs


def _load_compose_file(file, inputs, compose_docs):
    try:
        with open(file, encoding="utf-8") as handle:
            docs, errors = parse_documents(handle.read(), file)
    except (OSError, UnicodeDecodeError) as exc:
        inputs.findings.append(_finding("input-missing", "error", file, f"cannot read {file}: {exc}"))
        return
    inputs.findings.extend(errors)
    for _line, doc, service_lines in docs:
        if isinstance(doc, dict) and "kind" not in doc:
            compose_docs[file] = (doc, service_lines)
            return
    inputs.findings.append(_finding("schema-invalid", "error", file, "not a Compose file (no services mapping)"))


def _classify(inputs, file, line, doc, service_lines, compose_docs):
    if doc is None:
        return
    if is_k8s(doc):
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                _classify(inputs, file, line, item, {}, compose_docs)
            return
        if doc.get("kind") not in IGNORED_KINDS:
            inputs.objects.append(K8sObject(file=file, line=line, data=doc))
        return
    if is_compose(doc):
        key = file
        suffix = 1
        while key in compose_docs:  # several Compose documents in one file or inline
            suffix += 1
            key = f"{file}#{suffix}"
        compose_docs[key] = (doc, service_lines)
        return
    if isinstance(doc, dict) and ("kind" in doc or "apiVersion" in doc):
        missing = "apiVersion" if "kind" in doc else "kind"
        inputs.findings.append(
            _finding("schema-invalid", "error", file, f"Kubernetes object has no {missing}", line=line)
        )
        return
    if isinstance(doc, dict) and "services" in doc:
        inputs.findings.append(
            _finding("schema-invalid", "error", file, "Compose 'services' must be a mapping", line=line, fld="services")
        )
        return
    inputs.findings.append(
        _finding(
            "document-unrecognized",
            "info",
            file,
            "document is neither a Kubernetes object nor a Compose file; not checked",
            line=line,
        )
    )


def _override_base(file: str) -> str | None:
    directory, name = os.path.split(file.split("#", 1)[0])
    match = re.match(r"^(.*)\.override\.(ya?ml)$", name)
    return os.path.join(directory, match.group(1)) if match else None


def _auto_groups(files: list[str]) -> list[list[str]]:
    """Pair ``X.override.yaml`` with ``X.yaml``/``X.yml`` in the same directory, as Compose does."""
    groups: list[list[str]] = []
    by_stem: dict[str, list[str]] = {}
    overrides = []
    for file in files:
        stem = _override_base(file)
        if stem is not None:
            overrides.append((stem, file))
            continue
        group = [file]
        groups.append(group)
        plain = file.split("#", 1)[0]
        by_stem.setdefault(os.path.splitext(plain)[0], group)
    for stem, file in overrides:
        if stem in by_stem:
            by_stem[stem].append(file)
        else:
            groups.append([file])
    return groups


def sibling_overrides(file: str) -> list[str]:
    """Override files Compose would read next to a base file it discovered by itself."""
    directory, name = os.path.split(file)
    if name not in COMPOSE_BASES:
        return []
    stem = os.path.splitext(name)[0]
    return [
        os.path.join(directory, f"{stem}.override{ext}")
        for ext in YAML_SUFFIXES
        if os.path.isfile(os.path.join(directory, f"{stem}.override{ext}"))
    ][:1]


# --- interpolation -------------------------------------------------------------------------

_VAR = re.compile(r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.S)


def read_env_file(path: str) -> dict:
    env = {}
    if not os.path.isfile(path):
        return env
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            key = key.removeprefix("export ").strip()
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key] = value
    return env


def interpolate(value, env: dict):
    """Compose variable substitution on every string: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:+a}, $$."""
    if isinstance(value, str):
        if "$" not in value:
            return value
        return _VAR.sub(lambda m: _substitute(m, env), value)
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, Override):
        return Override(interpolate(value.value, env))
    return value


def _substitute(match, env):
    text = match.group(0)
    if text == "$$":
        return "$"
    if match.group("plain"):
        return env.get(match.group("plain"), "")
    parsed = _BRACED.match(match.group("braced") or "")
    if not parsed:
        return text
    name, op, arg = parsed.group("name"), parsed.group("op"), parsed.group("arg") or ""
    present = name in env
    value = env.get(name, "")
    if op == ":-":
        return value if value else interpolate(arg, env)
    if op == "-":
        return value if present else interpolate(arg, env)
    if op == ":+":
        return interpolate(arg, env) if value else ""
    if op == "+":
        return interpolate(arg, env) if present else ""
    return value  # plain ${VAR}, ${VAR:?err}, ${VAR?err}


# --- merging -------------------------------------------------------------------------------

_REPLACE = {"command", "entrypoint"}
_AS_MAPPING = {"environment", "labels", "extra_hosts", "sysctls", "annotations", "depends_on"}
_UNIQUE = {"volumes": "target", "devices": "target", "secrets": "source", "configs": "source"}


def _to_mapping(key: str, value):
    if isinstance(value, dict) or value is None:
        return dict(value or {})
    if not isinstance(value, list):
        return value
    result: dict = {}
    for item in value:
        text = str(item)
        if key == "depends_on":
            result[text] = {"condition": "service_started"}
        elif key == "extra_hosts":
            sep = "=" if "=" in text else ":"
            host, _, addr = text.partition(sep)
            result[host] = addr
        elif "=" in text:
            name, _, val = text.partition("=")
            result[name] = val
        else:
            result[text] = None
    return result


def _unique_key(key: str, item) -> str:
    if isinstance(item, dict):
        return str(item.get(_UNIQUE[key]) or item.get("target") or item)
    text = str(item)
    if key in ("volumes", "devices"):
        parts = text.split(":")
        return parts[1] if len(parts) > 1 else parts[0]
    return text


def _plain(value):
    return value.value if isinstance(value, Override) else value


def _merge_value(path: tuple, base, over):
    if isinstance(over, Override):
        return over.value
    key = path[-1]
    in_service = len(path) == 3 and path[0] == "services"
    if in_service and key in _REPLACE:
        return over
    if path[-2:] == ("healthcheck", "test"):
        return over
    if in_service and key in _AS_MAPPING:
        base, over = _to_mapping(key, base), _to_mapping(key, over)
    if in_service and key in _UNIQUE and isinstance(base, list) and isinstance(over, list):
        merged = {_unique_key(key, item): item for item in base}
        for item in over:
            merged[_unique_key(key, item)] = item
        return list(merged.values())
    if isinstance(base, dict) and isinstance(over, dict):
        return _merge_dicts(path, base, over)
    if isinstance(base, list) and isinstance(over, list):
        merged_list = list(base)
        merged_list.extend(item for item in over if item not in merged_list)
        return merged_list
    return over


def _merge_dicts(path: tuple, base: dict, over: dict) -> dict:
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, Reset):
            result.pop(key, None)
        elif key in result:
            result[key] = _merge_value((*path, key), result[key], value)
        else:
            result[key] = _strip(value)
    return result


def _strip(value):
    """Remove Override/Reset markers from a value taken as is."""
    value = _plain(value)
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [_strip(v) for v in value if not isinstance(v, Reset)]
    return value


def merge_compose(base: dict, over: dict) -> dict:
    """Merge one Compose file over another following the Compose specification's merge rules."""
    return _merge_dicts((), base, over)


def merge_project(files: list[str], compose_docs: dict, environ: dict | None = None) -> ComposeProject:
    first = files[0].split("#", 1)[0]
    env = dict(os.environ if environ is None else environ)
    if not first.startswith("<"):
        env = {**read_env_file(os.path.join(os.path.dirname(first) or ".", ".env")), **env}
    merged: dict = {}
    origins: dict = {}
    lines: dict = {}
    for file in files:
        doc, service_lines = compose_docs[file]
        doc = interpolate(doc, env)
        merged = merge_compose(merged, doc) if merged else _strip(doc)
        plain = file.split("#", 1)[0]
        services = doc.get("services") if isinstance(doc.get("services"), dict) else {}
        for name, service in services.items():
            origin = origins.setdefault(name, {"": plain})
            lines.setdefault(name, (plain, service_lines.get(name, 0)))
            if isinstance(service, dict):
                for key in service:
                    origin[key] = plain
    project = ComposeProject(files=[f.split("#", 1)[0] for f in files], data=merged, origins=origins, lines=lines)
    return project
