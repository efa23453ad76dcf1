"""probe_lint next to its peers, kube-score and kubeconform, on one corpus; prints JSON.

1. Builds the peers from their Go modules (``go install module@version``) into a versioned
   directory under .cache/peers/ (PEERS_CACHE), unless a binary of that version is already there.
   kube-linter cannot be had on our hosts (its module path is refused by the Go module proxy): its
   documented checks are mapped to ours in bench/README.md instead.
2. Points kubeconform at the JSON schemas kubernetes-validate ships (kubeconform cannot download
   them here): a copy of one version's strict schemas whose ``$ref``s are rewritten from
   ``/api/_definitions.json`` to the file next to them, cached per kubernetes-validate version.
3. Assembles the corpus: our rendered trees (``ansible-playbook deploy.yml -e k8s_apply=false`` for
   prod and staging, with made-up digest references), plus one generated variant per planted defect
   or near miss, each a copy of the rendered backend (Deployment, Service, HPA, PDB, NetworkPolicies)
   in a namespace of its own with one change.
4. Runs the three tools over the whole corpus (median wall time of BENCH_RUNS runs) and prints, per
   check family (probes, security context, resources, selectors, HPA, schema, deprecated APIs), what
   each tool flagged in each variant beyond what it flags in the unchanged control variant, whether
   that is right, and what each tool flags in the rendered trees.

Run from the repository root after `make setup`: python bench/probes_peers.py
"""

from __future__ import annotations

import copy
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("PEERS_CACHE") or os.path.join(ROOT, ".cache", "peers")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
KUBERNETES_VERSION = "1.31.0"  # what the k8s role validates the rendered trees against
TOOLS = {
    "kube-score": ("github.com/zegl/kube-score/cmd/kube-score", "v1.20.0"),
    "kubeconform": ("github.com/yannh/kubeconform/cmd/kubeconform", "v0.8.0"),
}
DIGEST = "sha256:" + "e" * 64
SCHEMA_LAYOUT = "noid1"
FAMILIES = ("probes", "security context", "resources", "selectors", "HPA", "schema", "deprecated APIs")

# Which family each check belongs to. Checks of no family (image tags, anti-affinity, PDBs, ...)
# are reported under "other" and left out of the comparison.
KUBE_SCORE_FAMILY = {
    "pod-probes": "probes",
    "pod-probes-identical": "probes",
    "container-security-context-user-group-id": "security context",
    "container-security-context-privileged": "security context",
    "container-security-context-readonlyrootfilesystem": "security context",
    "container-seccomp-profile": "security context",
    "container-resources": "resources",
    "container-ephemeral-storage-request-and-limit": "resources",
    "service-targets-pod": "selectors",
    "deployment-pod-selector-labels-match-template-metadata-labels": "selectors",
    "statefulset-pod-selector-labels-match-template-metadata-labels": "selectors",
    "pod-networkpolicy": "selectors",
    "networkpolicy-targets-pod": "selectors",
    "ingress-targets-service": "selectors",
    "horizontalpodautoscaler-has-target": "HPA",
    "horizontalpodautoscaler-replicas": "HPA",
    "deployment-targeted-by-hpa-does-not-have-replicas-configured": "HPA",
    "stable-version": "deprecated APIs",
}
PROBE_LINT_FAMILY = {
    **dict.fromkeys(
        (
            "liveness-missing",
            "readiness-missing",
            "probe-port-name-unknown",
            "probe-port-undeclared",
            "probe-port-udp",
            "liveness-readiness-identical",
            "liveness-success-threshold",
            "startup-success-threshold",
            "probe-handler-count",
            "readiness-termination-grace",
            "init-container-probe",
            "probe-timing-invalid",
            "probe-http-scheme",
            "probe-timeout-ge-period",
            "liveness-before-readiness",
            "liveness-initial-delay-without-startup",
            "startup-budget-too-short",
        ),
        "probes",
    ),
    **dict.fromkeys(
        (
            "run-as-root",
            "run-as-root-group",
            "run-as-non-root-unset",
            "privileged",
            "privilege-escalation-allowed",
            "capabilities-not-dropped",
            "capabilities-dangerous",
            "seccomp-profile",
            "read-only-root-fs",
            "host-namespace",
        ),
        "security context",
    ),
    "resources-requests-missing": "resources",
    "resources-limits-missing": "resources",
    **dict.fromkeys(
        (
            "service-selects-nothing",
            "selector-template-mismatch",
            "network-policy-missing",
            "service-target-port-unknown",
            "service-target-port-undeclared",
            "service-port-not-probed",
            "port-invalid",
        ),
        "selectors",
    ),
    "hpa-min-replicas": "HPA",
    "hpa-target-replicas-set": "HPA",
    "hpa-target-missing": "HPA",
    "hpa-target-requests-missing": "HPA",
    "schema-invalid": "schema",
    "schema-unavailable": "schema",
    "api-version-removed": "deprecated APIs",
    "api-version-deprecated": "deprecated APIs",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the peers ---------------------------------------------------------------------------------


def go_command() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None)
    if not found:
        raise SystemExit("probes_peers: no go command (PATH or /usr/local/go/bin); the peers are built from source")
    return found


