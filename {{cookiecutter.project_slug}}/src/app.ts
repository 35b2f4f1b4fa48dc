/**
 * The HTTP surface, on plain node:http (no framework). The routes:
 *
 *   GET  /health                                      liveness, no auth, no host check
 *   GET  /ready                                       readiness (503 while shutting down)
 *   GET  /.well-known/oauth-protected-resource[/mcp]  RFC 9728 metadata, no auth
 *   POST /mcp                                         MCP, stateless, both protocol eras
 *
 * A request to /mcp flows one way:
 *   framing -> Host check -> Origin check -> method -> authentication -> body (encoding, limit,
 *   JSON) -> the SDK's stateless handler -> tool (sees the caller's identity, never the token).
 *
 * The pieces live in src/http/ (guards, route table, body, responses, connection bound) and
 * src/mcp/handler.ts; `createApp(config, logger, deps)` wires them, and tests inject the
 * authenticator and the MCP handler by name through `deps`.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { protectedResourceMetadata } from "./auth/metadata.js";
import { type Authenticator, createAuthenticator, wwwAuthenticate } from "./auth/middleware.js";
import { type Config, SERVER_NAME } from "./config.js";
import { readJsonBody } from "./http/body.js";
import { connectionBound, guardConnections, openFileLimit } from "./http/connections.js";
import { checkHost, checkHostFraming, checkOrigin, pathOf } from "./http/guards.js";
import { refuse, rpcError, sendJson } from "./http/respond.js";
import { matchRoute, type Route, type RouteTable } from "./http/routes.js";
import type { Logger } from "./logger.js";
import { createMcpRequestHandler, type McpHandler } from "./mcp/handler.js";

export interface App {
  readonly server: Server;
  /** Stops accepting connections, lets in-flight requests finish, then resolves. */
  shutdown(): Promise<void>;
}

export interface AppDeps {
  /** Turns a request into an identity or a refusal (default: the verifier AUTH_MODE selects). */
  readonly authenticate?: Authenticator;
  /** Serves an authenticated MCP request (default: the SDK handler over src/tools/). */
  readonly mcp?: McpHandler;
  /** The clock of the connection bound's idle ordering. */
  readonly now?: () => number;
  /** The process's open-file limit (default: read from /proc); the connection bound stays below it. */
  readonly fileLimit?: number | undefined;
}

const CORS_ALLOWED_HEADERS =
  "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Method, Mcp-Session-Id, Last-Event-ID";
const CORS_EXPOSED_HEADERS = "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version";
const PROBE_PATHS = new Set(["/health", "/ready"]);

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

/**
 * While draining, every response says `Connection: close`, even when a handler (the SDK's
 * SSE answer) names its own Connection header in writeHead.
 */
function closeWhileDraining(res: ServerResponse, draining: () => boolean): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (draining()) {
      const last = args.at(-1);
      if (last !== null && typeof last === "object" && !Array.isArray(last)) {
        const headers = Object.fromEntries(
          Object.entries(last).filter(([name]) => name.toLowerCase() !== "connection"),
        );
        args[args.length - 1] = headers;
      }
      this.setHeader("Connection", "close");
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
}

/** The authenticated caller of each in-flight request, for the access log line. */
const subjects = new WeakMap<IncomingMessage, string>();

