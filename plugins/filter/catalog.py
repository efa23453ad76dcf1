# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the service catalog and render from it (logic in module_utils)."""

from __future__ import annotations

import base64

from ansible.errors import AnsibleFilterError

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog as cat
from ansible_collections.goaltrajectory.platform.plugins.module_utils import (
    compose_project,
    image_results,
    k8s_gitops,
    k8s_tree,
    secret_checks,
    yaml_dump,
)

DOCUMENTATION = r"""
name: service_catalog
short_description: Check and complete the service catalog
version_added: 0.2.0
description:
  - Merges O(_input) (C(catalog_services)) with O(overrides) (C(catalog_overrides)), checks every field and fills in
    the defaults; errors name the service and field. The result maps service names to their complete entries,
    in dependency order. The other filters of this file take that result.
positional: overrides
options:
  _input:
    description: C(catalog_services).
    type: dict
    required: true
  overrides:
    description: C(catalog_overrides).
    type: dict
"""


def _wrap(func, *args):
    try:
        return func(*args)
    except (
        cat.CatalogError,
        compose_project.ComposeError,
        k8s_tree.TreeError,
        image_results.ImageRefError,
        secret_checks.SecretError,
    ) as exc:
        raise AnsibleFilterError(str(exc)) from exc


def service_catalog(services, overrides=None):
    return _wrap(cat.build, services, overrides)


def catalog_health_command(service, probe="liveness"):
    return cat.health_command(service, probe)


def catalog_base_images(services):
    return cat.base_images(services)


def compose_files(services, settings, header=None):
    """[{path, content}] of the environment's Compose files."""
    files = _wrap(compose_project.build, services, settings)
    rendered = [
        {"path": name, "content": yaml_dump.document(data, header, start=False)} for name, data in files.items()
    ]
    # A bare `docker compose ...` in the project directory then uses the same project and files.
    return [*rendered, {"path": ".env", "content": compose_project.dotenv(settings, list(files))}]


def compose_probe_targets(services, containers, bind_address):
    return compose_project.probe_targets(services, containers, bind_address)


def compose_summary(services, containers, probes, bind_address):
    return compose_project.summary(services, containers, probes, bind_address)


def compose_diagnostics(failed, infos, logs, log_lines):
    return compose_project.diagnostics(failed, infos, logs, log_lines)


def compose_repairs(inspected, services):
    return compose_project.repairs(inspected, list(services))


def compose_settled(inspected, services, recorded, release, image_ids):
    return compose_project.settled(inspected, list(services), recorded or {}, release, image_ids)


def compose_ps_records(inspected):
    return compose_project.ps_records(inspected)


def compose_service_containers(containers):
    """Service -> container ID from Compose's container records (``up``'s result or ps_records)."""
    return {c["Service"]: c["ID"] for c in containers}


def missing_images(images, infos):
    return compose_project.missing_images(images, infos)


def compose_image_keys(services, environment):
    return compose_project.image_keys(services, environment)


def compose_secret_files(names, values):
    """The secret files of the project: one per name, lower-cased, holding its value."""
    return [{"path": name.lower(), "content": str(values[name])} for name in names]


def compose_secret_names(services):
    return compose_project.secret_names(services)


def k8s_objects(services, settings):
    """Every object of the Kubernetes tree in apply order (file, kind, name, wait, sources, object)."""
    return _wrap(k8s_tree.build, services, settings)


def k8s_files(objects, header):
    """[{path, content}] of the tree: one file per object with its provenance header, and the
    kustomization.yaml listing them in apply order. Objects without a file (the Secret) stay out."""
    files = []
    for obj in k8s_gitops.in_tree(objects):
        lines = [
            f"{obj['kind']} {obj['name']}: {obj['file']} for environment {header['environment']!r}"
            f" (namespace {header['namespace']!r}, validated for Kubernetes {header['kubernetes_version']}).",
            "Rendered by the goaltrajectory.platform k8s role from the service catalog (roles/catalog);",
            "change the catalog or the role variables, not this file.",
            *obj["sources"],
        ]
        files.append({"path": obj["file"], "content": yaml_dump.document(obj["object"], lines)})
    files.append(k8s_gitops.kustomization(objects, header))
    return files


def k8s_definitions(objects, tree):
    """The objects as the validators take them in memory, each naming its file in the tree."""
    return [
        {
            "source": f"{tree}/{obj['file']}"
            if obj.get("file")
            else f"{obj['kind']} {obj['name']} (memory, not in {tree})",
            "definition": obj["object"],
        }
        for obj in objects
    ]


def secret_data(keys, values):
    """The Secret's ``data``: each key's value base64-encoded (keys the checks found present)."""
    return {key: base64.b64encode(str(values[key]).encode()).decode() for key in keys}


def k8s_prune_kinds(_unused=None):
    return k8s_tree.prune_kinds()


def k8s_routes(services, base_url):
    """Workload name -> the URL of its ingress route (for the deploy summary)."""
    return {name: f"{base_url.rstrip('/')}{svc['ingress']['path']}" for name, svc in services.items() if svc["ingress"]}


def k8s_apply_summary(result):
    """One line per workload from k8s_tree_apply's summary."""
    lines = []
    for row in result.get("summary", []):
        probes = "probes ok" if not row["probe_failures"] else f"{row['probe_failures']} probe failures"
        digests = ",".join(d[:19] for d in row["digests"]) or "-"
        lines.append(
            f"{row['name']:<9} {row['ready']}/{row['desired']} ready  {probes:<18} {digests} {row['url']}".rstrip()
        )
    return lines


def image_refs(text, explicit, names, source, variable, environment, require_digest, missing_ok=False):
    """Reference per image name from the images role's results file (its text) and explicit overrides."""

    def run():
        results = image_results.parse(text, source)
        return image_results.choose(
            results,
            explicit or {},
            list(names),
            source=source,
            variable=variable,
            environment=environment,
            require_digest=bool(require_digest),
            missing_ok=bool(missing_ok),
        )

    return _wrap(run)


def secret_problems(values, keys, variable, strict, patterns=None):
    """Names (never values) of missing, unknown or placeholder secrets."""
    return _wrap(secret_checks.problems, values, list(keys), variable, bool(strict), patterns or [])


class FilterModule:
    def filters(self):
        return {
            "service_catalog": service_catalog,
            "catalog_health_command": catalog_health_command,
            "catalog_base_images": catalog_base_images,
            "compose_files": compose_files,
            "compose_image_keys": compose_image_keys,
            "compose_probe_targets": compose_probe_targets,
            "compose_summary": compose_summary,
            "compose_diagnostics": compose_diagnostics,
            "missing_images": missing_images,
            "compose_repairs": compose_repairs,
            "compose_settled": compose_settled,
            "compose_ps_records": compose_ps_records,
            "compose_service_containers": compose_service_containers,
            "compose_secret_names": compose_secret_names,
            "compose_secret_files": compose_secret_files,
            "k8s_objects": k8s_objects,
            "k8s_files": k8s_files,
            "k8s_prune_kinds": k8s_prune_kinds,
            "k8s_routes": k8s_routes,
            "k8s_apply_summary": k8s_apply_summary,
            "k8s_definitions": k8s_definitions,
            "secret_data": secret_data,
            "image_refs": image_refs,
            "secret_problems": secret_problems,
        }
