"""Prometheus metrics, each app instance on its own registry (tests create several apps per process)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

UNMATCHED_ROUTE = "<unmatched>"  # one label for every 404 path, so scanners cannot blow up cardinality


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, version: str, environment: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled, by method, route template and status code.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency in seconds, by method, route template and status code.",
            ("method", "route", "status"),
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.dependency_up = Gauge(
            "dependency_up",
            "1 if the dependency answered the last readiness check, else 0.",
            ("dependency",),
            registry=self.registry,
        )
        self.dependency_latency = Gauge(
            "dependency_check_latency_seconds",
            "Duration of the last readiness check of the dependency, in seconds.",
            ("dependency",),
            registry=self.registry,
        )
        self.info = Gauge(
            "goaltrajectory_build_info",
            "Always 1; labels carry the running version and environment.",
            ("version", "environment"),
            registry=self.registry,
        )
        self.info.labels(version=version, environment=environment).set(1)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = {"method": method, "route": route, "status": str(status)}
        self.requests.labels(**labels).inc()
        self.latency.labels(**labels).observe(seconds)

    def observe_dependency(self, name: str, up: bool, seconds: float) -> None:
        self.dependency_up.labels(dependency=name).set(1 if up else 0)
        self.dependency_latency.labels(dependency=name).set(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
