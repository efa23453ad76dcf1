# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Strict, offline schema validation of Kubernetes manifests: the one schema validator of the collection.

Both goaltrajectory.platform.k8s_schema_validate and goaltrajectory.platform.probe_lint (its
``schema-invalid`` rule) validate through ``SchemaValidator`` here, read their inputs through
``probes.loader`` (one path expansion, one YAML reader, the same ``definitions``) and report the
one ``probes.findings.Finding`` type, so both give the same findings for the same object.

The schemas come from the ``kubernetes-validate`` package (one directory per Kubernetes minor
version, with a ``-strict`` variant that forbids unknown fields).  kubernetes-validate itself stops
at the first error of a document and only warns about kinds it has no schema for; this module
reports every error of every document, treats an unknown kind as an error, and adds the one check
the OpenAPI schemas cannot express: resource quantities (``512MB`` is a string to the schema but
the API server rejects it).  A Kubernetes version outside the shipped schemas is an error
(``UnsupportedVersionError``), never a silent fallback.

Every finding names the file, the object and the field (a dotted path such as
``spec.template.spec.containers[0].resources.limits.memory``).

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .probes.findings import Finding
from .probes.loader import (
    IGNORED_KINDS,
    K8sObject,
    Source,
    expand_paths,
    kubernetes_objects,
    read_definition,
    read_file,
)

try:
    import jsonschema
    import referencing
    import referencing.jsonschema
    from kubernetes_validate import utils as kv_utils
    from packaging.version import Version

    IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without the runtime requirements
    IMPORT_ERROR = exc

__all__ = [
    "Finding",
    "MissingLibraryError",
    "SchemaValidator",
    "UnsupportedVersionError",
    "expand_paths",
    "get_validator",
    "resolve_version",
    "run_module",
    "supported_versions",
    "validate",
    "validate_paths",
]

# Rule ids of probe_lint under which schema and parse findings are reported (one id per kind of problem).
SCHEMA_RULE = "schema-invalid"
PARSE_RULE = "yaml-invalid"

# resource.Quantity grammar (k8s.io/apimachinery/pkg/api/resource): a signed
# decimal number and an optional binary SI, decimal SI or exponent suffix.
QUANTITY_RE = re.compile(
    r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)

# Mapping keys whose values are maps of resource name -> Quantity.
QUANTITY_MAP_KEYS = frozenset(
    {"requests", "limits", "hard", "default", "defaultRequest", "max", "min", "maxLimitRequestRatio", "capacity"}
)
# Keys whose scalar value is a Quantity.
QUANTITY_SCALAR_KEYS = frozenset({"sizeLimit", "averageValue"})


class MissingLibraryError(RuntimeError):
    """kubernetes-validate, jsonschema or referencing is not installed."""


class UnsupportedVersionError(ValueError):
    """A kubernetes_version the installed kubernetes-validate has no schemas for; lists the ones it has."""

    def __init__(self, desired: object, reason: str, supported: list[str]) -> None:
        self.desired = desired
        self.supported = supported
        minors = ", ".join(kv_utils.major_minor(v) for v in supported)
        super().__init__(f"kubernetes_version {desired!r} {reason}; supported versions: {minors}")


