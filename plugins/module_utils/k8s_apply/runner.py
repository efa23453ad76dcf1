# Copyright: GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply of a rendered tree against the API server, in one process.

One :class:`Applier` does what kubectl apply --server-side, kubectl rollout status and
kubectl rollout undo do for the role, for every object in order:

* apply each object (``dryRun=All`` in check mode) and say whether it changed, with a diff that
  hides managed fields and server-set values;
* after each workload, wait for its rollout on a monotonic clock; fail fast when a pod will not
  become ready, with the pods' warning events and their containers' last log lines;
* on a failed rollout, undo it to the previous revision (as ``kubectl rollout undo`` does) and
  wait for that, so the app stays on the last good release;
* prune objects with our labels that are no longer rendered (never Namespaces or claims);
* summarise each workload: ready/desired, probe failures, image digests.
"""

from __future__ import annotations

import copy
import os
import time
from typing import Any

from ansible_collections.goaltrajectory.platform.plugins.module_utils.k8s_apply import normalize, rollout

# The Kubernetes client is imported on first use (about 1 s on our build hosts), so a render-only
# run without a kubeconfig (GitOps) learns that from reachable() without paying for it.
client = config = dynamic = None
ApiException = NotFoundError = None


def load_client() -> ImportError | None:
    """Import the Kubernetes client once; the ImportError when it is not installed."""
    global client, config, dynamic, ApiException, NotFoundError
    if client is None:
        try:
            from kubernetes import client, config, dynamic
            from kubernetes.dynamic.exceptions import ApiException, NotFoundError
        except ImportError as exc:  # pragma: no cover - only without the runtime requirements
            return exc
    return None


# The options both tree modules take (documented once in doc_fragments/k8s_tree.py).
TREE_ARGS = {
    "kubeconfig": {"type": "path", "required": True},
    "context": {"type": "str"},
    "objects": {"type": "list", "elements": "dict", "required": True},
    "secrets": {"type": "dict", "default": {}, "no_log": True},
    "field_manager": {"type": "str", "default": "goaltrajectory-platform"},
}

WORKLOADS = ("Deployment", "StatefulSet")
NEVER_PRUNED = ("Namespace", "PersistentVolumeClaim")
REVISION = "deployment.kubernetes.io/revision"


def reachable(kubeconfig: str, context: str | None, timeout: float = 5.0) -> str:
    """'' when the API server answers within ``timeout`` seconds; otherwise why not.

    Asked before anything is applied, in the module's own process: one call instead of a stat
    task and a cluster-info task (about 1 s of a no-op apply)."""
    if not os.path.isfile(kubeconfig):
        return f"no kubeconfig at {kubeconfig}"
    error = load_client()
    if error is not None:
        raise error
    try:
        api = config.new_client_from_config(config_file=kubeconfig, context=context or None)
        client.VersionApi(api).get_code(_request_timeout=timeout)
    except Exception as exc:
        return f"cannot reach the API server of {kubeconfig} (context {context or 'current'}): {exc}"
    return ""


class ApplyError(Exception):
    """The apply failed; ``result`` holds everything done until then."""

    def __init__(self, msg: str, result: dict):
        super().__init__(msg)
        self.result = result


def _selector(match_labels: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))


def _observed(live: dict) -> bool:
    """Whether the workload's controller has acted on its latest spec."""
    generation = (live.get("metadata") or {}).get("generation")
    return bool(generation) and (live.get("status") or {}).get("observedGeneration", 0) >= generation


