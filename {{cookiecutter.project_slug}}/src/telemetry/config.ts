/**
 * Telemetry settings: the standard OpenTelemetry environment variables this server reads itself,
 * validated at start-up like every other setting (a bad value names the variable, exit 1).
 *
 * Off unless asked for: with no OTLP endpoint and no OTEL_*_EXPORTER, nothing is exported and
 * the SDK is never loaded. (The specification's default exporter is `otlp` to localhost; a server
 * that would otherwise retry a collector that is not there on every export is the wrong default.)
 * The OTLP exporters read their own endpoint, headers, timeout and compression variables; their
 * values are checked here too, so a typo fails the start instead of silently exporting nowhere.
 */
import { ConfigError, type Env, integer, raw } from "../env.js";

type Sampler =
  | "always_on"
  | "always_off"
  | "traceidratio"
  | "parentbased_always_on"
  | "parentbased_always_off"
  | "parentbased_traceidratio";

type SpanExporterKind = "otlp" | "console";
type MetricExporterKind = "otlp" | "prometheus" | "console";

interface PrometheusEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface TelemetryConfig {
  /** Where spans go (empty: no tracing). */
  readonly traces: readonly SpanExporterKind[];
  /** Where metrics go (empty: no metrics). */
  readonly metrics: readonly MetricExporterKind[];
  readonly sampler: Sampler;
  /** The ratio of the traceidratio samplers, in [0, 1]. */
  readonly samplerRatio: number;
  /** The OpenTelemetry `service.name` when OTEL_SERVICE_NAME is unset. */
  readonly serviceName: string;
  /** How long the batch span processor waits before sending (OTEL_BSP_SCHEDULE_DELAY). */
  readonly spanScheduleDelayMs: number;
  /** The OTLP metric push interval (OTEL_METRIC_EXPORT_INTERVAL). */
  readonly metricIntervalMs: number;
  readonly metricTimeoutMs: number;
  /** The Prometheus scrape endpoint, on its own port (when `metrics` has "prometheus"). */
  readonly prometheus: PrometheusEndpoint | undefined;
}

const SAMPLERS: readonly Sampler[] = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
];

/** A comma-separated exporter list: each entry one of `allowed` or "none". */
function exporterList<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: readonly T[],
): readonly T[] {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  const entries = value.split(",").map((entry) => entry.trim().toLowerCase());
  const chosen: T[] = [];
  for (const entry of entries) {
    if (entry === "none") continue;
    if (!(allowed as readonly string[]).includes(entry)) {
      throw new ConfigError(
        name,
        `must be a comma-separated list of ${[...allowed, "none"].join(", ")}`,
      );
    }
    if (!chosen.includes(entry as T)) chosen.push(entry as T);
  }
  // "none" anywhere in the list switches the signal off, as the specification says.
  return entries.includes("none") ? [] : chosen;
}

function httpUrl(env: Env, name: string): string | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, "must be an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(name, "must be an http:// or https:// URL");
  }
  return value;
}

/** OTLP over HTTP with protobuf is what the bundled exporters speak; gRPC is not shipped. */
function checkProtocol(env: Env, name: string): void {
  const value = raw(env, name);
  if (value !== undefined && value !== "http/protobuf") {
    throw new ConfigError(name, 'must be "http/protobuf" (this server exports OTLP over HTTP)');
  }
}

function ratio(env: Env, name: string): number {
  const value = raw(env, name);
  if (value === undefined) return 1;
  const number = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !(number >= 0 && number <= 1)) {
    throw new ConfigError(name, "must be a number between 0 and 1 (the sampling ratio)");
  }
  return number;
}

/** key=value pairs, comma-separated: what the SDK parses (and would otherwise drop silently). */
function checkPairs(env: Env, name: string): void {
  const value = raw(env, name);
  if (value === undefined) return;
  for (const pair of value.split(",")) {
    const [key, ...rest] = pair.split("=");
    if (key === undefined || key.trim() === "" || rest.length !== 1) {
      throw new ConfigError(
        name,
        "must be comma-separated key=value pairs (percent-encode ',' and '=' inside values)",
      );
    }
  }
}

