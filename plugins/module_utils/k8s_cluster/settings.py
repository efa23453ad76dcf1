"""The k8s_cluster role's computations: input validation, binary locations, downloads, flags.

Used by the role through the filters in plugins/filter/k8s_cluster.py. Every validation
message starts with the variable at fault, so bad input fails before any change, naming it.
"""

from __future__ import annotations

import ipaddress
import re

SOURCES = ("build", "path", "url")
LEVELS = ("privileged", "baseline", "restricted")
VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
REGISTRY_RE = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")
MODULE_RE = re.compile(r"^[a-z0-9.\-]+\.[a-z]{2,}(/[A-Za-z0-9._~\-]+)*$")
PIN_RE = re.compile(r"^v\d+\.\d+\.\d+([-+][0-9A-Za-z.\-+]+)?$")
QUANTITY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T|%)?$")

VERSION_VARS = {
    "tools": "k8s_cluster_tools_version",
    "kubernetes": "k8s_cluster_kubernetes_version",
    "etcd": "k8s_cluster_etcd_version",
    "coredns": "k8s_cluster_coredns_version",
    "metrics-server": "k8s_cluster_metrics_server_version",
    "kube-router": "k8s_cluster_kube_router_version",
    "traefik": "k8s_cluster_traefik_version",
    "local-path-provisioner": "k8s_cluster_local_path_provisioner_version",
}
PATH_VARS = (
    "k8s_cluster_binaries_dir",
    "k8s_cluster_build_dir",
    "k8s_cluster_config_dir",
    "k8s_cluster_state_dir",
    "k8s_cluster_log_dir",
    "k8s_cluster_run_dir",
    "k8s_cluster_containerd_root",
    "k8s_cluster_containerd_state",
    "k8s_cluster_cni_bin_dir",
    "k8s_cluster_local_path_dir",
    "k8s_cluster_go",
)


def _net(value):
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None


def _ip(value):
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def component_sources(catalog: dict, default: str, overrides: dict) -> dict[str, str]:
    """Source (build, path or url) of every component in the catalog."""
    return {name: overrides.get(name, default) for name in catalog}


def binary_components(catalog: dict) -> dict[str, str]:
    """Binary name -> component it belongs to."""
    return {binary: name for name, comp in catalog.items() for binary in comp["packages"]}


