"""The Compose monitoring stack: scrape targets and networks derived from the catalog, bad input
named, images tagged by content (plugins/module_utils/monitoring_stack.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_rules as mr
from ansible_collections.goaltrajectory.platform.plugins.module_utils import monitoring_stack as ms

ROOT = Path(__file__).resolve().parents[3]
DEFAULTS = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())
RAW_CATALOG = yaml.safe_load((ROOT / "roles/catalog/defaults/main.yml").read_text())["catalog_services"]
IMAGES = {p: f"gt/{p}:1" for p in ms.PROGRAMS}
RULES = [{"path": "rules/goaltrajectory-alerts.yml", "content": "groups: []\n"}]
DASHBOARDS = [
    {"path": "dashboards/00-project-goaltrajectory.json", "content": '{"kind": "Project"}\n'},
    {"path": "dashboards/02-dashboard-services-dev.json", "content": '{"kind": "Dashboard"}\n'},
]


def services(overrides=None):
    return catalog.build(copy.deepcopy(RAW_CATALOG), overrides)


def settings(**over):
    raw = {
        "environment": "dev",
        "project": "gt-monitoring",
        "app_project": "gt",
        "images": dict(IMAGES),
        "bind_address": "127.0.0.1",
        "host_ports": dict(DEFAULTS["monitoring_host_ports"]),
        "scrape_interval": "15s",
        "evaluation_interval": "15s",
        "retention": "15d",
        "secrets_dir": "/srv/gt/secrets",
        "secret_owner": 10001,
        "postgres_db": "db",
        "postgres_user": "u",
        "alert_receiver": True,
        "webhook_urls": [],
        "group_wait": "10s",
        "group_interval": "30s",
        "repeat_interval": "4h",
        "cadvisor_job": "cadvisor",
        "node_job": "node",
        "prometheus_job": "prometheus",
        "rules": RULES,
        "dashboards": DASHBOARDS,
    }
    raw.update(over)
    return raw


def files(svcs=None, **over):
    return {f["path"]: f["content"] for f in ms.compose_files(svcs or services(), settings(**over))}


def test_every_service_with_metrics_is_a_job_on_its_own_network():
    out = files()
    prom = yaml.safe_load(out["prometheus/prometheus.yml"])
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert set(jobs) == {"backend", "frontend", "postgres-exporter", "cadvisor", "node", "prometheus", "alertmanager"}
    assert jobs["backend"]["static_configs"][0]["targets"] == ["backend:8000"]
    assert jobs["frontend"]["metrics_path"] == "/api/metrics"
    project = yaml.safe_load(out["docker-compose.yml"])
    assert project["networks"]["app-backend"] == {"external": True, "name": "gt_backend"}
    assert sorted(project["services"]["prometheus"]["networks"]) == ["app-backend", "app-frontend", "monitoring"]
    # The exporter is the only monitoring member of the database's network.
    assert project["services"]["postgres-exporter"]["networks"] == ["monitoring", "app-postgres"]
    assert project["secrets"]["postgres_password"]["file"] == "/srv/gt/secrets/postgres_password"
    assert prom["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert out["prometheus/rules/goaltrajectory-alerts.yml"] == "groups: []\n"


def test_a_service_added_to_the_catalog_is_scraped_without_touching_the_role():
    worker = copy.deepcopy(RAW_CATALOG["frontend"])
    worker.update(
        ports=[{"name": "http", "port": 9000}], metrics={"port": "http", "path": "/m"}, publish=[], connects_to={}
    )
    worker.pop("host_port", None)
    extra = {"worker": worker}
    prom = yaml.safe_load(files(services(extra))["prometheus/prometheus.yml"])
    worker = next(j for j in prom["scrape_configs"] if j["job_name"] == "worker")
    assert worker["static_configs"][0]["targets"] == ["worker:9000"] and worker["metrics_path"] == "/m"


def test_every_container_is_hardened_and_only_published_on_the_bind_address():
    project = yaml.safe_load(files()["docker-compose.yml"])
    for name, svc in project["services"].items():
        assert svc["read_only"] and svc["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in svc["security_opt"], name
        assert all(p.startswith("127.0.0.1:") for p in svc.get("ports", [])), name
        expected = {"cadvisor": "0:0", "postgres-exporter": "10001:10001"}.get(name, ms.NOBODY)
        assert svc["user"] == expected, name


def test_no_file_is_bind_mounted_that_the_engine_may_not_have_created_yet():
    """A bind source missing when a container starts becomes a directory: never the engine's socket."""
    project = yaml.safe_load(files()["docker-compose.yml"])
    sources = [v.split(":")[0] for svc in project["services"].values() for v in svc.get("volumes", [])]
    assert "/var/run:/var/run:ro" in project["services"]["cadvisor"]["volumes"]
    assert not [s for s in sources if s.endswith(".sock")], sources


