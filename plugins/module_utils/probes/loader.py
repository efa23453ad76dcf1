# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read inputs: expand paths, parse multi-document YAML, sort documents into Kubernetes
objects and Compose projects, and merge Compose override files the way Compose does."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

from .findings import Finding

try:
    import yaml
except ImportError as exc:  # a host without PyYAML: the modules fail with missing_required_lib("PyYAML")
    yaml = None
    IMPORT_ERROR = exc
else:
    IMPORT_ERROR = None

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if yaml else object

COMPOSE_BASES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
YAML_SUFFIXES = (".yaml", ".yml")
# Kinds that carry no runtime object (kustomize/helm plumbing).
IGNORED_KINDS = frozenset({"Kustomization", "Component"})
# API groups of configuration files that tools read and the API server never sees: they have kind and
# apiVersion like an object but are reported as not Kubernetes objects (group -> what reads them).
CONFIG_GROUPS = {
    "kind.x-k8s.io": "kind",
    "k3d.io": "k3d",
    "kubeadm.k8s.io": "kubeadm",
    "kubelet.config.k8s.io": "the kubelet",
    "kubeproxy.config.k8s.io": "kube-proxy",
    "apiserver.config.k8s.io": "the API server",
    "apiserver.k8s.io": "the API server",
    "audit.k8s.io": "the API server (audit policy)",
    "kubescheduler.config.k8s.io": "the scheduler",
    "skaffold": "skaffold",
    "ctlptl.dev": "ctlptl",
}
# Go or Jinja template actions: a file holding them is a template to render, not YAML to lint.
TEMPLATE_MARKERS = ("{{", "{%")


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