def quantity_is_valid(value: Any) -> bool:
    """Return True when value is a Kubernetes resource quantity (int, float or suffixed string)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and QUANTITY_RE.match(value) is not None


def supported_versions() -> list[str]:
    """Kubernetes versions whose schemas ship with kubernetes-validate, oldest first (e.g. ``1.31.0``)."""
    _require_libs()
    return list(_shipped_versions())


@functools.cache
def _shipped_versions() -> list[str]:
    return sorted(set(kv_utils.all_versions()), key=Version)


def resolve_version(desired: str | None = None) -> str:
    """Pick the schema directory version for ``desired`` (``1.31``, ``v1.31.2``...); None: the newest.

    Like kubernetes-validate: the newest shipped version whose minor is not newer than the desired
    one.  Unlike it, a version outside the shipped minors is an ``UnsupportedVersionError`` naming
    the option and listing the supported versions, instead of an IndexError or a silent fallback.
    """
    shipped = supported_versions()
    if desired is None:
        return shipped[-1]
    text = str(desired).strip().lstrip("v")
    if not re.match(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$", text):
        raise UnsupportedVersionError(desired, "is not a version like 1.31 or 1.31.0", shipped)
    want = Version(kv_utils.major_minor(text))
    candidates = [v for v in shipped if Version(kv_utils.major_minor(v)) <= want]
    newest = Version(kv_utils.major_minor(shipped[-1]))
    if not candidates or want > newest:
        raise UnsupportedVersionError(desired, "is not covered by the schemas kubernetes-validate ships", shipped)
    return candidates[-1]


def _require_libs() -> None:
    if IMPORT_ERROR is not None:
        raise MissingLibraryError(
            f"Kubernetes schema validation needs kubernetes-validate, jsonschema and referencing: {IMPORT_ERROR}"
        )


def _field_path(parts) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_ANNOTATIONS = frozenset({"description", "format", "$schema", "$id", "default"})
_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _never(_value) -> bool:
    return False


class FastCheck:
    """The keywords the Kubernetes schemas use, compiled into Python predicates: "certainly valid?".

    ``type``, ``enum`` (strings), ``properties``, ``additionalProperties``, ``required``, ``items``,
    ``$ref`` into the shared definitions and ``oneOf`` of plain type alternatives (IntOrString,
    Quantity); annotations and ``x-kubernetes-*`` are ignored, as jsonschema ignores them (``format``
    is not asserted without a format checker).  Anything else compiles to a predicate that answers
    False.  A True answer means jsonschema would report no error, so only objects that fail the
    predicate pay for the full validator, which then produces the findings: the findings do not
    change, the time does.
    """

    def __init__(self, definitions: dict) -> None:
        self._defs = definitions.get("$defs") or {}
        self._refs: dict[str, Any] = {}

    def _ref(self, ref: str):
        name = ref.rsplit("#/$defs/", 1)[-1] if "#/$defs/" in ref else None
        if name is None or "/" in name or name not in self._defs:
            return _never
        if name not in self._refs:
            cell: list = [_never]

            def placeholder(value):
                # Looks the validator up at call time: a recursive definition reaches itself while compiling.
                return cell[0](value)

            self._refs[name] = placeholder
            cell[0] = self.compile(self._defs[name])
        return self._refs[name]

    def compile(self, schema) -> Any:
        if schema is True or schema == {}:
            return lambda v: True
        if not isinstance(schema, dict):
            return _never
        checks = []
        for key, value in schema.items():
            if key in _ANNOTATIONS or key.startswith("x-kubernetes"):
                continue
            check = self._keyword(key, value, schema)
            if check is None:
                return _never
            if check is not True:
                checks.append(check)
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(check(v) for check in checks)

    def _keyword(self, key: str, value, schema: dict):
        if key == "type":
            names = value if isinstance(value, list) else [value]
            tests = [_TYPES.get(n) for n in names]
            if None in tests:
                return None
            return lambda v: any(t(v) for t in tests)
        if key == "enum":
            if not isinstance(value, list):
                return None
            allowed = frozenset(x for x in value if isinstance(x, str))
            none_ok = None in value
            return lambda v: (isinstance(v, str) and v in allowed) or (v is None and none_ok)
        if key == "$ref":
            return self._ref(value) if isinstance(value, str) else None
        if key == "required":
            names = list(value) if isinstance(value, list) else None
            return None if names is None else (lambda v: not isinstance(v, dict) or all(n in v for n in names))
        if key == "items":
            sub = self.compile(value)
            return lambda v: not isinstance(v, list) or all(sub(x) for x in v)
        if key == "properties":
            if not isinstance(value, dict):
                return None
            props = {name: self.compile(sub) for name, sub in value.items()}
            return lambda v: not isinstance(v, dict) or all(props[k](x) for k, x in v.items() if k in props)
        if key == "additionalProperties":
            known = frozenset((schema.get("properties") or {}).keys())
            if value is False:
                return lambda v: not isinstance(v, dict) or all(k in known for k in v)
            if value is True:
                return True
            sub = self.compile(value)
            return lambda v: not isinstance(v, dict) or all(sub(x) for k, x in v.items() if k not in known)
        if key == "oneOf":
            return self._one_of(value)
        return None

    def _one_of(self, branches):
        """oneOf over branches that only constrain the type: exactly one branch may match."""
        if not isinstance(branches, list) or not all(
            isinstance(b, dict) and set(b) <= {"type", "description", "format"} for b in branches
        ):
            return None
        tests = [self.compile(b) for b in branches]
        return lambda v: sum(1 for t in tests if t(v)) == 1


class SchemaValidator:
    """Validates Kubernetes objects against one Kubernetes version's schemas.

    Compiled schemas are kept per (kind, apiVersion); ``get_validator`` shares one instance per
    (version, strict) within a process.  Each object first goes through a compiled predicate
    (``FastCheck``); jsonschema runs only for objects the predicate cannot pass.
    """

    def __init__(self, kubernetes_version: str | None = None, strict: bool = True) -> None:
        self.version = resolve_version(kubernetes_version)
        self.strict = strict
        self.schema_dir = f"v{self.version}-local" + ("-strict" if strict else "")
        self._validators: dict[tuple[str, str], Any] = {}
        self._fast: dict[tuple[str, str], Any] = {}
        self._registry = None
        self._fast_check: FastCheck | None = None

    def _validator(self, kind: str, api_version: str):
        key = (kind, api_version)
        if key in self._validators:
            return self._validators[key]
        # rbac.authorization.k8s.io/v1 -> rbac-v1; v1 -> v1 (kubernetes-validate's file naming)
        api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        try:
            schema = kv_utils.schema_contents(
                f"kubernetes-json-schema/{self.schema_dir}/{kind.lower()}-{api}.json", self.version
            )
        except (FileNotFoundError, OSError, ValueError):
            self._validators[key] = None
            return None
        if self._registry is None:
            definitions = kv_utils.schema_contents(f"kubernetes-json-schema/{self.schema_dir}/_definitions.json", "")
            self._registry = referencing.Resource.from_contents(definitions) @ referencing.Registry()
            self._fast_check = FastCheck(definitions)
        registry = referencing.Resource.from_contents(schema) @ self._registry
        validator = jsonschema.validators.Draft202012Validator(schema, registry=registry)
        self._validators[key] = validator
        self._fast[key] = self._fast_check.compile(schema) if self._fast_check is not None else _never
        return validator

    def validate_document(self, doc: Any, file: str = "<string>", index: int = 0, line: int = 0) -> list[Finding]:
        """All findings for one parsed document (index: its position in the file, line: where it starts)."""
        return self.validate_object(K8sObject(file, line, doc, index))

    def validate_object(self, obj: K8sObject) -> list[Finding]:
        """All findings for one Kubernetes object: required fields, the schema, resource quantities."""
        doc = obj.data
        if not isinstance(doc, dict):
            return [_finding(obj, "", "document is not a mapping", "parse")]
        kind = str(doc.get("kind") or "")
        meta = doc.get("metadata")
        name = str(meta.get("name") or "") if isinstance(meta, dict) else ""
        findings: list[Finding] = []
        for required in ("apiVersion", "kind"):
            if not doc.get(required):
                findings.append(_finding(obj, required, "is required"))
        if not name:
            findings.append(_finding(obj, "metadata.name", "is required"))
        if findings and not (doc.get("apiVersion") and kind):
            return findings
        validator = self._validator(kind, str(doc["apiVersion"]))
        if validator is None:
            message = f"no schema for kind {kind} in {doc['apiVersion']} for Kubernetes {self.version}"
            return [*findings, _finding(obj, "apiVersion", message)]
        if not self._fast[(kind, str(doc["apiVersion"]))](doc):
            for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
                findings.extend(self._from_schema_error(err, obj))
        findings.extend(self._quantities(doc, [], obj))
        return findings

    @staticmethod
    def _from_schema_error(err, obj: K8sObject) -> list[Finding]:
        path = list(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set((err.schema.get("properties") or {}).keys())
            extras = sorted(k for k in err.instance if k not in allowed) or ["?"]
            return [_finding(obj, _field_path([*path, extra]), "unknown field (strict schema)") for extra in extras]
        message = err.message
        if err.validator == "oneOf" and err.context:
            message = jsonschema.exceptions.best_match(err.context).message
        return [_finding(obj, _field_path(path), message)]

    def _quantities(self, node, path, obj: K8sObject) -> list[Finding]:
        out: list[Finding] = []
        if isinstance(node, dict):
            for key, value in node.items():
                here = [*path, key]
                if key in QUANTITY_MAP_KEYS and isinstance(value, dict):
                    for res, qty in value.items():
                        if not isinstance(qty, dict | list) and not quantity_is_valid(qty):
                            out.append(_quantity_finding(obj, [*here, res], qty))
                    continue
                if key in QUANTITY_SCALAR_KEYS and not isinstance(value, dict | list):
                    if not quantity_is_valid(value):
                        out.append(_quantity_finding(obj, here, value))
                    continue
                out.extend(self._quantities(value, here, obj))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                out.extend(self._quantities(item, [*path, i], obj))
        return out


def _finding(obj: K8sObject, field: str, message: str, check: str = "schema", rule: str = SCHEMA_RULE) -> Finding:
    data = obj.data if isinstance(obj.data, dict) else {}
    kind = str(data.get("kind") or "")
    meta = data.get("metadata")
    name = str(meta.get("name") or "") if isinstance(meta, dict) else ""
    return Finding(
        rule=rule,
        severity="error",
        file=obj.file,
        object=obj.ident if kind else "",
        container="",
        field=field,
        message=message,
        line=obj.line,
        document=obj.document,
        kind=kind,
        name=name,
        check=check,
    )


def _quantity_finding(obj: K8sObject, path: list, value: Any) -> Finding:
    message = f"{value!r} is not a Kubernetes quantity (e.g. 500m, 512Mi, 1Gi)"
    return _finding(obj, _field_path(path), message, "quantity")


def get_validator(kubernetes_version: str | None = None, strict: bool = True) -> SchemaValidator:
    """The process-wide validator for a version (None: the newest shipped); schemas compile once per process."""
    return _cached_validator(resolve_version(kubernetes_version), strict)


@functools.cache
def _cached_validator(version: str, strict: bool) -> SchemaValidator:
    return SchemaValidator(version, strict)


def _describe(obj: K8sObject, findings: list[Finding]) -> dict:
    data = obj.data if isinstance(obj.data, dict) else {}
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return {
        "file": obj.file,
        "document": obj.document,
        "api_version": data.get("apiVersion"),
        "kind": data.get("kind"),
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "valid": not findings,
    }


def _kustomize_plumbing(obj: K8sObject) -> bool:
    """A kustomization.yaml (as in every rendered tree): kustomize's input, never sent to the API server."""
    data = obj.data if isinstance(obj.data, dict) else {}
    return data.get("kind") in IGNORED_KINDS and str(data.get("apiVersion", "")).startswith("kustomize.config.k8s.io/")


