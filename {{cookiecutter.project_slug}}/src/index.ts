/**
 * Entry point: read the configuration, start telemetry (when OTEL_* asks for it), build the app,
 * listen, shut down cleanly.
 */
import { createApp } from "./app.js";
import { modeOf } from "./auth/modes/index.js";
import { ConfigError, loadConfig, SERVER_VERSION, SERVICE_NAME } from "./config.js";
import { createLogger } from "./logger.js";
import {
  loadTelemetryConfig,
  shutdownTelemetry,
  startTelemetry,
  type TelemetryConfig,
} from "./telemetry/index.js";

let config: ReturnType<typeof loadConfig>;
let telemetry: TelemetryConfig | undefined;
let logger: ReturnType<typeof createLogger>;
try {
  config = loadConfig();
  telemetry = loadTelemetryConfig(process.env, config.port, SERVICE_NAME);
  logger = createLogger(config);
  // Before the app exists: its instruments and spans must be live for the first request.
  await startTelemetry(telemetry, SERVER_VERSION, logger);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`Configuration error: ${error.message}\n`);
  process.exit(1);
}

if (modeOf(config.auth).open) {
  logger.warn(
    `AUTH_MODE=${config.auth.mode}: the MCP endpoint is NOT authenticated (local development only)`,
  );
}
const app = createApp(config, logger);

app.server.on("error", (error: NodeJS.ErrnoException) => {
  // Listening failed (taken port, unknown or foreign address): name the settings to fix.
  process.stderr.write(
    `Configuration error: HOST/PORT: cannot listen on ${config.host}:${config.port} (${error.code ?? error.message})\n`,
  );
  process.exit(1);
});
if (app.probe !== undefined && config.probePort !== undefined) {
  const probePort = config.probePort;
  app.probe.on("error", (error: NodeJS.ErrnoException) => {
    process.stderr.write(
      `Configuration error: PROBE_PORT: cannot listen on ${config.host}:${probePort} (${error.code ?? error.message})\n`,
    );
    process.exit(1);
  });
  // Probes answer from the start: /ready says whether the server takes traffic.
  app.probe.listen(probePort, config.host);
}
app.server.listen(config.port, config.host, () => {
  logger.info(
    {
      host: config.host,
      port: config.port,
      probePort: config.probePort,
      publicUrl: config.publicUrl,
      authMode: config.auth.mode,
      telemetry:
        telemetry === undefined
          ? "off"
          : {
              traces: telemetry.traces,
              metrics: telemetry.metrics,
              prometheus: telemetry.prometheus,
            },
    },
    "listening",
  );
});

let signalled = false;
function onSignal(signal: NodeJS.Signals): void {
  if (signalled) {
    // A second SIGTERM/SIGINT means "now": skip the drain, exit 1.
    logger.warn({ signal }, "second signal: exiting without waiting for in-flight requests");
    process.exit(1);
  }
  signalled = true;
  // A last resort, not unref'd: whatever hangs (a stuck log pipe, a stuck handler), the
  // process is gone shortly after the drain deadline, inside an orchestrator's grace period.
  setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 1000);
  logger.info({ signal }, "shutting down: draining in-flight requests");
  app
    .shutdown()
    // Spans and metrics still buffered go out before the exit (bounded: a dead collector cannot hold it).
    .then(() => shutdownTelemetry())
    .then(
      () => {
        logger.info("shutdown complete");
        process.exit(0);
      },
      () => process.exit(1),
    );
}
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
