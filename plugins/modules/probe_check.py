#!/usr/bin/python
# Copyright: (c) 2025, GoalTrajectory.AI platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: probe_check
short_description: Run Kubernetes-style liveness, readiness and startup probes against live targets
version_added: 0.1.0
author:
  - GoalTrajectory.AI platform team (@goaltrajectory)
description:
  - Probes HTTP endpoints (C(httpGet)), TCP ports (C(tcpSocket)) and commands inside containers (C(exec) through
    C(docker exec)) with the kubelet's semantics, many targets concurrently.
  - The first attempt runs after C(initialDelaySeconds), then one attempt every C(periodSeconds), each limited to
    C(timeoutSeconds). C(successThreshold) consecutive successes make a target V(success); for V(liveness) and
    V(startup) probes C(failureThreshold) consecutive failures make it V(failed); whatever has not settled when the
    overall O(deadline) passes is V(timeout). Waiting is a loop on a monotonic clock.
  - HTTP success is a status in O(targets[].accepted_status) (default 200-399; redirects are not followed),
    TCP success is an accepted connection, exec success is exit code 0.
  - With O(calibrate=true) it measures startup (time to first success) and latency and recommends probe settings,
    a startup budget with O(safety_margin) and timeouts above the observed p99, for Kubernetes and Compose.
  - Fails when any target does not succeed, returning every target's result.
requirements:
  - The docker CLI and a running engine for C(exec) targets with a O(targets[].container).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - goaltrajectory.platform.attributes
  - goaltrajectory.platform.probes
attributes:
  check_mode:
    support: full
    details: Probing only reads, so check mode probes exactly as a normal run does.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: It never changes anything; results depend on the targets' state at the time of the run.
  platform:
    platforms: posix
options:
  targets:
    description:
      - What to probe. Each target is a Kubernetes probe (the same field names) plus a O(targets[].name).
      - Timing fields accept fractions of seconds here, unlike Kubernetes.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Unique name of the target in the results.
        type: str
        required: true
      type:
        description:
          - Probe semantics. V(readiness) keeps probing until it succeeds or the deadline passes;
            V(liveness) and V(startup) fail after O(targets[].failureThreshold) consecutive failures.
        type: str
        choices: [readiness, liveness, startup]
        default: readiness
      container:
        description:
          - Container (name or id) that an C(exec) command runs in, through C(docker exec).
          - Without it the command runs on the managed host.
        type: str
      httpGet:
        description: HTTP GET probe.
        type: dict
        suboptions:
          scheme:
            description: V(HTTPS) does not verify the certificate, like the kubelet.
            type: str
            choices: [HTTP, HTTPS]
            default: HTTP
          host:
            description: Host to connect to.
            type: str
            default: 127.0.0.1
          port:
            description: Port number.
            type: int
            required: true
          path:
            description: Request path.
            type: str
            default: /
          httpHeaders:
            description: Extra request headers, as in Kubernetes (a C(Host) header overrides the host sent).
            type: list
            elements: dict
            default: []
      tcpSocket:
        description: TCP connect probe.
        type: dict
        suboptions:
          host:
            description: Host to connect to.
            type: str
            default: 127.0.0.1
          port:
            description: Port number.
            type: int
            required: true
      exec:
        description: Command probe; exit code 0 is success.
        type: dict
        suboptions:
          command:
            description: The argv to run (no shell; use C([sh, -c, ...]) for one).
            type: list
            elements: str
            required: true
      initialDelaySeconds:
        description: Seconds before the first attempt.
        type: float
        default: 0
      periodSeconds:
        description: Seconds between the starts of two attempts.
        type: float
        default: 10
      timeoutSeconds:
        description: Seconds one attempt may take.
        type: float
        default: 1
      successThreshold:
        description: Consecutive successes needed; must be 1 for liveness and startup probes.
        type: int
        default: 1
      failureThreshold:
        description: Consecutive failures that fail a liveness or startup probe.
        type: int
        default: 3
      accepted_status:
        description: HTTP status codes or C(low-high) ranges counted as success.
        type: list
        elements: str
        default: ["200-399"]
  deadline:
    description: Overall seconds for all targets; unsettled targets end as V(timeout).
    type: float
    default: 60
  concurrency:
    description: How many targets are probed at the same time.
    type: int
    default: 16
  calibrate:
    description: After a target succeeds, take O(samples) more attempts and return recommended probe settings.
    type: bool
    default: false
  samples:
    description: Extra back-to-back attempts per successful target when O(calibrate=true), for latency percentiles.
    type: int
    default: 10
  safety_margin:
    description: Factor applied to the measured startup time and p99 latency in the recommendations.
    type: float
    default: 1.5
seealso:
  - module: goaltrajectory.platform.probe_lint
"""

EXAMPLES = r"""
- name: Wait until the backend, the database port and ChromaDB's heartbeat answer
  goaltrajectory.platform.probe_check:
    targets:
      - name: backend
        httpGet:
          port: 8000
          path: /health
        periodSeconds: 2
      - name: postgres
        tcpSocket:
          port: 5432
        periodSeconds: 1
      - name: chromadb
        httpGet:
          port: 8001
          path: /api/v2/heartbeat
    deadline: 120

- name: Run pg_isready inside the database container as a startup probe and calibrate
  goaltrajectory.platform.probe_check:
    targets:
      - name: postgres-ready
        type: startup
        container: goaltrajectory-postgres-1
        exec:
          command: [pg_isready, -U, goaltrajectory, -h, 127.0.0.1]
        periodSeconds: 1
        failureThreshold: 60
    calibrate: true
  register: probe_check_result

- name: Feed the measured startup time into the static checks
  goaltrajectory.platform.probe_lint:
    paths: [/srv/goaltrajectory/k8s/]
    startup_seconds:
      postgres: "{{ probe_check_result.results[0].time_to_first_success }}"
