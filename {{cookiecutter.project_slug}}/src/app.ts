/**
 * The HTTP surface, on plain node:http (no framework). The route table:
 *
 *   GET  /health                                      liveness, no auth, no host check
 *   GET  /ready                                       readiness (503 while shutting down)
 *   (both also on PROBE_PORT when set: a listener of their own, with its own connection budget)
 *   GET  /.well-known/oauth-protected-resource[/mcp]  RFC 9728 metadata, no auth
 *   POST /mcp                                         MCP, stateless, both protocol eras
 *
 * A request to /mcp flows one way:
 *   framing -> Host check -> Origin check -> method -> rate limit per address -> authentication
 *   -> limits per caller (requests in progress, rate) -> body (encoding, limit, deadline, JSON)
 *   -> stream cap (subscriptions/listen) -> the SDK's stateless handler -> tool (sees the
 *   caller's identity, never the token).
 *
 * Here: the listeners, the drain, the limits and the route table. The /mcp and metadata routes
 * are src/mcp/route.ts; tests inject the authenticator and the MCP handler by name through `deps`.
 *
 * Imports point one way, down the request path: a module imports from its own layer and the
 * layers below it, never from one above.
 *   index.ts, app.ts -> mcp/route.ts -> mcp/handler.ts, mcp/server.ts, mcp/node-adapter.ts ->
 *   tools/, resources/, prompts/ -> mcp/context.ts, mcp/schema.ts -> auth/ -> config.ts ->
 *   auth/modes/, auth/mode.ts, auth/credentials.ts, auth/presets.ts, auth/jwks.ts, auth/types.ts
 *   -> env.ts -> http/
 * http/ is plumbing beneath them all: it knows nothing of MCP, auth or configuration (its
 * settings are passed in). logger.ts and telemetry/ are shared: any layer may import them;
 * they import from auth/ and below.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Authenticator } from "./auth/middleware.js";
import type { Config } from "./config.js";
import { logAccess } from "./http/access-log.js";
import { connectionBound, guardConnections, openFileLimit } from "./http/connections.js";
import { createDrain } from "./http/drain.js";
import { checkHostFraming, pathOf } from "./http/headers.js";
import { createLimiter, type LimitReason } from "./http/limits.js";
import { refuserFor, rpcError, sendJson } from "./http/respond.js";
import { matchRoute, type Route, type RouteTable } from "./http/routes.js";
import { createWatchdog } from "./http/watchdog.js";
import type { Logger } from "./logger.js";
import type { McpHandler } from "./mcp/handler.js";
import { createMcpRoute, metadataRoute } from "./mcp/route.js";
import { observeConnections, observeHttpRequest, recordLimitRejection } from "./telemetry/index.js";

export interface App {
  readonly server: Server;
  /** The probe listener (/health, /ready only) when PROBE_PORT is set; index.ts listens on it. */
  readonly probe: Server | undefined;
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
  /** Called once per request refused or connection cut by a limit (default: the telemetry counter). */
  readonly onLimitRejected?: (reason: LimitReason) => void;
}

/** Probe connections wait this long for their request headers (probes send them at once). */
const PROBE_HEADERS_TIMEOUT_MS = 2000;