def test_alerts_go_to_the_receiver_and_the_given_webhooks():
    am = yaml.safe_load(files(webhook_urls=["https://hooks.example.test/x"])["alertmanager/alertmanager.yml"])
    hooks = am["receivers"][0]["webhook_configs"]
    assert [h["url"] for h in hooks] == ["http://alert-receiver:9095/alerts", "https://hooks.example.test/x"]
    assert all(h["send_resolved"] for h in hooks)
    project = yaml.safe_load(files(alert_receiver=False, webhook_urls=["http://h:1/"])["docker-compose.yml"])
    assert "alert-receiver" not in project["services"]


def test_a_config_change_changes_the_hash_label_of_that_container_only():
    def labels(**over):
        project = yaml.safe_load(files(**over)["docker-compose.yml"])
        return {n: s.get("labels", {}).get(ms.HASH_LABEL) for n, s in project["services"].items()}

    base = labels()
    new_rules = labels(
        rules=[{"path": "rules/goaltrajectory-alerts.yml", "content": "groups: [{name: x, rules: []}]\n"}]
    )
    assert new_rules["prometheus"] != base["prometheus"] and new_rules["alertmanager"] == base["alertmanager"]
    new_hooks = labels(group_wait="20s")
    assert new_hooks["alertmanager"] != base["alertmanager"] and new_hooks["prometheus"] == base["prometheus"]


@pytest.mark.parametrize(
    ("over", "named"),
    [
        ({"webhook_urls": ["ftp://x"]}, "monitoring_webhook_urls[0]"),
        ({"alert_receiver": False, "webhook_urls": []}, "monitoring_webhook_urls"),
        ({"scrape_interval": "15 s"}, "monitoring_scrape_interval"),
        (
            {"host_ports": {"prometheus": 0, "alertmanager": 1, "alert_receiver": 2, "perses": 3}},
            "monitoring_host_ports.prometheus",
        ),
        ({"host_ports": {"prometheus": 1, "alertmanager": 2, "alert_receiver": 3}}, "monitoring_host_ports.perses"),
        ({"images": {**IMAGES, "cadvisor": ""}}, "monitoring_images.cadvisor"),
        ({"bind_address": "localhost; rm"}, "monitoring_bind_address"),
        ({"secrets_dir": "relative"}, "monitoring_compose_secrets_dir"),
        ({"app_project": "Bad Name"}, "monitoring_compose_project"),
    ],
)
def test_bad_input_names_the_variable(over, named):
    with pytest.raises(mr.MonitoringError, match=named.replace("[", r"\[").replace("]", r"\]")):
        ms.compose_files(services(), settings(**over))


COMPONENTS = {
    "prometheus": {"name": "prometheus", "version": "v1"},
    "promtool": {"name": "promtool", "version": "v1"},
    "alertmanager": {"name": "alertmanager", "version": "v2"},
}
SPECS = {
    "prometheus": {
        "binaries": {"prometheus": "prometheus", "promtool": "promtool"},
        "entrypoint": "prometheus",
        "data": True,
    },
    "alertmanager": {"binaries": {"alertmanager": "alertmanager"}, "entrypoint": "alertmanager", "data": True},
}


