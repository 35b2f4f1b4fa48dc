/**
 * The MCP routes: POST /mcp and the RFC 9728 metadata document that describes it.
 *
 * /mcp: Host and Origin checks (before the method and before authentication), the CORS
 * preflight, and POST: rate limit per address, authenticate, strip credentials, limits per
 * caller, read the body, check the called tools' scopes, hand the request to the MCP handler
 * (src/mcp/handler.ts) with the caller's identity. The pieces are src/http/ plumbing and
 * src/auth/; the authenticator and the handler are made here unless a test injects them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { protectedResourceMetadata } from "../auth/metadata.js";
import {
  type Authenticator,
  challengeScopes,
  createAuthenticator,
  wwwAuthenticate,
} from "../auth/middleware.js";
import { scopesNeeded } from "../auth/scopes.js";
import { deny } from "../auth/types.js";
import { type Config, SERVER_NAME } from "../config.js";
import { readJsonBody } from "../http/body.js";
import { answerPreflight, CORS_EXPOSED_HEADERS } from "../http/cors.js";
import { checkHost, checkOrigin, originForm } from "../http/headers.js";
import type { Limiter, LimitGrant } from "../http/limits.js";
import { refuserFor, rpcError, sendJson } from "../http/respond.js";
import type { Route } from "../http/routes.js";
import { type Watchdog, whenSent } from "../http/watchdog.js";
import type { Logger } from "../logger.js";
import { recordAuthOutcome } from "../telemetry/index.js";
import { allToolScopes, toolScopes } from "../tools/index.js";
import { createMcpRequestHandler, type McpHandler } from "./handler.js";

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
 * /.well-known/oauth-protected-resource[/mcp]: where MCP clients find the authorization server
 * and the scopes (the required ones and every tool's), readable from any origin.
 */
export function metadataRoute(config: Config): Route {
  const metadata = protectedResourceMetadata(config, SERVER_NAME, allToolScopes());
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

interface McpRouteDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** Turns a request into an identity or a refusal (default: the verifier AUTH_MODE selects). */
  readonly authenticate?: Authenticator | undefined;
  /** Serves an authenticated MCP request (default: the SDK handler over src/tools/). */
  readonly mcp?: McpHandler | undefined;
  /** Called with the authenticated subject, for the access log line. */
  readonly onAuthenticated: (req: IncomingMessage, subject: string) => void;
  /** Fair limits per caller and address. */
  readonly limiter: Limiter;
  /** Body deadlines and stream lifetimes. */
  readonly watchdog: Watchdog;
}

interface McpRoute {
  readonly route: Route;
  /** Closes the MCP handler (at shutdown, once the drain is over). */
  close(): Promise<void>;
}

/** JSON-RPC method of a single (non-batch) message, for the stream cap. */
function isListen(body: unknown): boolean {
  return (
    typeof body === "object" &&
    body !== null &&
    (body as { method?: unknown }).method === "subscriptions/listen"
  );
}

