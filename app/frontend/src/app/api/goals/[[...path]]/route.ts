// /api/goals[/...] → BACKEND_URL/api/goals[/...]: lets the browser reach the backend through
// the frontend's own origin (no CORS, backend not exposed publicly).
import { goalsPath, proxy, requestId } from "@/lib/backend";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ path?: string[] }> };

async function handle(request: Request, context: Context): Promise<Response> {
  const { path } = await context.params;
  const target = goalsPath(path);
  if (target === null) {
    const id = requestId(request.headers.get("x-request-id"));
    return Response.json({ detail: "not found", request_id: id }, { status: 404, headers: { "x-request-id": id } });
  }
  return proxy(request, target);
}

export { handle as DELETE, handle as GET, handle as PATCH, handle as POST };
