"""Reading inputs: multi-document YAML, Lists, line numbers, Compose merging and interpolation."""

from __future__ import annotations

import textwrap

import pytest

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import durations, engine, loader


def write(path, text):
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


def test_multi_document_list_and_lines(tmp_path):
    file = write(
        tmp_path / "all.yaml",
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
        ---
        # comment
        apiVersion: v1
        kind: List
        items:
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
          - {apiVersion: v1, kind: Secret, metadata: {name: c, namespace: x}}
        ---
        """,
    )
    inputs = loader.load([file])
    assert [(o.ident, o.line) for o in inputs.objects] == [
        ("ConfigMap/default/a", 1),
        ("ConfigMap/default/b", 6),
        ("Secret/x/c", 6),
    ]
    assert inputs.findings == []


def test_directory_and_glob_expansion(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    write(tmp_path / "sub" / "a.yml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}")
    write(tmp_path / "b.yaml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: b}}")
    write(tmp_path / ".hidden" / "c.yaml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}")
    write(tmp_path / "notes.txt", "not yaml")
    names = sorted(o.name for o in loader.load([str(tmp_path)]).objects)
    assert names == ["a", "b"]
    names = sorted(o.name for o in loader.load([str(tmp_path / "**" / "*.yml")]).objects)
    assert names == ["a"]
    names = [o.name for o in loader.load(["b.yaml"], base_dir=str(tmp_path)).objects]
    assert names == ["b"]


def test_override_file_is_merged_like_compose(tmp_path):
    write(
        tmp_path / "compose.yaml",
        """
        services:
          api:
            image: api:1
            command: [serve, --port, "80"]
            environment: [A=1, B=2]
            ports: ["80:80"]
            volumes: ["data:/data", "./conf:/etc/conf:ro"]
            depends_on: [db]
            healthcheck:
              test: [CMD, curl, -f, http://localhost/]
              interval: 10s
              timeout: 2s
          db:
            image: postgres:16
            healthcheck:
              test: [CMD, pg_isready]
        """,
    )
    write(
        tmp_path / "compose.override.yaml",
        """
        services:
          api:
            command: [serve, --reload]
            environment: {B: "3", C: "4"}
            ports: ["8080:8080"]
            volumes: ["./other:/etc/conf"]
            depends_on:
              db: {condition: service_healthy}
            healthcheck:
              test: [CMD, wget, -q, http://localhost/]
              timeout: 5s
          db:
            healthcheck: !reset null
            labels: !override {tier: data}
        """,
    )
    # Giving only the base file reads the override next to it, as `docker compose` does.
    inputs = loader.load([str(tmp_path / "compose.yaml")])
    assert len(inputs.projects) == 1
    project = inputs.projects[0]
    assert project.files == [str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yaml")]
    api = project.services["api"]
    assert api["command"] == ["serve", "--reload"]
    assert api["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert api["ports"] == ["80:80", "8080:8080"]
    assert api["volumes"] == ["data:/data", "./other:/etc/conf"]
    assert api["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert api["healthcheck"] == {
        "test": ["CMD", "wget", "-q", "http://localhost/"],
        "interval": "10s",
        "timeout": "5s",
    }
    assert "healthcheck" not in project.services["db"]
    assert project.services["db"]["labels"] == {"tier": "data"}
    assert project.file_of("api", "healthcheck") == str(tmp_path / "compose.override.yaml")
    assert project.file_of("api", "image") == str(tmp_path / "compose.yaml")
    # db lost its healthcheck in the override while api waits for it to be healthy.
    result = engine.lint(paths=[str(tmp_path)], check_images=False)
    hits = [(f["rule"], f["object"], f["file"]) for f in result["findings"] if f["rule"].startswith("compose-")]
    # The finding points at the file that removed it.
    assert hits == [("compose-depends-healthy-no-healthcheck", "db", str(tmp_path / "compose.override.yaml"))]


def test_explicit_compose_projects_merge_in_order(tmp_path):
    base = write(tmp_path / "base.yaml", "services: {web: {image: 'web:1', healthcheck: {test: [CMD, 'true']}}}")
    prod = write(tmp_path / "prod.yaml", "services: {web: {image: 'web:2', healthcheck: {interval: 1s}}}")
    inputs = loader.load(compose_projects=[[base, prod]])
    assert [p.files for p in inputs.projects] == [[base, prod]]
    assert inputs.projects[0].services["web"] == {
        "image": "web:2",
        "healthcheck": {"test": ["CMD", "true"], "interval": "1s"},
    }
    # Without the grouping they are two separate projects.
    assert len(loader.load([base, prod]).projects) == 2


def test_interpolation_with_env_file(tmp_path):
    write(tmp_path / ".env", "INTERVAL=7s\nexport TAG='2.0'\n")
    write(
        tmp_path / "compose.yaml",
        """
        services:
          web:
            image: web:${TAG}
            healthcheck:
              test: ["CMD-SHELL", "test $$HOME != '' && ${MISSING:-true}"]
              interval: ${INTERVAL:-30s}
              timeout: ${TIMEOUT-3s}
              retries: 3
        """,
    )
    project = loader.load([str(tmp_path / "compose.yaml")], environ={"TIMEOUT": "1s"}).projects[0]
    web = project.services["web"]
    assert web["image"] == "web:2.0"
    assert web["healthcheck"]["test"] == ["CMD-SHELL", "test $HOME != '' && true"]
    assert web["healthcheck"]["interval"] == "7s"
    assert web["healthcheck"]["timeout"] == "1s"


def test_definitions_with_a_source_read_like_that_file(tmp_path):
    text = textwrap.dedent(
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
        ---
        apiVersion: v1
        kind: List
        items:
          - {apiVersion: v1, kind: Secret, metadata: {name: c}}
        """
    ).lstrip()
    on_disk = loader.load([write(tmp_path / "all.yaml", text)])
    in_memory = loader.load(definitions=[{"source": str(tmp_path / "all.yaml"), "definition": text}])
    assert in_memory.objects == on_disk.objects
    assert [(o.file, o.line, o.document) for o in in_memory.objects] == [
        (str(tmp_path / "all.yaml"), 1, 0),
        (str(tmp_path / "all.yaml"), 5, 1),
    ]
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}} for n in ("x", "y")]
    listed = loader.load(definitions=[{"source": "k8s/cms.yaml", "definition": objects}, objects[0]])
    assert [(o.file, o.document, o.name) for o in listed.objects] == [
        ("k8s/cms.yaml", 0, "x"),
        ("k8s/cms.yaml", 1, "y"),
        ("<definitions[1]>", 0, "x"),
    ]
    broken = loader.load(definitions=[{"source": "bad.yaml", "definition": "a: [\n"}])
    assert [(f.rule, f.file, f.check) for f in broken.findings] == [("yaml-invalid", "bad.yaml", "parse")]


