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
    # Position of the YAML document in its file (items of a List share their List's position).
    document: int = 0

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


def _finding(rule, severity, file, message, line=0, obj="", fld="", check=""):
    return Finding(
        rule=rule,
        severity=severity,
        file=file,
        object=obj,
        container="",
        field=fld,
        message=message,
        line=line,
        check=check,
    )


def expand_paths(paths: list[str], base_dir: str = "") -> tuple[list[str], list[Finding]]:
    """Files, directories (recursive, *.yaml/*.yml, hidden directories skipped) and globs -> file list.

    The one path expansion of the collection (probe_lint and k8s_schema_validate).  Entries keep
    the order given (Compose files merge in that order); the files a directory or glob yields are
    sorted by path; a file is listed once.  An entry that matches nothing is an ``input-missing``
    finding, which callers either report or raise.
    """
    files: list[str] = []
    findings: list[Finding] = []
    for raw in paths:
        path = os.path.join(base_dir, raw) if base_dir and not os.path.isabs(raw) else raw
        if glob.has_magic(raw):
            candidates: list[str] = []
            for match in sorted(glob.glob(path, recursive=True)):
                if os.path.isdir(match):
                    candidates.extend(_walk(match))
                elif os.path.isfile(match):
                    candidates.append(match)
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
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, n) for n in names if n.endswith(YAML_SUFFIXES))
    return sorted(found)


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
        return docs, [
            _finding("yaml-invalid", "error", file, f"YAML does not parse: {problem}", line=line, check="parse")
        ]
    finally:
        loader.dispose()
    return docs, []


@dataclass
class Document:
    """One non-empty YAML document of a file or of an inline definition."""

    file: str
    index: int
    line: int
    data: object
    service_lines: dict = field(default_factory=dict)


@dataclass
class Source:
    """A file read from disk or an inline definition, with its documents."""

    file: str
    documents: list[Document]
    in_memory: bool = False


def read_file(file: str) -> tuple[Source, list[Finding]]:
    """Every non-empty document of a file; an unreadable file or a YAML error is a finding."""
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return Source(file, []), [_finding("input-missing", "error", file, f"cannot read {file}: {exc}", check="parse")]
    docs, errors = parse_documents(text, file)
    return Source(file, _documents(file, docs)), errors


def _documents(file: str, docs: list[tuple[int, object, dict]]) -> list[Document]:
    kept = [(line, data, lines) for line, data, lines in docs if data is not None]
    return [Document(file, index, line, data, lines) for index, (line, data, lines) in enumerate(kept)]


def is_wrapped_definition(entry: object) -> bool:
    """``{definition: ..., source: name}``: an inline input named like the file it stands for."""
    return isinstance(entry, dict) and "definition" in entry and set(entry) <= {"definition", "source"}


def read_definition(index: int, entry: object) -> tuple[Source, list[Finding]]:
    """One entry of a ``definitions`` option, read as if it were a file.

    An entry is a mapping (one document), YAML text (any number of documents, with line numbers),
    or ``{definition: <mapping, list of mappings or YAML text>, source: <file name>}``, whose findings
    then name ``source`` as their file.  Without ``source`` the file is ``<definitions[N]>``.
    Nothing is read from disk.
    """
    name, body = f"<definitions[{index}]>", entry
    if is_wrapped_definition(entry):
        name = str(entry.get("source") or name)
        body = entry["definition"]
    if isinstance(body, str):
        docs, errors = parse_documents(body, name)
        return Source(name, _documents(name, docs), in_memory=True), errors
    items = body if isinstance(body, list) else [body]
    return Source(name, _documents(name, [(0, item, {}) for item in items]), in_memory=True), []


def read_inputs(
    paths: list[str] | None = None, definitions: list | None = None, base_dir: str = ""
) -> tuple[list[Source], list[Finding]]:
    """Expand ``paths`` and read every file, then every definition; sources in that order."""
    files, findings = expand_paths(list(paths or []), base_dir)
    sources: list[Source] = []
    for file in files:
        source, errors = read_file(file)
        sources.append(source)
        findings.extend(errors)
    for index, entry in enumerate(definitions or []):
        source, errors = read_definition(index, entry)
        sources.append(source)
        findings.extend(errors)
    return sources, findings