def ensure_tool(name: str) -> tuple[str, float]:
    """The path of the peer's binary, building it into CACHE/<name>-<version>/ if needed; (path, build seconds)."""
    module, version = TOOLS[name]
    directory = os.path.join(CACHE, f"{name}-{version}")
    binary = os.path.join(directory, name)
    if os.access(binary, os.X_OK):
        return binary, 0.0
    os.makedirs(directory, exist_ok=True)
    log(f"building {name} {version} from {module} (go install)")
    env = {**os.environ, "GOBIN": directory, "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local")}
    started = time.perf_counter()
    proc = subprocess.run(
        [go_command(), "install", f"{module}@{version}"], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or not os.access(binary, os.X_OK):
        raise SystemExit(f"probes_peers: go install {module}@{version} failed:\n{proc.stderr[-3000:]}")
    return binary, time.perf_counter() - started


def kubeconform_schemas(version: str) -> str:
    """A kubeconform -schema-location template over kubernetes-validate's strict schemas for ``version``."""
    from importlib.metadata import version as dist_version

    import kubernetes_validate

    source = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
    # SCHEMA_LAYOUT names the conversion below: a new one gets a new directory.
    target = os.path.join(CACHE, f"kubeconform-schemas-kv{dist_version('kubernetes-validate')}-{SCHEMA_LAYOUT}")
    strict = os.path.join(target, f"v{version}-local-strict")
    if not os.path.isfile(os.path.join(strict, "_definitions.json")):
        log(f"converting kubernetes-validate's v{version} strict schemas for kubeconform")
        partial = strict + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        for path in glob.glob(os.path.join(source, f"v{version}-local-strict", "*.json")):
            with open(path, encoding="utf-8") as handle:
                schema = json.load(handle)
            # The schemas declare https://kubernetes.io/api/... as their $id, so kubeconform would
            # resolve "/api/_definitions.json" against it and try to download it.  Without the $id
            # references resolve against the file, and the definitions are the file next to it.
            if isinstance(schema, dict):
                schema.pop("$id", None)
            text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
            with open(os.path.join(partial, os.path.basename(path)), "w", encoding="utf-8") as handle:
                handle.write(text)
        shutil.rmtree(strict, ignore_errors=True)
        os.rename(partial, strict)
    layout = "{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
    return os.path.join(target, layout)


# --- the corpus --------------------------------------------------------------------------------


def render_trees(directory: str) -> list[str]:
    """Our rendered trees for prod and staging, as the k8s role writes them; the tree directories."""
    images = {name: f"registry.example.com/goaltrajectory/{name}@{DIGEST}" for name in TOOLS_IMAGES}
    trees = []
    for env in ("prod", "staging"):
        extra = json.dumps({"k8s_images": images, "k8s_output_dir": directory})
        command = [
            os.path.join(ROOT, ".venv", "bin", "ansible-playbook"),
            "deploy.yml",
            "-i",
            f"inventories/{env}",
            "-e",
            "k8s_apply=false",
            "--vault-id",
            "test@molecule/k8s/vault-pass.txt",
            "-e",
            extra,
        ]
        environ = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"}
        environ["PATH"] = os.path.join(ROOT, ".venv", "bin") + os.pathsep + environ.get("PATH", "")
        log(f"rendering the {env} tree (ansible-playbook deploy.yml -e k8s_apply=false)")
        proc = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"probes_peers: rendering {env} failed:\n{proc.stdout[-3000:]}")
        trees.append(os.path.join(directory, env, "k8s"))
    return trees


