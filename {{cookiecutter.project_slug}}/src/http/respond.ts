/**
 * Writing answers: JSON bodies, JSON-RPC errors, and refusals that never make the server read
 * more than the body limit.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** How long a refused client may take to finish sending a body we discard. */
const DISCARD_TIMEOUT_MS = 5_000;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** JSON-RPC error body, for answers an MCP client will try to parse. */
export function rpcError(code: number, message: string) {
  return { jsonrpc: "2.0", error: { code, message }, id: null };
}

/** Answers a request with `status` and a JSON body before its body was read. */
type Refuse = (
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
) => void;

/**
 * The refusal for a server whose body limit is `maxBodyBytes`. It answers before the body was
 * read. A body within the limit is read and discarded (a client that sends it all before
 * reading would otherwise get a connection reset instead of this answer); a larger or slower
 * one is cut off with the connection, so no client can make the server read more than the limit.
 */
export function refuserFor(maxBodyBytes: number): Refuse {
  return (req, res, status, body, headers = {}) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (req.readableEnded || req.destroyed || !(declared <= maxBodyBytes)) {
      sendJson(res, status, body, { ...headers, Connection: "close" });
      res.once("finish", () => req.destroy());
      return;
    }
    // Keep the connection until the body is in: closing it now would reset the upload.
    sendJson(res, status, body, headers);
    let discarded = 0;
    const deadline = setTimeout(() => req.destroy(), DISCARD_TIMEOUT_MS);
    deadline.unref();
    req.once("close", () => clearTimeout(deadline));
    req.on("data", (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > maxBodyBytes) req.destroy();
    });
    req.resume();
  };
}