def _untagged(loader, node):
    """Tags only another application understands (``!Ref``, ``!reference``, ``!!python/name:``...): the plain value."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


if yaml:
    _Loader.add_constructor("!reset", _reset)
    _Loader.add_constructor("!override", _override)
    _Loader.add_constructor(None, _untagged)
    _Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, _suffix, node: _untagged(loader, node))


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
    # Problems found while resolving include: and extends: (schema-invalid / input-missing findings).
    problems: list = field(default_factory=list)

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
    seen: set[str] = set()
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
            if candidate not in seen:  # a set: a list lookup made this quadratic in the number of files
                seen.add(candidate)
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
            data = _plain_tree(node, loader)
            if data is _SLOW:
                data = loader.construct_document(node)
            docs.append((line, data, service_lines))
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


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SIMPLE_SCALARS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "timestamp"))
_SLOW = object()


def _plain_tree(node, loader):
    """A composed document as Python data, for the plain YAML manifests are made of.

    PyYAML's constructor is general (generators for recursive structures, merge keys, every tag) and
    dominates load time; this walk builds the same dicts, lists and strings directly and hands the
    other scalars (int, float, bool, null, timestamp) to PyYAML.  A document with a merge key (``<<``),
    a custom tag (Compose ``!reset``/``!override``, ``!!binary``, ``!!set`` ...), a non-scalar mapping
    key or a recursive alias returns ``_SLOW``: the caller then uses PyYAML's constructor for it.
    Aliased nodes are built once per use, as equal copies.
    """
    try:
        return _plain_node(node, loader, set())
    except _NotPlain:
        return _SLOW


class _NotPlain(Exception):
    pass


def _plain_node(node, loader, active: set):
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _MAP:
        key = id(node)
        if key in active:
            raise _NotPlain
        active.add(key)
        result = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STR:
                result[key_node.value] = _plain_node(value_node, loader, active)
            elif key_node.tag in _SIMPLE_SCALARS and key_node.tag != "tag:yaml.org,2002:timestamp":
                result[loader.construct_object(key_node)] = _plain_node(value_node, loader, active)
            else:
                raise _NotPlain  # merge keys, complex keys, custom tags
        active.discard(id(node))
        return result
    if tag == _SEQ:
        key = id(node)
        if key in active:
            raise _NotPlain
        active.add(key)
        result_list = [_plain_node(item, loader, active) for item in node.value]
        active.discard(key)
        return result_list
    if tag in _SIMPLE_SCALARS:
        return loader.construct_object(node, deep=True)
    raise _NotPlain


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


def read_file(file: str, templates: bool = False) -> tuple[Source, list[Finding]]:
    """Every non-empty document of a file; an unreadable file or a YAML error is a finding.

    With ``templates`` (probe_lint), a template is recognised instead of parsed: a file of a Helm
    chart's ``templates/`` directory that holds ``{{``, or any file with ``{{``/``{%`` that is not
    valid YAML, gives one ``template-unrendered`` info finding and no documents.
    """
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return Source(file, []), [_finding("input-missing", "error", file, f"cannot read {file}: {exc}", check="parse")]
    marked = templates and any(marker in text for marker in TEMPLATE_MARKERS)
    chart = helm_chart_of(file) if marked else None
    if chart is not None:
        message = (
            f"template of the Helm chart in {chart} (Go template syntax): not linted; "
            "lint the output of `helm template` instead"
        )
        return Source(file, []), [_finding("template-unrendered", "info", file, message, check="parse")]
    docs, errors = parse_documents(text, file)
    if marked and errors:
        message = (
            f"template syntax ({{{{ }}}} or {{% %}}) and not valid YAML ({errors[0].message}): "
            "not linted; lint the rendered output instead"
        )
        return Source(file, []), [_finding("template-unrendered", "info", file, message, line=errors[0].line)]
    return Source(file, _documents(file, docs)), errors


_CHART_DIRS: dict[str, bool] = {}


def helm_chart_of(file: str) -> str | None:
    """The chart directory when ``file`` lies under ``<chart>/templates/`` and ``<chart>/Chart.yaml`` exists."""
    directory = os.path.dirname(os.path.normpath(file))
    while directory:
        parent, name = os.path.split(directory)
        if name == "templates":
            chart = parent or "."
            if chart not in _CHART_DIRS:
                _CHART_DIRS[chart] = os.path.isfile(os.path.join(chart, "Chart.yaml"))
            if _CHART_DIRS[chart]:
                return chart
        if not name or parent == directory:
            return None
        directory = parent
    return None


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
        source, errors = read_file(file, templates=True)
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
            return {k.value: k.start_mark.line + 1 for k, _value in value.value if isinstance(k, yaml.ScalarNode)}
    return {}


def is_k8s(doc: object) -> bool:
    return isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc


def config_file_tool(doc: dict) -> str:
    """The tool whose configuration file ``doc`` is (kubeconfig, kind, kubeadm ...), or an empty string."""
    api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
    if api_version == "v1" and kind == "Config":
        return "kubectl (a kubeconfig)"
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return CONFIG_GROUPS.get(group, "")


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

    files = {source.file for source in on_disk}
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

    # Files that other Compose files pull in with include: or extends: are parts of those projects,
    # not projects of their own (an extends base may hold partial services).
    fragments = _load_references(inputs, compose_docs, environ)

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

    for group in _auto_groups([f for f in compose_docs if f not in explicit and f not in fragments]):
        inputs.projects.append(merge_project(group, compose_docs, environ, read_env=group[0] not in in_memory))
    for project in inputs.projects:
        inputs.findings.extend(project.problems)
    return inputs


def _load_references(inputs: Inputs, compose_docs: dict, environ: dict | None) -> set[str]:
    """Load every file reached through include: or extends: (transitively); return their paths."""
    env = dict(os.environ if environ is None else environ)
    fragments: set[str] = set()
    pending = list(compose_docs)
    while pending:
        key = pending.pop()
        for ref in compose_references(key, compose_docs[key][0], env):
            fragments.add(ref)
            if ref not in compose_docs and os.path.isfile(ref):
                _load_compose_file(ref, inputs, compose_docs)
                if ref in compose_docs:
                    pending.append(ref)
    return fragments


def _include_paths(entry) -> list[str]:
    """The files of one ``include:`` entry: a path, or ``{path: <path or list of paths>, ...}``."""
    if isinstance(entry, str):
        return [entry]
    path = entry.get("path") if isinstance(entry, dict) else None
    if isinstance(path, str):
        return [path]
    return [p for p in path if isinstance(p, str)] if isinstance(path, list) else []


def _relative_to(key: str, path: str) -> str:
    directory = os.path.dirname(key.split("#", 1)[0])
    return os.path.normpath(os.path.join(directory, path))


def compose_references(key: str, doc: dict, env: dict) -> list[str]:
    """Files a Compose document pulls in: its ``include:`` entries and its services' ``extends.file``."""
    refs: list[str] = []
    includes = doc.get("include")
    for entry in includes if isinstance(includes, list) else []:
        refs.extend(_include_paths(interpolate(_plain(entry), env)))
    services = doc.get("services") if isinstance(doc.get("services"), dict) else {}
    for svc in services.values():
        ext = svc.get("extends") if isinstance(svc, dict) else None
        if isinstance(ext, dict) and isinstance(ext.get("file"), str):
            refs.append(interpolate(ext["file"], env))
    return [_relative_to(key, ref) for ref in refs]


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
        tool = config_file_tool(doc)
        if tool:
            message = (
                f"{doc.get('apiVersion')} {doc.get('kind')} is a configuration file of {tool}, not a Kubernetes object"
            )
            inputs.findings.append(
                _finding("document-unrecognized", "info", file, f"{message}; not checked", line=line)
            )
        elif doc.get("kind") not in IGNORED_KINDS:
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
    if isinstance(doc, dict) and "kind" in doc and isinstance(doc.get("metadata"), dict):
        inputs.findings.append(
            _finding("schema-invalid", "error", file, "Kubernetes object has no apiVersion", line=line)
        )
        return None
    if isinstance(doc, dict) and "apiVersion" in doc:
        message = (
            f"not a Kubernetes object: apiVersion {doc['apiVersion']!r} but no kind "
            "(a Helm Chart.yaml or a Grafana provisioning file, for example); not checked"
        )
        inputs.findings.append(_finding("document-unrecognized", "info", file, message, line=line))
        return None
    if isinstance(doc, dict) and "services" in doc and not isinstance(doc["services"], list):
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
            host, _sep, addr = text.partition(sep)
            result[host] = addr
        elif "=" in text:
            name, _sep, val = text.partition("=")
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
    files: list[str], compose_docs: dict, environ: dict | None = None, read_env: bool = True, resolve: bool = True
) -> ComposeProject:
    """Merge a project's files in order, then resolve ``include:`` and ``extends:``.

    ``read_env=False`` (inline definitions) reads no ``.env``; ``resolve=False`` leaves include and
    extends to the caller (an included project is resolved by the project that includes it).
    """
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
    if resolve:
        _Resolver(compose_docs, env).resolve(project, files)
    return project