TOOLS_IMAGES = ("backend", "frontend", "chromadb", "postgres")


def _docs(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [d for d in yaml.safe_load_all(handle) if d]


def backend_set(tree: str) -> dict:
    """The rendered backend objects, the base every variant changes."""
    return {
        "deploy": _docs(os.path.join(tree, "backend", "deployment.yaml"))[0],
        "svc": _docs(os.path.join(tree, "backend", "service.yaml"))[0],
        "hpa": _docs(os.path.join(tree, "backend", "hpa.yaml"))[0],
        "pdb": _docs(os.path.join(tree, "backend", "pdb.yaml"))[0],
        "deny": _docs(os.path.join(tree, "base", "network-policy-default-deny.yaml"))[0],
        "policy": _docs(os.path.join(tree, "base", "network-policy-backend.yaml"))[0],
        "ingress": _docs(os.path.join(tree, "ingress", "ingress.yaml"))[0],
    }


def _c(o):
    return o["deploy"]["spec"]["template"]["spec"]["containers"][0]


def _pod(o):
    return o["deploy"]["spec"]["template"]["spec"]


def _csc(o):
    return _c(o)["securityContext"]


def _sidecar(o):
    _pod(o)["containers"].append(
        {
            "name": "log-shipper",
            "image": f"registry.example.com/fluent-bit@{DIGEST}",
            "livenessProbe": {"exec": {"command": ["/fluent-bit/bin/fluent-bit", "--version"]}, "periodSeconds": 30},
            "resources": copy.deepcopy(_c(o)["resources"]),
            "securityContext": copy.deepcopy(_csc(o)),
        }
    )


def _rename_port(o, name):
    _c(o)["ports"][0]["name"] = name
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        if "httpGet" in _c(o).get(kind, {}):
            _c(o)[kind]["httpGet"]["port"] = name
    o["svc"]["spec"]["ports"][0]["targetPort"] = name


def _metrics_port(o):
    _c(o)["ports"].append({"name": "metrics", "containerPort": 9100, "protocol": "TCP"})
    o["svc"]["spec"]["ports"].append({"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"})


def _spelled_defaults(o):
    ready = copy.deepcopy(_c(o)["readinessProbe"])
    live = copy.deepcopy(ready)
    for key, default in (("initialDelaySeconds", 0), ("successThreshold", 1), ("failureThreshold", 3)):
        live.setdefault(key, default)
    live["httpGet"]["scheme"] = "HTTP"
    _c(o)["livenessProbe"] = live


def _cronjob(o):
    template = copy.deepcopy(o["deploy"]["spec"]["template"])
    template["spec"]["restartPolicy"] = "OnFailure"
    for key in ("startupProbe", "readinessProbe", "livenessProbe"):
        template["spec"]["containers"][0].pop(key, None)
    o["cron"] = {
        "apiVersion": "batch/v1beta1",
        "kind": "CronJob",
        "metadata": {"name": "backend-report", "namespace": o["deploy"]["metadata"]["namespace"]},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}},
    }


def _ingress_v1beta1(o):
    ing = o["ingress"]
    ing["apiVersion"] = "networking.k8s.io/v1beta1"
    for rule in ing["spec"].get("rules", []):
        for path in rule.get("http", {}).get("paths", []):
            backend = path.get("backend", {}).get("service", {})
            path["backend"] = {"serviceName": backend.get("name"), "servicePort": backend.get("port", {}).get("number")}
            path.pop("pathType", None)
    ing["spec"].pop("ingressClassName", None)


