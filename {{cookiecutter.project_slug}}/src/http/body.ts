/**
 * Reading a POST /mcp body: identity encoding only, at most the limit, valid UTF-8 JSON, and not
 * an empty JSON-RPC batch.
 */
import type { IncomingMessage } from "node:http";
import { rpcError } from "./respond.js";

type BodyResult =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly error: unknown }
  /** The client closed the connection before its body was in: there is no one to answer. */
  | { readonly ok: false; readonly aborted: true };

class BodyTooLargeError extends Error {}

/**
 * JSON is UTF-8 (RFC 8259): invalid bytes are a parse error, not silently replaced with U+FFFD
 * (a tool would otherwise receive text other than what any filter in front of it saw).
 */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** A compressed body would be inflated past the limit after it was checked: refuse it unread. */
function checkContentEncoding(header: string | undefined): boolean {
  return header === undefined || header.trim() === "" || header.trim().toLowerCase() === "identity";
}

async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads and parses the body; never throws for anything a client sends. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  if (!checkContentEncoding(req.headers["content-encoding"])) {
    return { ok: false, status: 415, error: rpcError(-32600, "Content-Encoding not supported") };
  }
  let raw: Buffer;
  try {
    raw = await readRaw(req, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      return { ok: false, status: 413, error: rpcError(-32600, "Request body too large") };
    }
    // A client hanging up mid-upload ("aborted") is routine, not a server error.
    if (req.destroyed) return { ok: false, aborted: true };
    throw error;
  }
  let body: unknown;
  try {
    body = JSON.parse(UTF8.decode(raw));
  } catch {
    return { ok: false, status: 400, error: rpcError(-32700, "Parse error: invalid JSON") };
  }
  // JSON-RPC 2.0: "an empty Array" is an invalid request.
  if (Array.isArray(body) && body.length === 0) {
    return { ok: false, status: 400, error: rpcError(-32600, "Invalid Request: empty batch") };
  }
  return { ok: true, body };
}
