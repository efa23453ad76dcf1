# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the images role: its results documents (logic in module_utils/images/results.py)."""

from __future__ import annotations

import json

from ansible_collections.goaltrajectory.platform.plugins.module_utils.images import results

DOCUMENTATION = r"""
name: images_results
short_description: The images role's results file for one environment
version_added: 0.2.0
description:
  - From the results of the image_build, image_check and image_publish modules, the document the images role
    writes to C(<images_results_dir>/<environment>.json) (format in module_utils/image_results.py).
positional: checks, published, environment, registry
options:
  _input:
    description: The image_build module's result.
    type: dict
    required: true
  checks:
    description: The image_check module's C(images).
    type: dict
  published:
    description: The image_publish module's C(refs) (empty without a registry).
    type: dict
  environment:
    description: The environment (C(images_environment)).
    type: str
  registry:
    description: C(images_registry).
    type: str
"""


def images_results(build, checks, published, environment, registry):
    return results.document(build, checks or {}, published or {}, environment=environment, registry=registry)


def images_build_results(document, checks):
    return results.build_results(document, checks or {})


def images_promoted(published, environment, registry, source, source_text=""):
    """The results file of a promotion; ``source_text``: the promoted environment's results file, if any."""
    try:
        source_doc = json.loads(source_text) if source_text else None
    except ValueError:
        source_doc = None
    return results.promoted(published, environment=environment, registry=registry, source=source, source_doc=source_doc)


def images_build_times(loop_results):
    """``<image>: <seconds> s`` for each image the build loop built."""
    lines = []
    for result in loop_results:
        image = (result.get("images") or {}).get(result.get("item"), {})
        if image.get("seconds") is not None:
            lines.append(f"{result['item']}: {image['seconds']} s")
    return lines


class FilterModule:
    def filters(self):
        return {
            "images_results": images_results,
            "images_build_results": images_build_results,
            "images_promoted": images_promoted,
            "images_build_times": images_build_times,
        }