export function createApp(config: Config, logger: Logger, deps: AppDeps = {}): App {
  const authenticate = deps.authenticate ?? createAuthenticator(config);
  const mcp = deps.mcp ?? createMcpRequestHandler(logger, config.maxBodyBytes);
  let draining = false;
  const metadata = protectedResourceMetadata(config, SERVER_NAME);
  const refuseWith = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => refuse(req, res, config.maxBodyBytes, status, body, headers);

  function guardMcp(req: IncomingMessage, res: ServerResponse): boolean {
    const log = logger.child({ requestId: res.getHeader("X-Request-Id") });
    const host = checkHost(req.headers.host, req.url, config.allowedHosts);
    if (!host.ok) {
      log.warn({ host: req.headers.host, reason: host.reason }, "rejected: Host");
      refuseWith(req, res, host.status, rpcError(-32000, `Forbidden: ${host.reason}`));
      return false;
    }
    const origin = checkOrigin(req.headers.origin, config.allowedOrigins);
    if (!origin.ok) {
      log.warn({ origin: req.headers.origin }, "rejected: Origin not allowed");
      refuseWith(req, res, 403, rpcError(-32000, "Forbidden: Origin not allowed"));
      return false;
    }
    if (origin.origin !== undefined) {
      res.setHeader("Access-Control-Allow-Origin", origin.origin);
      res.setHeader("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS);
      res.setHeader("Vary", "Origin");
    }
    return true;
  }

  function mcpPreflight(_req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(204, {
      "Access-Control-Allow-Methods": "POST, OPTIONS",
      "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
      "Access-Control-Max-Age": "600",
    });
    res.end();
  }

  async function mcpPost(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const log = logger.child({ requestId: res.getHeader("X-Request-Id") });
    const auth = await authenticate(req);
    if (!auth.ok) {
      log.info({ status: auth.status, reason: auth.description }, "authentication failed");
      const headers: Record<string, string> = {
        "WWW-Authenticate": wwwAuthenticate(config, auth),
        "Cache-Control": "no-store",
      };
      if (auth.status === 503) headers["Retry-After"] = String(auth.retryAfterSeconds ?? 5);
      const error =
        auth.error ?? (auth.status === 503 ? "temporarily_unavailable" : "unauthorized");
      refuseWith(req, res, auth.status, { error, error_description: auth.description }, headers);
      return;
    }
    stripCredentials(req);
    // Expect: 100-continue is answered only now: a refused client never starts its upload.
    if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
    subjects.set(req, auth.identity.subject);

    const body = await readJsonBody(req, config.maxBodyBytes);
    if (!body.ok) {
      if (body.status === 400) sendJson(res, 400, body.error);
      else refuseWith(req, res, body.status, body.error);
      return;
    }
    await mcp.handle(req, res, auth.identity, body.body);
  }

  const readiness = (_req: IncomingMessage, res: ServerResponse) =>
    draining
      ? sendJson(res, 503, { status: "shutting_down" })
      : sendJson(res, 200, { status: "ready" });
  const metadataRoute: Route = {
    methods: {
      GET: (_req, res) =>
        sendJson(res, 200, metadata, {
          "Access-Control-Allow-Origin": "*",
          "Cache-Control": "public, max-age=300",
        }),
      OPTIONS: (_req, res) => {
        res.writeHead(204, {
          "Access-Control-Allow-Origin": "*",
          "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        });
        res.end();
      },
    },
  };
  const routes: RouteTable = new Map<string, Route>([
    ["/health", { methods: { GET: (_req, res) => sendJson(res, 200, { status: "ok" }) } }],
    ["/ready", { methods: { GET: readiness } }],
    ["/.well-known/oauth-protected-resource", metadataRoute],
    ["/.well-known/oauth-protected-resource/mcp", metadataRoute],
    // Stateless: no standalone SSE stream (GET) and no session to end (DELETE).
    ["/mcp", { guard: guardMcp, jsonRpc: true, methods: { POST: mcpPost, OPTIONS: mcpPreflight } }],
  ]);

  function logAccess(
    req: IncomingMessage,
    res: ServerResponse,
    path: string | undefined,
    started: bigint,
  ): void {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const subject = subjects.get(req);
    const entry = {
      requestId: res.getHeader("X-Request-Id"),
      method: req.method,
      path,
      status: res.statusCode,
      durationMs: Math.round(durationMs * 10) / 10,
      ...(subject === undefined ? {} : { subject }),
    };
    // Probes arrive every few seconds: at trace, so they never flood development logs.
    if (path !== undefined && PROBE_PATHS.has(path)) logger.trace(entry, "request");
    else logger.info(entry, "request");
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    // Log the path only: a query string may carry credentials.
    const path = pathOf(req.url);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("X-Request-Id", randomUUID());
    closeWhileDraining(res, () => draining);
    res.once("finish", () => {
      // While draining, a kept-alive connection would hold shutdown open: end it now.
      if (draining) req.socket.end();
      logAccess(req, res, path, started);
    });

    const framing = checkHostFraming(req.rawHeaders);
    if (!framing.ok)
      return refuseWith(req, res, 400, { error: "bad_request", error_description: framing.reason });
    if (path === undefined) return refuseWith(req, res, 400, { error: "bad_request" });
    const match = matchRoute(routes, path, req.method ?? "GET");
    if (match.kind === "not_found") return refuseWith(req, res, 404, { error: "not_found" });
    if (match.route.guard !== undefined && !match.route.guard(req, res)) return;
    if (match.kind === "method_not_allowed") {
      const body = match.route.jsonRpc
        ? rpcError(-32000, "Method not allowed")
        : { error: "method_not_allowed" };
      return refuseWith(req, res, 405, body, { Allow: match.allow });
    }
    await match.handler(req, res);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, "unhandled error while serving a request");
      if (!res.headersSent) sendJson(res, 500, rpcError(-32603, "Internal error"));
      else res.end();
    });
  };
  // Node checks the header and request deadlines on this interval: keep it short so a client
  // that never finishes its headers is cut off close to HEADERS_TIMEOUT_MS.
  const server = createServer({ connectionsCheckingInterval: 1000 }, listener);
  // Without this, Node answers "100 Continue" itself, before authentication.
  server.on("checkContinue", listener);
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = 60_000;
  const fileLimit = "fileLimit" in deps ? deps.fileLimit : openFileLimit();
  const guard = guardConnections(
    server,
    connectionBound(config.maxConnections, fileLimit),
    deps.now,
  );
  logger.debug({ maxConnections: guard.limit, fileLimit }, "connection bound");

  let closing: Promise<void> | undefined;
  function shutdown(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      draining = true;
      const timer = setTimeout(() => {
        logger.warn("shutdown timeout reached: closing remaining connections");
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        void mcp.close().finally(resolve);
      });
      server.closeIdleConnections();
    });
    return closing;
  }

  return { server, shutdown };
}