export function createMcpRoute({
  config,
  logger,
  authenticate = createAuthenticator(config, logger),
  mcp = createMcpRequestHandler(logger, config.maxBodyBytes),
  onAuthenticated,
  limiter,
  watchdog,
}: McpRouteDeps): McpRoute {
  const refuse = refuserFor(config.maxBodyBytes);
  const knownScopes = new Set([...config.requiredScopes, ...allToolScopes()]);
  const logOf = (res: ServerResponse) => logger.child({ requestId: res.getHeader("X-Request-Id") });

  function guard(req: IncomingMessage, res: ServerResponse): boolean {
    const host = checkHost(req.headers.host, req.url, config.allowedHosts);
    if (!host.ok) {
      logOf(res).warn({ host: req.headers.host, reason: host.reason }, "rejected: Host");
      refuse(req, res, host.status, rpcError(-32000, `Forbidden: ${host.reason}`));
      return false;
    }
    // Absolute-form (`POST http://host/mcp`): served as origin-form, with the target's
    // authority as Host (RFC 9112 3.2.2), both already checked against ALLOWED_HOSTS above.
    const target = req.url ?? "/";
    if (!target.startsWith("/")) {
      const path = originForm(target);
      if (path === undefined) {
        refuse(req, res, 400, rpcError(-32000, "Bad request: malformed request target"));
        return false;
      }
      req.headers.host = new URL(target).host;
      req.url = path;
    }
    const origin = checkOrigin(req.headers.origin, config.allowedOrigins);
    if (!origin.ok) {
      logOf(res).warn({ origin: req.headers.origin }, "rejected: Origin not allowed");
      refuse(req, res, 403, rpcError(-32000, "Forbidden: Origin not allowed"));
      return false;
    }
    if (origin.origin !== undefined) {
      res.setHeader("Access-Control-Allow-Origin", origin.origin);
      res.setHeader("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS);
      res.setHeader("Vary", "Origin");
    }
    return true;
  }

  async function post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Before authentication: a client address cannot make the server verify tokens unboundedly.
    const admitted = limiter.admitAddress(req.socket.remoteAddress);
    if (!admitted.ok) {
      logOf(res).debug({ reason: admitted.reason }, "rejected: rate limit");
      refuse(req, res, 429, rpcError(-32000, "Too many requests"), admitted.headers);
      return;
    }
    const auth = await authenticate(req);
    recordAuthOutcome(auth);
    if (!auth.ok) {
      logOf(res).info({ status: auth.status, reason: auth.description }, "authentication failed");
      const headers: Record<string, string> = {
        "WWW-Authenticate": wwwAuthenticate(config, auth),
        "Cache-Control": "no-store",
      };
      if (auth.status === 503) headers["Retry-After"] = String(auth.retryAfterSeconds ?? 5);
      const error =
        auth.error ?? (auth.status === 503 ? "temporarily_unavailable" : "unauthorized");
      refuse(req, res, auth.status, { error, error_description: auth.description }, headers);
      return;
    }
    stripCredentials(req);
    const subject = auth.identity.subject;
    onAuthenticated(req, subject);
    // One slot per request in progress, held until the answer has left the process.
    const slot = limiter.admitRequest(subject);
    if (!slot.ok) {
      logOf(res).debug({ reason: slot.reason, subject }, "rejected: limit per caller");
      refuse(req, res, 429, rpcError(-32000, "Too many requests"), slot.headers);
      return;
    }
    let held: LimitGrant = slot;
    whenSent(res, () => held.release());
    // Expect: 100-continue is answered only now: a refused client never starts its upload.
    if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();

    watchdog.bodyStarted(req, res);
    const body = await readJsonBody(req, config.maxBodyBytes).finally(() => watchdog.bodyDone(req));
    // The watchdog answered 408 (too slow) while the last bytes were still arriving.
    if (res.headersSent) return;
    if (!body.ok) {
      if ("aborted" in body) {
        logOf(res).debug("client closed the connection before sending its whole body");
        return;
      }
      if (body.status === 400) sendJson(res, 400, body.error);
      else refuse(req, res, body.status, body.error);
      return;
    }
    // Per-tool scopes, before the SDK runs anything: a call of a tool whose scopes the caller
    // lacks is the MCP scope challenge (403 insufficient_scope), which clients answer by asking
    // for the scopes named: the required ones, those of this server's the caller already holds
    // (so a step-up keeps them; other scopes of the token are not echoed) and the tool's.
    const needed = scopesNeeded(body.body, toolScopes);
    const missing = needed.filter((scope) => !auth.identity.scopes.includes(scope));
    if (missing.length > 0) {
      logOf(res).info({ missing }, "refused: insufficient scope for the tool");
      const description = `missing scope: ${missing.join(" ")}`;
      const refusal = deny(403, description, "insufficient_scope");
      const heldScopes = auth.identity.scopes.filter((scope) => knownScopes.has(scope));
      const scopes = [...new Set([...challengeScopes(config), ...heldScopes, ...needed])];
      const headers = {
        "WWW-Authenticate": wwwAuthenticate(config, refusal, scopes),
        "Cache-Control": "no-store",
      };
      sendJson(res, 403, { error: "insufficient_scope", error_description: description }, headers);
      return;
    }
    if (isListen(body.body)) {
      const stream = limiter.upgradeToStream(subject, held);
      if (!stream.ok) {
        logOf(res).debug({ reason: stream.reason, subject }, "rejected: limit per caller");
        sendJson(res, 429, rpcError(-32000, "Too many open streams"), stream.headers);
        return;
      }
      held = stream;
      watchdog.streamStarted(res);
    }
    await mcp.handle(req, res, auth.identity, body.body);
  }

  return {
    // Stateless: no standalone SSE stream (GET) and no session to end (DELETE).
    route: { guard, jsonRpc: true, methods: { POST: post, OPTIONS: answerPreflight } },
    close: () => mcp.close(),
  };
}
