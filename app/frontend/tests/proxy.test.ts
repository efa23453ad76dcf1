// The /api/goals route-handler proxy against a real HTTP server standing in for the backend.
import { describe, expect, it } from "vitest";
import { DELETE, GET, PATCH, POST } from "@/app/api/goals/[[...path]]/route";
import { closedUrl, routeContext as ctx, useBackendStub } from "./backend-stub";

const stub = useBackendStub({ status: 200, body: {} });

describe("/api/goals proxy", () => {
  it("forwards a list request with its query string and returns the backend's JSON", async () => {
    process.env.BACKEND_URL = `${stub.backend.url}/`;
    stub.backend.reply = { status: 200, body: { items: [], total: 0, limit: 5, offset: 0 }, headers: { "x-request-id": "from-backend" } };
    const response = await GET(new Request("http://frontend/api/goals?limit=5&offset=0"), ctx());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ items: [], total: 0, limit: 5, offset: 0 });
    expect(response.headers.get("x-request-id")).toBe("from-backend");
    expect(stub.backend.seen).toHaveLength(1);
    expect(stub.backend.seen[0]).toMatchObject({ method: "GET", url: "/api/goals?limit=5&offset=0" });
    expect(stub.backend.seen[0].headers["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);
  });

  it("forwards a create with body, content type and request id; passes 201 and Location back", async () => {
    process.env.BACKEND_URL = stub.backend.url;
    stub.backend.reply = { status: 201, body: { id: "g1", title: "Run" }, headers: { location: "/api/goals/g1" } };
    const request = new Request("http://frontend/api/goals", {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-42", cookie: "session=secret" },
      body: JSON.stringify({ title: "Run" }),
    });
    const response = await POST(request, ctx());
    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe("/api/goals/g1");
    expect(response.headers.get("x-request-id")).toBe("req-42");
    expect(stub.backend.seen[0]).toMatchObject({ method: "POST", url: "/api/goals", body: '{"title":"Run"}' });
    expect(stub.backend.seen[0].headers["content-type"]).toBe("application/json");
    expect(stub.backend.seen[0].headers["x-request-id"]).toBe("req-42");
    expect(stub.backend.seen[0].headers.cookie).toBeUndefined();
  });

  it("passes validation errors (422) through untouched", async () => {
    process.env.BACKEND_URL = stub.backend.url;
    stub.backend.reply = { status: 422, body: { detail: "invalid request: body.title: Field required" } };
    const response = await POST(new Request("http://frontend/api/goals", { method: "POST", body: "{}" }), ctx());
    expect(response.status).toBe(422);
    expect((await response.json()).detail).toContain("body.title");
  });

  it("maps sub-paths and methods: similar, patch, delete (204 without a body)", async () => {
    process.env.BACKEND_URL = stub.backend.url;
    stub.backend.reply = { status: 200, body: { goal_id: "g1", items: [] } };
    expect((await GET(new Request("http://frontend/api/goals/g1/similar?limit=3"), ctx(["g1", "similar"]))).status).toBe(200);
    stub.backend.reply = { status: 200, body: { id: "g1" } };
    const patch = new Request("http://frontend/api/goals/g1", { method: "PATCH", body: '{"progress":5}' });
    expect((await PATCH(patch, ctx(["g1"]))).status).toBe(200);
    stub.backend.reply = { status: 204 };
    const deleted = await DELETE(new Request("http://frontend/api/goals/g1", { method: "DELETE" }), ctx(["g1"]));
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    expect(stub.backend.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /api/goals/g1/similar?limit=3",
      "PATCH /api/goals/g1",
      "DELETE /api/goals/g1",
    ]);
    expect(stub.backend.seen[1].body).toBe('{"progress":5}');
  });

  it("refuses paths that would leave /api/goals", async () => {
    process.env.BACKEND_URL = stub.backend.url;
    for (const path of [[".."], ["a", "..", "b"], ["a/b"], ["a", "b", "c"]]) {
      const response = await GET(new Request("http://frontend/api/goals/x"), ctx(path));
      expect(response.status).toBe(404);
    }
    expect(stub.backend.seen).toHaveLength(0);
  });

  it("answers 502 when the backend is down", async () => {
    process.env.BACKEND_URL = await closedUrl();
    const response = await GET(new Request("http://frontend/api/goals"), ctx());
    expect(response.status).toBe(502);
    const body = await response.json();
    expect(body.detail).toBe("the backend is unavailable");
    expect(response.headers.get("x-request-id")).toBe(body.request_id);
  });

  it("answers 504 when the backend is too slow", async () => {
    process.env.BACKEND_URL = stub.backend.url;
    process.env.BACKEND_TIMEOUT_MS = "200";
    stub.backend.reply = { status: 200, body: {}, delayMs: 2000 };
    const response = await GET(new Request("http://frontend/api/goals"), ctx());
    expect(response.status).toBe(504);
  });
});