def validate(v: dict, catalog: dict, upstream_urls: dict) -> list[str]:
    """Every problem with the role's variables, each message starting with the variable's name."""
    errors: list[str] = []

    def err(var, text):
        errors.append(f"{var} {text}")

    # Types first: argument_specs turns "a,b" into a list and "k=v" into a dict.
    for var in (
        "k8s_cluster_component_sources",
        "k8s_cluster_download_urls",
        "k8s_cluster_download_checksums",
        "k8s_cluster_registry_mirrors",
        "k8s_cluster_kubelet_eviction_hard",
        "k8s_cluster_kubelet_extra_config",
        "k8s_cluster_kube_router_dependency_pins",
    ):
        if not isinstance(v.get(var), dict):
            err(var, f"must be a YAML mapping, got {type(v.get(var)).__name__}: {v.get(var)!r}")
    if errors:
        return errors

    for var in VERSION_VARS.values():
        if not VERSION_RE.match(str(v.get(var, ""))):
            err(var, f"must be a version like v1.2.3, got {v.get(var)!r}")
    k8s = str(v.get("k8s_cluster_kubernetes_version", ""))
    if VERSION_RE.match(k8s) and tuple(int(x) for x in k8s[1:].split(".")[:2]) < (1, 31):
        err("k8s_cluster_kubernetes_version", f"must be v1.31 or newer (failCgroupV1, nftables-era flags), got {k8s}")

    for var in PATH_VARS:
        if not str(v.get(var, "")).startswith("/"):
            err(var, f"must be an absolute path, got {v.get(var)!r}")

    node = str(v.get("k8s_cluster_node_name", ""))
    if not DNS_SUBDOMAIN_RE.match(node) or len(node) > 253:
        err("k8s_cluster_node_name", f"must be a lower-case DNS name, got {node!r}")
    for var in ("k8s_cluster_name", "k8s_cluster_ingress_class", "k8s_cluster_storage_class"):
        if not DNS_SUBDOMAIN_RE.match(str(v.get(var, ""))):
            err(var, f"must be a lower-case DNS name, got {v.get(var)!r}")
    for var in ("k8s_cluster_ingress_namespace", "k8s_cluster_storage_namespace"):
        if not DNS_LABEL_RE.match(str(v.get(var, ""))):
            err(var, f"must be a DNS label (namespace name), got {v.get(var)!r}")
    if not DNS_SUBDOMAIN_RE.match(str(v.get("k8s_cluster_domain", ""))):
        err("k8s_cluster_domain", f"must be a DNS domain, got {v.get('k8s_cluster_domain')!r}")
    if not re.match(r"^[a-z0-9][a-z0-9-]{0,14}$", str(v.get("k8s_cluster_cni_bridge", ""))):
        err("k8s_cluster_cni_bridge", "must be an interface name of at most 15 characters")

    node_ip = _ip(v.get("k8s_cluster_node_ip"))
    if node_ip is None or node_ip.version != 4:
        err("k8s_cluster_node_ip", f"must be an IPv4 address, got {v.get('k8s_cluster_node_ip')!r}")
    pods = _net(v.get("k8s_cluster_pod_cidr"))
    services = _net(v.get("k8s_cluster_service_cidr"))
    if pods is None or pods.version != 4 or pods.prefixlen > 28:
        err(
            "k8s_cluster_pod_cidr", f"must be an IPv4 network like 10.244.0.0/24, got {v.get('k8s_cluster_pod_cidr')!r}"
        )
        pods = None
    if services is None or services.version != 4 or services.prefixlen > 28:
        err(
            "k8s_cluster_service_cidr",
            f"must be an IPv4 network like 10.96.0.0/16, got {v.get('k8s_cluster_service_cidr')!r}",
        )
        services = None
    if pods and services and pods.overlaps(services):
        err("k8s_cluster_service_cidr", f"{services} overlaps k8s_cluster_pod_cidr {pods}")
    if node_ip and node_ip.version == 4:
        for var, net in (("k8s_cluster_pod_cidr", pods), ("k8s_cluster_service_cidr", services)):
            if net and node_ip in net:
                err(var, f"{net} contains the node address {node_ip} (k8s_cluster_node_ip)")
    dns = _ip(v.get("k8s_cluster_dns_ip"))
    if dns is None:
        err("k8s_cluster_dns_ip", f"must be an IP address, got {v.get('k8s_cluster_dns_ip')!r}")
    elif services and (dns not in services or dns == services.network_address + 1):
        err(
            "k8s_cluster_dns_ip", f"{dns} must be inside k8s_cluster_service_cidr {services}, and not its first address"
        )

    ports = {}
    for var in (
        "k8s_cluster_apiserver_port",
        "k8s_cluster_etcd_client_port",
        "k8s_cluster_etcd_peer_port",
        "k8s_cluster_ingress_http_node_port",
        "k8s_cluster_ingress_https_node_port",
    ):
        value = v.get(var)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
            err(var, f"must be a port number, got {value!r}")
        else:
            ports[var] = value
    dupes = {p for p in ports.values() if list(ports.values()).count(p) > 1}
    for var, port in ports.items():
        if port in dupes:
            err(var, f"port {port} is used by another k8s_cluster_*_port")
    match = re.match(r"^(\d+)-(\d+)$", str(v.get("k8s_cluster_node_port_range", "")))
    if not match or not 1 <= int(match.group(1)) < int(match.group(2)) <= 65535:
        err("k8s_cluster_node_port_range", f"must look like 30000-32767, got {v.get('k8s_cluster_node_port_range')!r}")
    else:
        low, high = int(match.group(1)), int(match.group(2))
        for var in ("k8s_cluster_ingress_http_node_port", "k8s_cluster_ingress_https_node_port"):
            if var in ports and not low <= ports[var] <= high:
                err(var, f"{ports[var]} is outside k8s_cluster_node_port_range {low}-{high}")
    bind = _ip(v.get("k8s_cluster_apiserver_bind_address"))
    if bind is None:
        err(
            "k8s_cluster_apiserver_bind_address",
            f"must be an IP address, got {v.get('k8s_cluster_apiserver_bind_address')!r}",
        )

    if not REGISTRY_RE.match(str(v.get("k8s_cluster_registry", ""))):
        err("k8s_cluster_registry", f"must be host[:port], got {v.get('k8s_cluster_registry')!r}")
    if not re.match(
        r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$", str(v.get("k8s_cluster_image_prefix"))
    ):
        err("k8s_cluster_image_prefix", f"must be a repository path, got {v.get('k8s_cluster_image_prefix')!r}")
    for host, mirrors in v["k8s_cluster_registry_mirrors"].items():
        if not REGISTRY_RE.match(str(host)):
            err("k8s_cluster_registry_mirrors", f"key {host!r} is not a registry host[:port]")
        if not isinstance(mirrors, list) or not all(
            isinstance(m, str) and re.match(r"^https?://[^\s/]+(/\S*)?$", m) for m in mirrors
        ):
            err("k8s_cluster_registry_mirrors", f"{host}: must be a list of http(s) URLs, got {mirrors!r}")

    for var in ("k8s_cluster_pod_security_default", "k8s_cluster_pod_security_warn"):
        if v.get(var) not in LEVELS:
            err(var, f"must be one of {', '.join(LEVELS)}, got {v.get(var)!r}")
    for key, value in v["k8s_cluster_kubelet_eviction_hard"].items():
        if not isinstance(value, str) or not QUANTITY_RE.match(value):
            err("k8s_cluster_kubelet_eviction_hard", f"{key}: {value!r} is not a quantity or percentage (quote it)")
    high, low = v.get("k8s_cluster_kubelet_image_gc_high_percent"), v.get("k8s_cluster_kubelet_image_gc_low_percent")
    if not all(isinstance(x, int) and 0 < x <= 100 for x in (high, low)) or low >= high:
        err(
            "k8s_cluster_kubelet_image_gc_low_percent",
            f"({low}) must be below k8s_cluster_kubelet_image_gc_high_percent ({high}), both 1-100",
        )
    for module, version in v["k8s_cluster_kube_router_dependency_pins"].items():
        if not MODULE_RE.match(str(module)) or not PIN_RE.match(str(version)):
            err("k8s_cluster_kube_router_dependency_pins", f"{module}: {version!r} is not a Go module and version")

    # Sources.
    source = v.get("k8s_cluster_source")
    if source not in SOURCES:
        err("k8s_cluster_source", f"must be one of {', '.join(SOURCES)}, got {source!r}")
    for comp, src in v["k8s_cluster_component_sources"].items():
        if comp not in catalog:
            err("k8s_cluster_component_sources", f"names {comp!r}, not a component ({', '.join(catalog)})")
        elif src not in SOURCES:
            err("k8s_cluster_component_sources", f"{comp}: must be one of {', '.join(SOURCES)}, got {src!r}")
    if errors:
        return errors
    sources = component_sources(catalog, source, v["k8s_cluster_component_sources"])
    binaries = binary_components(catalog)
    for binary in v["k8s_cluster_download_urls"]:
        if binary not in binaries:
            err("k8s_cluster_download_urls", f"names {binary!r}, not a binary ({', '.join(sorted(binaries))})")
    for binary in v["k8s_cluster_download_checksums"]:
        if binary not in binaries:
            err("k8s_cluster_download_checksums", f"names {binary!r}, not a binary")
    if "path" in sources.values() and not str(v.get("k8s_cluster_path_dir", "")).startswith("/"):
        err("k8s_cluster_path_dir", "must be an absolute directory when a component's source is path")
    urls = {**upstream_urls, **v["k8s_cluster_download_urls"]}
    for binary, comp in binaries.items():
        if sources[comp] == "url":
            if not urls.get(binary):
                err(
                    "k8s_cluster_download_urls",
                    f"has no URL for {binary} ({comp} publishes no binary upstream; host one or build it)",
                )
            elif not re.match(r"^(https?|file)://\S+$", urls[binary]):
                err("k8s_cluster_download_urls", f"{binary}: {urls[binary]!r} is not an http(s) or file URL")
    return errors


