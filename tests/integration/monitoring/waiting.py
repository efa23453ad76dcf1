"""Polling shared by the monitoring tests, here and in molecule/k8s_apply: alerts take minutes."""

from __future__ import annotations

import time

import pytest


def wait_for(what: str, check, timeout: float, step: float = 3):
    """check() until it returns something truthy, and return that; fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(step)
    pytest.fail(f"{what}: not within {timeout:.0f} s (last: {last!r})")


def received_since(entries: list[dict], alertname: str, service: str, status: str, since: float) -> list[dict]:
    """The alert receiver's notifications (GET /alerts) of that alert and state, since a time."""
    found = []
    for entry in entries:
        stamp = time.mktime(time.strptime(entry["received_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        for alert in entry["payload"].get("alerts", []):
            labels = alert["labels"]
            key = (labels.get("alertname"), labels.get("service"), alert["status"])
            if key == (alertname, service, status) and stamp >= since - 1:
                found.append(entry)
    return found
