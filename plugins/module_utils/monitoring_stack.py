# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitoring stack that runs next to the app on a Compose host, derived from the service catalog.

:func:`compose_files` returns the files of the monitoring Compose project (its own project on the
app project's networks): ``docker-compose.yml``, Prometheus' ``prometheus.yml`` with the alerting
rules beside it, and ``alertmanager.yml``. Nothing in here names an app service:

- every catalog service with ``metrics`` is a scrape job named after it (the contract the alert
  rules in :mod:`monitoring_rules` select by), at ``<service>:<metrics port>``; Prometheus joins
  the network that service owns in the app project (``<app project>_<service>``);
- every catalog service with a ``postgresql`` port gets a postgres_exporter (``<service>-exporter``)
  on that service's network, reading the app's own password file as a Compose secret;
- cAdvisor (per-container CPU, memory, throttling), node_exporter (the host's filesystems) and
  Prometheus and Alertmanager themselves are the fixed jobs.

Alertmanager sends every alert, and its resolution, to the webhook receivers: the built-in
``alert-receiver`` (a small program that keeps what it received, for drills) and any URL given.
A change to a configuration file changes a hash label on its container, so Compose recreates that
container and the new configuration is loaded.

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from . import monitoring_dashboards as md
from . import monitoring_rules as mr

PROGRAMS = ("prometheus", "alertmanager", "alert_receiver", "node_exporter", "cadvisor", "postgres_exporter", "perses")
PORTS = {
    "prometheus": 9090,
    "alertmanager": 9093,
    "alert_receiver": 9095,
    "node_exporter": 9100,
    "cadvisor": 8080,
    "postgres_exporter": 9187,
    "perses": 8080,
}
NOBODY = "65534:65534"
HASH_LABEL = "ai.goaltrajectory.monitoring.config-hash"
PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
URL_RE = re.compile(r"^https?://[^\s\"']+$")
HOST_RE = re.compile(r"^[0-9a-fA-F.:]+$")
SETTINGS = {
    "project",
    "app_project",
    "images",
    "bind_address",
    "host_ports",
    "scrape_interval",
    "evaluation_interval",
    "retention",
    "secrets_dir",
    "postgres_db",
    "postgres_user",
    "secret_owner",
    "alert_receiver",
    "webhook_urls",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "cadvisor_job",
    "node_job",
    "prometheus_job",
    "rules",
    "dashboards",
    "environment",
}


_fail = mr._fail


def _duration(value: Any, variable: str) -> str:
    if not isinstance(value, str) or not mr.DURATION_RE.match(value):
        raise _fail(variable, f"must be a Prometheus duration such as 15s or 2m, got {value!r}")
    return value


def checked_keys(raw: Any, known: set[str], what: str) -> dict:
    """A copy of the settings mapping, refused when it is not one or has keys no one reads."""
    if not isinstance(raw, dict):
        raise _fail("settings", f"must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise mr.MonitoringError(f"monitoring {what} settings: unknown key(s) {', '.join(unknown)}")
    return dict(raw)


def check_alerting(raw: dict) -> None:
    """What both engines share: Prometheus' and Alertmanager's durations and where alerts go."""
    for key in ("scrape_interval", "evaluation_interval", "retention", "group_wait", "group_interval",
                "repeat_interval"):  # fmt: skip
        _duration(raw.get(key), key)
    urls = raw.get("webhook_urls")
    if not isinstance(urls, list):
        raise _fail("webhook_urls", "must be a list of http(s) URLs")
    for i, url in enumerate(urls):
        if not isinstance(url, str) or not URL_RE.match(url):
            raise _fail(f"webhook_urls[{i}]", f"must be an http(s) URL, got {url!r}")
    if not raw.get("alert_receiver") and not urls:
        raise _fail("webhook_urls", "empty while monitoring_alert_receiver is false: alerts would reach no one")


def check_images(raw: dict, programs: tuple[str, ...]) -> None:
    images = raw.get("images")
    if not isinstance(images, dict):
        raise _fail("images", "must be a mapping of program to image")
    for program in programs:
        if not isinstance(images.get(program), str) or not images[program]:
            raise _fail(f"images.{program}", "missing: the image of this program")


def settings(raw: Any) -> dict:
    """The stack's variables, checked; errors name the monitoring_<key> variable."""
    out = checked_keys(raw, SETTINGS, "stack")
    for key in ("project", "app_project"):
        key_var = "compose_project" if key == "app_project" else "stack_project"
        if not isinstance(raw.get(key), str) or not PROJECT_RE.match(raw[key]):
            raise _fail(key_var, f"must be a Compose project name (lower case, digits, - and _), got {raw.get(key)!r}")
    check_images(raw, PROGRAMS)
    if not isinstance(raw.get("bind_address"), str) or not HOST_RE.match(raw["bind_address"]):
        raise _fail("bind_address", f"must be an IP address, got {raw.get('bind_address')!r}")
    ports = raw.get("host_ports")
    if not isinstance(ports, dict):
        raise _fail("host_ports", "must be a mapping of prometheus, alertmanager, alert_receiver, perses to a port")
    for name in ("prometheus", "alertmanager", "alert_receiver", "perses"):
        port = ports.get(name)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise _fail(f"host_ports.{name}", f"must be a port number, got {port!r}")
    check_alerting(raw)
    if not isinstance(raw.get("secrets_dir"), str) or not raw["secrets_dir"].startswith("/"):
        raise _fail("compose_secrets_dir", f"must be an absolute path, got {raw.get('secrets_dir')!r}")
    for key in ("postgres_db", "postgres_user"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise _fail(key, "must be a non-empty string")
    for key in ("rules", "dashboards"):
        if not isinstance(raw.get(key), list):
            raise _fail(key, f"must be the rendered {key[:-1]} files")
    return out


def _metrics_services(services: dict) -> list[dict]:
    return [svc for svc in services.values() if svc.get("metrics")]


def postgres_services(services: dict) -> list[dict]:
    return [svc for svc in services.values() if any(p["name"] == "postgresql" for p in svc["ports"])]


def _exporter_name(svc: dict) -> str:
    return f"{svc['name']}-exporter"


def scrape_jobs(services: dict, s: dict) -> list[dict]:
    """Prometheus' scrape_configs: one job per catalog service with metrics, then the stack's own."""
    jobs = []
    for svc in _metrics_services(services):
        jobs.append(
            {
                "job_name": svc["name"],
                "metrics_path": svc["metrics"]["path"],
                "static_configs": [{"targets": [f"{svc['name']}:{svc['metrics']['port_number']}"]}],
            }
        )
    for svc in postgres_services(services):
        name = _exporter_name(svc)
        jobs.append(
            {
                "job_name": name,
                "static_configs": [
                    {"targets": [f"{name}:{PORTS['postgres_exporter']}"], "labels": {"service": svc["name"]}}
                ],
            }
        )
    jobs += [
        {"job_name": s["cadvisor_job"], "static_configs": [{"targets": [f"cadvisor:{PORTS['cadvisor']}"]}]},
        {"job_name": s["node_job"], "static_configs": [{"targets": [f"node-exporter:{PORTS['node_exporter']}"]}]},
        {"job_name": s["prometheus_job"], "static_configs": [{"targets": [f"localhost:{PORTS['prometheus']}"]}]},
        {"job_name": "alertmanager", "static_configs": [{"targets": [f"alertmanager:{PORTS['alertmanager']}"]}]},
    ]
    return jobs


def prometheus_config(services: dict, s: dict) -> dict:
    return {
        "global": {
            "scrape_interval": s["scrape_interval"],
            "evaluation_interval": s["evaluation_interval"],
            "external_labels": {"environment": s["environment"]},
        },
        "rule_files": ["/etc/prometheus/rules/*.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"alertmanager:{PORTS['alertmanager']}"]}]}]},
        "scrape_configs": scrape_jobs(services, s),
    }


def alertmanager_config(s: dict) -> dict:
    hooks = []
    if s["alert_receiver"]:
        hooks.append({"url": f"http://alert-receiver:{PORTS['alert_receiver']}/alerts", "send_resolved": True})
    hooks += [{"url": url, "send_resolved": True} for url in s["webhook_urls"]]
    return {
        "route": {
            "receiver": "webhooks",
            "group_by": ["alertname", "service"],
            "group_wait": s["group_wait"],
            "group_interval": s["group_interval"],
            "repeat_interval": s["repeat_interval"],
        },
        "receivers": [{"name": "webhooks", "webhook_configs": hooks}],
    }


def _hardened(image: str, user: str = NOBODY) -> dict:
    return {
        "image": image,
        "user": user,
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "restart": "unless-stopped",
    }


def _hash(*contents: str) -> str:
    return hashlib.sha256("\0".join(contents).encode()).hexdigest()[:16]


def _app_network(s: dict, svc: dict) -> str:
    return f"{s['app_project']}_{svc['name']}"


def app_networks(services: dict, raw: Any) -> list[str]:
    """The app project's networks the stack joins: external, only the app's Compose project makes them."""
    s = settings(raw)
    return sorted({_app_network(s, svc) for svc in _metrics_services(services) + postgres_services(services)})


def compose_project(services: dict, s: dict, prom_text: str, am_text: str, perses_text: str) -> dict:
    app_net = {svc["name"]: _app_network(s, svc) for svc in services.values()}
    bind, host_ports, images = s["bind_address"], s["host_ports"], s["images"]
    rules_text = [f["content"] for f in s["rules"]]
    networks: dict[str, dict] = {"monitoring": {}}
    prom_nets = ["monitoring"]
    for svc in _metrics_services(services):
        key = f"app-{svc['name']}"
        networks[key] = {"external": True, "name": app_net[svc["name"]]}
        prom_nets.append(key)
    project: dict[str, Any] = {"name": s["project"], "services": {}}
    svcs = project["services"]
    svcs["prometheus"] = _hardened(images["prometheus"]) | {
        "command": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/data",
            f"--storage.tsdb.retention.time={s['retention']}",
            f"--web.listen-address=:{PORTS['prometheus']}",
        ],
        "volumes": ["./prometheus:/etc/prometheus:ro", "prometheus-data:/data"],
        "networks": prom_nets,
        "ports": [f"{bind}:{host_ports['prometheus']}:{PORTS['prometheus']}"],
        "labels": {HASH_LABEL: _hash(prom_text, *rules_text)},
        "healthcheck": {
            "test": [
                "CMD",
                "/usr/local/bin/promtool",
                "check",
                "healthy",
                f"--url=http://127.0.0.1:{PORTS['prometheus']}",
            ],
            "interval": "10s",
            "timeout": "5s",
            "retries": 6,
            "start_period": "20s",
        },
    }
    svcs["alertmanager"] = _hardened(images["alertmanager"]) | {
        "command": [
            "--config.file=/etc/alertmanager/alertmanager.yml",
            "--storage.path=/data",
            f"--web.listen-address=:{PORTS['alertmanager']}",
            # One instance: no gossip with peers.
            "--cluster.listen-address=",
        ],
        "volumes": ["./alertmanager:/etc/alertmanager:ro", "alertmanager-data:/data"],
        "networks": ["monitoring"],
        "ports": [f"{bind}:{host_ports['alertmanager']}:{PORTS['alertmanager']}"],
        "labels": {HASH_LABEL: _hash(am_text)},
    }
    if s["alert_receiver"]:
        svcs["alert-receiver"] = _hardened(images["alert_receiver"]) | {
            "command": [f"-listen_address=:{PORTS['alert_receiver']}"],
            "networks": ["monitoring"],
            "ports": [f"{bind}:{host_ports['alert_receiver']}:{PORTS['alert_receiver']}"],
        }
    # Perses: the dashboards (provisioned from ./perses/provisioning) over Prometheus, which it
    # queries for the browser; its file database and the plugins it unpacks live in the volume.
    svcs["perses"] = _hardened(images["perses"]) | {
        "command": ["--config=/etc/perses/config.yaml", f"--web.listen-address=:{PORTS['perses']}"],
        "volumes": ["./perses:/etc/perses:ro", "perses-data:/data"],
        "networks": ["monitoring"],
        "ports": [f"{bind}:{host_ports['perses']}:{PORTS['perses']}"],
        "labels": {HASH_LABEL: _hash(perses_text, *[f["content"] for f in s["dashboards"]])},
    }
    svcs["node-exporter"] = _hardened(images["node_exporter"]) | {
        "command": ["--path.rootfs=/host", f"--web.listen-address=:{PORTS['node_exporter']}"],
        # The host's filesystems as node_exporter's own view of them (mount points as on the host).
        "volumes": ["/:/host:ro"],
        "networks": ["monitoring"],
    }
    # cAdvisor reads the cgroups of every container and asks the engine for their labels: root
    # (no added capabilities) with read-only views of the host.
    svcs["cadvisor"] = _hardened(images["cadvisor"], user="0:0") | {
        "command": [f"-listen_address=:{PORTS['cadvisor']}"],
        "volumes": [
            "/sys:/sys:ro",
            # The directory, not the socket: when the engine restarts it starts this container
            # (restart: unless-stopped) before it creates its socket, and a missing bind source is
            # created as a directory, where the engine then cannot create its socket.
            "/var/run:/var/run:ro",
            "/var/lib/docker:/var/lib/docker:ro",
            "/:/rootfs:ro",
        ],
        "networks": ["monitoring"],
    }
    for svc in postgres_services(services):
        key = f"app-{svc['name']}"
        networks[key] = {"external": True, "name": app_net[svc["name"]]}
        port = next(p["port"] for p in svc["ports"] if p["name"] == "postgresql")
        svcs[_exporter_name(svc)] = _hardened(
            images["postgres_exporter"], user=f"{s['secret_owner']}:{s['secret_owner']}"
        ) | {
            "environment": {
                "DATA_SOURCE_URI": f"{svc['name']}:{port}/{s['postgres_db']}?sslmode=disable",
                "DATA_SOURCE_USER": s["postgres_user"],
                "DATA_SOURCE_PASS_FILE": "/run/secrets/postgres_password",
            },
            "command": [f"--web.listen-address=:{PORTS['postgres_exporter']}"],
            "secrets": ["postgres_password"],
            "networks": ["monitoring", key],
        }
        project["secrets"] = {"postgres_password": {"file": f"{s['secrets_dir']}/postgres_password"}}
    for entry in svcs.values():
        entry["logging"] = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
    project["networks"] = networks
    project["volumes"] = {"prometheus-data": {}, "alertmanager-data": {}, "perses-data": {}}
    return project


def compose_files(services: dict, raw: Any) -> list[dict]:
    """[{path, content}] of the monitoring Compose project directory."""
    from . import yaml_dump  # PyYAML: only on the controller

    s = settings(raw)
    header = ["Rendered by the goaltrajectory.platform monitoring role from the service catalog; do not edit."]
    prom_text = yaml_dump.document(prometheus_config(services, s), header)
    am_text = yaml_dump.document(alertmanager_config(s), header)
    perses_text = yaml_dump.document(md.config(), header)
    out = [
        {
            "path": "docker-compose.yml",
            "content": yaml_dump.document(compose_project(services, s, prom_text, am_text, perses_text), header),
        },
        {"path": "prometheus/prometheus.yml", "content": prom_text},
        {"path": "alertmanager/alertmanager.yml", "content": am_text},
        {"path": "perses/config.yaml", "content": perses_text},
    ]
    out += [{"path": f"prometheus/{f['path']}", "content": f["content"]} for f in s["rules"]]
    out += [
        {"path": f"perses/provisioning/{f['path'].split('/')[-1]}", "content": f["content"]} for f in s["dashboards"]
    ]
    return out


def stack_release(files: list[dict], images: dict) -> dict:
    """What ``up`` of the rendered project runs: its services, its images and a digest of its files.

    Recorded after a healthy run; the next run compares its own against it
    (``compose_project.settled``) and skips ``up`` when nothing differs.
    """
    import yaml  # PyYAML: only on the controller

    compose = next((f for f in files if f["path"] == "docker-compose.yml"), None)
    if compose is None:
        raise mr.MonitoringError("the rendered monitoring project has no docker-compose.yml")
    digest = hashlib.sha256(json.dumps(sorted((f["path"], f["content"]) for f in files)).encode()).hexdigest()
    return {"services": sorted(yaml.safe_load(compose["content"])["services"]), "images": dict(images), "files": digest}


# --- images ------------------------------------------------------------------------------------
PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"  # noqa: S105 - /etc/passwd of the image, no password in it
GROUP = "root:x:0:\nnogroup:x:65534:\n"


def dockerfile(spec: dict) -> str:
    """A one-binary image on an empty base; non-root unless the program needs the host (cAdvisor)."""
    lines = [
        "# Rendered by the goaltrajectory.platform monitoring role: programs built from the Go module proxy.",
        "FROM scratch",
        "COPY etc/ /etc/",
        "COPY bin/ /usr/local/bin/",
    ]
    if spec.get("share"):
        # What the program reads besides its binary (Perses: its plugins and CUE module cache).
        lines.append(f"COPY share/ /usr/share/{spec['entrypoint']}/")
    if spec["data"]:
        # An empty /data owned by nobody: a new named volume copies it, so the program can write.
        lines.append("COPY --chown=65534:65534 data/ /data/")
        lines.append("WORKDIR /data")
    lines += [f"ENV {key}={value}" for key, value in sorted((spec.get("env") or {}).items())]
    lines += ["USER 65534:65534", f'ENTRYPOINT ["/usr/local/bin/{spec["entrypoint"]}"]']
    return "\n".join(lines) + "\n"


def image_plan(
    images: dict, components: dict, tools_dir: str, repository: str, checksums: dict, environment: str
) -> list[dict]:
    """What to build: per image its binaries (path on this host), its tags, its build context.

    ``name`` (the key with dashes) names the image under ``repository`` and in the images role's
    results file. Tags: ``<version>-<hash of the Dockerfile and what the binaries are built from>``,
    so an unchanged program costs no build, and ``<environment>``, which a promotion moves.
    ``checksums`` maps a component key to what its binary is built from (empty when not built yet,
    in check mode: the image is then reported as not built).
    """
    plan = []
    for key, spec in sorted(images.items()):
        binaries, digest = [], hashlib.sha256(dockerfile(spec).encode())
        main = None
        for comp_key, binary in sorted(spec["binaries"].items()):
            comp = components[comp_key]
            src = f"{tools_dir}/{comp['name']}/{comp['version']}/{binary}"
            binaries.append({"src": src, "name": binary})
            digest.update(f"{binary}={checksums.get(comp_key, '')}\n".encode())
            if binary == spec["entrypoint"]:
                main = comp
        if main is None:
            raise mr.MonitoringError(
                f"__images_monitoring_images.{key}: entrypoint {spec['entrypoint']!r} is none of its binaries"
            )
        if spec.get("share"):
            # The share directory next to the entrypoint's binary; what it holds is in the checksum.
            trees = [{"src": f"{tools_dir}/{main['name']}/{main['version']}/share", "dest": "share"}]
        else:
            trees = []
        name = key.replace("_", "-")
        repo = f"{repository}/{name}"
        tag = f"{main['version']}-{digest.hexdigest()[:12]}"
        plan.append(
            {
                "key": key,
                "name": name,
                "repository": repo,
                "tag": tag,
                "ref": f"{repo}:{tag}",
                "tags": [f"{repo}:{tag}", f"{repo}:{environment}"],
                "built": all(checksums.get(k) for k in spec["binaries"]),
                "binaries": binaries,
                "trees": trees,
                "files": [
                    {"path": "Dockerfile", "content": dockerfile(spec)},
                    {"path": "etc/passwd", "content": PASSWD},
                    {"path": "etc/group", "content": GROUP},
                ]
                + ([{"path": "data/.keep", "content": ""}] if spec["data"] else []),
            }
        )
    return plan


def image_refs(plan: list[dict]) -> list[str]:
    """Every tag of the plan's images (content tag ``ref`` and environment tag): what the engine is asked for."""
    return sorted({tag for p in plan for tag in p["tags"]})


def image_actions(plan: list[dict], ids: dict[str, str]) -> dict:
    """Which built images of ``plan`` the engine lacks (``build``: no image has the content tag) and which
    need their environment tag put on (``tag``: it is missing or on another image). ``ids``: tag -> image
    ID of the tags the engine holds (compose_status' ``image_ids`` for ``image_refs(plan)``)."""
    ready = [p for p in plan if p["built"]]
    return {
        "build": [p for p in ready if p["ref"] not in ids],
        "tag": [p for p in ready if p["ref"] not in ids or ids.get(p["tags"][1]) != ids[p["ref"]]],
    }


def published_images(plan: list[dict], ids: dict[str, str]) -> dict:
    """The images present in the engine as image_publish (push) and the results file take them:
    ``{name: {service, dev, ref, tags, id}}``, ``service`` being ``monitoring``."""
    return {
        p["name"]: {"service": "monitoring", "dev": False, "ref": p["ref"], "tags": p["tags"], "id": ids[p["ref"]]}
        for p in plan
        if p["ref"] in ids
    }


def target_problems(answer: Any) -> list[str]:
    """What keeps Prometheus' /api/v1/targets answer (JSON text or parsed) from "every target up":
    one line per target not up (job, URL, last error), or why there is no usable answer; [] when
    there is at least one target and all are up."""
    if isinstance(answer, (str, bytes)):
        try:
            answer = json.loads(answer or "null")
        except ValueError:
            return ["the answer is not JSON"]
    targets = ((answer or {}).get("data") or {}).get("activeTargets") if isinstance(answer, dict) else None
    if targets is None:
        return ["no answer from Prometheus"]
    if not targets:
        return ["Prometheus has no active targets"]
    return [
        f"{t.get('labels', {}).get('job', '?')} {t.get('scrapeUrl', '?')} {t.get('lastError') or t.get('health')}"
        for t in targets
        if t.get("health") != "up"
    ]


def go_sbom(image: str, version: str, buildinfos: list[str]) -> dict:
    """A CycloneDX 1.5 SBOM of a one-layer image from its binaries' Go build information (the text of
    ``go version -m <binary>`` for each): the Go standard library, each main module and every module
    linked in (``dep``, or its ``=>`` replacement), as ``pkg:golang`` purls that scanners read."""
    components: dict[str, dict] = {}

    def add(path: str, ver: str) -> None:
        purl = f"pkg:golang/{path}@{ver}"
        components.setdefault(purl, {"type": "library", "name": path, "version": ver, "purl": purl,
                                     "bom-ref": purl})  # fmt: skip

    for text in buildinfos:
        lines = text.splitlines()
        if not lines or ": go" not in lines[0]:
            raise mr.MonitoringError(f"{image}: not Go build information: {lines[:1]}")
        add("stdlib", lines[0].rsplit(": go", 1)[1].strip())
        last = None
        for line in lines[1:]:
            fields = line.strip().split("\t")
            if fields[0] in ("mod", "dep") and len(fields) >= 3:
                last = (fields[1], fields[2])
                if fields[2] != "(devel)":
                    add(fields[1], fields[2])
            elif fields[0] == "=>" and len(fields) >= 3 and last:
                # The module actually linked replaces the one named on the line before.
                components.pop(f"pkg:golang/{last[0]}@{last[1]}", None)
                add(fields[1], fields[2])
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "container", "name": image, "version": version}},
        "components": sorted(components.values(), key=lambda c: c["purl"]),
    }


def sbom_files(plan: list[dict], buildinfo_results: list[dict]) -> list[dict]:
    """``[{path, content}]``: ``<image name>.cdx.json`` per built image of the plan, from the results of
    ``go version -m`` over its binaries (a loop over ``plan | subelements('binaries')``)."""
    texts: dict[str, list[str]] = {}
    for result in buildinfo_results:
        texts.setdefault(result["item"][0]["name"], []).append(result["stdout"])
    return [
        {"path": f"{image['name']}.cdx.json",
         "content": json.dumps(go_sbom(image["repository"], image["tag"], texts[image["name"]]), indent=1) + "\n"}
        for image in plan
        if image.get("built") and image["name"] in texts
    ]  # fmt: skip


def context_files(plan: list[dict]) -> list[dict]:
    """The build contexts of ``plan``'s images as one file_tree: ``<key>/<file>`` each."""
    return [{**f, "path": f"{image['key']}/{f['path']}"} for image in plan for f in image["files"]]