def binary_paths(catalog: dict, sources: dict, binaries_dir: str, path_dir: str) -> dict[str, str]:
    """Where each binary is: the versioned directory (build, url) or k8s_cluster_path_dir (path)."""
    out = {}
    for name, comp in catalog.items():
        for binary in comp["packages"]:
            if sources[name] == "path":
                out[binary] = f"{path_dir.rstrip('/')}/{binary}"
            else:
                out[binary] = f"{binaries_dir.rstrip('/')}/{name}/{comp['version']}/{binary}"
    return out


def build_components(catalog: dict, sources: dict) -> list[dict]:
    """The catalog entries built from source, as k8s_cluster_go_build components."""
    out = []
    for name, comp in catalog.items():
        if sources[name] == "build":
            out.append({"name": name, **{k: val for k, val in comp.items() if k != "name"}})
    return out


def downloads(catalog: dict, sources: dict, binaries_dir: str, urls: dict, checksums: dict) -> list[dict]:
    """One entry per binary of a url-sourced component: url, archive member, checksum, destination."""
    out = []
    for name, comp in catalog.items():
        if sources[name] != "url":
            continue
        for binary in comp["packages"]:
            url, _sep, member = urls[binary].partition("#")
            out.append(
                {
                    "component": name,
                    "binary": binary,
                    "url": url,
                    "member": member,
                    "checksum": checksums.get(binary, ""),
                    "dir": f"{binaries_dir.rstrip('/')}/{name}/{comp['version']}",
                    "dest": f"{binaries_dir.rstrip('/')}/{name}/{comp['version']}/{binary}",
                }
            )
    return out