def validate(
    paths: list[str] | None = None,
    definitions: list | None = None,
    kubernetes_version: str | None = None,
    strict: bool = True,
    base_dir: str = "",
) -> dict:
    """Validate every document of ``paths`` and ``definitions`` as a Kubernetes object; a JSON-ready result.

    ``{"kubernetes_version": resolved, "strict": ..., "objects": [...], "errors": [...], "summary": {...}}``
    plus ``_findings`` (the ``Finding`` objects).  ``definitions`` are read like probe_lint's (see
    ``probes.loader.read_definition``).  A path that matches nothing raises FileNotFoundError; an
    unsupported version raises UnsupportedVersionError.
    """
    validator = get_validator(kubernetes_version, strict)
    files, missing = expand_paths(list(paths or []), base_dir)
    if missing:
        raise FileNotFoundError("; ".join(f.message for f in missing))
    sources: list[tuple[Source, list[Finding]]] = [read_file(file) for file in files]
    sources += [read_definition(index, entry) for index, entry in enumerate(definitions or [])]
    objects: list[dict] = []
    findings: list[Finding] = []
    for source, errors in sources:
        findings.extend(errors)
        if not source.documents and not errors:
            findings.append(_finding(K8sObject(source.file, 0, {}), "", "file holds no Kubernetes object", "parse"))
        for doc in source.documents:
            for obj in kubernetes_objects(doc):
                if _kustomize_plumbing(obj):
                    continue
                object_findings = validator.validate_object(obj)
                findings.extend(object_findings)
                objects.append(_describe(obj, object_findings))
    return {
        "kubernetes_version": validator.version,
        "strict": strict,
        "objects": objects,
        "errors": [f.as_error() for f in findings],
        "summary": {
            "files": len(sources),
            "objects": len(objects),
            "errors": len(findings),
            "invalid_files": len({f.file for f in findings}),
        },
        "_findings": findings,
    }


