/**
 * Structured JSON logs (pino) on stdout. Credentials are redacted wherever they
 * could appear; the code never logs tokens on purpose, this is the safety net.
 */
import { createRequire } from "node:module";
import { pino } from "pino";
import { type Config, SERVER_VERSION, SERVICE_NAME } from "./config.js";

export type Logger = pino.Logger;

export const REDACTED_PATHS = [
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
  const pretty = config.nodeEnv === "development" && prettyAvailable();
  return pino({
    level: config.logLevel,
    base: { service: SERVICE_NAME, version: SERVER_VERSION },
    ...(pretty
      ? {
          transport: {
            target: "pino-pretty",
            options: {
              colorize: true,
              translateTime: "SYS:HH:MM:ss.l",
              ignore: "pid,hostname,service,version",
            },
          },
        }
      : {}),
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  });
}

/** pino-pretty is a devDependency: absent from production images, so fall back to JSON there. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}