"""

RETURN = r"""
results:
  description: One entry per target, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The target's name.
      returned: always
      type: str
      sample: backend
    handler:
      description: V(httpGet), V(tcpSocket) or V(exec).
      returned: always
      type: str
      sample: httpGet
    type:
      description: Probe semantics used.
      returned: always
      type: str
      sample: readiness
    container:
      description: The container of an exec target, null otherwise.
      returned: always
      type: str
      sample: goaltrajectory-postgres-1
    status:
      description: V(success), V(failed) (failureThreshold reached) or V(timeout) (deadline passed).
      returned: always
      type: str
      sample: success
    attempts:
      description: Probe attempts made before the target settled (calibration samples not included).
      returned: always
      type: int
      sample: 4
    calibration_samples:
      description: Extra attempts taken for calibration.
      returned: always
      type: int
      sample: 10
    consecutive_failures:
      description: Failures in a row at the end.
      returned: always
      type: int
      sample: 0
    latency:
      description: Seconds per successful attempt, C(count), C(min), C(mean), C(p50), C(p95), C(p99), C(max).
      returned: always
      type: dict
      sample: {"count": 11, "min": 0.0011, "mean": 0.0021, "p50": 0.0019, "p95": 0.004, "p99": 0.004, "max": 0.004}
    time_to_first_success:
      description:
        - Seconds from the start of the run to the end of the first successful attempt, the measured startup.
        - Null when no attempt succeeded.
      returned: always
      type: float
      sample: 3.27
    last_error:
      description: Error of the last failed attempt, null if none failed.
      returned: always
      type: str
      sample: "HTTP 503"
    last_code:
      description: HTTP status or exit code of the last attempt, null for TCP or when no answer came.
      returned: always
      type: int
      sample: 200
    elapsed:
      description: Seconds from the start of the run until this target settled.
      returned: always
      type: float
      sample: 3.3
    timing:
      description: The effective Kubernetes timing fields.
      returned: always
      type: dict
      sample:
        initialDelaySeconds: 0
        periodSeconds: 1
        timeoutSeconds: 1
        successThreshold: 1
        failureThreshold: 3
    recommended:
      description:
        - Recommended settings from the measurement, null for a target that never succeeded.
        - C(startup_seconds), C(observed_p99_seconds), C(safety_margin), C(startup_budget_seconds),
          C(startupProbe), C(readinessProbe), C(livenessProbe) and C(compose_healthcheck).
      returned: when O(calibrate=true)
      type: dict
      sample:
        startup_seconds: 3.27
        startupProbe: {"periodSeconds": 2, "timeoutSeconds": 1, "failureThreshold": 3}
        compose_healthcheck: {"interval": "10s", "timeout": "1s", "retries": 3, "start_period": "5s"}
summary:
  description: Number of targets per status and the run's elapsed seconds.
  returned: always
  type: dict
  sample: {"targets": 3, "success": 3, "failed": 0, "timeout": 0, "elapsed": 3.31}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.goaltrajectory.platform.plugins.module_utils.probes import prober


def argspec() -> dict:
    host = {"type": "str", "default": "127.0.0.1"}
    target = {
        "name": {"type": "str", "required": True},
        "type": {"type": "str", "choices": list(prober.PROBE_TYPES), "default": "readiness"},
        "container": {"type": "str"},
        "httpGet": {
            "type": "dict",
            "options": {
                "scheme": {"type": "str", "choices": ["HTTP", "HTTPS"], "default": "HTTP"},
                "host": host,
                "port": {"type": "int", "required": True},
                "path": {"type": "str", "default": "/"},
                "httpHeaders": {"type": "list", "elements": "dict", "default": []},
            },
        },
        "tcpSocket": {"type": "dict", "options": {"host": host, "port": {"type": "int", "required": True}}},
        "exec": {"type": "dict", "options": {"command": {"type": "list", "elements": "str", "required": True}}},
        "initialDelaySeconds": {"type": "float", "default": 0},
        "periodSeconds": {"type": "float", "default": 10},
        "timeoutSeconds": {"type": "float", "default": 1},
        "successThreshold": {"type": "int", "default": 1},
        "failureThreshold": {"type": "int", "default": 3},
        "accepted_status": {"type": "list", "elements": "str", "default": ["200-399"]},
    }
    return {
        "targets": {"type": "list", "elements": "dict", "required": True, "options": target},
        "deadline": {"type": "float", "default": 60},
        "concurrency": {"type": "int", "default": 16},
        "calibrate": {"type": "bool", "default": False},
        "samples": {"type": "int", "default": 10},
        "safety_margin": {"type": "float", "default": 1.5},
        "docker_cli": {"type": "str", "default": "docker"},
    }


def main() -> None:
    module = AnsibleModule(argument_spec=argspec(), supports_check_mode=True)
    params = module.params
    try:
        result = prober.run_probes(
            params["targets"],
            deadline=params["deadline"],
            concurrency=params["concurrency"],
            calibrate=params["calibrate"],
            samples=params["samples"],
            safety_margin=params["safety_margin"],
            docker=params["docker_cli"],
        )
    except prober.TargetError as exc:
        module.fail_json(msg=f"invalid targets: {exc}", changed=False, results=[], summary={})
    failed = result.pop("failed")
    if failed:
        summary = result["summary"]
        bad = [f"{r['name']}={r['status']} ({r['last_error']})" for r in result["results"] if r["status"] != "success"]
        module.fail_json(
            msg=f"probe_check: {summary['targets'] - summary['success']} of {summary['targets']} target(s) "
            f"did not succeed: {', '.join(bad)}",
            changed=False,
            **result,
        )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
