/**
 * The /mcp route: Host and Origin checks (before the method and before authentication),
 * the CORS preflight, and POST: authenticate, strip credentials, read the body, hand the
 * request to the MCP handler with the caller's identity.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Authenticator, wwwAuthenticate } from "../auth/middleware.js";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { McpHandler } from "../mcp/handler.js";
import { recordAuthOutcome } from "../telemetry/index.js";
import { readJsonBody } from "./body.js";
import { checkHost, checkOrigin } from "./guards.js";
import { refuserFor, rpcError, sendJson } from "./respond.js";
import type { Route } from "./routes.js";

const CORS_ALLOWED_HEADERS =
  "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Method, Mcp-Session-Id, Last-Event-ID";
const CORS_EXPOSED_HEADERS = "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version";

/** Credentials stop here: nothing after authentication (transport, tools) can read them. */
const CREDENTIAL_HEADERS = new Set(["authorization", "proxy-authorization", "cookie"]);

export function stripCredentials(req: IncomingMessage): void {
  for (const name of CREDENTIAL_HEADERS) delete req.headers[name];
  const raw: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? "";
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) raw.push(name, req.rawHeaders[i + 1] ?? "");
  }
  req.rawHeaders.splice(0, req.rawHeaders.length, ...raw);
}

export interface McpRouteDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly authenticate: Authenticator;
  readonly mcp: McpHandler;
  /** Called with the authenticated subject, for the access log line. */
  readonly onAuthenticated: (req: IncomingMessage, subject: string) => void;
}

export function mcpRoute({
  config,
  logger,
  authenticate,
  mcp,
  onAuthenticated,
}: McpRouteDeps): Route {
  const refuse = refuserFor(config.maxBodyBytes);
  const logOf = (res: ServerResponse) => logger.child({ requestId: res.getHeader("X-Request-Id") });

  function guard(req: IncomingMessage, res: ServerResponse): boolean {
    const host = checkHost(req.headers.host, req.url, config.allowedHosts);
    if (!host.ok) {
      logOf(res).warn({ host: req.headers.host, reason: host.reason }, "rejected: Host");
      refuse(req, res, host.status, rpcError(-32000, `Forbidden: ${host.reason}`));
      return false;
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

  function preflight(_req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(204, {
      "Access-Control-Allow-Methods": "POST, OPTIONS",
      "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
      "Access-Control-Max-Age": "600",
    });
    res.end();
  }

  async function post(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    // Expect: 100-continue is answered only now: a refused client never starts its upload.
    if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
    onAuthenticated(req, auth.identity.subject);

    const body = await readJsonBody(req, config.maxBodyBytes);
    if (!body.ok) {
      if ("aborted" in body) {
        logOf(res).debug("client closed the connection before sending its whole body");
        return;
      }
      if (body.status === 400) sendJson(res, 400, body.error);
      else refuse(req, res, body.status, body.error);
      return;
    }
    await mcp.handle(req, res, auth.identity, body.body);
  }

  // Stateless: no standalone SSE stream (GET) and no session to end (DELETE).
  return { guard, jsonRpc: true, methods: { POST: post, OPTIONS: preflight } };
}