def flags(options: dict) -> list[str]:
    """{"secure-port": 6443, "v": None, "profiling": False} -> ["--secure-port=6443", "--profiling=false"]."""
    out = []
    for key, value in options.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list):
            value = ",".join(str(x) for x in value)
        elif isinstance(value, dict):
            value = ",".join(f"{k}={val}" for k, val in value.items())
        out.append(f"--{key}={value}")
    return out


def service_specs(services: list[dict], phase: str, log_dir: str, cluster: str) -> list[dict]:
    """The components of one ``phase`` as k8s_cluster_service's ``services``, in start order."""
    return [
        {
            "name": f"k8s-cluster-{svc['component']}",
            "argv": [svc["binary"], *flags(svc.get("flags") or {})],
            "files": svc.get("files") or [],
            "log_file": f"{log_dir}/{svc['component']}.log",
            "kill_mode": svc.get("kill_mode") or "control-group",
            "description": f"k8s_cluster {svc['component']} ({cluster})",
        }
        for svc in services
        if svc["phase"] == phase
    ]


def nth_ip(cidr: str, n: int) -> str:
    """The n-th address of a network: nth_ip("10.96.0.0/16", 1) == "10.96.0.1"."""
    net = ipaddress.ip_network(cidr, strict=False)
    if n >= net.num_addresses:
        raise ValueError(f"{cidr} has no address number {n}")
    return str(net.network_address + n)


def build_report(statuses: list[dict], builds: list[dict], wall_seconds: float) -> list[str]:
    """One line per component: built now (time, size) or cached (with the time its cold build took)."""
    built = {b["name"]: b for b in builds if b.get("built")}
    lines = []
    for st in statuses:
        name = f"{st['name']} {st['version']}"
        if st["name"] in built:
            b = built[st["name"]]
            lines.append(
                f"{name}: built in {b['seconds']:.0f} s (modules {b.get('prepare_seconds', 0):.0f} s, "
                f"CPU {b.get('cpu_seconds', 0):.0f} s), {len(b['binaries'])} binaries, {b.get('bytes', 0) / 1e6:.0f} MB"
            )
        elif st.get("current"):
            took = f" (its build took {st['built_seconds']:.0f} s)" if st.get("built_seconds") else ""
            lines.append(f"{name}: cached{took}")
        else:
            lines.append(f"{name}: would be built ({st['reason']})")
    if built:
        lines.append(f"wall time of the builds: {wall_seconds:.0f} s")
    return lines
