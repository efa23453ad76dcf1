"""Wait for a cluster to be usable, and say which component is at fault when it is not.

A loop on a monotonic clock polls the API server with the admin client certificate: ``/readyz``,
the node's ``Ready`` condition, Deployments' available replicas and APIServices' ``Available``
condition, in that order. On timeout the failure names the first check still failing, its last
observation, and the evidence for it: the last log lines of the host components behind it
(etcd and kube-apiserver for ``/readyz``; containerd and kubelet for the node), or the pods,
their container states, events and log tails for an add-on.
"""

from __future__ import annotations

import datetime
import json
import re
import ssl
import time
import urllib.error
import urllib.parse
from collections.abc import Callable

from ansible.module_utils.urls import Request, open_url

# Host components whose logs explain a failing check, most telling first.
CHECK_COMPONENTS = {
    "readyz": ["kube-apiserver", "etcd"],
    "node": ["kubelet", "containerd", "kube-proxy"],
    "kubelet": ["kubelet", "containerd"],
}
# klog E/F lines, logrus/zap error levels, Go panics.
ERROR_LINE = re.compile(r'^[EF]\d{4} |level=(error|fatal)|"level":"(error|fatal)"|^panic:|^Error:|^fatal', re.I)


class Api:
    """GET against the API server with a client certificate; JSON bodies decoded."""

    def __init__(self, server: str, ca: str, cert: str, key: str, timeout: float = 5):
        if not server.startswith("https://"):
            raise ValueError(f"server must be an https:// URL, got {server!r}")
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self._http = Request(headers={"Accept": "application/json"}, timeout=timeout, context=self.ctx)

    def get(self, path: str) -> tuple[int, object]:
        try:
            with self._http.get(self.server + path) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(getattr(exc, "reason", exc))
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


def tail_file(path: str, lines: int) -> str:
    """The last error lines of a log (what says why), then its very last lines (where it is now)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 512 * 1024))
            data = fh.read().decode(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    all_lines = data.rstrip("\n").splitlines()
    last = all_lines[-5:]
    errors = [line for line in all_lines[:-5] if ERROR_LINE.search(line)][-(max(lines - len(last), 0)) :]
    if not errors:
        return "\n".join(all_lines[-lines:])
    return "\n".join([*errors, "...", *last])


def condition(obj: dict, kind: str) -> dict:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


# --- checks: each returns (ok, observation) -----------------------------------------------------------
def check_readyz(api: Api) -> tuple[bool, str]:
    status, body = api.get("/readyz?verbose")
    if status == 200:
        return True, "ok"
    if status == 0:
        return False, f"API server unreachable: {body}"
    failed = [line for line in str(body).splitlines() if line.startswith("[-]")]
    return False, f"/readyz answered {status}: " + ("; ".join(failed) or str(body)[:300])


def timestamp(value: str) -> float:
    """Epoch seconds of an RFC 3339 time as the API writes it (2026-11-26T14:46:06Z); 0 when absent."""
    if not value:
        return 0.0
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def check_kubelet(url: str) -> tuple[bool, str]:
    """The kubelet's own /healthz on loopback (plain HTTP): a crash-looping kubelet does not answer."""
    try:
        with open_url(url, timeout=3) as resp:
            body = resp.read().decode(errors="replace").strip()
            return (resp.status == 200 and body == "ok"), f"kubelet /healthz: {resp.status} {body[:200]}"
    except urllib.error.HTTPError as exc:
        return False, f"kubelet /healthz: {exc.code} {exc.read().decode(errors='replace')[:200]}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"kubelet /healthz unreachable: {getattr(exc, 'reason', exc)}"


