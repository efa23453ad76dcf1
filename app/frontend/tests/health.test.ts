import { afterEach, describe, expect, it } from "vitest";
import { GET } from "@/app/api/health/route";

describe("GET /api/health", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("answers 200 JSON with status ok, never cached", async () => {
    process.env.APP_VERSION = "9.9.9";
    const response = await GET(new Request("http://frontend/api/health"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await response.json();
    expect(body).toMatchObject({ status: "ok", service: "goaltrajectory-frontend", version: "9.9.9" });
    expect(body.uptime_seconds).toBeGreaterThanOrEqual(0);
  });

  it("does not depend on the backend", async () => {
    process.env.BACKEND_URL = "http://127.0.0.1:1";
    expect((await GET(new Request("http://frontend/api/health"))).status).toBe(200);
  });
});
