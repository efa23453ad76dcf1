# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shell entry point, from the repository root::

    python -m plugins.module_utils.probes lint k8s/ compose.yaml --format sarif > probes.sarif
    python -m plugins.module_utils.probes probe targets.yaml --calibrate
    python -m plugins.module_utils.probes rules

``lint`` exits 1 when a finding reaches --fail-on, ``probe`` exits 1 when a target did not
succeed, and both exit 2 on invalid options (an unsupported --kubernetes-version included).
``lint`` exits 3, printing the rule id and the traceback, when a rule crashes.
"""

from __future__ import annotations

import argparse
import json
import sys

from .. import k8s_validate
from . import engine, prober, rules
from .findings import to_sarif


def _pairs(values: list[str], cast=float) -> dict:
    result = {}
    for item in values or []:
        key, sep, value = item.rpartition("=")
        if not sep:
            raise SystemExit(f"expected KEY=VALUE, got {item!r}")
        result[key] = cast(value)
    return result


def _lint(args) -> int:
    try:
        result = engine.lint(
            paths=args.paths,
            compose_projects=[p.split(",") for p in args.compose_project or []],
            disable=[d for item in args.disable or [] for d in item.split(",") if d],
            thresholds=_pairs(args.threshold),
            startup_seconds=_pairs(args.startup_seconds),
            fail_on=args.fail_on,
            check_images=not args.no_images,
            schema=not args.no_schema,
            kubernetes_version=args.kubernetes_version,
        )
    except engine.RuleError as exc:
        print(f"probe_lint: {exc}\n{exc.traceback}", file=sys.stderr)
        return 3
    except (ValueError, k8s_validate.MissingLibraryError) as exc:
        print(f"probe_lint: {exc}", file=sys.stderr)
        return 2
    if args.format == "sarif":
        print(json.dumps(to_sarif(result["_findings"], rules.RULES), indent=2))
    else:
        print(engine.dumps(result))
    return 1 if result["failed"] else 0


def _probe(args) -> int:
    import yaml  # here, not on top: module_utils must import without PyYAML (ansible-test sanity import)

    with open(args.targets, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    targets = spec.get("targets", []) if isinstance(spec, dict) else spec
    try:
        result = prober.run_probes(
            targets,
            deadline=args.deadline,
            concurrency=args.concurrency,
            calibrate=args.calibrate,
            safety_margin=args.safety_margin,
        )
    except prober.TargetError as exc:
        print(f"probe_check: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 1 if result["failed"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plugins.module_utils.probes", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    lint = sub.add_parser("lint", help="lint Kubernetes manifests and Compose files")
    lint.add_argument("paths", nargs="*", help="files, directories or globs")
    lint.add_argument("--format", choices=("json", "sarif"), default="json")
    lint.add_argument("--fail-on", choices=("error", "warning", "info", "none"), default="error")
    lint.add_argument("--disable", action="append", help="rule ids to skip (repeatable, comma separated)")
    lint.add_argument("--threshold", action="append", help="NAME=VALUE, e.g. max_liveness_initial_delay=30")
    lint.add_argument("--startup-seconds", action="append", help="OBJECT=SECONDS, e.g. Deployment/default/backend=40")
    lint.add_argument("--compose-project", action="append", help="comma separated files merged in order (-f a -f b)")
    lint.add_argument("--no-images", action="store_true", help="do not inspect local images")
    lint.add_argument("--no-schema", action="store_true", help="skip Kubernetes JSON-schema validation")
    lint.add_argument(
        "--kubernetes-version", default=None, help="schemas to validate against (default: the newest shipped)"
    )
    lint.set_defaults(func=_lint)

    probe = sub.add_parser("probe", help="run probes against live targets")
    probe.add_argument("targets", help="YAML file: a list of targets or {targets: [...]}")
    probe.add_argument("--deadline", type=float, default=60.0)
    probe.add_argument("--concurrency", type=int, default=16)
    probe.add_argument("--calibrate", action="store_true")
    probe.add_argument("--safety-margin", type=float, default=1.5)
    probe.set_defaults(func=_probe)

    listing = sub.add_parser("rules", help="list the lint rules")
    listing.set_defaults(func=lambda _args: print(json.dumps(engine.rule_table(), indent=2)) or 0)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
