# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Compose project of one environment, derived from the service catalog.

:func:`build` returns the base file and the environment's override as plain data
(``docker-compose.yml`` plus ``docker-compose.dev.yml`` for dev or
``docker-compose.prod.yml`` elsewhere); the compose role writes them as YAML.

Networks follow ``connects_to``: every service that others connect to gets a network of
its own that only it and its clients join, so a service reaches exactly the services the
catalog lets it reach.  A network is internal (no route out of the host) unless its owner
needs the outside: a published port in this environment or ``external_egress``.  A service
that needs the outside but owns no network gets one alone.

Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

from ansible_collections.goaltrajectory.platform.plugins.module_utils import catalog as cat

APP_ENVIRONMENTS = {"dev": "development", "staging": "staging", "prod": "production"}
REQUIRED_SETTINGS = (
    "project_name",
    "environment",
    "images",
    "bind_address",
    "app_source_dir",
    "log_level",
    "postgres_db",
    "postgres_user",
    "log_max_size",
    "log_max_file",
    "secrets_dir",
)


class ComposeError(ValueError):
    """A setting the Compose project cannot be built from; the message names it."""


def docker_memory(quantity: str) -> str:
    """A Kubernetes memory quantity in Docker's syntax: whole MiB as <n>m, else bytes."""
    size = cat.memory_bytes(quantity)
    return f"{size >> 20}m" if size % (1 << 20) == 0 else str(size)


def docker_cpus(quantity: str) -> str:
    """A Kubernetes CPU quantity (250m, 1, 0.5) as Docker's number of CPUs."""
    return f"{cat.cpu_millis(quantity) / 1000:g}"


def needs_outside(service: dict, environment: str) -> bool:
    return environment in service["publish"] or bool(service["external_egress"])


def networks(services: dict[str, dict], environment: str) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """Networks of the project and each service's networks (see the module docstring)."""
    nets: dict[str, dict] = {}
    members: dict[str, list[str]] = {name: [] for name in services}
    for name, svc in services.items():
        if svc["clients"] or needs_outside(svc, environment):
            nets[name] = {"internal": not needs_outside(svc, environment)}
            members[name].append(name)
            for client in svc["clients"]:
                members[client["name"]].append(name)
    return nets, members


def _healthcheck(svc: dict) -> dict:
    # Readiness, so that `healthy` (and `up --wait`) means the service can do its work.
    health = svc["health"]
    return {
        "test": ["CMD", *cat.health_command(svc, "readiness")],
        "interval": "5s",
        "timeout": f"{health['timeout']}s",
        "retries": 5,
        "start_period": f"{health['startup_seconds']}s",
    }


def _image(settings: dict, key: str) -> str:
    image = settings["images"].get(key)
    if not image:
        raise ComposeError(f"no image reference for {key!r} (known: {', '.join(sorted(settings['images'])) or 'none'})")
    return image


def secret_names(services: dict[str, dict]) -> list[str]:
    """Every secret some service reads, in catalog order."""
    names: list[str] = []
    for svc in services.values():
        names.extend(s for s in svc["secrets"] if s not in names)
    return names


