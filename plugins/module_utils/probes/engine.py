# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lint engine: load inputs, run every enabled rule, collect findings and a summary."""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import traceback

from .. import k8s_validate
from . import rules as registry
from .findings import Finding, is_failure, sort_key, summarize
from .images import ImageInspector
from .loader import load


class RuleError(RuntimeError):
    """A rule raised instead of returning findings: a bug in the rule, never a finding about the input."""

    def __init__(self, rule_id: str, exc: BaseException) -> None:
        self.rule = rule_id
        self.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        super().__init__(f"rule {rule_id} crashed: {type(exc).__name__}: {exc}")


def _gc_paused(func):
    """Run ``func`` with Python's cyclic garbage collector paused.

    A lint builds tens of thousands of dicts and lists that live until the end of the run, and each
    full collection walks all of them, which made a ten-times-larger input more than ten times
    slower (bench/probes.py).  The parsed documents hold no reference cycles; the collector runs
    again afterwards.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


@_gc_paused
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

    # The shared schema validator; an unsupported kubernetes_version is an error even with nothing to validate.
    validator = None
    if kubernetes_version is not None:
        k8s_validate.resolve_version(kubernetes_version)
    inputs = load(paths, definitions, compose_projects, base_dir=base_dir, environ=environ)
    if schema and inputs.objects:
        validator = k8s_validate.get_validator(kubernetes_version, strict=True)
    own_images = images is None and check_images and bool(inputs.projects)
    if own_images:
        images = ImageInspector()
    ctx = registry.Context(
        objects=inputs.objects,
        projects=inputs.projects,
        thresholds=thresholds,
        startup_seconds=startup,
        parity=dict(parity or {}),
        images=images if check_images else None,
        schema=validator,
        kubernetes_version=kubernetes_version,
    )
    findings = [f for f in inputs.findings if f.rule not in disabled]
    try:
        for rule in registry.RULES.values():
            if rule.check is None or rule.id in disabled:
                continue
            try:
                findings.extend(_finding(rule, hit) for hit in rule.check(ctx))
            except Exception as exc:
                raise RuleError(rule.id, exc) from exc
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
        "kubernetes_version": validator.version if validator is not None else None,
        "_findings": findings,
    }


def _finding(rule: registry.Rule, hit: registry.Hit | Finding) -> Finding:
    """A rule yields Hits, or Findings from the shared schema validator; both carry the rule's id and severity."""
    if isinstance(hit, Finding):
        return dataclasses.replace(hit, rule=rule.id, severity=rule.severity)
    return Finding(rule.id, rule.severity, hit.file, hit.object, hit.container, hit.field, hit.message, hit.line)


def rule_table() -> list[dict]:
    """Every rule: id, severity, scope, doc — for docs, SARIF and ``--list-rules``."""
    return [
        {"id": r.id, "severity": r.severity, "scope": r.scope, "doc": r.doc}
        for r in sorted(registry.RULES.values(), key=lambda r: (r.scope, r.id))
    ]


def dumps(result: dict) -> str:
    return json.dumps({k: v for k, v in result.items() if not k.startswith("_")}, indent=2, sort_keys=True)


def run_module(params: dict) -> tuple[bool, dict]:
    """probe_lint's logic: (ok, result); on failure the result holds ``msg``.

    A crashing rule fails with ``rule`` (its id) and ``traceback``; an unsupported
    ``kubernetes_version`` fails with ``supported_versions``.
    """
    if not params.get("paths") and not params.get("definitions") and not params.get("compose_projects"):
        return False, {"msg": "nothing to lint: give paths, definitions or compose_projects", "changed": False}
    images = ImageInspector(params.get("docker_cli") or "docker") if params.get("check_images", True) else None
    failure: dict = {"changed": False, "findings": [], "summary": {}}
    try:
        result = lint(
            paths=params.get("paths"),
            definitions=params.get("definitions"),
            compose_projects=params.get("compose_projects"),
            disable=params.get("disable"),
            thresholds=params.get("thresholds"),
            startup_seconds=params.get("startup_seconds"),
            parity=params.get("parity"),
            fail_on=params.get("fail_on", "error"),
            check_images=params.get("check_images", True),
            schema=params.get("schema", True),
            kubernetes_version=params.get("kubernetes_version"),
            base_dir=params.get("base_dir") or "",
            images=images,
        )
    except RuleError as exc:
        return False, {**failure, "msg": f"probe_lint: {exc}", "rule": exc.rule, "traceback": exc.traceback}
    except k8s_validate.UnsupportedVersionError as exc:
        return False, {**failure, "msg": f"invalid options: {exc}", "supported_versions": exc.supported}
    except (ValueError, TypeError, k8s_validate.MissingLibraryError) as exc:
        return False, {**failure, "msg": f"invalid options: {exc}"}
    finally:
        if images is not None:
            images.close()
    result.pop("_findings")
    failed = result.pop("failed")
    disabled = set(params.get("disable") or [])
    result["rules"] = [r for r in rule_table() if r["id"] not in disabled]
    result["changed"] = False
    if failed:
        summary = result["summary"]
        msg = (
            f"probe_lint: {summary['error']} error(s), {summary['warning']} warning(s) "
            f"(fail_on={params.get('fail_on', 'error')})"
        )
        return False, {"msg": msg, **result}
    return True, result
