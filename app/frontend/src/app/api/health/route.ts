// Liveness of the frontend process: answers without calling the backend.
import { instrument } from "@/lib/metrics";

export const dynamic = "force-dynamic";

const startedAt = Date.now();

export const GET = instrument("/api/health", (): Response =>
  Response.json(
    {
      status: "ok",
      service: "goaltrajectory-frontend",
      version: process.env.APP_VERSION || process.env.VERSION || "0.1.0",
      environment: process.env.ENVIRONMENT || "development",
      uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
    },
    { headers: { "cache-control": "no-store" } },
  ),
);