def base(services: dict[str, dict], settings: dict) -> dict:
    environment = settings["environment"]
    nets, members = networks(services, environment)
    env_settings = {
        "environment": APP_ENVIRONMENTS[environment],
        "log_level": settings["log_level"],
        "postgres_db": settings["postgres_db"],
        "postgres_user": settings["postgres_user"],
    }
    out_services = {}
    volumes = {}
    for name, svc in services.items():
        env = cat.env_for(svc, env_settings, lambda peer: peer)
        env.update({f"{s}_FILE": f"/run/secrets/{s.lower()}" for s in svc["secrets"]})
        entry: dict = {
            "image": _image(settings, name),
            # Back by itself after an engine restart or a crash, in every environment.
            "restart": "unless-stopped",
        }
        if env:
            entry["environment"] = env
        if svc["secrets"]:
            entry["secrets"] = [s.lower() for s in svc["secrets"]]
        if svc["volumes"]:
            entry["volumes"] = [f"{name}-{v['name']}:{v['path']}" for v in svc["volumes"]]
            volumes.update({f"{name}-{v['name']}": {} for v in svc["volumes"]})
        if svc["shm_size"]:
            entry["shm_size"] = docker_memory(svc["shm_size"])
        entry["healthcheck"] = _healthcheck(svc)
        entry["stop_grace_period"] = f"{svc['stop_grace_seconds']}s"
        if svc["connects_to"]:
            entry["depends_on"] = {peer: {"condition": "service_healthy"} for peer in svc["connects_to"]}
        if members[name]:
            entry["networks"] = members[name]
        else:
            # Talks to nobody and nobody talks to it: no network at all.
            entry["network_mode"] = "none"
        out_services[name] = entry
    project: dict = {"name": settings["project_name"], "services": out_services}
    if nets:
        project["networks"] = nets
    if volumes:
        project["volumes"] = volumes
    secrets = secret_names(services)
    if secrets:
        # Absolute: the files are validated in a staging directory before they replace the live ones.
        project["secrets"] = {s.lower(): {"file": f"{settings['secrets_dir']}/{s.lower()}"} for s in secrets}
    return project


def _ports(svc: dict, settings: dict) -> list[str]:
    return [f"{settings['bind_address']}:{svc['host_port']}:{svc['ports'][0]['port']}"]


def dev_override(services: dict[str, dict], settings: dict) -> dict:
    """Hot reload: the dev command, the dev stage image and the source mounted read-only."""
    out = {}
    for name, svc in services.items():
        entry: dict = {}
        dev = svc["dev"] or {}
        if dev.get("target"):
            entry["image"] = _image(settings, f"{name}-dev")
        if dev.get("command"):
            entry["command"] = dev["command"]
        if dev.get("mounts"):
            entry["volumes"] = [f"{settings['app_source_dir']}/{m['source']}:{m['target']}:ro" for m in dev["mounts"]]
        if "dev" in svc["publish"]:
            entry["ports"] = _ports(svc, settings)
        if entry:
            out[name] = entry
    return {"services": out}


def prod_override(services: dict[str, dict], settings: dict) -> dict:
    """Hardening and sizing: read-only roots, no capabilities, limits, log rotation."""
    out = {}
    for name, svc in services.items():
        limits = svc["resources"]["limits"]
        entry: dict = {"read_only": True}
        if svc["scratch"]:
            entry["tmpfs"] = [s["path"] for s in svc["scratch"]]
        entry.update(
            {
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges:true"],
                "deploy": {
                    "resources": {
                        "limits": {"cpus": docker_cpus(limits["cpu"]), "memory": docker_memory(limits["memory"])}
                    }
                },
                "logging": {
                    "driver": "json-file",
                    "options": {"max-size": str(settings["log_max_size"]), "max-file": str(settings["log_max_file"])},
                },
            }
        )
        if settings["environment"] in svc["publish"]:
            entry["ports"] = _ports(svc, settings)
        out[name] = entry
    return {"services": out}


def image_keys(services: dict[str, dict], environment: str) -> list[str]:
    """Image references the project needs: every service's, plus dev stages in dev."""
    keys = list(services)
    if environment == "dev":
        keys += [f"{name}-dev" for name, svc in services.items() if svc["dev"] and svc["dev"]["target"]]
    return keys


def dotenv(settings: dict, files: list[str]) -> str:
    """``.env`` for a bare ``docker compose`` in the project directory: the same project and files."""
    return f"COMPOSE_PROJECT_NAME={settings['project_name']}\nCOMPOSE_FILE={':'.join(files)}\n"


def escape(data):
    """Every ``$`` doubled: Compose would interpolate it, and the catalog's commands mean the container's variables."""
    if isinstance(data, str):
        return data.replace("$", "$$")
    if isinstance(data, list):
        return [escape(item) for item in data]
    if isinstance(data, dict):
        return {key: escape(value) for key, value in data.items()}
    return data