class _Resolver:
    """``include:`` and ``extends:`` of a merged project, the way Compose resolves them."""

    def __init__(self, compose_docs: dict, env: dict):
        self.compose_docs = compose_docs
        self.env = env

    def _problem(self, project, file, service, message, rule="schema-invalid"):
        fld = f"services.{service}.extends" if service else "include"
        project.problems.append(_finding(rule, "error", file, message, obj=service, fld=fld))

    def _services_of(self, file: str) -> dict | None:
        if file not in self.compose_docs:
            return None
        doc = interpolate(self.compose_docs[file][0], self.env)
        services = doc.get("services") if isinstance(doc, dict) else None
        return _strip(services) if isinstance(services, dict) else {}

    def resolve(self, project: ComposeProject, files: list[str], seen: frozenset = frozenset()) -> None:
        self._includes(project, files, seen)
        services = project.services
        for name in list(services):
            svc = services[name]
            if isinstance(svc, dict) and "extends" in svc:
                where = project.file_of(name, "extends")
                services[name] = self._extend(project, name, svc, where, services, frozenset({(where, name)}))

    def _includes(self, project: ComposeProject, files: list[str], seen: frozenset) -> None:
        for key in files:
            doc = self.compose_docs[key][0]
            includes = doc.get("include") if isinstance(doc, dict) else None
            for entry in includes if isinstance(includes, list) else []:
                paths = [_relative_to(key, p) for p in _include_paths(interpolate(_plain(entry), self.env))]
                plain = key.split("#", 1)[0]
                missing = [p for p in paths if p not in self.compose_docs]
                if not paths or missing:
                    what = ", ".join(missing) or repr(entry)
                    self._problem(
                        project, plain, "", f"include: {what} is not a readable Compose file", "input-missing"
                    )
                    continue
                if any(p in seen for p in paths):
                    self._problem(project, plain, "", f"include: {', '.join(paths)} includes itself")
                    continue
                included = merge_project(paths, self.compose_docs, self.env, read_env=False, resolve=False)
                self.resolve(included, paths, seen | {key.split("#", 1)[0], *paths})
                project.problems.extend(included.problems)
                self._adopt(project, included, plain)

    def _adopt(self, project: ComposeProject, included: ComposeProject, including: str) -> None:
        for section in ("services", "networks", "volumes", "configs", "secrets"):
            theirs = included.data.get(section)
            if not isinstance(theirs, dict):
                continue
            ours = project.data.setdefault(section, {})
            if not isinstance(ours, dict):
                continue
            for name, value in theirs.items():
                if name in ours:
                    if section == "services":
                        message = f"service {name!r} of included {included.file} conflicts with one defined here"
                        self._problem(project, including, "", message)
                    continue
                ours[name] = value
                if section == "services":
                    project.origins[name] = included.origins.get(name, {"": included.file})
                    project.lines[name] = included.lines.get(name, (included.file, 0))

    def _extend(self, project, name, svc, file, services, stack):
        ext = svc.get("extends")
        own = {k: v for k, v in svc.items() if k != "extends"}
        if isinstance(ext, str):
            ext = {"service": ext}
        if not isinstance(ext, dict) or not isinstance(ext.get("service"), str):
            self._problem(project, file, name, "extends must name a service (extends: name or {service: name})")
            return own
        target_file = file
        pool = services
        if isinstance(ext.get("file"), str):
            target_file = _relative_to(file, interpolate(ext["file"], self.env))
            pool = self._services_of(target_file)
            if pool is None:
                self._problem(project, file, name, f"extends file {ext['file']!r} is not a readable Compose file")
                return own
        base = pool.get(ext["service"])
        if not isinstance(base, dict):
            where = f" in {target_file}" if target_file != file else ""
            self._problem(project, file, name, f"extends service {ext['service']!r}, which is not defined{where}")
            return own
        key = (target_file, ext["service"])
        if key in stack:
            self._problem(project, file, name, f"extends {ext['service']!r} in a cycle")
            return own
        if "extends" in base:
            base = self._extend(project, ext["service"], base, target_file, pool, stack | {key})
        origin = project.origins.setdefault(name, {"": file})
        for inherited in base:
            if inherited not in own:
                origin[inherited] = target_file
        return _merge_dicts(("services", name), base, own)