def test_image_tags_follow_the_binaries_content():
    sums = {"prometheus": "a" * 64, "promtool": "b" * 64, "alertmanager": "c" * 64}
    plan = {p["key"]: p for p in ms.image_plan(SPECS, COMPONENTS, "/opt/t", "gtm", sums, "dev")}
    again = {p["key"]: p for p in ms.image_plan(SPECS, COMPONENTS, "/opt/t", "gtm", dict(sums), "dev")}
    changed = {
        p["key"]: p for p in ms.image_plan(SPECS, COMPONENTS, "/opt/t", "gtm", {**sums, "promtool": "d" * 64}, "dev")
    }
    assert plan["prometheus"]["tag"] == again["prometheus"]["tag"] and plan["prometheus"]["tag"].startswith("v1-")
    assert changed["prometheus"]["tag"] != plan["prometheus"]["tag"]
    assert changed["alertmanager"]["tag"] == plan["alertmanager"]["tag"]
    assert plan["prometheus"]["ref"] == f"gtm/prometheus:{plan['prometheus']['tag']}"
    # The environment tag is what a promotion moves.
    assert plan["prometheus"]["tags"] == [plan["prometheus"]["ref"], "gtm/prometheus:dev"]
    assert [b["src"] for b in plan["prometheus"]["binaries"]] == [
        "/opt/t/prometheus/v1/prometheus",
        "/opt/t/promtool/v1/promtool",
    ]
    dockerfile = next(f["content"] for f in plan["prometheus"]["files"] if f["path"] == "Dockerfile")
    assert "FROM scratch" in dockerfile and "USER 65534:65534" in dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/prometheus"]' in dockerfile
    unbuilt = ms.image_plan(SPECS, COMPONENTS, "/opt/t", "gtm", {"alertmanager": "c" * 64}, "dev")
    assert [p["built"] for p in unbuilt] == [True, False]
    # Every image's context in one tree, each under its key.
    contexts = {f["path"] for f in ms.context_files(list(plan.values()))}
    assert {
        "prometheus/Dockerfile",
        "prometheus/etc/passwd",
        "alertmanager/etc/group",
        "alertmanager/data/.keep",
    } <= contexts


def test_image_actions_build_what_is_missing_and_tag_what_is_not_tagged_for_the_environment():
    sums = {"prometheus": "a" * 64, "promtool": "b" * 64}
    plan = ms.image_plan(SPECS, COMPONENTS, "/opt/t", "r:5000/gt", sums, "dev")
    prom, alert = plan[1], plan[0]  # sorted by key: alertmanager (not built: no checksum), prometheus
    assert (prom["key"], prom["built"], alert["built"]) == ("prometheus", True, False)
    # What the engine is asked for: both tags of every image, built or not.
    assert ms.image_refs(plan) == sorted({*prom["tags"], *alert["tags"]})
    assert prom["tags"][0] == prom["ref"]
    assert ms.image_actions(plan, {}) == {"build": [prom], "tag": [prom]}
    tagged = dict.fromkeys(prom["tags"], "sha256:1")
    assert ms.image_actions(plan, tagged) == {"build": [], "tag": []}
    # The environment tag missing, or on another image (an older build): tag, no build.
    assert ms.image_actions(plan, {prom["ref"]: "sha256:1"}) == {"build": [], "tag": [prom]}
    older = {prom["ref"]: "sha256:1", prom["tags"][1]: "sha256:0"}
    assert ms.image_actions(plan, older) == {"build": [], "tag": [prom]}
    published = ms.published_images(plan, tagged)
    assert published == {
        "prometheus": {
            "service": "monitoring",
            "dev": False,
            "ref": prom["ref"],
            "tags": prom["tags"],
            "id": "sha256:1",
        }
    }


def _targets(*health):
    return {
        "status": "success",
        "data": {
            "activeTargets": [
                {"labels": {"job": f"job{i}"}, "scrapeUrl": f"http://t{i}/metrics", "health": h, "lastError": err}
                for i, (h, err) in enumerate(health)
            ]
        },
    }