def check_node(api: Api, node: str, since: float = 0) -> tuple[bool, str]:
    """Ready=True, and when ``since`` is given, posted by a kubelet started at or after ``since``.

    A kubelet posts its node status as it starts, so a heartbeat older than the restart means the
    new kubelet has not come up (the old Ready=True only expires after the node-monitor grace period).
    """
    status, body = api.get(f"/api/v1/nodes/{urllib.parse.quote(node)}")
    if status == 404:
        return False, f"node {node} has not registered"
    if status != 200 or not isinstance(body, dict):
        return False, f"reading node {node}: {status} {str(body)[:200]}"
    ready = condition(body, "Ready")
    heartbeat = timestamp(ready.get("lastHeartbeatTime", ""))
    if since and heartbeat < since - 1:
        return (
            False,
            f"node {node}: no status from the restarted kubelet yet (last heartbeat {ready.get('lastHeartbeatTime')})",
        )
    if ready.get("status") == "True":
        return True, "Ready"
    return (
        False,
        f"node {node} Ready={ready.get('status', 'Unknown')}: {ready.get('reason', '')} {ready.get('message', '')}",
    )


def check_deployment(api: Api, ref: str) -> tuple[bool, str]:
    ns, name = ref.split("/", 1)
    status, body = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    if status != 200 or not isinstance(body, dict):
        return False, f"deployment {ref}: {status} {str(body)[:200]}"
    want = (body.get("spec") or {}).get("replicas", 1)
    st = body.get("status") or {}
    current = st.get("observedGeneration", 0) >= body["metadata"].get("generation", 1)
    if current and st.get("updatedReplicas", 0) >= want and st.get("availableReplicas", 0) >= want:
        return True, f"{st.get('availableReplicas')}/{want} available"
    return (
        False,
        f"deployment {ref}: {st.get('availableReplicas', 0)}/{want} available, {st.get('updatedReplicas', 0)} updated",
    )


def check_apiservice(api: Api, name: str) -> tuple[bool, str]:
    status, body = api.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{name}")
    if status != 200 or not isinstance(body, dict):
        return False, f"apiservice {name}: {status} {str(body)[:200]}"
    avail = condition(body, "Available")
    if avail.get("status") == "True":
        return True, "Available"
    return False, f"apiservice {name} Available={avail.get('status', 'Unknown')}: {avail.get('message', '')}"


# --- evidence -----------------------------------------------------------------------------------------
def pod_report(api: Api, ns: str, selector: str, log_lines: int) -> str:
    """Pods behind a selector: phase, container states, recent events and log tails."""
    query = urllib.parse.urlencode({"labelSelector": selector})
    status, body = api.get(f"/api/v1/namespaces/{ns}/pods?{query}")
    if status != 200 or not isinstance(body, dict):
        return f"(cannot list pods in {ns}: {status})"
    if not body.get("items"):
        return f"no pods match {selector} in {ns}"
    out = []
    for pod in body["items"]:
        name = pod["metadata"]["name"]
        st = pod.get("status") or {}
        out.append(f"pod {ns}/{name}: phase {st.get('phase')}")
        for cs in st.get("containerStatuses") or []:
            state = cs.get("state") or {}
            (kind, detail), *_others = state.items() or [("unknown", {})]
            out.append(
                f"  container {cs['name']}: {kind} {detail.get('reason', '')} {detail.get('message', '')[:300]}"
                f" restarts={cs.get('restartCount', 0)} ready={cs.get('ready')}"
            )
        fs = urllib.parse.urlencode({"fieldSelector": f"involvedObject.name={name}"})
        _status, events = api.get(f"/api/v1/namespaces/{ns}/events?{fs}")
        for ev in (events.get("items") if isinstance(events, dict) else [])[-8:]:
            out.append(f"  event {ev.get('type')} {ev.get('reason')}: {ev.get('message', '')[:300]}")
        for cs in st.get("containerStatuses") or []:
            code, text = api.get(
                f"/api/v1/namespaces/{ns}/pods/{name}/log?container={cs['name']}&tailLines={log_lines}"
            )
            if code == 200 and text:
                out.append(f"  log of {cs['name']}:\n    " + str(text).rstrip().replace("\n", "\n    "))
    return "\n".join(out)


