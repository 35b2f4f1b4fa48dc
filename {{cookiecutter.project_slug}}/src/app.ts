/**
 * The HTTP surface, on plain node:http (no framework):
 *
 *   GET  /health                                   liveness, no auth, no host check
 *   GET  /ready                                    readiness (503 while shutting down)
 *   GET  /.well-known/oauth-protected-resource[/mcp]  RFC 9728 metadata, no auth
 *   POST /mcp                                      MCP Streamable HTTP, stateless
 *
 * A request to /mcp flows one way:
 *   Host check -> Origin check -> method -> authentication -> body limit ->
 *   fresh McpServer + transport -> tool (sees the caller's identity, never the token).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import { protectedResourceMetadata } from "./auth/metadata.js";
import { type Authenticator, createAuthenticator, wwwAuthenticate } from "./auth/middleware.js";
import { type Config, SERVER_NAME } from "./config.js";
import type { Logger } from "./logger.js";
import { createMcpServer } from "./mcp/server.js";

export interface App {
  readonly server: Server;
  /** Stops accepting connections, lets in-flight requests finish, then resolves. */
  shutdown(): Promise<void>;
}

const METADATA_PATHS = new Set([
  "/.well-known/oauth-protected-resource",
  "/.well-known/oauth-protected-resource/mcp",
]);
const MCP_ALLOWED_METHODS = "POST, OPTIONS";
const CORS_ALLOWED_HEADERS =
  "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID";
const CORS_EXPOSED_HEADERS = "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version";

/** How long a refused client may take to finish sending a body we discard. */
const DISCARD_TIMEOUT_MS = 5_000;

class BodyTooLargeError extends Error {}

interface RequestContext {
  readonly log: Logger;
  /** The authenticated caller, added to the access log line. */
  subject: string | undefined;
}

function sendJson(
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

/** Credentials stop here: nothing after authentication (transport, tools) can read them. */
const CREDENTIAL_HEADERS = new Set(["authorization", "proxy-authorization", "cookie"]);

function stripCredentials(req: IncomingMessage): void {
  for (const name of CREDENTIAL_HEADERS) delete req.headers[name];
  const raw: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? "";
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) raw.push(name, req.rawHeaders[i + 1] ?? "");
  }
  req.rawHeaders.splice(0, req.rawHeaders.length, ...raw);
}

/** JSON-RPC error body, for answers the MCP client will try to parse. */
function rpcError(code: number, message: string) {
  return { jsonrpc: "2.0", error: { code, message }, id: null };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
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

/** Host name of a Host header value, lower-cased and without the port ("[::1]" for IPv6). */
function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined || hostHeader === "") return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

/** The path of a request target, or undefined when it is not a valid URL path. */
function pathOf(target: string | undefined): string | undefined {
  // "//host/path" would parse as another host's URL: not a path this server serves.
  if (target?.startsWith("//")) return undefined;
  try {
    return new URL(target ?? "/", "http://request.invalid").pathname;
  } catch {
    return undefined;
  }
}