def test_target_problems_are_empty_only_when_every_target_is_up():
    assert ms.target_problems(_targets(("up", ""), ("up", ""))) == []
    # The same answer as kubectl prints it (JSON text).
    assert ms.target_problems(json.dumps(_targets(("up", "")))) == []


def test_target_problems_name_each_target_that_is_down():
    problems = ms.target_problems(_targets(("up", ""), ("down", "connection refused"), ("unknown", "")))
    assert problems == ["job1 http://t1/metrics connection refused", "job2 http://t2/metrics unknown"]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (None, "no answer from Prometheus"),
        ("", "no answer from Prometheus"),
        ("<html>", "the answer is not JSON"),
        ({"status": "error"}, "no answer from Prometheus"),
        (_targets(), "Prometheus has no active targets"),
    ],
)
def test_target_problems_without_a_usable_answer(answer, problem):
    assert ms.target_problems(answer) == [problem]


def test_app_networks_are_the_compose_projects_external_networks():
    svcs = services()
    project = yaml.safe_load(ms.compose_files(svcs, settings())[0]["content"])
    external = sorted(n["name"] for n in project["networks"].values() if n.get("external"))
    assert ms.app_networks(svcs, settings()) == external
    assert external, "the stack joins at least one app network"


BUILDINFO = (
    "/opt/tools/alertmanager: go1.26.8\n"
    "\tpath\tgithub.com/prometheus/alertmanager/cmd/alertmanager\n"
    "\tmod\tgithub.com/prometheus/alertmanager\tv0.28.1\th1:x=\n"
    "\tdep\tgithub.com/beorn7/perks\tv1.0.1\th1:y=\n"
    "\tdep\tgolang.org/x/net\tv0.1.0\th1:z=\n"
    "\t=>\tgolang.org/x/net\tv0.2.0\th1:w=\n"
    "\tbuild\t-trimpath=true\n"
)


def test_the_sbom_lists_the_go_modules_linked_with_the_replacements_that_won():
    bom = ms.go_sbom("gt/alertmanager", "v0.28.1-abc", [BUILDINFO])
    assert bom["bomFormat"] == "CycloneDX" and bom["metadata"]["component"]["name"] == "gt/alertmanager"
    assert [c["purl"] for c in bom["components"]] == [
        "pkg:golang/github.com/beorn7/perks@v1.0.1",
        "pkg:golang/github.com/prometheus/alertmanager@v0.28.1",
        "pkg:golang/golang.org/x/net@v0.2.0",
        "pkg:golang/stdlib@1.26.8",
    ]


def test_the_sbom_refuses_what_is_not_go_build_information():
    with pytest.raises(mr.MonitoringError, match="gt/x: not Go build information"):
        ms.go_sbom("gt/x", "v1", ["ELF binary\n"])


def test_one_sbom_per_built_image_and_the_signing_inputs():
    plan = [
        {"name": "prometheus", "repository": "gt/prometheus", "tag": "v3-a", "built": True},
        {"name": "alertmanager", "repository": "gt/alertmanager", "tag": "v0-b", "built": True},
        {"name": "kube-state-metrics", "repository": "gt/ksm", "tag": "v2-c", "built": False},
    ]
    second = BUILDINFO.replace("alertmanager", "promtool")
    results = [
        {"item": [plan[0], {"name": "prometheus"}], "stdout": BUILDINFO, "rc": 0},
        {"item": [plan[0], {"name": "promtool"}], "stdout": second, "rc": 0},
        {"item": [plan[1], {"name": "alertmanager"}], "stdout": BUILDINFO, "rc": 0},
    ]
    files = {f["path"]: json.loads(f["content"]) for f in ms.sbom_files(plan, results)}
    assert sorted(files) == ["alertmanager.cdx.json", "prometheus.cdx.json"]
    names = {c["name"] for c in files["prometheus.cdx.json"]["components"]}
    assert {"github.com/prometheus/alertmanager", "github.com/prometheus/promtool"} <= names


