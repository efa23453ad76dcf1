# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service catalog: one description of the app's services, checked and completed.

``roles/catalog/defaults/main.yml`` holds the catalog as data; inventories change it through
``catalog_overrides``.  :func:`build` merges the two, checks every field (errors name the
field as ``<service>.<field>``), fills in the defaults and derives what more than one role
needs: the health check commands run inside a container, the reverse edges of
``connects_to`` (who may connect to a service), and a dependency order.

Engine-specific rendering lives with its role (``compose_project``, ``k8s_tree``); this
module only knows the services.  Importable by plain pytest: no Ansible import here.
"""

from __future__ import annotations

import copy
import re
import string
from typing import Any

NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")
PORT_NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$")
ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CPU_RE = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)m?$")
MEM_RE = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
ENVIRONMENTS = ("dev", "staging", "prod")
RUNTIMES = ("python", "node", "none")
# Placeholders a catalog env value may use; every role that renders env supplies them.
ENV_PLACEHOLDERS = ("environment", "log_level", "postgres_db", "postgres_user")
# Placeholders of image paths, filled in by the images role.
PATH_PLACEHOLDERS = ("app", "docker")
MIN_UID = 10000

KNOWN_KEYS = {
    "description",
    "component",
    "image",
    "runtime",
    "ports",
    "health",
    "metrics",
    "env",
    "secrets",
    "connects_to",
    "external_egress",
    "ingress",
    "stateful",
    "volumes",
    "scratch",
    "shm_size",
    "stop_grace_seconds",
    "user",
    "replicas",
    "autoscale",
    "resources",
    "host_port",
    "publish",
    "dev",
}
IMAGE_KEYS = {"context", "dockerfile", "bases", "runtime_base", "args", "budget_mb", "target", "distroless"}
# What a distroless image must not carry, and so what its exec health command cannot start.
SHELLS = ("sh", "bash", "dash", "ash", "zsh", "busybox")
HEALTH_KEYS = {"port", "liveness", "readiness", "command", "startup_seconds", "timeout"}
CONNECT_KEYS = {"host_env", "port_env", "url_env", "port"}
DEV_KEYS = {"target", "command", "mounts"}

# In-container HTTP clients for images without curl: exit 0 on a 2xx/3xx answer.
HTTP_CLIENTS = {
    "python": [
        "python3",
        "-c",
        "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=float(sys.argv[2]))",
    ],
    "node": [
        "node",
        "-e",
        "fetch(process.argv[1], {signal: AbortSignal.timeout(process.argv[2] * 1000)})"
        ".then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
    ],
}


class CatalogError(ValueError):
    """The catalog has a field no role can use; the message names it."""


def merge(base: Any, over: Any) -> Any:
    """Deep-merge ``over`` into ``base``: mappings key by key, anything else replaced; None deletes."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


BINARY_SUFFIXES = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
DECIMAL_SUFFIXES = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def memory_bytes(quantity: str) -> int:
    """Bytes in a Kubernetes memory quantity (512Mi, 1Gi, 1G, 1000)."""
    for suffixes in (BINARY_SUFFIXES, DECIMAL_SUFFIXES):
        for suffix, factor in suffixes.items():
            if quantity.endswith(suffix):
                return int(float(quantity[: -len(suffix)]) * factor)
    return int(float(quantity))


def cpu_millis(quantity: str) -> int:
    """Millicores in a Kubernetes CPU quantity (250m, 1, 0.5)."""
    return round(float(quantity[:-1])) if quantity.endswith("m") else round(float(quantity) * 1000)


def _fail(where: str, message: str) -> CatalogError:
    return CatalogError(f"service catalog (catalog_services + catalog_overrides): {where}: {message}")


def _mapping(value: Any, where: str, keys: set[str] | None = None) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, f"must be a mapping, got {type(value).__name__}")
    if keys is not None:
        unknown = sorted(set(value) - keys)
        if unknown:
            raise _fail(where, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(keys))}")
    return value


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, f"must be a list, got {type(value).__name__}")
    return value


