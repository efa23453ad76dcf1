// The access log: one JSON line on stdout per handled API request, carrying the request id the
// frontend forwards to the backend as X-Request-ID.
import { describe, expect, it } from "vitest";
import { GET as goalsGET, POST as goalsPOST } from "@/app/api/goals/[[...path]]/route";
import { GET as healthGET } from "@/app/api/health/route";
import { GET as metricsGET } from "@/app/api/metrics/route";
import { closedUrl, routeContext as ctx, useBackendStub } from "./backend-stub";

type Entry = Record<string, unknown>;

const stub = useBackendStub({ status: 200, body: { items: [] } });

/** Every write to stdout must be exactly one JSON object and a newline. */
function lines(): Entry[] {
  return stub.stdout.mock.calls.map(([chunk]) => {
    const text = String(chunk);
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1)).not.toContain("\n");
    return JSON.parse(text) as Entry;
  });
}

function accessLines(): Entry[] {
  return lines().filter((entry) => entry.msg === "request");
}

describe("access log", () => {
  it("writes one JSON line per proxied request with the id forwarded to the backend", async () => {
    const started = Date.now();
    const request = new Request("http://frontend/api/goals/g-7/similar?limit=2", { headers: { "x-request-id": "req-log-1" } });
    const response = await goalsGET(request, ctx(["g-7", "similar"]));
    expect(response.status).toBe(200);
    expect(stub.backend.seen[0].headers["x-request-id"]).toBe("req-log-1");

    const access = accessLines();
    expect(access).toHaveLength(1);
    const [entry] = access;
    expect(entry).toMatchObject({
      level: "info",
      msg: "request",
      service: "goaltrajectory-frontend",
      method: "GET",
      route: "/api/goals/[[...path]]",
      path: "/api/goals/g-7/similar",
      status: 200,
      request_id: "req-log-1",
    });
    expect(typeof entry.duration_ms).toBe("number");
    expect(entry.duration_ms as number).toBeGreaterThanOrEqual(0);
    expect(entry.duration_ms as number).toBeLessThan(Date.now() - started + 1);
    expect(entry.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Math.abs(Date.parse(entry.time as string) - Date.now())).toBeLessThan(60_000);
  });

  it("logs the generated id when the client sent none (the one the backend and the client got)", async () => {
    const response = await goalsPOST(new Request("http://frontend/api/goals", { method: "POST", body: "{}" }), ctx());
    const [entry] = accessLines();
    const forwarded = stub.backend.seen[0].headers["x-request-id"];
    expect(forwarded).toMatch(/^[0-9a-f]{32}$/);
    expect(entry).toMatchObject({ method: "POST", status: 200, request_id: forwarded });
    expect(response.headers.get("x-request-id")).toBe(forwarded);
  });

  it("replaces an invalid incoming id before logging and forwarding it", async () => {
    const request = new Request("http://frontend/api/goals", { headers: { "x-request-id": "bad id\twith spaces" } });
    await goalsGET(request, ctx());
    const [entry] = accessLines();
    expect(entry.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(entry.request_id).toBe(stub.backend.seen[0].headers["x-request-id"]);
  });

  it("logs refused paths (404) and backend failures (502) with the same request id on every line", async () => {
    await goalsGET(new Request("http://frontend/api/goals/x", { headers: { "x-request-id": "req-404" } }), ctx([".."]));
    process.env.BACKEND_URL = await closedUrl();
    await goalsGET(new Request("http://frontend/api/goals", { headers: { "x-request-id": "req-502" } }), ctx());
    const all = lines();
    expect(all.filter((e) => e.msg === "request").map((e) => [e.request_id, e.status])).toEqual([
      ["req-404", 404],
      ["req-502", 502],
    ]);
    const failure = all.find((e) => e.msg === "backend request failed");
    expect(failure).toMatchObject({ level: "error", request_id: "req-502", path: "/api/goals" });
    expect(typeof failure?.time).toBe("string");
  });

  it("logs health checks and scrapes only at debug level (LOG_LEVEL)", async () => {
    await healthGET(new Request("http://frontend/api/health"));
    await metricsGET(new Request("http://frontend/api/metrics"));
    expect(lines()).toHaveLength(0);
    process.env.LOG_LEVEL = "DEBUG";
    await healthGET(new Request("http://frontend/api/health", { headers: { "x-request-id": "probe-1" } }));
    expect(accessLines()).toEqual([
      expect.objectContaining({ level: "debug", route: "/api/health", status: 200, request_id: "probe-1" }),
    ]);
  });

  it("LOG_LEVEL=warning drops the info access lines but keeps errors", async () => {
    process.env.LOG_LEVEL = "warning";
    await goalsGET(new Request("http://frontend/api/goals"), ctx());
    expect(lines()).toHaveLength(0);
    process.env.BACKEND_URL = await closedUrl();
    await goalsGET(new Request("http://frontend/api/goals"), ctx());
    expect(lines().map((e) => e.msg)).toEqual(["backend request failed"]);
  });
});
