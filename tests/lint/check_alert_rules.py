# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make lint`'s alert rule check: python tests/lint/check_alert_rules.py PROMTOOL DIR...

Each DIR is an environment's rendered monitoring tree (roles/monitoring): rules/*.yml and
rule-tests/*.test.yml. For each:

1. every alerting rule has a test where it fires and a quiet test fed the metrics it reads
   (monitoring_rules.coverage, read back from the files): a rule without a test fails;
2. ``promtool check rules`` on the rules;
3. ``promtool test rules`` on the tests;
4. the tests can fail: against a copy of the rules whose expressions never fire, every firing
   case must fail; against one whose expressions always fire, every quiet case must fail; and
   against one without `for`, every firing case that checks the alert is not firing one step
   before its `for` must fail.
   Whether a case can fail does not depend on the thresholds, so this runs once per set of
   rules (the first environment with those alert names and labels); the environments run in
   parallel.

Exits 1 naming what failed.
"""

from __future__ import annotations

import concurrent.futures
import copy
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_rules as mr  # noqa: E402


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def failed_groups(output: str) -> set[str]:
    return set(re.findall(r"^\s+name: (.*?),?$", output, re.MULTILINE))


def mutant(rules_doc: dict, how: str) -> dict:
    doc = copy.deepcopy(rules_doc)
    for group in doc["groups"]:
        for rule in group["rules"]:
            # never: the expression returns nothing; always: a sample every evaluation; no-for:
            # the alert fires as soon as its expression does.
            if how == "no-for":
                rule.pop("for", None)
            else:
                rule["expr"] = f"({rule['expr']}) unless on () vector(1)" if how == "never" else "vector(1)"
    return doc


def rule_keys(tree: str) -> tuple[str, ...]:
    with open(os.path.join(tree, mr.RULES_FILE), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    return tuple(sorted(mr.rule_key(r) for g in doc["groups"] for r in g["rules"]))


def check(promtool: str, tree: str, mutants: bool) -> list[str]:
    rules_path = os.path.join(tree, mr.RULES_FILE)
    tests_dir = os.path.join(tree, mr.TESTS_DIR)
    test_files = sorted(f for f in os.listdir(tests_dir) if f.endswith(".test.yml"))
    with open(rules_path, encoding="utf-8") as handle:
        rules_doc = yaml.safe_load(handle)
    tests_docs = {}
    for name in test_files:
        with open(os.path.join(tests_dir, name), encoding="utf-8") as handle:
            tests_docs[name] = yaml.safe_load(handle)
    problems = [f"{tree}: {p}" for p in mr.coverage(rules_doc, list(tests_docs.values()))]
    n_rules = sum(len(g["rules"]) for g in rules_doc["groups"])
    names = [t["name"] for doc in tests_docs.values() for t in doc["tests"]]
    firing = {
        t["name"]
        for doc in tests_docs.values()
        for t in doc["tests"]
        if any(c.get("exp_alerts") for c in t["alert_rule_test"])
    }
    quiet = set(names) - firing
    # Firing tests that also check the alert is not firing yet one step before its `for`.
    pending = {
        t["name"]
        for doc in tests_docs.values()
        for t in doc["tests"]
        if t["name"] in firing and len(t["alert_rule_test"]) > 1
    }

    result = run([promtool, "check", "rules", rules_path])
    if result.returncode:
        problems.append(f"{rules_path}: promtool check rules failed:\n{result.stdout}{result.stderr}")
    result = run([promtool, "test", "rules", *[os.path.join(tests_dir, n) for n in test_files]])
    if result.returncode:
        problems.append(f"{tests_dir}: promtool test rules failed:\n{result.stdout}{result.stderr}")

    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, os.path.dirname(mr.RULES_FILE)))
        os.makedirs(os.path.join(tmp, mr.TESTS_DIR))
        for name, doc in tests_docs.items():
            with open(os.path.join(tmp, mr.TESTS_DIR, name), "w", encoding="utf-8") as handle:
                yaml.safe_dump(doc, handle, sort_keys=False)
        for how, must_fail in (("never", firing), ("always", quiet), ("no-for", pending)) if mutants else ():
            with open(os.path.join(tmp, mr.RULES_FILE), "w", encoding="utf-8") as handle:
                yaml.safe_dump(mutant(rules_doc, how), handle, sort_keys=False)
            result = run([promtool, "test", "rules", *[os.path.join(tmp, mr.TESTS_DIR, n) for n in test_files]])
            missed = sorted(must_fail - failed_groups(result.stdout + result.stderr))
            if missed:
                problems.append(f"{tests_dir}: with rules that {how} fire these tests still pass: {missed}")
    print(
        f"{tree}: {n_rules} rules, {len(names)} promtool tests ({len(firing)} firing, {len(quiet)} quiet) in"
        f" {len(test_files)} files: "
        + ("FAILED" if problems else "check and test pass, every rule covered")
        + (", the tests fail against mutants" if mutants and not problems else "")
    )
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    promtool, trees = argv[0], argv[1:]
    seen, jobs = set(), []
    for tree in trees:
        keys = rule_keys(tree)
        jobs.append((tree, keys not in seen))
        seen.add(keys)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda job: check(promtool, *job), jobs))
    problems = [p for result in results for p in result]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