def test_inline_compose_definitions_read_no_env_file(tmp_path):
    write(tmp_path / ".env", "TAG=from-env-file\n")
    compose = "services:\n  web:\n    image: web:${TAG:-default}\n"
    source = str(tmp_path / "compose.yaml")
    in_memory = loader.load(definitions=[{"source": source, "definition": compose}], environ={})
    assert in_memory.projects[0].files == [source]
    assert in_memory.projects[0].services["web"]["image"] == "web:default"
    write(tmp_path / "compose.yaml", compose)
    assert loader.load([source], environ={}).projects[0].services["web"]["image"] == "web:from-env-file"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), ("0", 0), (0, 0), ("1.5s", 1.5), ("2m0s", 120)],
)
def test_durations_parse(text, seconds):
    assert durations.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["30", 30, "5 seconds", "s", "", None, True, "1d", "10S"])
def test_durations_reject(text):
    with pytest.raises(durations.DurationError):
        durations.parse_duration(text)


def test_format_duration():
    assert durations.format_duration(5) == "5s"
    assert durations.format_duration(90) == "1m30s"
    assert durations.format_duration(120) == "2m"


PLAIN_CASES = """
a: 1
hex: 0x1F
octal: 0o17
old_octal: 017
underscored: 1_000
signed: [+1, -1, -0.5, .inf, -.Inf, .nan, 1e3, 6.8523015e+5]
bools: [yes, No, on, OFF, true, False]
nulls: [~, null, Null, ""]
when: 2001-12-14t21:59:43.10-05:00
day: 2002-12-14
quoted: ["1", 'true', "null"]
1: integer key
~: null key
multi: |
  line one
  line two
folded: >
  folded
  text
anchors:
  base: &base {x: 1, y: [1, 2]}
  again: *base
---
merged:
  base: &b {x: 1}
  child:
    <<: *b
    y: 2
---
blob: !!binary aGVsbG8=
---
services:
  web:
    environment: !reset []
    ports: !override ["80:80"]
"""


def test_plain_tree_matches_pyyaml():
    """The fast document walk gives exactly what PyYAML's constructor gives, or falls back to it."""
    import math

    import yaml

    docs, errors = loader.parse_documents(PLAIN_CASES, "cases.yaml")
    assert errors == []
    expected = list(yaml.load_all(PLAIN_CASES, Loader=loader._Loader))
    got = [data for _line, data, _lines in docs]
    first, want = got[0], expected[0]
    assert math.isnan(first["signed"][5]) and math.isnan(want["signed"][5])
    first["signed"][5] = want["signed"][5] = "nan"
    assert got[:3] == expected[:3]
    assert (
        isinstance(first["hex"], int)
        and not isinstance(first["hex"], bool)
        and first[1] == "integer key"
        and first[None] == "null key"
    )
    assert first["bools"] == [True, False, True, False, True, False]
    # Merge keys and custom tags take PyYAML's path: same values, same marker objects.
    assert got[1]["merged"]["child"] == {"x": 1, "y": 2}
    services = got[3]["services"]["web"]
    assert isinstance(services["environment"], loader.Reset)
    assert isinstance(services["ports"], loader.Override) and services["ports"].value == ["80:80"]


def test_plain_tree_recursive_alias_falls_back():
    docs, errors = loader.parse_documents("a: &x\n  b: *x\n", "loop.yaml")
    assert errors == []
    data = docs[0][1]
    assert data["a"]["b"] is data["a"]  # PyYAML's recursive structure, not a RecursionError