def deployment_selector(api: Api, ref: str) -> str:
    ns, name = ref.split("/", 1)
    status, body = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    if status != 200 or not isinstance(body, dict):
        return ""
    labels = ((body.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def wait(
    api: Api,
    timeout: float,
    interval: float = 2.0,
    readyz: bool = True,
    node: str = "",
    node_since: float = 0,
    kubelet_healthz: str = "",
    deployments: list[str] | None = None,
    apiservices: list[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Poll until every check passes or ``timeout`` passes; return elapsed time and the last failure."""
    checks: list[tuple[str, str, Callable[[], tuple[bool, str]]]] = []
    if readyz:
        checks.append(("readyz", "", lambda: check_readyz(api)))
    if kubelet_healthz:
        checks.append(("kubelet", "", lambda: check_kubelet(kubelet_healthz)))
    if node:
        checks.append(("node", node, lambda: check_node(api, node, node_since)))
    for ref in deployments or []:
        checks.append(("deployment", ref, lambda ref=ref: check_deployment(api, ref)))
    for name in apiservices or []:
        checks.append(("apiservice", name, lambda name=name: check_apiservice(api, name)))

    start = clock()
    passed: dict[str, float] = {}
    # check key -> (poll number, failure) of its last failure
    failed: dict[str, tuple[int, dict]] = {}
    streak = 0
    poll = 0
    while True:
        poll += 1
        failing = None
        for kind, target, run in checks:
            key = f"{kind}:{target}" if target else kind
            ok, seen = run()
            if ok:
                passed.setdefault(key, round(clock() - start, 1))
                continue
            failing = {"check": kind, "target": target, "observation": seen}
            failed[key] = (poll, failing)
            break
        elapsed = round(clock() - start, 1)
        streak = streak + 1 if failing is None else 0
        # A respawning process can answer once: with the kubelet checked, all must pass twice in a row.
        if failing is None and (streak >= 2 or not kubelet_healthz):
            return {"ready": True, "seconds": elapsed, "passed": passed}
        if elapsed >= timeout and failing is not None:
            return {
                "ready": False,
                "seconds": elapsed,
                "passed": passed,
                "failing": _blame(checks, failed, poll, failing),
            }
        sleep(interval)


def _blame(checks: list, failed: dict[str, tuple[int, dict]], poll: int, failing: dict) -> dict:
    """The first check that failed in the last two polls: a kubelet that respawns and answers once is still the
    cause, not the node check behind it that the one answer let through."""
    for kind, target, _run in checks:
        last = failed.get(f"{kind}:{target}" if target else kind)
        if last and last[0] >= poll - 1:
            return last[1]
    return failing


def evidence(api: Api, failing: dict, logs: dict[str, str], running: dict[str, bool], log_lines: int) -> str:
    """The text that goes under the failure message."""
    parts = []
    components = CHECK_COMPONENTS.get(failing["check"], [])
    down = [c for c, up in running.items() if not up]
    if down:
        parts.append("not running: " + ", ".join(down))
    for comp in sorted(components, key=lambda c: (running.get(c, True), components.index(c))):
        if comp in logs:
            parts.append(f"--- {comp} ({logs[comp]}), last errors and lines:\n{tail_file(logs[comp], log_lines)}")
    if failing["check"] == "deployment":
        ns = failing["target"].split("/", 1)[0]
        selector = deployment_selector(api, failing["target"])
        if selector:
            parts.append(pod_report(api, ns, selector, log_lines))
    if failing["check"] == "apiservice":
        _status, body = api.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{failing['target']}")
        svc = (body.get("spec") or {}).get("service") if isinstance(body, dict) else None
        if svc:
            parts.append(f"backed by service {svc.get('namespace')}/{svc.get('name')}")
    return "\n".join(parts)
