# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the monitoring role: the alerting rules and their promtool tests (logic in module_utils)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_rules as mr
from ansible_collections.goaltrajectory.platform.plugins.module_utils import yaml_dump

DOCUMENTATION = r"""
name: monitoring_rule_files
short_description: The Prometheus alerting rules of an environment and their promtool tests
version_added: 0.3.0
description:
  - Builds the alerting rules for the services of O(_input) (the result of C(service_catalog)) with the settings
    O(settings), and a C(promtool test rules) file that makes every rule fire and stay quiet at the environment's
    thresholds.
  - Returns C([{path, content}]) for C(goaltrajectory.platform.file_tree), C(rules/goaltrajectory-alerts.yml) and
    C(rule-tests/goaltrajectory-alerts.test.yml). Bad settings fail naming the C(monitoring_*) variable.
positional: settings
options:
  _input:
    description: The checked service catalog (C(catalog_services | goaltrajectory.platform.service_catalog)).
    type: dict
    required: true
  settings:
    description:
      - The role's variables without their C(monitoring_) prefix (environment, engine, namespace, compose_project,
        cadvisor_job, node_job, prometheus_job, compose_volume_mountpoint, thresholds, threshold_overrides).
    type: dict
    required: true
"""


def monitoring_rule_files(services, settings):
    try:
        rules = mr.build(dict(services), settings)
        checked = mr.settings(settings)
    except mr.MonitoringError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    where = f"environment {checked['environment']!r} ({checked['engine']})"
    header = [
        f"Prometheus alerting rules for {where}, {len(rules)} rules.",
        "Rendered by the goaltrajectory.platform monitoring role from the service catalog (roles/catalog) and the",
        "monitoring_thresholds / monitoring_threshold_overrides variables; change those, not this file.",
    ]
    tests_header = [
        f"promtool unit tests of {mr.RULES_FILE} for {where}: each rule fires on a fault and stays quiet on",
        "healthy data at this environment's thresholds. Run: promtool test rules <this file>.",
        "Rendered by the goaltrajectory.platform monitoring role; change the role, not this file.",
    ]
    tests = mr.tests_document(rules, "../" + mr.RULES_FILE)
    return [
        {"path": mr.RULES_FILE, "content": yaml_dump.document(mr.rules_document(rules), header)},
        {"path": mr.TESTS_FILE, "content": yaml_dump.document(tests, tests_header)},
    ]


class FilterModule:
    def filters(self):
        return {"monitoring_rule_files": monitoring_rule_files}
