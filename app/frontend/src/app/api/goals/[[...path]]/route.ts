// /api/goals[/...] → BACKEND_URL/api/goals[/...]: lets the browser reach the backend through
// the frontend's own origin (no CORS, backend not exposed publicly).
import { goalsPath, proxy } from "@/lib/backend";
import { instrument } from "@/lib/metrics";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ path?: string[] }> };

// Metrics and logs label requests with the route template, not the requested path.
const handle = instrument("/api/goals/[[...path]]", async (request: Request, id: string, context: Context): Promise<Response> => {
  const { path } = await context.params;
  const target = goalsPath(path);
  if (target === null) {
    return Response.json({ detail: "not found", request_id: id }, { status: 404, headers: { "x-request-id": id } });
  }
  return proxy(request, target, id);
});

export { handle as DELETE, handle as GET, handle as PATCH, handle as POST };