def _int(value: Any, where: str, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise _fail(where, f"must be a whole number, got {value!r}")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise _fail(where, f"must be at least {minimum}{upper}, got {number}")
    return number


def _str(value: Any, where: str, pattern: re.Pattern | None = None, hint: str = "") -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, f"must be a non-empty string, got {value!r}")
    if pattern is not None and not pattern.match(value):
        raise _fail(where, f"{value!r} is not {hint or 'valid'}")
    return value


def _path(value: Any, where: str) -> str:
    value = _str(value, where)
    if not value.startswith("/"):
        raise _fail(where, f"{value!r} must be an absolute path")
    return value


def _quantity(value: Any, where: str, kind: str) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    pattern = CPU_RE if kind == "cpu" else MEM_RE
    hint = (
        "a CPU quantity like 250m or 1"
        if kind == "cpu"
        else "a memory quantity like 512Mi or 1Gi (MB/GB are not units)"
    )
    return _str(text, where, pattern, hint)


def _command(value: Any, where: str) -> list[str]:
    items = _list(value, where)
    if not items or not all(isinstance(i, str) and i for i in items):
        raise _fail(where, "must be a non-empty list of strings (exec form)")
    return list(items)


def _placeholders(text: str) -> set[str]:
    return {field for _literal, field, _spec, _conversion in string.Formatter().parse(text) if field is not None}


def _image(raw: Any, where: str) -> dict:
    spec = _mapping(raw, where, IMAGE_KEYS)
    for key in ("context", "dockerfile", "runtime_base"):
        _str(spec.get(key), f"{where}.{key}")
    for key in ("context", "dockerfile"):
        bad = _placeholders(spec[key]) - set(PATH_PLACEHOLDERS)
        if bad:
            raise _fail(f"{where}.{key}", f"unknown placeholder(s) {sorted(bad)}; known: {{app}}, {{docker}}")
    bases = _mapping(spec.get("bases"), f"{where}.bases")
    args = _mapping(spec.get("args"), f"{where}.args")
    for arg in list(bases) + list(args):
        _str(arg, f"{where}.bases/args key", ENV_RE, "a build arg name")
    return {
        "context": spec["context"],
        "dockerfile": spec["dockerfile"],
        "bases": {k: _str(v, f"{where}.bases.{k}") for k, v in bases.items()},
        "runtime_base": spec["runtime_base"],
        "args": {k: str(v) for k, v in args.items()},
        "budget_mb": _int(spec.get("budget_mb", 0), f"{where}.budget_mb"),
        "target": _str(spec.get("target", "runtime"), f"{where}.target"),
        "distroless": _flag(spec.get("distroless", False), f"{where}.distroless"),
    }


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"must be true or false, got {value!r}")
    return value


def _ports(raw: Any, where: str) -> list[dict]:
    ports, names, numbers = [], set(), set()
    for i, item in enumerate(_list(raw, where)):
        at = f"{where}[{i}]"
        item = _mapping(item, at, {"name", "port", "protocol"})
        name = _str(item.get("name"), f"{at}.name", PORT_NAME_RE, "a port name (lower case, at most 15 characters)")
        number = _int(item.get("port"), f"{at}.port", 1, 65535)
        protocol = _str(item.get("protocol", "TCP"), f"{at}.protocol")
        if protocol not in ("TCP", "UDP"):
            raise _fail(f"{at}.protocol", f"{protocol!r} is not TCP or UDP")
        if name in names or number in numbers:
            raise _fail(at, f"port name {name!r} or number {number} used twice")
        names.add(name)
        numbers.add(number)
        ports.append({"name": name, "port": number, "protocol": protocol})
    return ports


def _port_number(ports: list[dict], name: Any, where: str) -> int:
    for port in ports:
        if port["name"] == name:
            return port["port"]
    known = ", ".join(p["name"] for p in ports) or "none"
    raise _fail(where, f"{name!r} is not a port name of this service (its ports: {known})")