function originOf(originHeader: string): string | undefined {
  try {
    const origin = new URL(originHeader).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

export function createApp(
  config: Config,
  logger: Logger,
  authenticate: Authenticator = createAuthenticator(config),
  mcpServerFactory: typeof createMcpServer = createMcpServer,
): App {
  let draining = false;
  /** Responses not finished yet: told to close their connection when draining starts. */
  const inFlight = new Set<ServerResponse>();
  const metadata = protectedResourceMetadata(config, SERVER_NAME);
  const anyHost = config.allowedHosts.includes("*");
  const anyOrigin = config.allowedOrigins.includes("*");

  function hostAllowed(req: IncomingMessage): boolean {
    if (anyHost) return true;
    const hostname = hostnameOf(req.headers.host);
    return hostname !== undefined && config.allowedHosts.includes(hostname);
  }

  /**
   * Answer before the body was read. A body within the size limit is read and discarded
   * (a client that sends it all before reading would otherwise get a connection reset
   * instead of this answer); a larger or slower one is cut off with the connection, so no
   * client can make the server read more than the limit.
   */
  function refuse(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (req.readableEnded || req.destroyed || declared > config.maxBodyBytes) {
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
      if (discarded > config.maxBodyBytes) req.destroy();
    });
    req.resume();
  }

  /** undefined: no Origin header (non-browser client); false: foreign origin. */
  function checkOrigin(req: IncomingMessage): string | false | undefined {
    const header = req.headers.origin;
    if (header === undefined) return undefined;
    const origin = originOf(header);
    if (origin === undefined) return false;
    return anyOrigin || config.allowedOrigins.includes(origin) ? origin : false;
  }

  async function handleMcp(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
  ): Promise<void> {
    const log = ctx.log;
    if (!hostAllowed(req)) {
      log.warn({ host: req.headers.host }, "rejected: Host not allowed");
      refuse(req, res, 403, rpcError(-32000, "Forbidden: Host not allowed"));
      return;
    }
    const origin = checkOrigin(req);
    if (origin === false) {
      log.warn({ origin: req.headers.origin }, "rejected: Origin not allowed");
      refuse(req, res, 403, rpcError(-32000, "Forbidden: Origin not allowed"));
      return;
    }
    if (origin !== undefined) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS);
      res.setHeader("Vary", "Origin");
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "Access-Control-Allow-Methods": MCP_ALLOWED_METHODS,
        "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
      });
      res.end();
      return;
    }
    if (req.method !== "POST") {
      // Stateless server: no standalone SSE stream (GET) and no session to end (DELETE).
      refuse(req, res, 405, rpcError(-32000, "Method not allowed"), { Allow: MCP_ALLOWED_METHODS });
      return;
    }

    const auth = await authenticate(req);
    if (!auth.ok) {
      log.info({ status: auth.status, reason: auth.description }, "authentication failed");
      const headers: Record<string, string> = {
        "WWW-Authenticate": wwwAuthenticate(config, auth),
        "Cache-Control": "no-store",
      };
      if (auth.status === 503) headers["Retry-After"] = "5";
      refuse(
        req,
        res,
        auth.status,
        {
          error: auth.error ?? (auth.status === 503 ? "temporarily_unavailable" : "unauthorized"),
          error_description: auth.description,
        },
        headers,
      );
      return;
    }
    stripCredentials(req);
    // Expect: 100-continue is answered only now: a refused client never starts its upload.
    if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
    const identity = auth.identity;
    ctx.subject = identity.subject;
    const callerLog = log.child({ subject: identity.subject });

    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, config.maxBodyBytes)).toString("utf8"));
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        refuse(req, res, 413, rpcError(-32600, "Request body too large"));
        return;
      }
      sendJson(res, 400, rpcError(-32700, "Parse error: invalid JSON"));
      return;
    }

    const server = mcpServerFactory(identity, callerLog);
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.once("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    // Log the path only: a query string may carry credentials.
    const path = pathOf(req.url);
    const log = logger.child({ requestId });
    const ctx: RequestContext = { log, subject: undefined };
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("X-Request-Id", requestId);
    if (draining) res.setHeader("Connection", "close");
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));

    res.once("finish", () => {
      inFlight.delete(res);
      // While draining, a kept-alive connection would hold shutdown open: end it now.
      if (draining) req.socket.end();
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const entry = {
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 10) / 10,
        ...(ctx.subject === undefined ? {} : { subject: ctx.subject }),
      };
      if (path === "/health" || path === "/ready") log.debug(entry, "request");
      else log.info(entry, "request");
    });

    if (path === undefined) return refuse(req, res, 400, { error: "bad_request" });
    const isRead = req.method === "GET" || req.method === "HEAD";
    if (path === "/health") {
      if (!isRead)
        return sendJson(res, 405, { error: "method_not_allowed" }, { Allow: "GET, HEAD" });
      return sendJson(res, 200, { status: "ok" });
    }
    if (path === "/ready") {
      if (!isRead)
        return sendJson(res, 405, { error: "method_not_allowed" }, { Allow: "GET, HEAD" });
      return draining
        ? sendJson(res, 503, { status: "shutting_down" })
        : sendJson(res, 200, { status: "ready" });
    }
    if (METADATA_PATHS.has(path)) {
      const cors = { "Access-Control-Allow-Origin": "*" };
      if (req.method === "OPTIONS") {
        res.writeHead(204, { ...cors, "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS" });
        res.end();
        return;
      }
      if (!isRead)
        return sendJson(res, 405, { error: "method_not_allowed" }, { Allow: "GET, HEAD" });
      return sendJson(res, 200, metadata, { ...cors, "Cache-Control": "public, max-age=300" });
    }
    if (path === "/mcp") return handleMcp(req, res, ctx);
    return sendJson(res, 404, { error: "not_found" });
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, "unhandled error while serving a request");
      if (!res.headersSent) sendJson(res, 500, rpcError(-32603, "Internal error"));
      else res.end();
    });
  };
  const server = createServer(listener);
  // Without this, Node answers "100 Continue" itself, before authentication.
  server.on("checkContinue", listener);
  server.requestTimeout = 60_000;

  let closing: Promise<void> | undefined;
  function shutdown(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
      const timer = setTimeout(() => {
        logger.warn("shutdown timeout reached: closing remaining connections");
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  }

  return { server, shutdown };
}