# (id, families, real defect?, what changes, mutation). Near misses (False) are the real-world cases
# issue 14 found false alarms on: a tool that flags them is wrong.
VARIANTS = [
    ("control", (), False, "the rendered backend, unchanged", lambda o: None),
    (
        "readiness-missing",
        ("probes",),
        True,
        "no readinessProbe; a Service targets the pod",
        lambda o: _c(o).pop("readinessProbe"),
    ),
    ("liveness-missing", ("probes",), True, "no livenessProbe", lambda o: _c(o).pop("livenessProbe")),
    (
        "probes-identical-effective",
        ("probes",),
        True,
        "liveness = readiness once defaults are filled in",
        _spelled_defaults,
    ),
    (
        "probe-port-undeclared",
        ("probes",),
        True,
        "readinessProbe on port 9000, not a containerPort",
        lambda o: _c(o)["readinessProbe"]["httpGet"].update(port=9000),
    ),
    (
        "probe-port-udp",
        ("probes",),
        True,
        "the probed port is declared UDP only",
        lambda o: _c(o)["ports"][0].update(protocol="UDP"),
    ),
    (
        "worker-without-service",
        ("probes",),
        False,
        "no Service and no readinessProbe (a queue worker)",
        lambda o: (o.pop("svc"), _c(o).pop("readinessProbe")),
    ),
    (
        "sidecar-unprobed",
        ("probes",),
        False,
        "a log-shipping sidecar without readinessProbe next to the probed container",
        _sidecar,
    ),
    ("privileged", ("security context",), True, "privileged: true", lambda o: _csc(o).update(privileged=True)),
    (
        "run-as-root",
        ("security context",),
        True,
        "runAsUser 0, runAsNonRoot dropped",
        lambda o: (
            _pod(o)["securityContext"].update(runAsUser=0),
            _pod(o)["securityContext"].pop("runAsNonRoot"),
            _csc(o).pop("runAsUser", None),
            _csc(o).pop("runAsNonRoot", None),
        ),
    ),
    (
        "run-as-root-group",
        ("security context",),
        True,
        "runAsGroup 0",
        lambda o: (_pod(o)["securityContext"].update(runAsGroup=0), _csc(o).pop("runAsGroup", None)),
    ),
    (
        "privilege-escalation",
        ("security context",),
        True,
        "allowPrivilegeEscalation: true",
        lambda o: _csc(o).update(allowPrivilegeEscalation=True),
    ),
    (
        "writable-root-fs",
        ("security context",),
        True,
        "readOnlyRootFilesystem: false",
        lambda o: _csc(o).update(readOnlyRootFilesystem=False),
    ),
    (
        "uid-below-10000",
        ("security context",),
        False,
        "runAsUser/runAsGroup 1000: non-root, below 10000",
        lambda o: (
            _pod(o)["securityContext"].update(runAsUser=1000, runAsGroup=1000),
            _csc(o).pop("runAsUser", None),
            _csc(o).pop("runAsGroup", None),
        ),
    ),
    ("no-resources", ("resources",), True, "no requests and no limits", lambda o: _c(o).pop("resources")),
    ("no-limits", ("resources",), True, "requests only", lambda o: _c(o)["resources"].pop("limits")),
    (
        "limits-only",
        ("resources", "HPA"),
        False,
        "limits only (the API server copies them into requests); the HPA scales on CPU",
        lambda o: _c(o)["resources"].pop("requests"),
    ),
    (
        "service-selects-nothing",
        ("selectors",),
        True,
        "the Service selector has a typo",
        lambda o: o["svc"]["spec"]["selector"].update({"app.kubernetes.io/name": "backnd"}),
    ),
    (
        "selector-template-mismatch",
        ("selectors",),
        True,
        "the Deployment selector does not match its template",
        lambda o: o["deploy"]["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "api"}),
    ),
    (
        "target-port-unknown",
        ("selectors",),
        True,
        "Service targetPort names no container port",
        lambda o: o["svc"]["spec"]["ports"][0].update(targetPort="htp"),
    ),
    (
        "target-port-out-of-range",
        ("selectors",),
        True,
        "Service targetPort 80800",
        lambda o: o["svc"]["spec"]["ports"][0].update(targetPort=80800),
    ),
    (
        "port-name-too-long",
        ("selectors",),
        True,
        "a 20-character port name (at most 15)",
        lambda o: _rename_port(o, "backend-http-traffic"),
    ),
    (
        "extra-metrics-port",
        ("selectors",),
        False,
        "the Service also exposes a metrics port; readiness checks the traffic port",
        _metrics_port,
    ),
    (
        "no-network-policy",
        ("selectors",),
        True,
        "no NetworkPolicy selects the pods",
        lambda o: (o.pop("deny"), o.pop("policy")),
    ),
    (
        "hpa-target-missing",
        ("HPA",),
        True,
        "scaleTargetRef names no Deployment",
        lambda o: o["hpa"]["spec"]["scaleTargetRef"].update(name="backnd"),
    ),
    ("hpa-min-replicas-1", ("HPA",), True, "minReplicas 1", lambda o: o["hpa"]["spec"].update(minReplicas=1)),
    (
        "hpa-no-cpu-request",
        ("HPA", "resources"),
        True,
        "no CPU request nor limit; the HPA scales on CPU",
        lambda o: (_c(o)["resources"]["requests"].pop("cpu"), _c(o)["resources"]["limits"].pop("cpu")),
    ),
    (
        "unknown-field",
        ("schema",),
        True,
        "a misspelt container field (imagePullPolice)",
        lambda o: _c(o).update(imagePullPolice="Always"),
    ),
    ("wrong-type", ("schema",), True, 'replicas: "three"', lambda o: o["deploy"]["spec"].update(replicas="three")),
    (
        "bad-quantity",
        ("schema",),
        True,
        "memory limit 2GB (not a quantity)",
        lambda o: _c(o)["resources"]["limits"].update(memory="2GB"),
    ),
    (
        "extensions-v1beta1",
        ("deprecated APIs",),
        True,
        "Deployment in extensions/v1beta1",
        lambda o: o["deploy"].update(apiVersion="extensions/v1beta1"),
    ),
    ("batch-v1beta1", ("deprecated APIs",), True, "a CronJob in batch/v1beta1", _cronjob),
    (
        "policy-v1beta1",
        ("deprecated APIs",),
        True,
        "PodDisruptionBudget in policy/v1beta1",
        lambda o: o["pdb"].update(apiVersion="policy/v1beta1"),
    ),
    (
        "autoscaling-v2beta2",
        ("deprecated APIs",),
        True,
        "HorizontalPodAutoscaler in autoscaling/v2beta2",
        lambda o: o["hpa"].update(apiVersion="autoscaling/v2beta2"),
    ),
    ("networking-v1beta1", ("deprecated APIs",), True, "Ingress in networking.k8s.io/v1beta1", _ingress_v1beta1),
]


def _relabel(node, old: str, new: str):
    """Every label, selector and namespace value that names the rendered namespace, renamed."""
    if isinstance(node, dict):
        return {k: _relabel(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_relabel(v, old, new) for v in node]
    return new if node == old else node


def write_variants(tree: str, directory: str) -> dict[str, str]:
    """One file per variant, each in namespace v-<id>; variant id -> file."""
    base = backend_set(tree)
    namespace = base["deploy"]["metadata"]["namespace"]
    files = {}
    os.makedirs(directory, exist_ok=True)
    for ident, _families, _real, _what, mutate in VARIANTS:
        objects = _relabel(copy.deepcopy(base), namespace, f"v-{ident}")
        mutate(objects)
        path = os.path.join(directory, f"{ident}.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump_all(list(objects.values()), handle, sort_keys=False)
        files[ident] = path
    return files


# --- running the tools ---------------------------------------------------------------------------


def _median_run(command: list[str], cwd: str) -> tuple[float, subprocess.CompletedProcess]:
    times, proc = [], None
    for _run in range(RUNS):
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times), proc


def corpus_files(corpus: str) -> list[str]:
    return sorted(glob.glob(os.path.join(corpus, "**", "*.yaml"), recursive=True))


def run_kube_score(binary: str, corpus: str) -> tuple[float, list[dict], list[str]]:
    files = corpus_files(corpus)
    minor = ".".join(KUBERNETES_VERSION.split(".")[:2])
    command = [binary, "score", "--output-format", "json", "--kubernetes-version", f"v{minor}"]
    seconds, proc = _median_run([*command, *files], corpus)
    findings: list[dict] = []
    unparsed = []
    if not _scored(proc):
        # kube-score stops at the first file it cannot parse: find those (a refusal to parse is its
        # way of flagging an invalid object), then score the rest.
        keep = []
        for file in files:
            alone = subprocess.run([*command, file], capture_output=True, text=True, check=False)
            if _scored(alone):
                keep.append(file)
                continue
            reason = (alone.stderr or alone.stdout).strip()[:300]
            unparsed.append(f"{os.path.relpath(file, corpus)}: {reason}")
            findings.append(
                {
                    "file": os.path.relpath(file, corpus),
                    "object": "",
                    "check": "parse-error",
                    "families": ["schema"],
                    "severity": "fatal",
                    "message": reason,
                }
            )
        seconds, proc = _median_run([*command, *keep], corpus)
    for obj in json.loads(proc.stdout or "null") or []:
        for check in obj.get("checks") or []:
            if check.get("skipped") or check.get("grade", 10) >= 10:
                continue
            ident = check["check"]["id"]
            grade = {1: "critical", 5: "warning", 7: "almost-ok"}.get(check["grade"], str(check["grade"]))
            findings.append(
                {
                    "file": os.path.relpath(obj.get("file_name") or "", corpus),
                    "object": f"{obj['type_meta'].get('kind')}/{obj['object_meta'].get('name')}",
                    "check": ident,
                    "families": [KUBE_SCORE_FAMILY.get(ident, "other")],
                    "severity": grade,
                    "message": "; ".join(c.get("summary", "") for c in check.get("comments") or []),
                }
            )
    return seconds, findings, unparsed


def _scored(proc: subprocess.CompletedProcess) -> bool:
    """kube-score printed its JSON: a list, or null when no object it scores was found."""
    out = proc.stdout.strip()
    return out.startswith("[") or out == "null"


def run_kubeconform(binary: str, corpus: str, schemas: str) -> tuple[float, list[dict]]:
    command = [
        binary,
        "-strict",
        "-output",
        "json",
        "-kubernetes-version",
        KUBERNETES_VERSION,
        "-schema-location",
        schemas,
        corpus,
    ]
    seconds, proc = _median_run(command, corpus)
    findings = []
    for res in json.loads(proc.stdout or "{}").get("resources") or []:
        if res.get("status") in ("statusValid", "statusSkipped"):
            continue
        message = res.get("msg", "")
        missing = "could not find schema" in message
        findings.append(
            {
                "file": os.path.relpath(res.get("filename", ""), corpus),
                "object": f"{res.get('kind')}/{res.get('name')}",
                # kubeconform has no notion of removed APIs: it finds no schema for them, which counts
                # in both families (it flags the object, without naming the replacement).
                "check": "no-schema" if missing else res.get("status", "").removeprefix("status").lower(),
                "families": ["schema", "deprecated APIs"] if missing else ["schema"],
                "severity": "error",
                "message": message[:300],
            }
        )
    return seconds, findings


def run_probe_lint(corpus: str) -> tuple[float, list[dict]]:
    command = [
        sys.executable,
        "-m",
        "plugins.module_utils.probes",
        "lint",
        corpus,
        "--no-images",
        "--kubernetes-version",
        KUBERNETES_VERSION,
    ]
    seconds, proc = _median_run(command, ROOT)
    findings = []
    for f in json.loads(proc.stdout)["findings"]:
        findings.append(
            {
                "file": os.path.relpath(f["file"], corpus),
                "object": f["object"],
                "check": f["rule"],
                "families": [PROBE_LINT_FAMILY.get(f["rule"], "other")],
                "severity": f["severity"],
                "message": f["message"][:300],
            }
        )
    return seconds, findings


# --- comparing -----------------------------------------------------------------------------------


def compare(results: dict[str, list[dict]], variant_files: dict[str, str], corpus: str) -> dict:
    """Per variant and tool: the checks flagged beyond the control variant, in the planted families."""
    per_file: dict[str, dict[str, set]] = {}
    for tool, findings in results.items():
        for f in findings:
            for family in f["families"]:
                per_file.setdefault(f["file"], {}).setdefault(tool, set()).add((f["check"], family))
    control = per_file.get(os.path.relpath(variant_files["control"], corpus), {})
    families: dict[str, dict] = {family: {"variants": {}} for family in FAMILIES}
    for ident, fams, real, what, _mutate in VARIANTS[1:]:
        flagged = per_file.get(os.path.relpath(variant_files[ident], corpus), {})
        for family in fams:
            row = {"planted": what, "real_defect": real, "flagged": {}, "right": {}}
            for tool in results:
                extra = flagged.get(tool, set()) - control.get(tool, set())
                checks = sorted({check for check, fam in extra if fam == family})
                row["flagged"][tool] = checks
                row["right"][tool] = bool(checks) == real
            families[family]["variants"][ident] = row
    for entry in families.values():
        rows = entry["variants"].values()
        entry["summary"] = {
            tool: {
                "defects_caught": sum(1 for r in rows if r["real_defect"] and r["flagged"][tool]),
                "defects_planted": sum(1 for r in rows if r["real_defect"]),
                "false_alarms": sum(1 for r in rows if not r["real_defect"] and r["flagged"][tool]),
                "near_misses_planted": sum(1 for r in rows if not r["real_defect"]),
            }
            for tool in results
        }
    return families


def rendered_findings(results: dict[str, list[dict]]) -> dict:
    """What each tool flags in our rendered trees, per family and check (the trees pass probe_lint)."""
    out: dict[str, dict] = {}
    for tool, findings in results.items():
        rows: dict[str, dict[str, list[str]]] = {}
        for f in findings:
            if not f["file"].startswith("rendered/"):
                continue
            for family in f["families"]:
                rows.setdefault(family, {}).setdefault(f["check"], []).append(f"{f['file']}: {f['object']}")
        out[tool] = {fam: {check: sorted(set(objs)) for check, objs in checks.items()} for fam, checks in rows.items()}
    return out


def main() -> int:
    tools, builds = {}, {}
    for name in TOOLS:
        tools[name], builds[name] = ensure_tool(name)
    schemas = kubeconform_schemas(KUBERNETES_VERSION)
    with tempfile.TemporaryDirectory(prefix="probes-peers-") as tmp:
        corpus = os.path.join(tmp, "corpus")
        trees = render_trees(os.path.join(corpus, "rendered"))
        variant_files = write_variants(trees[0], os.path.join(corpus, "variants"))
        log(f"corpus: {len(corpus_files(corpus))} files; running each tool {RUNS} times")
        seconds, results, notes = {}, {}, {}
        seconds["probe_lint"], results["probe_lint"] = run_probe_lint(corpus)
        seconds["kube-score"], results["kube-score"], unparsed = run_kube_score(tools["kube-score"], corpus)
        seconds["kubeconform"], results["kubeconform"] = run_kubeconform(tools["kubeconform"], corpus, schemas)
        notes["kube-score"] = {"files_it_could_not_parse": unparsed}
        report = {
            "bench": "probes_peers",
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "kubernetes_version": KUBERNETES_VERSION,
            "tools": {
                "probe_lint": {"version": "this checkout"},
                **{
                    name: {"version": TOOLS[name][1], "module": TOOLS[name][0], "build_seconds": round(builds[name], 1)}
                    for name in TOOLS
                },
                "kube-linter": {"available": False, "why": "its module path is refused by the Go module proxy"},
            },
            "corpus": {
                "files": len(corpus_files(corpus)),
                "rendered_trees": [os.path.relpath(t, corpus) for t in trees],
                "variants": len(VARIANTS),
            },
            "wall_seconds_median": {tool: round(value, 3) for tool, value in seconds.items()},
            "runs_per_figure": RUNS,
            "families": compare(results, variant_files, corpus),
            "rendered_trees": rendered_findings(results),
            "notes": notes,
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
