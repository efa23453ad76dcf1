# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Strict, offline schema validation of Kubernetes manifests.

The schemas come from the ``kubernetes-validate`` package (one directory per
Kubernetes minor version, with a ``-strict`` variant that forbids unknown
fields).  kubernetes-validate itself stops at the first error of a document and
only warns about kinds it has no schema for; this module reports every error of
every document, treats an unknown kind as an error, and adds the one check the
OpenAPI schemas cannot express: resource quantities (``512MB`` is a string to
the schema but the API server rejects it).

Every finding names the file, the object and the field (a dotted path such as
``spec.template.spec.containers[0].resources.limits.memory``).

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import asdict, dataclass
from typing import Any

try:
    import jsonschema
    import referencing
    import referencing.jsonschema
    import yaml
    from kubernetes_validate import utils as kv_utils
    from packaging.version import Version

    IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without the runtime requirements
    IMPORT_ERROR = exc

MANIFEST_SUFFIXES = (".yaml", ".yml")

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


@dataclass
class Finding:
    """One validation error, located as precisely as the schema allows."""

    file: str
    document: int
    kind: str
    name: str
    field: str
    message: str
    check: str

    def line(self) -> str:
        obj = f"{self.kind}/{self.name}" if self.kind else f"document {self.document}"
        field = self.field or "<root>"
        return f"{self.file}: {obj}: {field}: {self.message}"


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
    return sorted(set(kv_utils.all_versions()), key=Version)


