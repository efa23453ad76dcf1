// A real HTTP server standing in for the backend: records each request (with its body) and, like
// the backend, echoes the request's X-Request-ID. useBackendStub() gives a test file one, reset
// between tests, with BACKEND_URL pointing at it.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, vi, type MockInstance } from "vitest";

export type Seen = { method: string; url: string; headers: IncomingHttpHeaders; body: string };

// What the stub answers next: status, body, extra headers, or a delay in ms.
export type Reply = { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number };

export type Stub = { url: string; seen: Seen[]; reply: Reply; close(): Promise<void> };

export async function startBackend(): Promise<Stub> {
  const stub: Stub = { url: "", seen: [], reply: { status: 200, body: {} }, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const { reply } = stub;
      stub.seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
      const headers: Record<string, string> = {};
      if (typeof req.headers["x-request-id"] === "string") headers["x-request-id"] = req.headers["x-request-id"];
      if (reply.body !== undefined) headers["content-type"] = "application/json";
      const send = () => {
        res.writeHead(reply.status, { ...headers, ...(reply.headers ?? {}) });
        res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return stub;
}

/**
 * One stub for the calling test file: started before its tests, closed after them. Before each
 * test BACKEND_URL points at it, it answers `reply` and the access log's stdout writes are
 * captured (read them through the returned `stdout` spy); after each the environment, the record
 * of requests and the spies are reset.
 */
export function useBackendStub(reply: Reply) {
  const env = { ...process.env };
  const handle = {} as { backend: Stub; stdout: MockInstance<typeof process.stdout.write> };
  beforeAll(async () => {
    handle.backend = await startBackend();
  });
  afterAll(() => handle.backend.close());
  beforeEach(() => {
    process.env.BACKEND_URL = handle.backend.url;
    delete process.env.LOG_LEVEL;
    handle.backend.reply = structuredClone(reply);
    handle.stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  });
  afterEach(() => {
    process.env = { ...env };
    handle.backend.seen.length = 0;
    vi.restoreAllMocks();
  });
  return handle;
}

/** The second argument Next.js passes a catch-all route handler. */
export function routeContext(path?: string[]) {
  return { params: Promise.resolve({ path }) };
}

/** A URL where nothing listens. */
export async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