/** The exporters' own settings: the SDK would log and ignore a bad one; here it stops the start. */
function checkExporterSettings(env: Env): void {
  checkPairs(env, "OTEL_RESOURCE_ATTRIBUTES");
  for (const signal of ["", "TRACES_", "METRICS_"]) {
    checkPairs(env, `OTEL_EXPORTER_OTLP_${signal}HEADERS`);
    const timeout = `OTEL_EXPORTER_OTLP_${signal}TIMEOUT`;
    if (raw(env, timeout) !== undefined) integer(env, timeout, 1, 600_000);
    const compression = `OTEL_EXPORTER_OTLP_${signal}COMPRESSION`;
    const value = raw(env, compression);
    if (value !== undefined && value !== "gzip" && value !== "none") {
      throw new ConfigError(compression, 'must be "gzip" or "none"');
    }
  }
  // W3C Trace Context is the one propagator shipped (HTTP header and MCP _meta alike); the
  // specification's default list also names baggage, accepted and not propagated.
  const propagators = raw(env, "OTEL_PROPAGATORS");
  const known = ["tracecontext", "baggage", "none"];
  if (
    propagators !== undefined &&
    !propagators.split(",").every((entry) => known.includes(entry.trim()))
  ) {
    throw new ConfigError(
      "OTEL_PROPAGATORS",
      'must be "tracecontext" (W3C Trace Context; b3, jaeger and others are not shipped)',
    );
  }
}

function sdkDisabled(env: Env): boolean {
  const value = raw(env, "OTEL_SDK_DISABLED")?.toLowerCase();
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new ConfigError("OTEL_SDK_DISABLED", 'must be "true" or "false"');
}

/**
 * Reads the OTEL_* variables; undefined when telemetry is off (nothing configured, or
 * OTEL_SDK_DISABLED=true). `serverPort` is the public port the metrics endpoint must not share.
 */
export function loadTelemetryConfig(
  env: Env,
  serverPort: number,
  defaultServiceName: string,
): TelemetryConfig | undefined {
  if (sdkDisabled(env)) return undefined;

  const endpoint = httpUrl(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  const tracesEndpoint = httpUrl(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const metricsEndpoint = httpUrl(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
  for (const name of [
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
  ]) {
    checkProtocol(env, name);
  }

  const traces = exporterList<SpanExporterKind>(
    env,
    "OTEL_TRACES_EXPORTER",
    ["otlp", "console"],
    endpoint !== undefined || tracesEndpoint !== undefined ? ["otlp"] : [],
  );
  const metrics = exporterList<MetricExporterKind>(
    env,
    "OTEL_METRICS_EXPORTER",
    ["otlp", "prometheus", "console"],
    endpoint !== undefined || metricsEndpoint !== undefined ? ["otlp"] : [],
  );
  if (traces.length === 0 && metrics.length === 0) return undefined;

  const samplerName = raw(env, "OTEL_TRACES_SAMPLER")?.toLowerCase() ?? "parentbased_always_on";
  if (!(SAMPLERS as readonly string[]).includes(samplerName)) {
    throw new ConfigError("OTEL_TRACES_SAMPLER", `must be one of ${SAMPLERS.join(", ")}`);
  }
  const sampler = samplerName as Sampler;
  const samplerRatio = sampler.endsWith("traceidratio") ? ratio(env, "OTEL_TRACES_SAMPLER_ARG") : 1;
  checkExporterSettings(env);

  let prometheus: PrometheusEndpoint | undefined;
  if (metrics.includes("prometheus")) {
    const port = integer(env, "OTEL_EXPORTER_PROMETHEUS_PORT", 1, 65535, 9464);
    if (port === serverPort) {
      throw new ConfigError(
        "OTEL_EXPORTER_PROMETHEUS_PORT",
        `must differ from PORT (${serverPort}): metrics are never served on the public port`,
      );
    }
    // Loopback unless told otherwise: the scrape endpoint is not for the internet.
    const host = raw(env, "OTEL_EXPORTER_PROMETHEUS_HOST") ?? "127.0.0.1";
    if (!/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+|[A-Za-z0-9.-]+)$/.test(host)) {
      throw new ConfigError(
        "OTEL_EXPORTER_PROMETHEUS_HOST",
        "must be a host name or an IP address",
      );
    }
    prometheus = { host: host.replace(/^\[|\]$/g, ""), port };
  }

  return Object.freeze({
    traces,
    metrics,
    sampler,
    samplerRatio,
    serviceName: defaultServiceName,
    spanScheduleDelayMs: integer(env, "OTEL_BSP_SCHEDULE_DELAY", 1, 3_600_000, 5000),
    metricIntervalMs: integer(env, "OTEL_METRIC_EXPORT_INTERVAL", 1, 3_600_000, 60_000),
    metricTimeoutMs: integer(env, "OTEL_METRIC_EXPORT_TIMEOUT", 1, 3_600_000, 30_000),
    prometheus,
  });
}
