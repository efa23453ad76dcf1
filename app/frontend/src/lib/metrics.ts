// Request metrics (Prometheus, prom-client) and the access log for the route handlers. Metric
// names, labels and buckets match the backend's (app/backend/goaltrajectory/metrics.py), so the
// same dashboards and alert rules cover both services.

import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import { requestId } from "@/lib/backend";
import { log } from "@/lib/log";

type Label = "method" | "route" | "status";
const LABELS: Label[] = ["method", "route", "status"];
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type Metrics = {
  registry: Registry;
  requests: Counter<Label>;
  latency: Histogram<Label>;
};

// One registry per process: `next dev` re-evaluates modules when sources change and each route may
// get its own copy of this module, so the registry lives on globalThis (registering a metric name
// twice would throw, and a second registry would start the counters again from zero).
const KEY = Symbol.for("goaltrajectory.frontend.metrics");
type Holder = { [KEY]?: Metrics };

export function metrics(): Metrics {
  const holder = globalThis as Holder;
  if (!holder[KEY]) {
    const registry = new Registry();
    // Node process metrics: CPU, memory, heap, event loop lag, GC, handles.
    collectDefaultMetrics({ register: registry });
    holder[KEY] = {
      registry,
      requests: new Counter({
        name: "http_requests_total",
        help: "HTTP requests handled, by method, route template and status code.",
        labelNames: LABELS,
        registers: [registry],
      }),
      latency: new Histogram({
        name: "http_request_duration_seconds",
        help: "HTTP request latency in seconds, by method, route template and status code.",
        labelNames: LABELS,
        buckets: BUCKETS,
        registers: [registry],
      }),
    };
  }
  return holder[KEY];
}

// Probe and scrape traffic is logged at debug unless it fails (as in the backend).
const QUIET_ROUTES = new Set(["/api/health", "/api/metrics"]);

/**
 * Wrap a route handler. The wrapper resolves the request id (the incoming X-Request-ID if valid,
 * else a new one) and hands it to the handler, which forwards it; then it counts the request,
 * observes its duration under `route` (the route template, never the raw path: bounded label
 * cardinality) and logs one access line. A handler that throws answers 500.
 */
export function instrument<A extends unknown[]>(
  route: string,
  handler: (request: Request, id: string, ...rest: A) => Response | Promise<Response>,
): (request: Request, ...rest: A) => Promise<Response> {
  return async (request: Request, ...rest: A): Promise<Response> => {
    const started = performance.now();
    const id = requestId(request.headers.get("x-request-id"));
    let response: Response;
    try {
      response = await handler(request, id, ...rest);
    } catch (error) {
      log("error", "unhandled error", {
        request_id: id,
        route,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      response = Response.json(
        { detail: "internal server error", request_id: id },
        { status: 500, headers: { "x-request-id": id } },
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const status = response.status;
    const labels = { method: request.method, route, status: String(status) };
    const { requests, latency } = metrics();
    requests.inc(labels);
    latency.observe(labels, seconds);
    log(QUIET_ROUTES.has(route) && status < 500 ? "debug" : "info", "request", {
      method: request.method,
      path: new URL(request.url).pathname,
      route,
      status,
      duration_ms: Math.round(seconds * 100_000) / 100,
      request_id: id,
    });
    return response;
  };
}
