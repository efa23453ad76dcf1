// A real HTTP server standing in for the backend: records each request and, like the backend,
// echoes the request's X-Request-ID.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type Seen = { method: string; url: string; headers: IncomingHttpHeaders };

export type Stub = { url: string; seen: Seen[]; reply: { status: number; body?: unknown }; close(): Promise<void> };

export async function startBackend(): Promise<Stub> {
  const seen: Seen[] = [];
  const stub = { seen, reply: { status: 200, body: {} as unknown } } as Stub;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      const headers: Record<string, string> = {};
      if (typeof req.headers["x-request-id"] === "string") headers["x-request-id"] = req.headers["x-request-id"];
      if (stub.reply.body !== undefined) headers["content-type"] = "application/json";
      res.writeHead(stub.reply.status, headers);
      res.end(stub.reply.body === undefined ? undefined : JSON.stringify(stub.reply.body));
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

/** A URL where nothing listens. */
export async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
