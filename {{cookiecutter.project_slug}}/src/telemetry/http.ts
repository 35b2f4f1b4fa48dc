/**
 * The HTTP layer: one SERVER span per request (HTTP semantic conventions), joined to the caller's
 * W3C `traceparent` header; request durations, requests in progress, open connections; the
 * authentication outcome. Each hook returns at once while telemetry is off.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { AuthResult } from "../auth/types.js";
import { instruments } from "./instruments.js";

const KNOWN_METHODS = new Set([
  "CONNECT",
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "PATCH",
  "POST",
  "PUT",
  "TRACE",
]);

/** Orchestrator probes: every few seconds from every replica, no span or metric (noise, cost). */
const PROBES = new Set(["/health", "/ready"]);

/**
 * The request target's path, without the query (it may carry credentials) and, for an
 * absolute-form target (`POST http://user:secret@host/mcp`), without the authority and its
 * userinfo, which the guards refuse only after the span has its attributes.
 */
function pathOnly(url: string | undefined): string | undefined {
  if (url === undefined || url.startsWith("//")) return undefined;
  if (!url.startsWith("/")) {
    try {
      return new URL(url).pathname;
    } catch {
      return undefined;
    }
  }
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/**
 * Runs `serve` inside a SERVER span for `req`. `routes` tells real routes (span names and the
 * `http.route` attribute) from anything else a client sends (never a span name: cardinality).
 */
export function observeHttpRequest(
  req: IncomingMessage,
  res: ServerResponse,
  routes: { has(path: string): boolean },
  serve: () => Promise<void>,
): Promise<void> {
  const tools = instruments;
  if (tools === undefined) return serve();
  const path = pathOnly(req.url);
  if (path !== undefined && PROBES.has(path)) return serve();

  const started = performance.now();
  const original = req.method ?? "GET";
  const method = KNOWN_METHODS.has(original) ? original : "_OTHER";
  const route = path !== undefined && routes.has(path) ? path : undefined;
  const common: Attributes = { "http.request.method": method, "url.scheme": "http" };
  // Built by assignment, not spreads: this runs on every request while telemetry is on.
  const attributes: Attributes = {
    "http.request.method": method,
    "url.scheme": "http",
    "url.path": path ?? "",
    "network.protocol.version": req.httpVersion,
  };
  if (method === "_OTHER") attributes["http.request.method_original"] = original;
  if (route !== undefined) attributes["http.route"] = route;
  const peer = req.socket.remoteAddress;
  if (peer !== undefined) attributes["network.peer.address"] = peer;
  const userAgent = req.headers["user-agent"];
  if (userAgent !== undefined) attributes["user_agent.original"] = userAgent;
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tools.tracer.startSpan(
    route === undefined ? method : `${method} ${route}`,
    { kind: SpanKind.SERVER, attributes },
    parent,
  );
  tools.activeRequests.add(1, common);

  res.once("close", () => {
    const status = res.statusCode;
    const finished = res.writableFinished;
    const errorType = !finished ? "aborted" : status >= 500 ? String(status) : undefined;
    span.setAttribute("http.response.status_code", status);
    if (errorType !== undefined) {
      span.setAttribute("error.type", errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
    tools.activeRequests.add(-1, common);
    const recorded: Attributes = {
      "http.request.method": method,
      "url.scheme": "http",
      "http.response.status_code": status,
    };
    if (route !== undefined) recorded["http.route"] = route;
    if (errorType !== undefined) recorded["error.type"] = errorType;
    tools.httpDuration.record((performance.now() - started) / 1000, recorded);
  });
  return context.with(trace.setSpan(parent, span), serve);
}

/**
 * Why authentication refused a request, as a fixed word (a metric label, a span attribute):
 * the RFC 6750 error code, or what stands in for one. Never the token, never the description.
 */
export function authFailureReason(result: AuthResult & { ok: false }): string {
  if (result.error !== undefined) return result.error;
  return result.status === 503 ? "temporarily_unavailable" : "missing_credentials";
}

/** Notes the authentication outcome on the request's span and counts refusals by reason. */
export function recordAuthOutcome(result: AuthResult): void {
  const tools = instruments;
  if (tools === undefined) return;
  const span = trace.getActiveSpan();
  if (result.ok) {
    span?.setAttributes({ "mcp.auth.outcome": "ok", "mcp.auth.method": result.identity.method });
    return;
  }
  const reason = authFailureReason(result);
  span?.setAttribute("mcp.auth.outcome", reason);
  tools.authFailures.add(1, { reason });
}

/** Counts the server's open TCP connections. */
export function observeConnections(server: Server): void {
  const tools = instruments;
  if (tools === undefined) return;
  server.on("connection", (socket) => {
    tools.openConnections.add(1);
    socket.once("close", () => tools.openConnections.add(-1));
  });
}