def _health(raw: Any, where: str, ports: list[dict], runtime: str) -> dict:
    spec = _mapping(raw, where, HEALTH_KEYS)
    if not spec:
        raise _fail(where, "every service needs a health check: `port` with `liveness` path, or `command`")
    health = {
        "startup_seconds": _int(spec.get("startup_seconds", 60), f"{where}.startup_seconds", 1),
        "timeout": _int(spec.get("timeout", 3), f"{where}.timeout", 1, 60),
    }
    if "command" in spec:
        if "port" in spec or "liveness" in spec or "readiness" in spec:
            raise _fail(where, "give either `command` or `port` with `liveness`/`readiness` paths, not both")
        health.update(kind="exec", command=_command(spec["command"], f"{where}.command"))
        return health
    number = _port_number(ports, spec.get("port"), f"{where}.port")
    liveness = _str(spec.get("liveness"), f"{where}.liveness")
    readiness = _str(spec.get("readiness", liveness), f"{where}.readiness")
    for key, path in (("liveness", liveness), ("readiness", readiness)):
        if not path.startswith("/"):
            raise _fail(f"{where}.{key}", f"{path!r} must be a URL path starting with /")
    if runtime not in HTTP_CLIENTS:
        raise _fail(
            where, f"an HTTP health check needs `runtime` python or node (the in-container client), got {runtime!r}"
        )
    health.update(kind="http", port=spec["port"], port_number=number, liveness=liveness, readiness=readiness)
    return health


def _resources(raw: Any, where: str) -> dict:
    spec = _mapping(raw, where, {"requests", "limits"})
    out = {}
    for group in ("requests", "limits"):
        values = _mapping(spec.get(group), f"{where}.{group}", {"cpu", "memory"})
        out[group] = {kind: _quantity(values.get(kind), f"{where}.{group}.{kind}", kind) for kind in ("cpu", "memory")}
    return out


def _volumes(raw: Any, where: str) -> list[dict]:
    volumes, names = [], set()
    for i, item in enumerate(_list(raw, where)):
        at = f"{where}[{i}]"
        item = _mapping(item, at, {"name", "path", "size", "storage_class"})
        name = _str(item.get("name"), f"{at}.name", NAME_RE, "a DNS-1123 label")
        if name in names:
            raise _fail(at, f"volume name {name!r} used twice")
        names.add(name)
        volumes.append(
            {
                "name": name,
                "path": _path(item.get("path"), f"{at}.path"),
                "size": _quantity(item.get("size", "1Gi"), f"{at}.size", "memory"),
                "storage_class": str(item.get("storage_class") or ""),
            }
        )
    return volumes


