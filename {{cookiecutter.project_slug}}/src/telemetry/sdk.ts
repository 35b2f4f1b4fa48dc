/**
 * The OpenTelemetry SDK: tracer and meter providers, exporters, the W3C propagator and the
 * async context manager, registered as the @opentelemetry/api globals.
 *
 * Loaded only by a dynamic import from ./index.ts when telemetry is configured: a server without
 * OTEL_* settings never evaluates this module (nor the exporters it pulls in).
 */
import { context, DiagLogLevel, diag, metrics, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import {
  ConsoleMetricExporter,
  type IMetricReader,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { ConfigError } from "../env.js";
import type { Logger } from "../logger.js";
import type { TelemetryConfig } from "./config.js";
import { closeMetrics, serveMetrics } from "./metrics-endpoint.js";

/** The longest span attribute value kept (characters); longer ones are cut to this length. */
export const MAX_ATTRIBUTE_VALUE_LENGTH = 1024;

export interface StartedSdk {
  /** Flushes what is buffered and stops the exporters (and the metrics endpoint). */
  shutdown(): Promise<void>;
}

function samplerOf(config: TelemetryConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio;
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio });
  }
}

export async function startSdk(
  config: TelemetryConfig,
  version: string,
  logger: Logger,
): Promise<StartedSdk> {
  // The SDK's own troubles (a collector that refuses or is unreachable) as warnings in our log.
  const log = logger.child({ component: "opentelemetry" });
  diag.setLogger(
    {
      error: (message, ...args) => log.error({ args }, message),
      warn: (message, ...args) => log.warn({ args }, message),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the defaults.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: config.serviceName,
        [ATTR_SERVICE_VERSION]: version,
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }));

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  const stops: (() => Promise<void>)[] = [];

  if (config.traces.length > 0) {
    const spanProcessors: SpanProcessor[] = config.traces.map(
      (kind) =>
        new BatchSpanProcessor({
          // The OTLP exporter reads OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _TIMEOUT itself.
          exporter: kind === "otlp" ? new OTLPTraceExporter() : new ConsoleSpanExporter(),
          scheduledDelayMillis: config.spanScheduleDelayMs,
        }),
    );
    const tracerProvider = new TracerProvider({
      resource,
      sampler: samplerOf(config),
      spanProcessors,
      // Attribute values come from clients (a resource URI of up to MAX_BODY_BYTES, the path,
      // the User-Agent); the SDK keeps them whole by default, and a queue of spans waiting
      // for a slow collector would hold every one of them.
      spanLimits: { attributeValueLengthLimit: MAX_ATTRIBUTE_VALUE_LENGTH },
    });
    trace.setGlobalTracerProvider(tracerProvider);
    stops.push(() => tracerProvider.shutdown());
  }

  if (config.metrics.length > 0) {
    const readers: IMetricReader[] = [];
    for (const kind of config.metrics) {
      if (kind === "prometheus") {
        const endpoint = config.prometheus;
        if (endpoint === undefined) throw new Error("prometheus endpoint not configured");
        // Served by our own listener (metrics-endpoint.ts: bounded connections), not the
        // exporter's, which is never started.
        const exporter = new PrometheusExporter({ preventServerStart: true });
        try {
          const server = await serveMetrics(exporter, endpoint.host, endpoint.port);
          stops.push(() => closeMetrics(server));
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? String(error);
          throw new ConfigError(
            "OTEL_EXPORTER_PROMETHEUS_PORT",
            `cannot serve metrics on ${endpoint.host}:${endpoint.port} (${code})`,
          );
        }
        readers.push(exporter);
      } else {
        readers.push(
          new PeriodicExportingMetricReader({
            exporter: kind === "otlp" ? new OTLPMetricExporter() : new ConsoleMetricExporter(),
            exportIntervalMillis: config.metricIntervalMs,
            exportTimeoutMillis: Math.min(config.metricTimeoutMs, config.metricIntervalMs),
          }),
        );
      }
    }
    const meterProvider = new MeterProvider({ resource, readers });
    metrics.setGlobalMeterProvider(meterProvider);
    stops.push(() => meterProvider.shutdown());
  }

  return {
    shutdown: async () => {
      await Promise.allSettled(stops.map((stop) => stop()));
    },
  };
}
