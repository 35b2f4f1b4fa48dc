import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { ConfigError } from "../src/env.js";
import { authFailureReason } from "../src/telemetry/http.js";
import {
  activeTraceFields,
  loadTelemetryConfig,
  recordLimitRejection,
  telemetryEnabled,
} from "../src/telemetry/index.js";
import { runServerExpectingExit } from "./helpers.js";

const PORT = 8080;
const load = (env: Record<string, string>) => loadTelemetryConfig(env, PORT, "svc");

/** Asserts that `env` is refused with an error naming `variable`. */
function assertRejects(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => load(env),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.variable === variable &&
      error.message.includes(variable),
  );
}

describe("telemetry configuration", () => {
  it("is off when nothing is configured, or when OTEL_SDK_DISABLED=true", () => {
    assert.equal(load({}), undefined);
    assert.equal(load({ OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" }), undefined);
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    assert.equal(load({ ...endpoint, OTEL_SDK_DISABLED: "true" }), undefined);
    assert.equal(
      load({ ...endpoint, OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }),
      undefined,
    );
  });

  it("exports both signals over OTLP once an endpoint is set", () => {
    const config = load({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" });
    assert.deepEqual(config?.traces, ["otlp"]);
    assert.deepEqual(config?.metrics, ["otlp"]);
    assert.equal(config?.sampler, "parentbased_always_on");
    assert.equal(config?.prometheus, undefined);
    const tracesOnly = load({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://c/v1/traces" });
    assert.deepEqual([tracesOnly?.traces, tracesOnly?.metrics], [["otlp"], []]);
  });

  it("serves Prometheus metrics on loopback and its own port by default", () => {
    const config = load({ OTEL_METRICS_EXPORTER: "prometheus" });
    assert.deepEqual(config?.traces, []);
    assert.deepEqual(config?.prometheus, { host: "127.0.0.1", port: 9464 });
    const bound = load({
      OTEL_METRICS_EXPORTER: "prometheus",
      OTEL_EXPORTER_PROMETHEUS_HOST: "0.0.0.0",
      OTEL_EXPORTER_PROMETHEUS_PORT: "9100",
    });
    assert.deepEqual(bound?.prometheus, { host: "0.0.0.0", port: 9100 });
  });

  it("refuses bad values, naming the variable", () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    assertRejects({ OTEL_SDK_DISABLED: "yes" }, "OTEL_SDK_DISABLED");
    assertRejects({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT");
    assertRejects(
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "ftp://collector" },
      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    );
    assertRejects({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, "OTEL_EXPORTER_OTLP_PROTOCOL");
    assertRejects({ OTEL_TRACES_EXPORTER: "zipkin" }, "OTEL_TRACES_EXPORTER");
    assertRejects({ OTEL_METRICS_EXPORTER: "statsd" }, "OTEL_METRICS_EXPORTER");
    assertRejects({ ...on, OTEL_TRACES_SAMPLER: "sometimes" }, "OTEL_TRACES_SAMPLER");
    assertRejects(
      { ...on, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" },
      "OTEL_TRACES_SAMPLER_ARG",
    );
    assertRejects({ ...on, OTEL_RESOURCE_ATTRIBUTES: "team" }, "OTEL_RESOURCE_ATTRIBUTES");
    assertRejects({ ...on, OTEL_EXPORTER_OTLP_HEADERS: "api-key" }, "OTEL_EXPORTER_OTLP_HEADERS");
    assertRejects({ ...on, OTEL_EXPORTER_OTLP_TIMEOUT: "10s" }, "OTEL_EXPORTER_OTLP_TIMEOUT");
    assertRejects(
      { ...on, OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: "zstd" },
      "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    );
    assertRejects({ ...on, OTEL_PROPAGATORS: "b3" }, "OTEL_PROPAGATORS");
    assertRejects({ ...on, OTEL_BSP_SCHEDULE_DELAY: "soon" }, "OTEL_BSP_SCHEDULE_DELAY");
    assertRejects({ ...on, OTEL_METRIC_EXPORT_INTERVAL: "-1" }, "OTEL_METRIC_EXPORT_INTERVAL");
    const prometheus = { OTEL_METRICS_EXPORTER: "prometheus" };
    assertRejects(
      { ...prometheus, OTEL_EXPORTER_PROMETHEUS_PORT: String(PORT) },
      "OTEL_EXPORTER_PROMETHEUS_PORT",
    );
    assertRejects(
      { ...prometheus, OTEL_EXPORTER_PROMETHEUS_HOST: "http://0.0.0.0" },
      "OTEL_EXPORTER_PROMETHEUS_HOST",
    );
  });
});

describe("telemetry while off", () => {
  it("loads no SDK and every hook is a no-op", () => {
    assert.equal(telemetryEnabled(), false);
    recordLimitRejection("rate");
    assert.deepEqual(activeTraceFields(), {});
  });

  it("names authentication refusals by a fixed reason, never the description", () => {
    const reason = (status: 401 | 403 | 503, error?: "invalid_token") =>
      authFailureReason({ ok: false, status, error, description: "secret detail" });
    assert.equal(reason(401), "missing_credentials");
    assert.equal(reason(401, "invalid_token"), "invalid_token");
    assert.equal(reason(503), "temporarily_unavailable");
  });
});

describe("telemetry at start-up", () => {
  const serverEnv = {
    AUTH_MODE: "api_key",
    AUTH_API_KEYS: "dev-key-0123456789abcdef",
    PORT: "8181",
  };

  it("stops the start on a bad OTEL_* value, naming it", async () => {
    const { code, stderr } = await runServerExpectingExit({
      ...serverEnv,
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_TRACES_SAMPLER: "sometimes",
    });
    assert.equal(code, 1);
    assert.match(stderr, /Configuration error: OTEL_TRACES_SAMPLER: must be one of/);
  });

  it("stops the start when the metrics port is taken, naming it", async () => {
    const taken = createServer();
    taken.listen(0, "127.0.0.1");
    await once(taken, "listening");
    const address = taken.address();
    assert.ok(address !== null && typeof address === "object");
    try {
      const { code, stderr } = await runServerExpectingExit({
        ...serverEnv,
        OTEL_METRICS_EXPORTER: "prometheus",
        OTEL_EXPORTER_PROMETHEUS_PORT: String(address.port),
      });
      assert.equal(code, 1);
      assert.match(
        stderr,
        /Configuration error: OTEL_EXPORTER_PROMETHEUS_PORT: cannot serve metrics/,
      );
    } finally {
      taken.close();
    }
  });
});