def build(services: dict[str, dict], settings: dict) -> dict[str, dict]:
    """File name -> content (as data) of the environment's Compose files, base first."""
    missing = [key for key in REQUIRED_SETTINGS if key not in settings]
    if missing:
        raise ComposeError(f"compose settings lack {', '.join(missing)}")
    if settings["environment"] not in APP_ENVIRONMENTS:
        raise ComposeError(f"compose_environment: {settings['environment']!r} is not one of dev, staging, prod")
    override = "dev" if settings["environment"] == "dev" else "prod"
    builder = dev_override if override == "dev" else prod_override
    return {
        "docker-compose.yml": escape(base(services, settings)),
        f"docker-compose.{override}.yml": escape(builder(services, settings)),
    }


# --- after a deploy ----------------------------------------------------------------------------
def probe_targets(services: dict[str, dict], containers: list[dict], bind_address: str) -> list[dict]:
    """probe_check targets: readiness inside each container, and each published port from the host."""
    targets = []
    for container in containers:
        svc = services.get(container["Service"])
        if svc is None:
            continue
        name = svc["name"]
        targets.append(
            {
                "name": f"{name} (in container)",
                "type": "readiness",
                "container": container["Name"],
                "exec": {"command": cat.health_command(svc, "readiness")},
                "periodSeconds": 2,
                "timeoutSeconds": 5,
            }
        )
        published = sorted({p["PublishedPort"] for p in container.get("Publishers") or [] if p.get("PublishedPort")})
        for port in published:
            if svc["health"]["kind"] == "http":
                url = f"http://{bind_address}:{port}"
                handler = {"httpGet": {"host": bind_address, "port": port, "path": svc["health"]["readiness"]}}
            else:
                url = f"tcp {bind_address}:{port}"
                handler = {"tcpSocket": {"host": bind_address, "port": port}}
            targets.append(
                {"name": f"{name} ({url})", "type": "readiness", **handler, "periodSeconds": 2, "timeoutSeconds": 5}
            )
    return targets


def summary(services: dict[str, dict], containers: list[dict], probes: list[dict], bind_address: str) -> list[str]:
    """One line per service: health, probe results, image, published URLs (scheme: the port's name)."""
    lines = []
    for container in sorted(containers, key=lambda c: c["Service"]):
        name = container["Service"]
        ports = (services.get(name) or {}).get("ports") or [{"name": "http"}]
        scheme = ports[0]["name"] if ports[0]["name"] not in ("http", "https", "tcp") else "http"
        published = sorted({p["PublishedPort"] for p in container.get("Publishers") or [] if p.get("PublishedPort")})
        urls = " ".join(f"{scheme}://{bind_address}:{p}" for p in published)
        states = sorted({p["status"] for p in probes if p["name"].startswith(f"{name} ")})
        health, probed = container.get("Health") or "none", "/".join(states) or "none"
        lines.append(f"{name:<9} health={health:<8} probes={probed:<8} {container['Image']} {urls}".rstrip())
    return lines


def diagnostics(failed: list[dict], infos: list[dict], logs: list[dict], log_lines: int) -> str:
    """Why services did not become healthy: state, the last health probes, the last log lines."""
    out = []
    for record, info, log in zip(failed, infos, logs, strict=False):
        health = ((info.get("container") or {}).get("State") or {}).get("Health") or {}
        state = f"{record['State']}, health {record.get('Health') or 'none'}"
        out.append(f"=== service {record['Service']} ({record['Image']}): {state}")
        out.append("--- health log:")
        out.extend(f"exit {p['ExitCode']}: {p['Output'].strip()}" for p in (health.get("Log") or [])[-5:])
        out.append(f"--- last {log_lines} log lines:")
        out.append(f"{log.get('stdout', '')}\n{log.get('stderr', '')}".strip())
    return "\n".join(out)


def on_current_image(container: dict, image_ids: dict) -> bool:
    """Whether the container runs the image its reference names now (not one the tag left behind)."""
    return image_ids.get((container.get("Config") or {}).get("Image")) == container.get("Image")


def service_containers(inspected: list[dict]) -> dict[str, str]:
    """Service name -> container ID of the project's (non one-off) containers in ``docker inspect`` output."""
    out = {}
    for container in inspected:
        labels = container.get("Config", {}).get("Labels") or {}
        if labels.get("com.docker.compose.service") and labels.get("com.docker.compose.oneoff") != "True":
            out[labels["com.docker.compose.service"]] = container["Id"]
    return out