def kubernetes_objects(doc: Document) -> list[K8sObject]:
    """The Kubernetes objects of one document: the document itself, or the items of a ``*List``."""
    data = doc.data
    if isinstance(data, dict) and str(data.get("kind", "")).endswith("List") and isinstance(data.get("items"), list):
        return [K8sObject(doc.file, doc.line, item, doc.index) for item in data["items"]]
    return [K8sObject(doc.file, doc.line, data, doc.index)]  # type: ignore[arg-type]


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
    sources, findings = read_inputs(paths, definitions, base_dir)
    inputs.findings.extend(findings)
    compose_docs: dict[str, tuple[dict, dict]] = {}
    in_memory: set[str] = set()

    on_disk = [source for source in sources if not source.in_memory]
    for source in on_disk:
        for doc in source.documents:
            _classify(inputs, source.file, doc.line, doc.data, doc.service_lines, compose_docs, doc.index)

    files = [source.file for source in on_disk]
    for file in list(compose_docs):
        for extra in sibling_overrides(file):
            if extra not in compose_docs and extra not in files:
                _load_compose_file(extra, inputs, compose_docs)

    for source in sources:
        if source.in_memory:
            for doc in source.documents:
                key = _classify(inputs, source.file, doc.line, doc.data, doc.service_lines, compose_docs, doc.index)
                if key:
                    in_memory.add(key)

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
        inputs.projects.append(merge_project(group, compose_docs, environ, read_env=group[0] not in in_memory))
    return inputs


def _load_compose_file(file, inputs, compose_docs):
    source, errors = read_file(file)
    inputs.findings.extend(errors)
    if any(error.rule == "input-missing" for error in errors):
        return
    for doc in source.documents:
        if isinstance(doc.data, dict) and "kind" not in doc.data:
            compose_docs[file] = (doc.data, doc.service_lines)
            return
    inputs.findings.append(_finding("schema-invalid", "error", file, "not a Compose file (no services mapping)"))


def _classify(inputs, file, line, doc, service_lines, compose_docs, index=0) -> str | None:
    """File one document as a Kubernetes object or a Compose file; return the Compose key it got."""
    if doc is None:
        return None
    if is_k8s(doc):
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                _classify(inputs, file, line, item, {}, compose_docs, index)
            return None
        if doc.get("kind") not in IGNORED_KINDS:
            inputs.objects.append(K8sObject(file=file, line=line, data=doc, document=index))
        return None
    if is_compose(doc):
        key = file
        suffix = 1
        while key in compose_docs:  # several Compose documents in one file or inline
            suffix += 1
            key = f"{file}#{suffix}"
        compose_docs[key] = (doc, service_lines)
        return key
    if isinstance(doc, dict) and ("kind" in doc or "apiVersion" in doc):
        missing = "apiVersion" if "kind" in doc else "kind"
        inputs.findings.append(
            _finding("schema-invalid", "error", file, f"Kubernetes object has no {missing}", line=line)
        )
        return None
    if isinstance(doc, dict) and "services" in doc:
        inputs.findings.append(
            _finding("schema-invalid", "error", file, "Compose 'services' must be a mapping", line=line, fld="services")
        )
        return None
    inputs.findings.append(
        _finding(
            "document-unrecognized",
            "info",
            file,
            "document is neither a Kubernetes object nor a Compose file; not checked",
            line=line,
        )
    )
    return None


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


def merge_project(
    files: list[str], compose_docs: dict, environ: dict | None = None, read_env: bool = True
) -> ComposeProject:
    """Merge a project's files in order; ``read_env=False`` (inline definitions) reads no ``.env``."""
    first = files[0].split("#", 1)[0]
    env = dict(os.environ if environ is None else environ)
    if read_env and not first.startswith("<"):
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
