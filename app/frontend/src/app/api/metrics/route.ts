// Prometheus metrics of this process: http_requests_total and http_request_duration_seconds by
// method, route template and status (as the backend's /metrics), plus Node's process metrics.
import { instrument, metrics } from "@/lib/metrics";

export const dynamic = "force-dynamic";

export const GET = instrument("/api/metrics", async (): Promise<Response> => {
  const { registry } = metrics();
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType, "cache-control": "no-store" },
  });
});