def settled(inspected: list[dict], services: list[str], recorded: dict, release: dict, image_ids: dict) -> bool:
    """Whether ``up`` has nothing to do: the release is the last healthy one, run by the very
    containers that release recorded, each running, healthy, reachable by its name and on the
    image its reference names now.

    ``recorded`` is the last healthy release (``last-good.json``), ``release`` this run's
    ``{"images": ..., "files": ...}``, ``image_ids`` reference -> current image ID
    (``compose_status``). Anything else (a changed file or image, a tag rebuilt in place, a
    container stopped, recreated or added by hand, one still starting) leaves the work to
    ``up --wait``.
    """
    running = service_containers(inspected)
    wanted = recorded.get("containers") or {}
    return (
        sorted(wanted) == sorted(services) == sorted(running)
        and recorded.get("images") == release["images"]
        and recorded.get("files") == release["files"]
        and all(c["Id"] not in running.values() or on_current_image(c, image_ids) for c in inspected)
        # IDs in full (inspect) or as Compose prints them; either is a prefix of the other.
        and all(
            wanted[s] and running[s] and (running[s].startswith(wanted[s]) or wanted[s].startswith(running[s]))
            for s in services
        )
        and not repairs(inspected, services)
    )


def ps_records(inspected: list[dict]) -> list[dict]:
    """``docker inspect`` output in the shape of ``docker compose ps --format json`` (the fields we read)."""
    records = []
    for container in inspected:
        labels = container.get("Config", {}).get("Labels") or {}
        if not labels.get("com.docker.compose.service") or labels.get("com.docker.compose.oneoff") == "True":
            continue
        state = container.get("State") or {}
        ports = ((container.get("NetworkSettings") or {}).get("Ports")) or {}
        records.append(
            {
                "ID": container["Id"],
                "Name": container.get("Name", "").lstrip("/"),
                "Service": labels["com.docker.compose.service"],
                "Image": container.get("Config", {}).get("Image", ""),
                "State": state.get("Status", ""),
                "Health": (state.get("Health") or {}).get("Status", ""),
                "Publishers": [
                    {"PublishedPort": int(b["HostPort"]), "TargetPort": int(port.split("/")[0])}
                    for port, bindings in sorted(ports.items())
                    for b in bindings or []
                    if b.get("HostPort")
                ],
            }
        )
    return records


def missing_images(images: dict[str, str], infos: list[dict]) -> list[str]:
    """``name: reference`` of each image the engine does not have (by tag, digest or ID)."""
    known = set()
    for info in infos:
        known.update(info.get("RepoTags") or [])
        known.update(info.get("RepoDigests") or [])
        known.add(info.get("Id"))
    return [f"{name}: {ref}" for name, ref in images.items() if ref not in known]


def repairs(inspected: list[dict], services: list[str]) -> list[dict]:
    """Services whose container is not running, not healthy, or lacks its service name on a network.

    ``inspected`` is ``docker inspect`` output for the project's containers.
    """
    out = []
    for container in inspected:
        labels = container.get("Config", {}).get("Labels") or {}
        service = labels.get("com.docker.compose.service")
        if service not in services or labels.get("com.docker.compose.oneoff") == "True":
            continue
        state = container.get("State") or {}
        reasons = []
        if not state.get("Running"):
            reasons.append(state.get("Status") or "not running")
        health = (state.get("Health") or {}).get("Status")
        if health and health != "healthy":
            reasons.append(f"health {health}")
        if (container.get("HostConfig") or {}).get("NetworkMode") not in ("none", "host"):
            for network, endpoint in sorted(((container.get("NetworkSettings") or {}).get("Networks") or {}).items()):
                if service not in ((endpoint or {}).get("Aliases") or []):
                    reasons.append(f"no alias {service!r} on network {network}")
        if reasons:
            out.append({"service": service, "reason": f"{service}: {', '.join(reasons)}"})
    return out