def test_the_stack_release_names_the_services_and_changes_with_any_file():
    files = ms.compose_files(services(), settings())
    release = ms.stack_release(files, IMAGES)
    compose = yaml.safe_load(next(f["content"] for f in files if f["path"] == "docker-compose.yml"))
    assert release["services"] == sorted(compose["services"]) and "prometheus" in release["services"]
    assert release["images"] == IMAGES
    assert ms.stack_release(copy.deepcopy(files), IMAGES) == release
    edited = copy.deepcopy(files)
    edited[-1]["content"] += "# edited\n"
    assert ms.stack_release(edited, IMAGES)["files"] != release["files"]


def test_the_stack_release_needs_the_compose_file():
    files = [f for f in ms.compose_files(services(), settings()) if f["path"] != "docker-compose.yml"]
    with pytest.raises(mr.MonitoringError, match=r"no docker-compose\.yml"):
        ms.stack_release(files, IMAGES)


def test_the_stack_takes_its_images_from_the_images_roles_results_file_by_name():
    from ansible.errors import AnsibleFilterError

    from ansible_collections.goaltrajectory.platform.plugins.filter.monitoring import monitoring_image_refs

    digest = "r:5000/goaltrajectory/{}@sha256:" + "e" * 64
    text = json.dumps({"refs": {"backend": "x", "prometheus": digest.format("prometheus"),
                                "alert-receiver": digest.format("alert-receiver")}})  # fmt: skip
    keys = ["prometheus", "alert_receiver"]
    refs = monitoring_image_refs(text, {}, keys, "prod.json", "prod", True)
    assert refs == {"prometheus": digest.format("prometheus"), "alert_receiver": digest.format("alert-receiver")}
    assert monitoring_image_refs(text, {"prometheus": "p@sha256:1"}, keys, "prod.json", "prod", True)["prometheus"] == (
        "p@sha256:1"
    )
    with pytest.raises(AnsibleFilterError, match=r"alertmanager: no image reference \(prod.json has none and "
                                                 r"monitoring_images does not set it\)"):  # fmt: skip
        monitoring_image_refs(text, {}, [*keys, "alertmanager"], "prod.json", "prod", True)
    with pytest.raises(AnsibleFilterError, match=r"prometheus: gt/prometheus:v1 .* is not pinned by digest"):
        monitoring_image_refs(text, {"prometheus": "gt/prometheus:v1"}, keys, "prod.json", "prod", True)
    # Check mode before the first build: stand-ins, nothing fails.
    assert monitoring_image_refs("", {}, ["alertmanager"], "(no file)", "dev", False, True) == {
        "alertmanager": "not-built-yet.invalid/alertmanager:check-mode"
    }


def test_perses_reads_its_provisioned_dashboards_and_only_the_monitoring_network():
    out = files()
    perses = yaml.safe_load(out["docker-compose.yml"])["services"]["perses"]
    assert perses["networks"] == ["monitoring"]
    assert perses["ports"] == [f"127.0.0.1:{DEFAULTS['monitoring_host_ports']['perses']}:8080"]
    assert perses["read_only"] and perses["user"] == "65534:65534" and perses["cap_drop"] == ["ALL"]
    assert "./perses:/etc/perses:ro" in perses["volumes"]
    config = yaml.safe_load(out["perses/config.yaml"])
    assert config["provisioning"]["folders"] == ["/etc/perses/provisioning/"]
    assert config["plugin"] == {"path": "/data/plugins", "archive_path": "/usr/share/perses/plugins-archive"}
    assert out["perses/provisioning/02-dashboard-services-dev.json"] == DASHBOARDS[1]["content"]
    changed = files(dashboards=[DASHBOARDS[0], {**DASHBOARDS[1], "content": "{}\n"}])
    label = "ai.goaltrajectory.monitoring.config-hash"

    def hashes(out):
        return {
            k: v.get("labels", {}).get(label) for k, v in yaml.safe_load(out["docker-compose.yml"])["services"].items()
        }

    before, after = hashes(out), hashes(changed)
    assert before["perses"] != after["perses"] and before["prometheus"] == after["prometheus"]
