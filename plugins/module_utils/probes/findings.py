# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Findings, severity ordering, summaries and SARIF 2.1.0 output."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")
_RANK = {"error": 3, "warning": 2, "info": 1, "none": 99}
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


# The keys of a probe_lint finding (RETURN findings) and of a k8s_schema_validate error (RETURN errors).
LINT_KEYS = ("rule", "severity", "file", "object", "container", "field", "message", "line")
SCHEMA_KEYS = ("file", "document", "kind", "name", "field", "message", "check")


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, how bad, and where (file, object, container, field).

    The one finding type of the collection: probe_lint's rules and the Kubernetes schema validator
    (``k8s_validate``, shared by probe_lint and k8s_schema_validate) both produce it.  ``document``,
    ``kind``, ``name`` and ``check`` locate schema findings the way k8s_schema_validate reports them.
    """

    rule: str
    severity: str
    file: str
    object: str
    container: str
    field: str
    message: str
    line: int = 0
    # Position of the YAML document in its file or definition, 0 first.
    document: int = 0
    kind: str = ""
    name: str = ""
    # For schema validation: schema, quantity or parse.
    check: str = ""

    def as_dict(self) -> dict:
        """probe_lint's shape (RETURN findings)."""
        return {key: getattr(self, key) for key in LINT_KEYS}

    def text(self) -> str:
        """``file: Kind/name: field: message`` — one line of k8s_schema_validate's failure message."""
        obj = f"{self.kind}/{self.name}" if self.kind else f"document {self.document}"
        return f"{self.file}: {obj}: {self.field or '<root>'}: {self.message}"

    def as_error(self) -> dict:
        """k8s_schema_validate's shape (RETURN errors); its ``line`` key is the text, not a number."""
        return {key: getattr(self, key) for key in SCHEMA_KEYS} | {"line": self.text()}


def summarize(findings: list[Finding]) -> dict:
    """Counts by severity, always with every severity key, plus the total."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    counts["total"] = len(findings)
    return counts


def is_failure(findings: list[Finding], fail_on: str) -> bool:
    """True when any finding is at least as severe as ``fail_on`` (error|warning|info|none)."""
    if fail_on not in _RANK:
        raise ValueError(f"fail_on must be one of error, warning, info, none; got {fail_on!r}")
    floor = _RANK[fail_on]
    return any(_RANK[f.severity] >= floor for f in findings)


def sort_key(finding: Finding) -> tuple:
    return (finding.file, finding.line, finding.object, finding.container, -_RANK[finding.severity], finding.rule)


def to_sarif(findings: list[Finding], rules: dict, tool_version: str = "0.1.0") -> dict:
    """Render findings as one SARIF 2.1.0 run; ``rules`` maps rule id -> Rule."""
    rule_ids = sorted(rules)
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    driver_rules = [
        {
            "id": rule_id,
            "name": rule_id,
            "shortDescription": {"text": rules[rule_id].doc},
            "defaultConfiguration": {"level": _SARIF_LEVEL[rules[rule_id].severity]},
            "properties": {"scope": rules[rule_id].scope},
        }
        for rule_id in rule_ids
    ]
    results = []
    for finding in findings:
        where = " ".join(
            part
            for part in (
                finding.object,
                f"container {finding.container}" if finding.container else "",
                f"field {finding.field}" if finding.field else "",
            )
            if part
        )
        result = {
            "ruleId": finding.rule,
            "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": f"{where}: {finding.message}" if where else finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.file or "<inline>"},
                        "region": {"startLine": max(finding.line, 1)},
                    },
                    "logicalLocations": [{"name": finding.object or finding.file, "kind": "object"}],
                }
            ],
        }
        if finding.rule in index:
            result["ruleIndex"] = index[finding.rule]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "probe_lint",
                        "fullName": "goaltrajectory.platform.probe_lint",
                        "version": tool_version,
                        "informationUri": "https://github.com/goaltrajectory/platform",
                        "rules": driver_rules,
                    }
                },
                "results": results,
            }
        ],
    }