def resolve_version(desired: str) -> str:
    """Pick the schema directory version for ``desired`` (``1.31``, ``v1.31.2``...).

    Like kubernetes-validate: the newest shipped version whose minor is not newer
    than the desired one.  Unlike it, a version outside the shipped range is an
    error instead of an IndexError or a silent fallback.
    """
    _require_libs()
    text = str(desired).strip().lstrip("v")
    if not re.match(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$", text):
        raise ValueError(f"kubernetes_version {desired!r} is not a version like 1.31 or 1.31.0")
    want = Version(kv_utils.major_minor(text))
    shipped = supported_versions()
    candidates = [v for v in shipped if Version(kv_utils.major_minor(v)) <= want]
    newest = Version(kv_utils.major_minor(shipped[-1]))
    if not candidates or want > newest:
        raise ValueError(
            f"kubernetes_version {desired!r} is not covered by kubernetes-validate's schemas "
            f"(shipped: {shipped[0]} .. {shipped[-1]})"
        )
    return candidates[-1]


def _require_libs() -> None:
    if IMPORT_ERROR is not None:
        raise RuntimeError(f"k8s_validate needs kubernetes-validate, jsonschema and PyYAML: {IMPORT_ERROR}")


def expand_paths(paths: list[str]) -> list[str]:
    """Files, directories (walked recursively for *.yaml/*.yml) and globs -> sorted unique file list."""
    found: set[str] = set()
    for entry in paths:
        matches = glob.glob(entry, recursive=True) if glob.has_magic(entry) else [entry]
        if not matches:
            raise FileNotFoundError(f"no manifest matches {entry!r}")
        for match in matches:
            if os.path.isdir(match):
                for root, dirs, files in os.walk(match):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    found.update(os.path.join(root, f) for f in files if f.endswith(MANIFEST_SUFFIXES))
            elif os.path.exists(match):
                found.add(match)
            else:
                raise FileNotFoundError(f"no manifest at {match!r}")
    return sorted(found)


def _field_path(parts) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class SchemaValidator:
    """Validates manifest documents against one Kubernetes version's schemas."""

    def __init__(self, kubernetes_version: str, strict: bool = True) -> None:
        self.version = resolve_version(kubernetes_version)
        self.strict = strict
        self.schema_dir = f"v{self.version}-local" + ("-strict" if strict else "")
        self._validators: dict[tuple[str, str], Any] = {}
        self._registry = None

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
        except FileNotFoundError:
            self._validators[key] = None
            return None
        if self._registry is None:
            definitions = kv_utils.schema_contents(f"kubernetes-json-schema/{self.schema_dir}/_definitions.json", "")
            self._registry = referencing.Resource.from_contents(definitions) @ referencing.Registry()
        registry = referencing.Resource.from_contents(schema) @ self._registry
        validator = jsonschema.validators.Draft202012Validator(schema, registry=registry)
        self._validators[key] = validator
        return validator

    def validate_document(self, doc: Any, file: str = "<string>", index: int = 0) -> list[Finding]:
        """All findings for one parsed document."""
        if not isinstance(doc, dict):
            return [Finding(file, index, "", "", "", "document is not a mapping", "parse")]
        kind = str(doc.get("kind") or "")
        name = str((doc.get("metadata") or {}).get("name") or "") if isinstance(doc.get("metadata"), dict) else ""
        findings: list[Finding] = []
        for required in ("apiVersion", "kind"):
            if not doc.get(required):
                findings.append(Finding(file, index, kind, name, required, "is required", "schema"))
        if not name:
            findings.append(Finding(file, index, kind, name, "metadata.name", "is required", "schema"))
        if findings and not (doc.get("apiVersion") and kind):
            return findings
        validator = self._validator(kind, str(doc["apiVersion"]))
        if validator is None:
            findings.append(
                Finding(
                    file,
                    index,
                    kind,
                    name,
                    "apiVersion",
                    f"no schema for kind {kind} in {doc['apiVersion']} for Kubernetes {self.version}",
                    "schema",
                )
            )
            return findings
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
            findings.extend(self._from_schema_error(err, file, index, kind, name))
        findings.extend(self._quantities(doc, [], file, index, kind, name))
        return findings

    @staticmethod
    def _from_schema_error(err, file, index, kind, name) -> list[Finding]:
        path = list(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set((err.schema.get("properties") or {}).keys())
            extras = sorted(k for k in err.instance if k not in allowed) or ["?"]
            return [
                Finding(file, index, kind, name, _field_path([*path, extra]), "unknown field (strict schema)", "schema")
                for extra in extras
            ]
        message = err.message
        if err.validator == "oneOf" and err.context:
            message = jsonschema.exceptions.best_match(err.context).message
        return [Finding(file, index, kind, name, _field_path(path), message, "schema")]

    def _quantities(self, node, path, file, index, kind, name) -> list[Finding]:
        out: list[Finding] = []
        if isinstance(node, dict):
            for key, value in node.items():
                here = [*path, key]
                if key in QUANTITY_MAP_KEYS and isinstance(value, dict):
                    for res, qty in value.items():
                        if isinstance(qty, dict | list):
                            continue
                        if not quantity_is_valid(qty):
                            out.append(
                                Finding(
                                    file,
                                    index,
                                    kind,
                                    name,
                                    _field_path([*here, res]),
                                    f"{qty!r} is not a Kubernetes quantity (e.g. 500m, 512Mi, 1Gi)",
                                    "quantity",
                                )
                            )
                    continue
                if key in QUANTITY_SCALAR_KEYS and not isinstance(value, dict | list):
                    if not quantity_is_valid(value):
                        out.append(
                            Finding(
                                file,
                                index,
                                kind,
                                name,
                                _field_path(here),
                                f"{value!r} is not a Kubernetes quantity (e.g. 500m, 512Mi, 1Gi)",
                                "quantity",
                            )
                        )
                    continue
                out.extend(self._quantities(value, here, file, index, kind, name))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                out.extend(self._quantities(item, [*path, i], file, index, kind, name))
        return out

    def validate_file(self, file: str) -> tuple[list[dict], list[Finding]]:
        """Objects found in a file (kind, name, apiVersion, valid) and the findings."""
        try:
            with open(file, encoding="utf-8") as handle:
                docs = [d for d in yaml.safe_load_all(handle) if d is not None]
        except (OSError, yaml.YAMLError) as exc:
            return [], [Finding(file, 0, "", "", "", f"cannot read YAML: {exc}", "parse")]
        if not docs:
            return [], [Finding(file, 0, "", "", "", "file holds no Kubernetes object", "parse")]
        objects: list[dict] = []
        findings: list[Finding] = []
        for index, doc in enumerate(docs):
            doc_findings = self.validate_document(doc, file, index)
            findings.extend(doc_findings)
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            objects.append(
                {
                    "file": file,
                    "document": index,
                    "api_version": doc.get("apiVersion") if isinstance(doc, dict) else None,
                    "kind": doc.get("kind") if isinstance(doc, dict) else None,
                    "name": meta.get("name") if isinstance(meta, dict) else None,
                    "namespace": meta.get("namespace") if isinstance(meta, dict) else None,
                    "valid": not doc_findings,
                }
            )
        return objects, findings


def validate_paths(paths: list[str], kubernetes_version: str, strict: bool = True) -> dict:
    """Validate every manifest under ``paths``; return a JSON-ready result.

    ``{"kubernetes_version": resolved, "objects": [...], "errors": [...], "summary": {...}}``
    """
    validator = SchemaValidator(kubernetes_version, strict=strict)
    files = expand_paths(paths)
    objects: list[dict] = []
    findings: list[Finding] = []
    for file in files:
        file_objects, file_findings = validator.validate_file(file)
        objects.extend(file_objects)
        findings.extend(file_findings)
    return {
        "kubernetes_version": validator.version,
        "strict": strict,
        "objects": objects,
        "errors": [asdict(f) | {"line": f.line()} for f in findings],
        "summary": {
            "files": len(files),
            "objects": len(objects),
            "errors": len(findings),
            "invalid_files": len({f.file for f in findings}),
        },
    }
