/**
 * CORS for browser MCP clients on an allowed origin (whether the origin is allowed is
 * headers.ts's `checkOrigin`): which request headers a preflight allows, which response headers
 * a page may read. A browser only sends what the preflight allowed, so a header missing here
 * makes every request from a browser client fail before it reaches the server.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Every request header an MCP client sends, in both protocol eras (read from the SDK client,
 * @modelcontextprotocol/client): the 2026-07-28 per-request headers (SEP-2243: `Mcp-Method`
 * always, `Mcp-Name` on tools/call, resources/read and prompts/get), the protocol version,
 * the handshake era's session id and stream resumption, and the credential (a bearer token;
 * `DPoP` is allowed so a DPoP client gets this server's own 401 rather than a CORS failure).
 */
export const CORS_ALLOWED_HEADERS: readonly string[] = [
  "Authorization",
  "Content-Type",
  "Accept",
  "DPoP",
  "Last-Event-ID",
  "Mcp-Protocol-Version",
  "Mcp-Method",
  "Mcp-Name",
  "Mcp-Session-Id",
];

/** Response headers a page's client reads: the auth challenge, version, session, retry hint. */
export const CORS_EXPOSED_HEADERS =
  "WWW-Authenticate, Mcp-Protocol-Version, Mcp-Session-Id, Retry-After, X-Request-Id";

/**
 * SEP-2243 `Mcp-Param-<Name>` headers mirror tool arguments a tool's schema marks with
 * `x-mcp-header`; the names vary per tool and a preflight cannot be answered with a pattern,
 * so the names the preflight asks for are echoed back once they are well formed: the prefix
 * and an RFC 9110 token, bounded in length and number (the preflight is unauthenticated).
 */
const MCP_PARAM_HEADER = /^mcp-param-[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const MAX_PARAM_HEADER_LENGTH = 128;
export const MAX_PARAM_HEADERS = 32;

/** The `Access-Control-Allow-Headers` answer to a preflight's `Access-Control-Request-Headers`. */
export function allowedRequestHeaders(requested: string | undefined): string {
  const params: string[] = [];
  for (const entry of (requested ?? "").split(",")) {
    const name = entry.trim().toLowerCase();
    if (params.length >= MAX_PARAM_HEADERS) break;
    if (name.length > MAX_PARAM_HEADER_LENGTH || !MCP_PARAM_HEADER.test(name)) continue;
    if (!params.includes(name)) params.push(name);
  }
  return [...CORS_ALLOWED_HEADERS, ...params].join(", ");
}

/** Answers an OPTIONS preflight (after the Host and Origin checks, which refuse a foreign origin). */
export function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(204, {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": allowedRequestHeaders(
      req.headers["access-control-request-headers"],
    ),
    "Access-Control-Max-Age": "600",
    // The answer depends on the requested headers too: caches must key on them.
    Vary: "Origin, Access-Control-Request-Headers",
  });
  res.end();
}
