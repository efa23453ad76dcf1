// The /api/goals route-handler proxy against a real HTTP server standing in for the backend.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DELETE, GET, PATCH, POST } from "@/app/api/goals/[[...path]]/route";

type Seen = { method: string; url: string; headers: IncomingMessage["headers"]; body: string };

let server: Server;
let base: string;
const seen: Seen[] = [];
// What the fake backend answers next: status, body, extra headers, or a delay in ms.
let reply: { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
      const send = () => {
        const headers: Record<string, string> = { ...(reply.headers ?? {}) };
        if (reply.body !== undefined) headers["content-type"] = "application/json";
        res.writeHead(reply.status, headers);
        res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  seen.length = 0;
});

function ctx(path?: string[]) {
  return { params: Promise.resolve({ path }) };
}

describe("/api/goals proxy", () => {
  it("forwards a list request with its query string and returns the backend's JSON", async () => {
    process.env.BACKEND_URL = `${base}/`;
    reply = { status: 200, body: { items: [], total: 0, limit: 5, offset: 0 }, headers: { "x-request-id": "from-backend" } };
    const response = await GET(new Request("http://frontend/api/goals?limit=5&offset=0"), ctx());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ items: [], total: 0, limit: 5, offset: 0 });
    expect(response.headers.get("x-request-id")).toBe("from-backend");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "GET", url: "/api/goals?limit=5&offset=0" });
    expect(seen[0].headers["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);
  });

  it("forwards a create with body, content type and request id; passes 201 and Location back", async () => {
    process.env.BACKEND_URL = base;
    reply = { status: 201, body: { id: "g1", title: "Run" }, headers: { location: "/api/goals/g1" } };
    const request = new Request("http://frontend/api/goals", {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-42", cookie: "session=secret" },
      body: JSON.stringify({ title: "Run" }),
    });
    const response = await POST(request, ctx());
    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe("/api/goals/g1");
    expect(response.headers.get("x-request-id")).toBe("req-42");
    expect(seen[0]).toMatchObject({ method: "POST", url: "/api/goals", body: '{"title":"Run"}' });
    expect(seen[0].headers["content-type"]).toBe("application/json");
    expect(seen[0].headers["x-request-id"]).toBe("req-42");
    expect(seen[0].headers.cookie).toBeUndefined();
  });

  it("passes validation errors (422) through untouched", async () => {
    process.env.BACKEND_URL = base;
    reply = { status: 422, body: { detail: "invalid request: body.title: Field required" } };
    const response = await POST(new Request("http://frontend/api/goals", { method: "POST", body: "{}" }), ctx());
    expect(response.status).toBe(422);
    expect((await response.json()).detail).toContain("body.title");
  });

  it("maps sub-paths and methods: similar, patch, delete (204 without a body)", async () => {
    process.env.BACKEND_URL = base;
    reply = { status: 200, body: { goal_id: "g1", items: [] } };
    expect((await GET(new Request("http://frontend/api/goals/g1/similar?limit=3"), ctx(["g1", "similar"]))).status).toBe(200);
    reply = { status: 200, body: { id: "g1" } };
    const patch = new Request("http://frontend/api/goals/g1", { method: "PATCH", body: '{"progress":5}' });
    expect((await PATCH(patch, ctx(["g1"]))).status).toBe(200);
    reply = { status: 204 };
    const deleted = await DELETE(new Request("http://frontend/api/goals/g1", { method: "DELETE" }), ctx(["g1"]));
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /api/goals/g1/similar?limit=3",
      "PATCH /api/goals/g1",
      "DELETE /api/goals/g1",
    ]);
    expect(seen[1].body).toBe('{"progress":5}');
  });

  it("refuses paths that would leave /api/goals", async () => {
    process.env.BACKEND_URL = base;
    for (const path of [[".."], ["a", "..", "b"], ["a/b"], ["a", "b", "c"]]) {
      const response = await GET(new Request("http://frontend/api/goals/x"), ctx(path));
      expect(response.status).toBe(404);
    }
    expect(seen).toHaveLength(0);
  });

  it("answers 502 when the backend is down", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    process.env.BACKEND_URL = `http://127.0.0.1:${port}`;
    const response = await GET(new Request("http://frontend/api/goals"), ctx());
    expect(response.status).toBe(502);
    const body = await response.json();
    expect(body.detail).toBe("the backend is unavailable");
    expect(response.headers.get("x-request-id")).toBe(body.request_id);
  });

  it("answers 504 when the backend is too slow", async () => {
    process.env.BACKEND_URL = base;
    process.env.BACKEND_TIMEOUT_MS = "200";
    reply = { status: 200, body: {}, delayMs: 2000 };
    const response = await GET(new Request("http://frontend/api/goals"), ctx());
    expect(response.status).toBe(504);
  });
});
