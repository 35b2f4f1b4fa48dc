/**
 * Structured JSON logs (pino) on stdout. Credentials are redacted wherever they
 * could appear; the code never logs tokens on purpose, this is the safety net.
 */
import { pino } from "pino";
import { type Config, SERVER_NAME, SERVER_VERSION } from "./config.js";

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

export function createLogger(config: Pick<Config, "logLevel">): Logger {
  return pino({
    level: config.logLevel,
    base: { service: SERVER_NAME, version: SERVER_VERSION },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  });
}
