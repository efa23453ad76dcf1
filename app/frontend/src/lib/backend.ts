// Server-side access to the GoalTrajectory backend. BACKEND_URL is read per request (not at build
// time), so one built image runs against any backend address.

import { randomUUID } from "node:crypto";
import { log } from "@/lib/log";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Request headers passed on to the backend, and response headers passed back.
const FORWARD_REQUEST = ["accept", "content-type", "x-request-id"];
const FORWARD_RESPONSE = ["content-type", "location", "retry-after", "x-request-id"];

export function backendUrl(): string {
  return (process.env.BACKEND_URL || "http://localhost:8000").replace(/\/+$/, "");
}

export function backendTimeoutMs(): number {
  const value = Number(process.env.BACKEND_TIMEOUT_MS || "10000");
  return Number.isFinite(value) && value > 0 ? value : 10000;
}

export function requestId(incoming: string | null): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID().replaceAll("-", "");
}

function problem(status: number, detail: string, id: string): Response {
  return Response.json({ detail, request_id: id }, { status, headers: { "x-request-id": id } });
}

// Path segments after /api/goals; each must be a plain segment (no traversal, no separators).
export function goalsPath(segments: string[] | undefined): string | null {
  const parts = segments ?? [];
  if (parts.length > 2) return null;
  for (const part of parts) {
    if (!part || part === "." || part === ".." || /[/\\?#]/.test(part)) return null;
  }
  return ["/api/goals", ...parts.map(encodeURIComponent)].join("/");
}

/**
 * Forward a request to the backend path and hand the backend's answer back unchanged. `id` is the
 * request id sent as X-Request-ID (the one the access log records; see instrument in lib/metrics).
 */
export async function proxy(
  request: Request,
  path: string,
  id: string = requestId(request.headers.get("x-request-id")),
): Promise<Response> {
  const headers = new Headers({ "x-request-id": id });
  for (const name of FORWARD_REQUEST) {
    const value = request.headers.get(name);
    if (value && name !== "x-request-id") headers.set(name, value);
  }
  const search = new URL(request.url).search;
  const hasBody = !["GET", "HEAD"].includes(request.method);
  let upstream: Response;
  try {
    upstream = await fetch(`${backendUrl()}${path}${search}`, {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
      cache: "no-store",
      redirect: "manual",
      signal: AbortSignal.timeout(backendTimeoutMs()),
    });
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    log("error", "backend request failed", {
      request_id: id,
      path,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return timedOut
      ? problem(504, "the backend did not answer in time", id)
      : problem(502, "the backend is unavailable", id);
  }
  const responseHeaders = new Headers();
  for (const name of FORWARD_RESPONSE) {
    const value = upstream.headers.get(name);
    if (value) responseHeaders.set(name, value);
  }
  if (!responseHeaders.has("x-request-id")) responseHeaders.set("x-request-id", id);
  const body = upstream.status === 204 || upstream.status === 304 ? null : await upstream.arrayBuffer();
  return new Response(body, { status: upstream.status, headers: responseHeaders });
}
