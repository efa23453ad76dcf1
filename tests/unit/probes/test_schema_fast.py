"""The compiled schema predicate (k8s_validate.FastCheck) never passes what jsonschema rejects.

probe_lint validates every object first with the predicate and runs jsonschema only when the
predicate fails; if the predicate ever said "valid" for an object jsonschema rejects, a schema error
would vanish.  These tests mutate valid objects at every field (wrong types, nulls, unknown fields,
out-of-enum strings) and compare both answers.
"""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import k8s_validate
from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes.loader import K8sObject

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
REPLACEMENTS = (None, True, 1.5, 3, "text", [], {}, [{"x": 1}], {"unknown": "field"})


def _good_objects() -> list[dict]:
    with open(os.path.join(FIXTURES, "good", "k8s.yaml"), encoding="utf-8") as handle:
        return list(yaml.safe_load_all(handle))


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _set(doc, path, value):
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _mutants(doc):
    for path in _paths(doc):
        if not path:
            continue
        for value in REPLACEMENTS:
            mutant = copy.deepcopy(doc)
            _set(mutant, path, value)
            yield path, mutant
        parent = path[:-1]
        mutant = copy.deepcopy(doc)
        target = mutant
        for part in parent:
            target = target[part]
        if isinstance(target, dict):
            target["notAField"] = 1
            yield (*parent, "notAField"), mutant


@pytest.fixture(scope="module")
def validator():
    return k8s_validate.SchemaValidator(None, strict=True)


def _answers(validator, doc, original=None):
    """(predicate, jsonschema errors) with the schema of ``original`` (kind and apiVersion may be mutated)."""
    key = ((original or doc)["kind"], (original or doc)["apiVersion"])
    full = validator._validator(*key)
    return validator._fast[key](doc), list(full.iter_errors(doc))


@pytest.mark.parametrize("index", range(4))
def test_valid_objects_take_the_fast_path(validator, index):
    doc = _good_objects()[index]
    passed, errors = _answers(validator, doc)
    assert errors == []
    assert passed is True, f"{doc['kind']}: the predicate cannot pass a valid object, so nothing gets faster"


@pytest.mark.parametrize("index", range(4))
def test_the_predicate_never_passes_an_invalid_object(validator, index):
    checked = rejected = 0
    original = _good_objects()[index]
    for path, mutant in _mutants(original):
        passed, errors = _answers(validator, mutant, original)
        checked += 1
        if errors:
            rejected += 1
            assert passed is False, f"{'.'.join(map(str, path))}: jsonschema reports {errors[0].message}"
    assert checked > 50 and rejected > 20


def test_int_or_string_and_quantity_edge_cases(validator):
    deploy = _good_objects()[0]
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    cases = {
        "port null": ("readinessProbe", {"httpGet": {"path": "/", "port": None}}),
        "port bool": ("readinessProbe", {"httpGet": {"path": "/", "port": True}}),
        "port float": ("readinessProbe", {"httpGet": {"path": "/", "port": 8000.0}}),
        "quantity null": ("resources", {"limits": {"cpu": None}}),
        "quantity number": ("resources", {"limits": {"cpu": 2}}),
    }
    for label, (key, value) in cases.items():
        mutant = copy.deepcopy(deploy)
        mutant["spec"]["template"]["spec"]["containers"][0][key] = value
        passed, errors = _answers(validator, mutant)
        assert not (passed and errors), f"{label}: predicate passed, jsonschema says {errors[0].message}"
    assert container  # the unmutated fixture is untouched


def test_findings_are_the_same_with_and_without_the_predicate(validator):
    docs = [doc for index in range(4) for _path, doc in list(_mutants(_good_objects()[index]))[::7]]
    objects = [K8sObject("f.yaml", 1, doc) for doc in docs]
    with_fast = [validator.validate_object(obj) for obj in objects]
    slow = k8s_validate.SchemaValidator(None, strict=True)
    for obj in objects:
        slow._validator(obj.kind, obj.api_version)
    slow._fast = dict.fromkeys(slow._fast, k8s_validate._never)
    assert with_fast == [slow.validate_object(obj) for obj in objects]
