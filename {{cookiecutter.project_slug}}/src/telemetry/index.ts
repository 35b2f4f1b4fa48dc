/**
 * Telemetry: OpenTelemetry traces and metrics, off unless OTEL_* variables ask for them.
 *
 * The rest of the server calls only this module (and @opentelemetry/api). `startTelemetry`
 * loads the SDK with a dynamic import when something is configured; otherwise the SDK is never
 * imported, `enabled()` stays false, and every hook below returns at its first line.
 */
import { trace } from "@opentelemetry/api";
import type { Logger } from "../logger.js";
import type { TelemetryConfig } from "./config.js";
import { createInstruments, instruments } from "./instruments.js";

export { loadTelemetryConfig, type TelemetryConfig } from "./config.js";
export { observeConnections, observeHttpRequest, recordAuthOutcome } from "./http.js";
export { activeTraceFields } from "./log-fields.js";
export { observeMcpRequest } from "./mcp.js";

let running: { shutdown(): Promise<void> } | undefined;

/** Whether the SDK is loaded (tests and the start-up log line read it). */
export function telemetryEnabled(): boolean {
  return running !== undefined;
}

/**
 * Starts the SDK for `config` (from loadTelemetryConfig); does nothing when it is undefined.
 * Must run before the app is created, so its instruments exist for the first request.
 */
export async function startTelemetry(
  config: TelemetryConfig | undefined,
  version: string,
  logger: Logger,
): Promise<void> {
  if (config === undefined || running !== undefined) return;
  const { startSdk } = await import("./sdk.js");
  running = await startSdk(config, version, logger);
  createInstruments();
}

/** Flushes buffered spans and metrics; bounded, so a dead collector cannot hold the exit. */
export async function shutdownTelemetry(timeoutMs = 3000): Promise<void> {
  const current = running;
  if (current === undefined) return;
  running = undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([current.shutdown(), deadline]);
  clearTimeout(timer);
}

/**
 * A request refused by a per-caller or global limit (rate, concurrency, size...). `reason` is a
 * short fixed word ("rate", "concurrency"...), never a caller's identity: it becomes a label.
 */
export function recordLimitRejection(reason: string): void {
  if (instruments === undefined) return;
  instruments.limitRejections.add(1, { reason });
  trace.getActiveSpan()?.setAttribute("mcp.limit.rejected", reason);
}