def validate_paths(paths: list[str], kubernetes_version: str | None, strict: bool = True) -> dict:
    """``validate`` for files only (kept for callers of the first release)."""
    return validate(paths=paths, kubernetes_version=kubernetes_version, strict=strict)


def run_module(params: dict) -> tuple[bool, dict]:
    """k8s_schema_validate's logic: (ok, result); on failure the result holds ``msg``."""
    try:
        result = validate(
            paths=params.get("paths"),
            definitions=params.get("definitions"),
            kubernetes_version=params["kubernetes_version"],
            strict=params.get("strict", True),
        )
    except UnsupportedVersionError as exc:
        return False, {"msg": str(exc), "changed": False, "supported_versions": exc.supported}
    except (ValueError, FileNotFoundError, MissingLibraryError) as exc:
        return False, {"msg": str(exc), "changed": False}
    result.pop("_findings")
    if result["errors"] and params.get("fail_on_error", True):
        lines = [e["line"] for e in result["errors"]]
        msg = (
            f"{len(lines)} schema error(s) in {result['summary']['invalid_files']} file(s) "
            f"for Kubernetes {result['kubernetes_version']}:\n" + "\n".join(lines)
        )
        return False, {"msg": msg, "changed": False, **result}
    return True, {"changed": False, **result}
