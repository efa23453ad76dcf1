# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lint engine: load inputs, run every enabled rule, collect findings and a summary."""

from __future__ import annotations

import json
import re

from . import rules as registry
from .findings import Finding, is_failure, sort_key, summarize
from .images import ImageInspector
from .loader import load

try:  # kubernetes-validate ships the Kubernetes JSON schemas (requirements/runtime.txt)
    import jsonschema
    import kubernetes_validate
    from kubernetes_validate import utils as kv_utils
    from referencing import Registry, Resource
except ImportError:  # pragma: no cover - schema validation is then reduced to structure checks
    kubernetes_validate = None


class SchemaValidator:
    """Kubernetes JSON-schema validation with one compiled validator per kind and apiVersion."""

    def __init__(self, version: str | None = None, strict: bool = True):
        self.version = version or kubernetes_validate.latest_version()
        self.strict = strict
        self._validators: dict = {}
        self._definitions = None

    def _schema_dir(self) -> str:
        versions = [v for v in kv_utils.all_versions() if kv_utils.major_minor(v) <= kv_utils.major_minor(self.version)]
        chosen = versions[-1] if versions else kubernetes_validate.latest_version()
        return f"v{chosen}-local" + ("-strict" if self.strict else "")

    def _validator(self, kind: str, api_version: str):
        key = (kind, api_version)
        if key not in self._validators:
            group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            directory = self._schema_dir()
            try:
                schema = kv_utils.schema_contents(
                    f"kubernetes-json-schema/{directory}/{kind.lower()}-{group_version}.json", self.version
                )
            except (FileNotFoundError, OSError, ValueError):
                self._validators[key] = None  # a CRD or an unknown kind: no schema to check against
                return None
            if self._definitions is None:
                self._definitions = kv_utils.schema_contents(
                    f"kubernetes-json-schema/{directory}/_definitions.json", self.version
                )
            registry_ = Resource.from_contents(self._definitions) @ (Resource.from_contents(schema) @ Registry())
            self._validators[key] = jsonschema.validators.Draft202012Validator(schema, registry=registry_)
        return self._validators[key]

    def errors(self, data: dict, limit: int = 5):
        validator = self._validator(str(data.get("kind")), str(data.get("apiVersion")))
        if validator is None:
            return
        for count, error in enumerate(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))):
            if count >= limit:
                return
            path = ".".join(str(p) for p in error.absolute_path)
            yield path, f"schema: {error.message}"


def lint(
    paths: list[str] | None = None,
    definitions: list | None = None,
    compose_projects: list[list[str]] | None = None,
    disable: list[str] | None = None,
    thresholds: dict | None = None,
    startup_seconds: dict | None = None,
    parity: dict | None = None,
    fail_on: str = "error",
    check_images: bool = True,
    schema: bool = True,
    kubernetes_version: str | None = None,
    base_dir: str = "",
    environ: dict | None = None,
    images: ImageInspector | None = None,
) -> dict:
    """Lint Kubernetes manifests and Compose files; return findings, summary and failed."""
    disabled = set(disable or [])
    unknown = sorted(disabled - set(registry.RULES))
    if unknown:
        raise ValueError(f"unknown rule id(s) in disable: {', '.join(unknown)}")
    thresholds = dict(thresholds or {})
    startup = dict(thresholds.pop("startup_seconds", None) or {})
    startup.update(startup_seconds or {})
    unknown = sorted(set(thresholds) - set(registry.DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown threshold(s): {', '.join(unknown)}; known: {', '.join(registry.DEFAULT_THRESHOLDS)}")

    inputs = load(paths, definitions, compose_projects, base_dir=base_dir, environ=environ)
    own_images = images is None and check_images and bool(inputs.projects)
    if own_images:
        images = ImageInspector()
    validator = SchemaValidator(kubernetes_version) if schema and kubernetes_validate is not None else None
    ctx = registry.Context(
        objects=inputs.objects,
        projects=inputs.projects,
        thresholds=thresholds,
        startup_seconds=startup,
        parity=dict(parity or {}),
        images=images if check_images else None,
        schema=validator,
    )
    findings = [f for f in inputs.findings if f.rule not in disabled]
    try:
        for rule in registry.RULES.values():
            if rule.check is None or rule.id in disabled:
                continue
            try:
                hits = list(rule.check(ctx))
            except Exception as exc:
                hits = [registry.Hit("", "", f"rule could not evaluate the input ({type(exc).__name__}: {exc})")]
            findings.extend(
                Finding(rule.id, rule.severity, h.file, h.object, h.container, h.field, h.message, h.line) for h in hits
            )
    finally:
        if own_images and images is not None:
            images.close()
    findings.sort(key=sort_key)
    return {
        "findings": [f.as_dict() for f in findings],
        "summary": summarize(findings),
        "failed": is_failure(findings, fail_on),
        "inputs": {
            "objects": len(inputs.objects),
            "compose_projects": [p.files for p in inputs.projects],
        },
        "_findings": findings,
    }


def rule_table() -> list[dict]:
    """Every rule: id, severity, scope, doc — for docs, SARIF and ``--list-rules``."""
    return [
        {"id": r.id, "severity": r.severity, "scope": r.scope, "doc": r.doc}
        for r in sorted(registry.RULES.values(), key=lambda r: (r.scope, r.id))
    ]


def dumps(result: dict) -> str:
    return json.dumps({k: v for k, v in result.items() if not k.startswith("_")}, indent=2, sort_keys=True)
