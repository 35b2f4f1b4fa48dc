/**
 * Structured JSON logs (pino) on stdout. Credentials are redacted wherever they
 * could appear; the code never logs tokens on purpose, this is the safety net.
 */
import { createRequire } from "node:module";
import { pino } from "pino";
import { type Config, SERVER_VERSION, SERVICE_NAME } from "./config.js";
import { activeTraceFields } from "./telemetry/log-fields.js";

export type Logger = pino.Logger;

const REDACTED_PATHS = [
  "authorization",
  "cookie",
  "token",
  "apiKey",
  "secret",
  "headers.authorization",
  "headers.cookie",
  'headers["set-cookie"]',
  "req.headers.authorization",
  "req.headers.cookie",
  "*.authorization",
  "*.token",
  "*.access_token",
  "*.apiKey",
  "*.secret",
];

/**
 * JSON lines in production (what log collectors parse); in development (NODE_ENV=development),
 * the same lines made readable by pino-pretty, a devDependency loaded only there.
 */
export function createLogger(config: Pick<Config, "logLevel" | "nodeEnv">): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service: SERVICE_NAME, version: SERVER_VERSION },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    // trace_id and span_id of the active span, when telemetry is on and a span is active.
    mixin: activeTraceFields,
  };
  const pretty = config.nodeEnv === "development" ? prettyStream() : undefined;
  return pretty === undefined ? pino(options) : pino(options, pretty);
}

type PrettyFactory = (options: Record<string, unknown>) => pino.DestinationStream;

/**
 * pino-pretty as an in-process stream (no worker thread, so it also works from an esbuild
 * bundle). It is a devDependency, absent from production images: then JSON it is.
 */
function prettyStream(): pino.DestinationStream | undefined {
  try {
    const pretty = createRequire(import.meta.url)("pino-pretty") as PrettyFactory;
    return pretty({
      colorize: process.stdout.isTTY === true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,service,version",
      sync: true,
    });
  } catch {
    return undefined;
  }
}
