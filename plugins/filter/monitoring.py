# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the monitoring role: the alerting rules and their promtool tests (logic in module_utils)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.goaltrajectory.platform.plugins.module_utils import image_results
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_dashboards as md
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_k8s as mk
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_rules as mr
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_stack as ms

DOCUMENTATION = r"""
name: monitoring_rule_files
short_description: The Prometheus alerting rules of an environment and their promtool tests
version_added: 0.3.0
description:
  - Builds the alerting rules for the services of O(_input) (the result of C(service_catalog)) with the settings
    O(settings), and C(promtool test rules) files that make every rule fire and stay quiet at the environment's
    thresholds.
  - Returns C([{path, content}]) for C(goaltrajectory.platform.file_tree) - C(rules/goaltrajectory-alerts.yml) and
    C(rule-tests/goaltrajectory-alerts*.test.yml). Bad settings fail naming the C(monitoring_*) variable.
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


def _wrap(func, *args):
    try:
        return func(*args)
    except mr.MonitoringError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def monitoring_stack_files(services, settings):
    """The monitoring Compose project's files (plugins/module_utils/monitoring_stack.py)."""
    return _wrap(ms.compose_files, dict(services), settings)


def monitoring_image_plan(images, components, tools_dir, repository, checksums, environment):
    """The monitoring images the images role builds: binaries, content-derived and environment tags, build context."""
    return _wrap(ms.image_plan, images, components, tools_dir, repository, checksums, environment)


def monitoring_image_refs(text, explicit, keys, source, environment, require_digest, missing_ok=False):
    """``{key: reference}`` of the stack's images (keys as its settings name them, alert_receiver) from the
    images role's results file (its text; names with dashes, alert-receiver) and ``monitoring_images``."""
    names = {key: key.replace("_", "-") for key in keys}
    try:
        refs = image_results.choose(
            image_results.parse(text, source), dict(explicit or {}), list(names.values()), source=source,
            variable="monitoring_images", environment=environment, require_digest=bool(require_digest),
            missing_ok=bool(missing_ok),
        )  # fmt: skip
    except image_results.ImageRefError as exc:
        raise AnsibleFilterError(str(exc)) from exc
    return {key: refs[name] for key, name in names.items()}


def monitoring_dashboard_files(services, settings, prometheus_url):
    """The Perses project, datasource and services dashboard as provisioning files (``dashboards/*.json``)."""
    return _wrap(md.files, dict(services), settings, prometheus_url)


def monitoring_app_networks(services, settings):
    """The app project's networks the monitoring Compose project joins (external to it)."""
    return _wrap(ms.app_networks, dict(services), settings)


def monitoring_built_key(status, check_mode):
    """What a program's binary is made from (k8s_cluster_go_build's status hash); empty when it is not
    built and this is check mode (nothing was built)."""
    return status["hash"] if status.get("current") or not check_mode else ""


def monitoring_stack_release(files, images):
    """Services, images and files digest of the rendered monitoring Compose project (the settled check's input)."""
    return _wrap(ms.stack_release, files, images)


def monitoring_k8s_objects(services, settings):
    """The Kubernetes monitoring stack's objects as [{object, wait}] (plugins/module_utils/monitoring_k8s.py)."""
    return _wrap(mk.objects, dict(services), settings)


def monitoring_k8s_tree_files(items, environment, namespace):
    """The Kubernetes monitoring stack as a GitOps tree: a file per object and a kustomization.yaml."""
    return _wrap(mk.tree_files, items, environment, namespace)


def monitoring_sbom_files(plan, buildinfo_results):
    """A CycloneDX SBOM per built monitoring image, from its binaries' Go build information."""
    return _wrap(ms.sbom_files, plan, buildinfo_results)


def monitoring_rule_files(services, settings):
    try:
        return mr.files(dict(services), settings)
    except mr.MonitoringError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {
            "monitoring_rule_files": monitoring_rule_files,
            "monitoring_stack_files": monitoring_stack_files,
            "monitoring_dashboard_files": monitoring_dashboard_files,
            "monitoring_image_plan": monitoring_image_plan,
            "monitoring_k8s_objects": monitoring_k8s_objects,
            "monitoring_endpoints": mk.endpoints,
            "monitoring_built_key": monitoring_built_key,
            "monitoring_target_problems": ms.target_problems,
            "monitoring_app_networks": monitoring_app_networks,
            "monitoring_k8s_tree_files": monitoring_k8s_tree_files,
            "monitoring_sbom_files": monitoring_sbom_files,
            "monitoring_stack_release": monitoring_stack_release,
            "monitoring_image_actions": ms.image_actions,
            "monitoring_plan_tags": ms.image_refs,
            "monitoring_image_refs": monitoring_image_refs,
            "monitoring_published_images": ms.published_images,
            "monitoring_context_files": ms.context_files,
        }
