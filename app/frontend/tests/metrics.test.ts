// Prometheus metrics of the route handlers: every request counted and timed under its method,
// route template and status; served at /api/metrics with Node's process metrics.
import { describe, expect, it, vi } from "vitest";
import { GET as goalsGET, POST as goalsPOST } from "@/app/api/goals/[[...path]]/route";
import { GET as healthGET } from "@/app/api/health/route";
import { GET as metricsGET } from "@/app/api/metrics/route";
import { instrument, metrics } from "@/lib/metrics";
import { closedUrl, routeContext as ctx, useBackendStub } from "./backend-stub";

const GOALS = "/api/goals/[[...path]]";
type Labels = { method: string; route: string; status: string };
// A sample as Registry#getSingleMetric(...).get() returns it (histograms name each sample).
type Sample = { value: number; labels: Record<string, string | number | undefined>; metricName?: string };

// The access log's lines are captured by the stub's stdout spy, which keeps them quiet.
const stub = useBackendStub({ status: 200, body: {} });

/** Current value of a sample of `metric` (e.g. http_requests_total, http_request_duration_seconds_count). */
async function sample(metric: string, labels: Labels, extra: Record<string, string | number> = {}): Promise<number> {
  const base = metric.replace(/_(count|sum|bucket)$/, "");
  const found = metrics().registry.getSingleMetric(base);
  if (!found) throw new Error(`${base} is not registered`);
  const values = (await found.get()).values as Sample[];
  const want: Record<string, string | number> = { ...labels, ...extra };
  const hit = values.find(
    (v) =>
      (v.metricName ?? base) === metric &&
      Object.keys(want).length === Object.keys(v.labels).length &&
      Object.entries(want).every(([k, value]) => String(v.labels[k]) === String(value)),
  );
  return hit?.value ?? 0;
}

/** Run `action` and return how much each labelled series moved: requests and duration observations. */
async function delta(labels: Labels, action: () => Promise<unknown>): Promise<{ requests: number; observed: number }> {
  const before = [await sample("http_requests_total", labels), await sample("http_request_duration_seconds_count", labels)];
  await action();
  return {
    requests: (await sample("http_requests_total", labels)) - before[0],
    observed: (await sample("http_request_duration_seconds_count", labels)) - before[1],
  };
}

async function allRouteLabels(): Promise<string[]> {
  const { values } = await metrics().registry.getSingleMetric("http_requests_total")!.get();
  return [...new Set(values.map((v) => String(v.labels.route)))];
}

