/**
 * The HTTP surface, on plain node:http (no framework). The route table:
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
 * The pieces live in src/http/ and src/mcp/handler.ts; `createApp(config, logger, deps)` wires
 * them, and tests inject the authenticator and the MCP handler by name through `deps`.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { protectedResourceMetadata } from "./auth/metadata.js";
import { type Authenticator, createAuthenticator } from "./auth/middleware.js";
import { type Config, SERVER_NAME } from "./config.js";
import { logAccess } from "./http/access-log.js";
import { connectionBound, guardConnections, openFileLimit } from "./http/connections.js";
import { createDrain } from "./http/drain.js";
import { checkHostFraming, pathOf } from "./http/guards.js";
import { mcpRoute } from "./http/mcp-route.js";
import { refuserFor, rpcError, sendJson } from "./http/respond.js";
import { matchRoute, type Route, type RouteTable } from "./http/routes.js";
import type { Logger } from "./logger.js";
import { createMcpRequestHandler, type McpHandler } from "./mcp/handler.js";
import { observeConnections, observeHttpRequest } from "./telemetry/index.js";

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

function metadataRoute(config: Config): Route {
  const metadata = protectedResourceMetadata(config, SERVER_NAME);
  return {
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
}

export function createApp(config: Config, logger: Logger, deps: AppDeps = {}): App {
  const mcp = deps.mcp ?? createMcpRequestHandler(logger, config.maxBodyBytes);
  /** The authenticated caller of each request, for the access log line. */
  const subjects = new WeakMap<IncomingMessage, string>();
  const refuse = refuserFor(config.maxBodyBytes);

  // Node checks the header and request deadlines on this interval: keep it short so a client
  // that never finishes its headers is cut off close to HEADERS_TIMEOUT_MS.
  const server = createServer({ connectionsCheckingInterval: 1000 });
  const drain = createDrain(server, config.shutdownTimeoutMs, logger);

  const metadata = metadataRoute(config);
  const routes: RouteTable = new Map<string, Route>([
    ["/health", { methods: { GET: (_req, res) => sendJson(res, 200, { status: "ok" }) } }],
    [
      "/ready",
      {
        methods: {
          GET: (_req, res) =>
            drain.draining()
              ? sendJson(res, 503, { status: "shutting_down" })
              : sendJson(res, 200, { status: "ready" }),
        },
      },
    ],
    ["/.well-known/oauth-protected-resource", metadata],
    ["/.well-known/oauth-protected-resource/mcp", metadata],
    [
      "/mcp",
      mcpRoute({
        config,
        logger,
        authenticate: deps.authenticate ?? createAuthenticator(config),
        mcp,
        onAuthenticated: (req, subject) => subjects.set(req, subject),
      }),
    ],
  ]);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const path = pathOf(req.url);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("X-Request-Id", randomUUID());
    drain.track(res);
    res.once("finish", () => logAccess(logger, req, res, path, started, subjects.get(req)));

    const framing = checkHostFraming(req.rawHeaders);
    if (!framing.ok) {
      return refuse(req, res, 400, { error: "bad_request", error_description: framing.reason });
    }
    if (path === undefined) return refuse(req, res, 400, { error: "bad_request" });
    const match = matchRoute(routes, path, req.method ?? "GET");
    if (match.kind === "not_found") return refuse(req, res, 404, { error: "not_found" });
    if (match.route.guard !== undefined && !match.route.guard(req, res)) return;
    if (match.kind === "method_not_allowed") {
      const body = match.route.jsonRpc
        ? rpcError(-32000, "Method not allowed")
        : { error: "method_not_allowed" };
      return refuse(req, res, 405, body, { Allow: match.allow });
    }
    await match.handler(req, res);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    // The request's span (a no-op while telemetry is off) wraps everything that serves it.
    observeHttpRequest(req, res, routes, () => handle(req, res)).catch((error: unknown) => {
      logger.error({ err: error }, "unhandled error while serving a request");
      if (!res.headersSent) sendJson(res, 500, rpcError(-32603, "Internal error"));
      else res.end();
    });
  };
  server.on("request", listener);
  // Without this, Node answers "100 Continue" itself, before authentication.
  server.on("checkContinue", listener);
  server.headersTimeout = config.headersTimeoutMs;
  // Node also applies the request deadline to headers still arriving: keep it no shorter, or a
  // HEADERS_TIMEOUT_MS above a minute would silently be a minute.
  server.requestTimeout = Math.max(60_000, config.headersTimeoutMs);
  const fileLimit = "fileLimit" in deps ? deps.fileLimit : openFileLimit();
  const bound = connectionBound(config.maxConnections, fileLimit);
  const connections = guardConnections(server, bound, deps.now);
  observeConnections(server);
  logger.debug({ maxConnections: bound, fileLimit }, "connection bound");

  return {
    server,
    shutdown: async () => {
      const drained = drain.start();
      // Only requests already received are waited for: a connection still sending its headers
      // (or idle between requests) is closed now, not at the drain deadline.
      connections.closeIdle();
      await drained;
      await mcp.close();
    },
  };
}
