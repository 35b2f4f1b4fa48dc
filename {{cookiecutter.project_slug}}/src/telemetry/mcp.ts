/**
 * The MCP layer: one SERVER span per MCP request (`tools/call echo`, `tools/list`...) following
 * the OpenTelemetry MCP semantic conventions, and the `mcp.server.operation.duration` histogram.
 *
 * Trace context (SEP-414): a 2026-07-28 request may carry `traceparent`/`tracestate` in
 * `params._meta`. That context is the MCP span's parent, and the HTTP request's span (itself
 * joined to an HTTP `traceparent` header) becomes a link: the MCP call belongs to the caller's
 * MCP operation, the HTTP exchange is only its transport (one MCP request may take several HTTP
 * attempts). Without `_meta` context, the MCP span is a child of the HTTP span.
 *
 * The outcome (JSON-RPC error code, a tool's `isError`) is read from the response as it is
 * written, JSON or SSE, without changing a byte of it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import {
  type Attributes,
  context,
  isSpanContextValid,
  type Link,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { Identity } from "../auth/types.js";
import { instruments } from "./instruments.js";
import { type Outcome, ResponseWatcher } from "./response.js";

/** Methods named as such in metrics; anything else a client sends is "_OTHER" (cardinality). */
const KNOWN_METHODS = new Set([
  "initialize",
  "ping",
  "server/discover",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "subscriptions/listen",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
]);

const NAME_SHAPE = /^[A-Za-z0-9_.\-/]{1,128}$/;
/** Span status messages are cut like span attribute values (sdk.ts). */
const MAX_STATUS_MESSAGE_LENGTH = 1024;
/**
 * Revisions named in spans and metrics: those the SDK serves (its handshake-era list, which it
 * exports, and the stateless revision, which it does not). The version comes from the client
 * (a header, `_meta`, initialize's params), and a date-shaped check let any of 10^8 made-up
 * dates become a metric series of its own: anything else is left out.
 */
const KNOWN_REVISIONS: ReadonlySet<string> = new Set([
  ...SUPPORTED_PROTOCOL_VERSIONS,
  "2026-07-28",
]);

interface McpRequestInfo {
  readonly method: string;
  readonly id: string | undefined;
  readonly tool: string | undefined;
  readonly prompt: string | undefined;
  readonly resourceUri: string | undefined;
  readonly meta: Record<string, unknown> | undefined;
  readonly protocolVersion: string | undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function infoOf(req: IncomingMessage, body: unknown): McpRequestInfo {
  const message = record(body);
  const params = record(message?.params);
  const meta = record(params?._meta);
  const rawMethod = Array.isArray(body) ? "batch" : (text(message?.method) ?? "");
  const method = KNOWN_METHODS.has(rawMethod) ? rawMethod : "_OTHER";
  const id = message?.id;
  const name = text(params?.name);
  const revision =
    text(req.headers["mcp-protocol-version"]) ??
    text(meta?.["io.modelcontextprotocol/protocolVersion"]) ??
    (method === "initialize" ? text(params?.protocolVersion) : undefined);
  return {
    method,
    id: typeof id === "string" || typeof id === "number" ? String(id) : undefined,
    tool: method === "tools/call" && name !== undefined && NAME_SHAPE.test(name) ? name : undefined,
    prompt:
      method === "prompts/get" && name !== undefined && NAME_SHAPE.test(name) ? name : undefined,
    resourceUri: method === "resources/read" ? text(params?.uri) : undefined,
    meta,
    protocolVersion: revision !== undefined && KNOWN_REVISIONS.has(revision) ? revision : undefined,
  };
}

/**
 * Runs `serve` (the SDK answering one authenticated MCP request) inside the MCP span.
 * `body` is the parsed request; nothing of it but method, names, id and trace context is read.
 */
export function observeMcpRequest(
  req: IncomingMessage,
  res: ServerResponse,
  identity: Identity,
  body: unknown,
  serve: () => Promise<void>,
): Promise<void> {
  const tools = instruments;
  if (tools === undefined) return serve();

  const started = performance.now();
  const info = infoOf(req, body);
  const ambient = context.active();
  const ambientSpan = trace.getSpanContext(ambient);

  // SEP-414: a traceparent in _meta is the parent; the HTTP span becomes a link.
  let parent = ambient;
  const links: Link[] = [];
  if (info.meta !== undefined && typeof info.meta.traceparent === "string") {
    const fromMeta = propagation.extract(ROOT_CONTEXT, info.meta);
    const metaSpan = trace.getSpanContext(fromMeta);
    if (metaSpan !== undefined && isSpanContextValid(metaSpan)) {
      parent = fromMeta;
      if (ambientSpan !== undefined && isSpanContextValid(ambientSpan)) {
        links.push({ context: ambientSpan, attributes: { "mcp.link.kind": "transport" } });
      }
    }
  }

  const target = info.tool ?? info.prompt;
  // Built by assignment, not spreads: this runs on every request while telemetry is on.
  const metricAttributes: Attributes = {
    "mcp.method.name": info.method,
    "network.transport": "tcp",
  };
  if (info.protocolVersion !== undefined) {
    metricAttributes["mcp.protocol.version"] = info.protocolVersion;
  }
  const spanAttributes: Attributes = {
    ...metricAttributes,
    "network.protocol.name": "http",
    "mcp.auth.outcome": "ok",
    "mcp.auth.method": identity.method,
  };
  if (info.id !== undefined) spanAttributes["jsonrpc.request.id"] = info.id;
  if (info.tool !== undefined) {
    spanAttributes["gen_ai.tool.name"] = info.tool;
    spanAttributes["gen_ai.operation.name"] = "execute_tool";
  }
  if (info.prompt !== undefined) spanAttributes["gen_ai.prompt.name"] = info.prompt;
  if (info.resourceUri !== undefined) spanAttributes["mcp.resource.uri"] = info.resourceUri;
  const span = tools.tracer.startSpan(
    target === undefined ? info.method : `${info.method} ${target}`,
    { kind: SpanKind.SERVER, links, attributes: spanAttributes },
    parent,
  );

  const watcher = new ResponseWatcher(res, info.id, {
    streamOpened: () => tools.openStreams.add(1),
    streamClosed: () => tools.openStreams.add(-1),
  });
  res.once("close", () => {
    const outcome: Outcome = watcher.finish();
    if (outcome.rpcCode !== undefined) {
      span.setAttribute("rpc.response.status_code", String(outcome.rpcCode));
    }
    // A JSON-RPC error (an unknown tool or prompt): the name the client made up leaves the span
    // name, which trace backends index (operation lists, span metrics) like a metric label.
    if (outcome.rpcCode !== undefined && target !== undefined) span.updateName(info.method);
    if (outcome.errorType !== undefined) {
      // The SDK's message repeats what the client sent (a tool name of any length).
      const message = (outcome.message ?? outcome.errorType).slice(0, MAX_STATUS_MESSAGE_LENGTH);
      span.setAttribute("error.type", outcome.errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    span.end();
    // A name a client made up (an unknown tool: a JSON-RPC error) never becomes a metric label.
    const recorded: Attributes = { ...metricAttributes };
    if (outcome.rpcCode === undefined) {
      if (info.tool !== undefined) recorded["gen_ai.tool.name"] = info.tool;
      if (info.prompt !== undefined) recorded["gen_ai.prompt.name"] = info.prompt;
    }
    if (outcome.errorType !== undefined) recorded["error.type"] = outcome.errorType;
    tools.operationDuration.record((performance.now() - started) / 1000, recorded);
  });
  return context.with(trace.setSpan(parent, span), serve);
}