describe("request metrics", () => {
  it("counts and times a proxied request under the route template, not the raw path", async () => {
    const labels = { method: "GET", route: GOALS, status: "200" };
    const moved = await delta(labels, async () => {
      const response = await goalsGET(new Request("http://frontend/api/goals/g-123/similar?limit=3"), ctx(["g-123", "similar"]));
      expect(response.status).toBe(200);
    });
    expect(moved).toEqual({ requests: 1, observed: 1 });
    const routes = await allRouteLabels();
    expect(routes).toContain(GOALS);
    expect(routes.some((route) => route.includes("g-123"))).toBe(false);
  });

  it("labels the method and the status the client got", async () => {
    stub.backend.reply = { status: 201, body: { id: "g1" } };
    const post = new Request("http://frontend/api/goals", { method: "POST", body: "{}" });
    expect(await delta({ method: "POST", route: GOALS, status: "201" }, () => goalsPOST(post, ctx()))).toEqual({
      requests: 1,
      observed: 1,
    });
    stub.backend.reply = { status: 422, body: { detail: "invalid" } };
    const bad = new Request("http://frontend/api/goals", { method: "POST", body: "{}" });
    expect((await delta({ method: "POST", route: GOALS, status: "422" }, () => goalsPOST(bad, ctx()))).requests).toBe(1);
    // Refused before the backend: 404 under the same template.
    const refused = () => goalsGET(new Request("http://frontend/api/goals/x"), ctx([".."]));
    expect((await delta({ method: "GET", route: GOALS, status: "404" }, refused)).requests).toBe(1);
  });

  it("counts the 502 when the backend is down", async () => {
    process.env.BACKEND_URL = await closedUrl();
    const call = () => goalsGET(new Request("http://frontend/api/goals"), ctx());
    expect(await delta({ method: "GET", route: GOALS, status: "502" }, call)).toEqual({ requests: 1, observed: 1 });
  });

  it("counts health checks under /api/health", async () => {
    const call = () => healthGET(new Request("http://frontend/api/health"));
    expect(await delta({ method: "GET", route: "/api/health", status: "200" }, call)).toEqual({ requests: 1, observed: 1 });
  });

  it("answers 500 and counts it when a handler throws", async () => {
    const broken = instrument("/api/broken", async (): Promise<Response> => {
      throw new Error("boom");
    });
    let response: Response | undefined;
    const moved = await delta({ method: "DELETE", route: "/api/broken", status: "500" }, async () => {
      response = await broken(new Request("http://frontend/api/broken", { method: "DELETE", headers: { "x-request-id": "r-500" } }));
    });
    expect(moved.requests).toBe(1);
    expect(response?.status).toBe(500);
    expect(await response?.json()).toEqual({ detail: "internal server error", request_id: "r-500" });
  });

  it("observes the duration in the backend's buckets", async () => {
    stub.backend.reply = { status: 200, body: {} };
    const labels = { method: "GET", route: GOALS, status: "200" };
    const before = await sample("http_request_duration_seconds_bucket", labels, { le: 10 });
    await goalsGET(new Request("http://frontend/api/goals"), ctx());
    expect(await sample("http_request_duration_seconds_bucket", labels, { le: 10 })).toBe(before + 1);
    const values = (await metrics().registry.getSingleMetric("http_request_duration_seconds")!.get()).values as Sample[];
    const bounds = new Set(values.filter((v) => v.metricName?.endsWith("_bucket")).map((v) => String(v.labels.le)));
    expect([...bounds]).toEqual(["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]);
    expect(await sample("http_request_duration_seconds_sum", labels)).toBeGreaterThan(0);
  });
});

describe("GET /api/metrics", () => {
  it("serves the Prometheus text format with the request counters and Node process metrics", async () => {
    await goalsGET(new Request("http://frontend/api/goals/abc"), ctx(["abc"]));
    const response = await metricsGET(new Request("http://frontend/api/metrics"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(metrics().registry.contentType);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await response.text();
    expect(body).toContain("# TYPE http_requests_total counter");
    expect(body).toContain("# TYPE http_request_duration_seconds histogram");
    expect(body).toMatch(/^http_requests_total\{method="GET",route="\/api\/goals\/\[\[\.\.\.path\]\]",status="200"\} [1-9]\d*$/m);
    expect(body).toMatch(/^http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/goals\/\[\[\.\.\.path\]\]",status="200"\} \d+$/m);
    expect(body).not.toContain('route="/api/goals/abc"');
    for (const name of ["process_cpu_user_seconds_total", "process_resident_memory_bytes", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"]) {
      expect(body).toMatch(new RegExp(`^${name} `, "m"));
    }
  });

  it("counts its own scrapes", async () => {
    const call = () => metricsGET(new Request("http://frontend/api/metrics"));
    expect((await delta({ method: "GET", route: "/api/metrics", status: "200" }, call)).requests).toBe(1);
  });
});

describe("the registry", () => {
  it("is one per process and survives a reload of the module (next dev)", async () => {
    const first = metrics();
    const labels = { method: "GET", route: "/api/health", status: "200" };
    await healthGET(new Request("http://frontend/api/health"));
    const counted = await sample("http_requests_total", labels);
    vi.resetModules();
    const reloaded = await import("@/lib/metrics");
    const reloadedHealth = await import("@/app/api/health/route");
    expect(reloaded.metrics).not.toBe(metrics); // really a fresh module instance
    expect(reloaded.metrics()).toBe(first);
    await reloadedHealth.GET(new Request("http://frontend/api/health"));
    expect(await sample("http_requests_total", labels)).toBe(counted + 1);
  });
});
