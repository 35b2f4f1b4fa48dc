/**
 * The metric instruments, created once the SDK's meter provider is registered (the metrics API
 * has no proxy: an instrument made before registration would stay a no-op forever).
 * Names follow the OpenTelemetry semantic conventions where they define one (HTTP, MCP);
 * the others live under `mcp.server.*`.
 */
import {
  type Counter,
  type Histogram,
  metrics,
  type Tracer,
  trace,
  type UpDownCounter,
} from "@opentelemetry/api";

const SCOPE = "mcp-server";

interface Instruments {
  readonly tracer: Tracer;
  /** mcp.server.operation.duration: one MCP request, by method, tool/prompt and error.type. */
  readonly operationDuration: Histogram;
  /** http.server.request.duration: one HTTP request, by method, route and status. */
  readonly httpDuration: Histogram;
  readonly activeRequests: UpDownCounter;
  readonly openConnections: UpDownCounter;
  /** SSE responses in progress (a tool streaming progress, a subscription). */
  readonly openStreams: UpDownCounter;
  readonly authFailures: Counter;
  readonly limitRejections: Counter;
}

/** Undefined until the SDK is started: every hook checks it first, so "off" costs one test. */
export let instruments: Instruments | undefined;

export function createInstruments(): void {
  const meter = metrics.getMeter(SCOPE);
  instruments = {
    tracer: trace.getTracer(SCOPE),
    operationDuration: meter.createHistogram("mcp.server.operation.duration", {
      unit: "s",
      description: "Duration of MCP requests handled by the server",
      advice: {
        explicitBucketBoundaries: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      },
    }),
    httpDuration: meter.createHistogram("http.server.request.duration", {
      unit: "s",
      description: "Duration of HTTP server requests",
      advice: {
        explicitBucketBoundaries: [
          0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
        ],
      },
    }),
    activeRequests: meter.createUpDownCounter("http.server.active_requests", {
      unit: "{request}",
      description: "HTTP requests in progress",
    }),
    openConnections: meter.createUpDownCounter("mcp.server.connections.open", {
      unit: "{connection}",
      description: "Open client connections (TCP)",
    }),
    openStreams: meter.createUpDownCounter("mcp.server.streams.open", {
      unit: "{stream}",
      description: "Server-sent event streams in progress",
    }),
    authFailures: meter.createCounter("mcp.server.auth.failures", {
      unit: "{request}",
      description: "Requests refused by authentication, by reason",
    }),
    limitRejections: meter.createCounter("mcp.server.limit.rejections", {
      unit: "{request}",
      description: "Requests refused by a limit, by reason",
    }),
  };
}