export function createApp(config: Config, logger: Logger, deps: AppDeps = {}): App {
  /** The authenticated caller of each request, for the access log line. */
  const subjects = new WeakMap<IncomingMessage, string>();
  const refuse = refuserFor(config.maxBodyBytes);

  // Node checks the header and request deadlines on this interval: keep it short so a client
  // that never finishes its headers is cut off close to HEADERS_TIMEOUT_MS.
  const server = createServer({ connectionsCheckingInterval: 1000 });
  const drain = createDrain(server, config.shutdownTimeoutMs, logger);

  const onReject = deps.onLimitRejected ?? recordLimitRejection;
  const limiter = createLimiter(config.limits, { now: deps.now, onReject });
  /** Connections the sweep cuts are logged here (refused requests get their access log line). */
  const onCut = (reason: LimitReason): void => {
    logger.info({ reason }, "connection cut by a limit");
    onReject?.(reason);
  };

  const metadata = metadataRoute(config);
  const probeRoutes: RouteTable = new Map<string, Route>([
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
  ]);
  // Assigned once the connection guard exists (below); the sweep only runs after that.
  let openSockets: () => Iterable<Socket> = () => [];
  const watchdog = createWatchdog(config.limits, {
    now: deps.now,
    sockets: () => openSockets(),
    onReject: onCut,
    onSweep: () => limiter.prune(),
    onBodyTimeout: (req, res) => {
      if (res.headersSent) {
        req.destroy();
        return;
      }
      sendJson(res, 408, rpcError(-32000, "Request body timeout"), { Connection: "close" });
      res.once("finish", () => req.destroy());
    },
  });
  const mcpRoute = createMcpRoute({
    config,
    logger,
    authenticate: deps.authenticate,
    mcp: deps.mcp,
    onAuthenticated: (req, subject) => subjects.set(req, subject),
    limiter,
    watchdog,
  });
  const routes: RouteTable = new Map<string, Route>([
    ...probeRoutes,
    ["/.well-known/oauth-protected-resource", metadata],
    ["/.well-known/oauth-protected-resource/mcp", metadata],
    ["/mcp", mcpRoute.route],
  ]);

  async function handle(
    table: RouteTable,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
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
    const match = matchRoute(table, path, req.method ?? "GET");
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

  const listenerFor =
    (table: RouteTable) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      // The request's span (a no-op while telemetry is off, and for probes) wraps its serving.
      observeHttpRequest(req, res, table, () => handle(table, req, res)).catch((error: unknown) => {
        logger.error({ err: error }, "unhandled error while serving a request");
        if (!res.headersSent) sendJson(res, 500, rpcError(-32603, "Internal error"));
        else res.end();
      });
    };
  const listener = listenerFor(routes);
  server.on("request", listener);
  // Without this, Node answers "100 Continue" itself, before authentication.
  server.on("checkContinue", listener);
  server.headersTimeout = config.headersTimeoutMs;
  // Node also applies the request deadline to headers still arriving: keep it no shorter, or a
  // HEADERS_TIMEOUT_MS above a minute would silently be a minute.
  server.requestTimeout = Math.max(60_000, config.headersTimeoutMs);
  const fileLimit = "fileLimit" in deps ? deps.fileLimit : openFileLimit();
  // The probe listener's budget comes off the main one: both stay below the file limit.
  const probeBudget = config.probePort === undefined ? 0 : config.probeMaxConnections;
  const mainFiles = fileLimit === undefined ? undefined : fileLimit - probeBudget;
  const bound = connectionBound(config.maxConnections, mainFiles);
  const connections = guardConnections(server, bound, deps.now);
  openSockets = () => connections.sockets();
  watchdog.start();
  observeConnections(server);
  logger.debug({ maxConnections: bound, fileLimit, probeBudget }, "connection bound");

  const probe = config.probePort === undefined ? undefined : probeServer(probeBudget);
  function probeServer(budget: number): Server {
    const probeListener = createServer({ connectionsCheckingInterval: 1000 });
    probeListener.on("request", listenerFor(probeRoutes));
    probeListener.headersTimeout = PROBE_HEADERS_TIMEOUT_MS;
    probeListener.requestTimeout = 5000;
    guardConnections(probeListener, budget, deps.now);
    return probeListener;
  }

  return {
    server,
    probe,
    shutdown: async () => {
      const drained = drain.start();
      // Only requests already received are waited for: a connection still sending its headers
      // (or idle between requests) is closed now, not at the drain deadline.
      connections.closeIdle();
      await drained;
      watchdog.stop();
      await mcpRoute.close();
      // Last: liveness keeps answering while the main port drains.
      if (probe?.listening) {
        probe.closeAllConnections();
        await new Promise<void>((resolve) => probe.close(() => resolve()));
      }
    },
  };
}