class Applier:
    def __init__(
        self,
        kubeconfig: str,
        context: str | None,
        field_manager: str,
        force_conflicts: bool = True,
        check: bool = False,
        diff: bool = False,
        log=None,
    ) -> None:
        error = load_client()
        if error is not None:
            raise error
        api = config.new_client_from_config(config_file=kubeconfig, context=context or None)
        self.api = api
        self.dyn = dynamic.DynamicClient(api)
        self.field_manager = field_manager
        self.force = force_conflicts
        self.check = check
        self.namespaces_seen: dict[str, bool] = {}
        self.want_diff = diff
        self.log = log or (lambda _msg: None)
        self.results: list[dict] = []
        self.rollouts: list[dict] = []
        self.namespaces_created: set[str] = set()
        self._core = None

    # --- plumbing --------------------------------------------------------------------------
    def _res(self, api_version: str, kind: str):
        return self.dyn.resources.get(api_version=api_version, kind=kind)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> dict | None:
        res = self._res(api_version, kind)
        try:
            return res.get(name=name, namespace=namespace if res.namespaced else None).to_dict()
        except NotFoundError:
            return None

    @property
    def core(self):
        """CoreV1Api, for pod logs only: importing it builds some 250 model classes (about a second),
        so it is made when a failed rollout needs the logs; everything else goes through ``dyn``."""
        if self._core is None:
            self._core = client.CoreV1Api(self.api)
        return self._core

    def events(self, namespace: str, field_selector: str) -> list[dict]:
        return self._res("v1", "Event").get(namespace=namespace, field_selector=field_selector).to_dict()["items"]

    def namespace_exists(self, namespace: str) -> bool:
        if namespace not in self.namespaces_seen:
            self.namespaces_seen[namespace] = self.get("v1", "Namespace", namespace, None) is not None
        return self.namespaces_seen[namespace]

    def result(self) -> dict:
        return {
            "objects": self.results,
            "rollouts": self.rollouts,
            "changed": any(r["changed"] for r in self.results) or any(r.get("rolled_back") for r in self.rollouts),
        }

    # --- apply -------------------------------------------------------------------------------
    def apply(self, obj: dict) -> dict:
        kind, meta = obj["kind"], obj["metadata"]
        name, namespace = meta["name"], meta.get("namespace")
        res = self._res(obj["apiVersion"], kind)
        live = self.get(obj["apiVersion"], kind, name, namespace)
        entry: dict[str, Any] = {"kind": kind, "name": name, "namespace": namespace}
        if self.check and namespace and (namespace in self.namespaces_created or not self.namespace_exists(namespace)):
            # Its namespace does not exist yet (created by this apply, or by the play before this one):
            # the server cannot dry-run it, and it would be created.
            entry.update(action="create", changed=True)
            self.results.append(entry)
            return entry
        try:
            applied = res.server_side_apply(
                body=obj,
                name=name,
                namespace=namespace if res.namespaced else None,
                field_manager=self.field_manager,
                force_conflicts=self.force,
                dry_run="All" if self.check else None,
            ).to_dict()
        except ApiException as exc:
            raise ApplyError(
                f"{kind}/{name}: the API server refused it: {exc.status} {exc.reason}: {exc.body}", self.result()
            ) from exc
        before, after = normalize.comparable(live), normalize.comparable(applied)
        if live is None:
            action, changed = "create", True
            if kind == "Namespace" and self.check:
                self.namespaces_created.add(name)
        elif self.check:
            changed = before != after
            action = "update" if changed else "unchanged"
        else:
            changed = applied["metadata"].get("resourceVersion") != live["metadata"].get("resourceVersion")
            action = "update" if changed else "unchanged"
        entry.update(action=action, changed=changed)
        # An update that leaves every value as it was moved field ownership only (a forced takeover).
        entry["values_changed"] = before != after
        if changed and self.want_diff:
            entry["diff"] = normalize.diff(before, after, f"{kind}/{name}")
        entry["_live"], entry["_applied"] = live, applied
        self.results.append(entry)
        return entry

    # --- rollouts ----------------------------------------------------------------------------
    def pods(self, namespace: str, match_labels: dict) -> list[dict]:
        return (
            self._res("v1", "Pod").get(namespace=namespace, label_selector=_selector(match_labels)).to_dict()["items"]
        )

    def current_pods(self, live: dict, pods: list[dict]) -> list[dict]:
        """The pods of the workload's newest revision that are not being deleted.

        While a rollout (or its undo) goes on, pods of the revision it leaves may still crash; they
        are not the rollout's trouble and the controller removes them.
        """
        pods = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        if live.get("kind") == "StatefulSet":
            key, value = "controller-revision-hash", (live.get("status") or {}).get("updateRevision")
        else:
            key, value = "pod-template-hash", self.newest_template_hash(live)
        if not value:
            return pods
        return [p for p in pods if (p["metadata"].get("labels") or {}).get(key) == value]

    def newest_template_hash(self, live: dict) -> str:
        """pod-template-hash of the Deployment's ReplicaSet at its current revision ('' when not known)."""
        meta = live.get("metadata") or {}
        revision = (meta.get("annotations") or {}).get(REVISION)
        if not revision or not live.get("spec"):
            return ""
        for rs in self.owned_replicasets(live):
            if (rs["metadata"].get("annotations") or {}).get(REVISION) == revision:
                return (rs["metadata"].get("labels") or {}).get("pod-template-hash", "")
        return ""

    def owned_replicasets(self, obj: dict) -> list[dict]:
        name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
        selector = _selector(obj["spec"]["selector"]["matchLabels"])
        return [
            rs
            for rs in self._res("apps/v1", "ReplicaSet")
            .get(namespace=namespace, label_selector=selector)
            .to_dict()["items"]
            if any(o.get("name") == name for o in rs["metadata"].get("ownerReferences") or [])
        ]

    def wait(self, obj: dict, timeout: float, poll: float = 2.0) -> dict:
        """Wait for a workload's rollout; the final state, or the failure with its reason."""
        kind, name, namespace = obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"]
        labels = obj["spec"]["selector"]["matchLabels"]
        start = time.monotonic()
        deadline = start + timeout
        progress, trouble = "", ""
        before = None  # restart counts when the wait began (rollout.pod_trouble)
        while True:
            live = self.get(obj["apiVersion"], kind, name, namespace) or {}
            done, failed, progress = rollout.state(live)
            if done:
                return {
                    "kind": kind,
                    "name": name,
                    "ok": True,
                    "seconds": round(time.monotonic() - start, 1),
                    "progress": progress,
                }
            pods = self.current_pods(live, self.pods(namespace, labels))
            if before is None:
                before = rollout.restart_counts(pods)
            # Until the controller has seen this generation, "newest revision" still names the old one.
            observed = _observed(live)
            trouble = failed or (
                observed and next((t for t in (rollout.pod_trouble(p, before=before) for p in pods) if t), "")
            )
            if trouble or time.monotonic() >= deadline:
                reason = trouble or f"not done after {timeout:.0f}s ({progress})"
                return {
                    "kind": kind,
                    "name": name,
                    "ok": False,
                    "seconds": round(time.monotonic() - start, 1),
                    "progress": progress,
                    "reason": reason,
                    "diagnostics": self.diagnostics(namespace, pods),
                }
            time.sleep(poll)

    def diagnostics(self, namespace: str, pods: list[dict], log_lines: int = 30) -> str:
        """The not-ready pods' warning events and their containers' last log lines."""
        lines = []
        for pod in pods:
            if rollout.pod_ready(pod):
                continue
            name = pod["metadata"]["name"]
            events = self.events(namespace, f"involvedObject.name={name}")
            warnings = [e for e in events if e.get("type") == "Warning"][-8:]
            lines.append(f"--- pod {name}: phase {pod.get('status', {}).get('phase')}")
            lines.extend(
                f"event {e.get('reason')} (x{e.get('count') or 1}): {(e.get('message') or '').strip()}"
                for e in warnings
            )
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                lines.append(f"--- {name}/{cs['name']}: last {log_lines} log lines:")
                lines.append(self.last_logs(namespace, name, cs["name"], log_lines))
        return "\n".join(lines)

    def last_logs(self, namespace: str, pod: str, container: str, log_lines: int) -> str:
        """The container's last log lines: of this run, or of the run before when this one said nothing.

        For a crashed or crash-looping container the kubelet serves its last run as the current
        logs; the run before that may already be collected (it keeps one dead container).
        """
        reasons = []
        for previous in (False, True):
            try:
                text = self.core.read_namespaced_pod_log(
                    pod, namespace, container=container, tail_lines=log_lines, previous=previous
                )
            except ApiException as exc:
                reasons.append(str(exc.reason))
                continue
            if (text or "").strip():
                return text.rstrip() + ("\n(previous run)" if previous else "")
        return f"(no logs{': ' + '; '.join(reasons) if reasons else ''})"

    def undo(self, obj: dict, timeout: float) -> dict:
        """Roll a workload back to its previous revision, as `kubectl rollout undo` does, and wait."""
        kind, name, namespace = obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"]
        template = self.previous_template(obj)
        if template is None:
            return {"rolled_back": False, "reason": "no earlier revision to roll back to"}
        res = self._res(obj["apiVersion"], kind)
        res.patch(
            body={"spec": {"template": template}},
            name=name,
            namespace=namespace,
            content_type="application/strategic-merge-patch+json",
            field_manager=self.field_manager,
        )
        waited = self.wait(obj, timeout)
        return {
            "rolled_back": True,
            "ok": waited["ok"],
            "reason": waited.get("reason", ""),
            "seconds": waited["seconds"],
        }

    def previous_template(self, obj: dict) -> dict | None:
        kind, name, namespace = obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"]
        selector = _selector(obj["spec"]["selector"]["matchLabels"])
        if kind == "Deployment":
            owned = self.owned_replicasets(obj)
            owned.sort(key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, 0)))
            if len(owned) < 2:
                return None
            template = owned[-2]["spec"]["template"]
            template["metadata"]["labels"].pop("pod-template-hash", None)
            return template
        revisions = [
            cr
            for cr in self._res("apps/v1", "ControllerRevision")
            .get(namespace=namespace, label_selector=selector)
            .to_dict()["items"]
            if any(o.get("name") == name for o in cr["metadata"].get("ownerReferences") or [])
        ]
        revisions.sort(key=lambda cr: cr.get("revision", 0))
        if len(revisions) < 2:
            return None
        return (revisions[-2].get("data") or {}).get("spec", {}).get("template")

    # --- the whole tree ------------------------------------------------------------------------
    def run(self, objects: list[dict], wait: bool, timeout: float, undo: bool) -> dict:
        for item in objects:
            obj = item["object"]
            entry = self.apply(obj)
            self.log(f"{entry['kind']}/{entry['name']}: {entry['action']}")
            if not (wait and item.get("wait") and obj["kind"] in WORKLOADS) or self.check:
                continue
            waited = self.wait(obj, timeout)
            self.rollouts.append(waited)
            if waited["ok"]:
                continue
            msg = f"{obj['kind']} {obj['metadata']['name']!r} did not roll out: {waited['reason']}"
            if undo and entry["changed"] and entry["_live"] is not None:
                back = self.undo(obj, timeout)
                waited.update(rolled_back=back["rolled_back"], rollback=back)
                if back["rolled_back"] and back["ok"]:
                    msg += f"\nRolled back to the previous revision, which is ready again ({back['seconds']}s)."
                elif back["rolled_back"]:
                    msg += f"\nRolled back to the previous revision, which is NOT ready either: {back['reason']}"
                else:
                    msg += f"\nNot rolled back: {back['reason']}."
            elif undo:
                msg += "\nNot rolled back: it was created by this run, there is no earlier revision."
            raise ApplyError(f"{msg}\n{waited['diagnostics']}", self.result())
        return self.result()

    def prune(self, namespace: str, labels: dict, kinds: list[dict], keep: set[str]) -> list[str]:
        """Delete our objects of these kinds that are not in ``keep`` (``Kind/name``)."""
        deleted = []
        for item in kinds:
            if item["kind"] in NEVER_PRUNED:
                continue
            res = self._res(item["api_version"], item["kind"])
            found = res.get(namespace=namespace, label_selector=_selector(labels)).to_dict()["items"]
            for obj in found:
                key = f"{item['kind']}/{obj['metadata']['name']}"
                if key in keep:
                    continue
                if not self.check:
                    res.delete(name=obj["metadata"]["name"], namespace=namespace)
                deleted.append(key)
        return deleted

    def summary(self, objects: list[dict], routes: dict) -> list[dict]:
        """Per workload: ready/desired, probe failures seen in events, image digests, URL."""
        rows = []
        for item in objects:
            obj = item["object"]
            if obj["kind"] not in WORKLOADS:
                continue
            name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
            live = self.get(obj["apiVersion"], obj["kind"], name, namespace) or {}
            pods = self.pods(namespace, obj["spec"]["selector"]["matchLabels"]) if live else []
            unhealthy = 0
            for pod in pods:
                events = self.events(namespace, f"involvedObject.name={pod['metadata']['name']},reason=Unhealthy")
                # Startup probes fail while a service boots; liveness/readiness failures are the news.
                unhealthy += sum(
                    e.get("count") or 1 for e in events if not (e.get("message") or "").startswith("Startup probe")
                )
            digests = sorted(
                {
                    cs.get("imageID", "").split("@")[-1]
                    for p in pods
                    for cs in (p.get("status") or {}).get("containerStatuses") or []
                }
                - {""}
            )
            rows.append(
                {
                    "name": name,
                    "kind": obj["kind"],
                    "ready": int((live.get("status") or {}).get("readyReplicas") or 0),
                    "desired": int((live.get("spec") or {}).get("replicas") or 0),
                    "pods_ready": sum(rollout.pod_ready(p) for p in pods),
                    "probe_failures": unhealthy,
                    "digests": digests,
                    "url": routes.get(name, ""),
                }
            )
        return rows


def public(result: dict) -> dict:
    """The result without the live and applied objects kept for rollbacks."""
    objects = [{k: v for k, v in o.items() if not k.startswith("_")} for o in result.get("objects", [])]
    return {**result, "objects": objects}


def with_secrets(objects: list[dict], secrets: dict) -> list[dict]:
    """The objects, the Secrets named in ``secrets`` with that ``data``."""
    out = []
    for item in objects:
        obj = item["object"]
        if obj.get("kind") == "Secret" and obj["metadata"]["name"] in secrets:
            item = {**item, "object": {**copy.deepcopy(obj), "data": secrets[obj["metadata"]["name"]]}}
        out.append(item)
    return out