def _scratch_name(path: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
    return name[:63].rstrip("-")


def _service(name: str, raw: Any) -> dict:
    where = name
    _str(name, "service name", NAME_RE, "a DNS-1123 label of at most 32 characters")
    spec = _mapping(raw, where, KNOWN_KEYS)
    runtime = _str(spec.get("runtime", "none"), f"{where}.runtime")
    if runtime not in RUNTIMES:
        raise _fail(f"{where}.runtime", f"{runtime!r} is not one of {', '.join(RUNTIMES)}")
    ports = _ports(spec.get("ports"), f"{where}.ports")
    env = _mapping(spec.get("env"), f"{where}.env")
    for key, value in env.items():
        _str(key, f"{where}.env key", ENV_RE, "an environment variable name")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _fail(f"{where}.env.{key}", "must be a string or a number")
        bad = _placeholders(str(value)) - set(ENV_PLACEHOLDERS)
        if bad:
            raise _fail(
                f"{where}.env.{key}", f"unknown placeholder(s) {sorted(bad)}; known: {', '.join(ENV_PLACEHOLDERS)}"
            )
    secrets = [
        _str(s, f"{where}.secrets", ENV_RE, "a secret key name") for s in _list(spec.get("secrets"), f"{where}.secrets")
    ]
    stateful = bool(spec.get("stateful", False))
    volumes = _volumes(spec.get("volumes"), f"{where}.volumes")
    if stateful and not volumes:
        raise _fail(f"{where}.stateful", "a stateful service needs at least one volume")
    replicas = _int(spec.get("replicas", 1), f"{where}.replicas", 1)
    autoscale = None
    if spec.get("autoscale"):
        auto = _mapping(spec["autoscale"], f"{where}.autoscale", {"min", "max", "cpu"})
        autoscale = {
            "min": _int(auto.get("min", 1), f"{where}.autoscale.min", 1),
            "max": _int(auto.get("max", 1), f"{where}.autoscale.max", 1),
            "cpu": _int(auto.get("cpu", 70), f"{where}.autoscale.cpu", 1, 100),
        }
        if autoscale["min"] > autoscale["max"]:
            raise _fail(f"{where}.autoscale", f"min {autoscale['min']} is above max {autoscale['max']}")
        if replicas > autoscale["max"]:
            raise _fail(f"{where}.replicas", f"{replicas} is above autoscale.max {autoscale['max']}")
    if volumes and (replicas > 1 or autoscale):
        raise _fail(where, "a service with volumes runs one replica: no `replicas` above 1 and no `autoscale`")
    metrics = None
    if spec.get("metrics"):
        m = _mapping(spec["metrics"], f"{where}.metrics", {"port", "path"})
        metrics = {
            "port": m.get("port"),
            "port_number": _port_number(ports, m.get("port"), f"{where}.metrics.port"),
            "path": _str(m.get("path", "/metrics"), f"{where}.metrics.path"),
        }
    ingress = None
    if spec.get("ingress"):
        ing = _mapping(spec["ingress"], f"{where}.ingress", {"path", "port"})
        if not ports:
            raise _fail(f"{where}.ingress", "a service without ports cannot be routed to")
        port = ing.get("port", ports[0]["name"])
        _port_number(ports, port, f"{where}.ingress.port")
        ingress = {"path": _str(ing.get("path", "/"), f"{where}.ingress.path"), "port": port}
    publish = [str(e) for e in _list(spec.get("publish"), f"{where}.publish")]
    for env_name in publish:
        if env_name not in ENVIRONMENTS:
            raise _fail(f"{where}.publish", f"{env_name!r} is not one of {', '.join(ENVIRONMENTS)}")
    host_port = None
    if publish:
        if not ports:
            raise _fail(f"{where}.publish", "a service without ports cannot be published")
        host_port = _int(spec.get("host_port", ports[0]["port"]), f"{where}.host_port", 1, 65535)
    dev = None
    if spec.get("dev"):
        d = _mapping(spec["dev"], f"{where}.dev", DEV_KEYS)
        mounts = []
        for i, mount in enumerate(_list(d.get("mounts"), f"{where}.dev.mounts")):
            mount = _mapping(mount, f"{where}.dev.mounts[{i}]", {"source", "target"})
            source = _str(mount.get("source"), f"{where}.dev.mounts[{i}].source")
            if source.startswith("/") or ".." in source.split("/"):
                raise _fail(
                    f"{where}.dev.mounts[{i}].source", f"{source!r} must be relative to the app source directory"
                )
            mounts.append({"source": source, "target": _path(mount.get("target"), f"{where}.dev.mounts[{i}].target")})
        dev = {
            "target": str(d.get("target") or ""),
            "command": _command(d["command"], f"{where}.dev.command") if d.get("command") else [],
            "mounts": mounts,
        }
    user = _int(spec.get("user", 10001), f"{where}.user", MIN_UID)
    scratch = [_path(p, f"{where}.scratch") for p in _list(spec.get("scratch"), f"{where}.scratch")]
    image = _image(spec.get("image"), f"{where}.image")
    health = _health(spec.get("health"), f"{where}.health", ports, runtime)
    if image["distroless"] and health.get("kind") == "exec" and health["command"][0].rsplit("/", 1)[-1] in SHELLS:
        raise _fail(
            f"{where}.health.command",
            f"the image is distroless (image.distroless: true): it has no {health['command'][0]} to run the check",
        )
    return {
        "name": name,
        "description": str(spec.get("description") or name),
        "component": _str(spec.get("component", name), f"{where}.component", NAME_RE, "a DNS-1123 label"),
        "image": image,
        "runtime": runtime,
        "ports": ports,
        "health": health,
        "metrics": metrics,
        "env": {k: str(v) for k, v in env.items()},
        "secrets": secrets,
        "connects_to": _mapping(spec.get("connects_to"), f"{where}.connects_to"),
        "external_egress": [
            _int(p, f"{where}.external_egress", 1, 65535)
            for p in _list(spec.get("external_egress"), f"{where}.external_egress")
        ],
        "ingress": ingress,
        "stateful": stateful,
        "volumes": volumes,
        "scratch": [{"name": _scratch_name(p), "path": p} for p in scratch],
        "shm_size": _quantity(spec["shm_size"], f"{where}.shm_size", "memory") if spec.get("shm_size") else "",
        "stop_grace_seconds": _int(spec.get("stop_grace_seconds", 30), f"{where}.stop_grace_seconds", 1),
        "user": user,
        "replicas": replicas,
        "autoscale": autoscale,
        "resources": _resources(spec.get("resources"), f"{where}.resources"),
        "host_port": host_port,
        "publish": publish,
        "dev": dev,
    }


def _link(services: dict[str, dict]) -> None:
    """Check and complete connects_to; add the reverse edges as ``clients``."""
    for svc in services.values():
        svc["clients"] = []
    for svc in services.values():
        links = {}
        for target, raw in svc["connects_to"].items():
            where = f"{svc['name']}.connects_to.{target}"
            if target not in services:
                raise _fail(where, f"no service {target!r} in the catalog (services: {', '.join(services)})")
            if target == svc["name"]:
                raise _fail(where, "a service does not connect to itself through the catalog")
            peer = services[target]
            if not peer["ports"]:
                raise _fail(where, f"{target} has no ports to connect to")
            link = _mapping(raw, where, CONNECT_KEYS)
            port = link.get("port", peer["ports"][0]["name"])
            number = _port_number(peer["ports"], port, f"{where}.port")
            for key in ("host_env", "port_env", "url_env"):
                if link.get(key):
                    _str(link[key], f"{where}.{key}", ENV_RE, "an environment variable name")
            links[target] = {
                "port": port,
                "port_number": number,
                "host_env": link.get("host_env", ""),
                "port_env": link.get("port_env", ""),
                "url_env": link.get("url_env", ""),
            }
            peer["clients"].append({"name": svc["name"], "port": port, "port_number": number})
        svc["connects_to"] = links


def _order(services: dict[str, dict]) -> list[str]:
    """Services in dependency order (what a service connects to comes first), else catalog order."""
    order, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join([*trail, name])
            raise _fail(f"{name}.connects_to", f"dependency cycle {cycle}")
        state[name] = "visiting"
        for target in services[name]["connects_to"]:
            visit(target, [*trail, name])
        state[name] = "done"
        order.append(name)

    for name in services:
        visit(name, [])
    return order


def build(services: Any, overrides: Any = None) -> dict[str, dict]:
    """Merge, check and complete the catalog; the result is ordered by dependencies."""
    raw = merge(_mapping(services, "catalog_services"), _mapping(overrides, "catalog_overrides"))
    if not raw:
        raise _fail("catalog_services", "no services left after catalog_overrides")
    checked = {name: _service(name, spec) for name, spec in raw.items()}
    _link(checked)
    return {name: checked[name] for name in _order(checked)}


def health_command(service: dict, probe: str = "liveness") -> list[str]:
    """The exec-form command that checks ``probe`` (liveness or readiness) inside the container."""
    health = service["health"]
    if health["kind"] == "exec":
        return list(health["command"])
    url = f"http://127.0.0.1:{health['port_number']}{health[probe]}"
    return [*HTTP_CLIENTS[service["runtime"]], url, str(health["timeout"])]


def env_for(service: dict, settings: dict, address) -> dict[str, str]:
    """The service's plain environment: its env with placeholders filled, plus where its peers are.

    ``address(peer_name)`` gives the host name a peer is reached at on this engine.
    """
    missing = [p for p in ENV_PLACEHOLDERS if p not in settings]
    if missing:
        raise CatalogError(f"env settings lack {', '.join(missing)}")
    env = {key: value.format_map(settings) for key, value in service["env"].items()}
    for peer, link in service["connects_to"].items():
        host = address(peer)
        if link["host_env"]:
            env[link["host_env"]] = host
        if link["port_env"]:
            env[link["port_env"]] = str(link["port_number"])
        if link["url_env"]:
            env[link["url_env"]] = f"http://{host}:{link['port_number']}"
    return env


def base_images(services: dict[str, dict]) -> list[str]:
    """The base image keys (golden catalog keys) the services' images are built on."""
    keys = []
    for svc in services.values():
        for key in [*svc["image"]["bases"].values(), svc["image"]["runtime_base"]]:
            if key not in keys:
                keys.append(key)
    return keys
