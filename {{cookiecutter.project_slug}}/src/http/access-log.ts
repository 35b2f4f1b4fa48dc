/**
 * One log line per request: method, path (never the query: it may carry credentials), status,
 * duration and the authenticated subject. Probes are logged at trace, so they never flood the
 * development logs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../logger.js";

const PROBE_PATHS = new Set(["/health", "/ready"]);

export function logAccess(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  path: string | undefined,
  startedNs: bigint,
  subject: string | undefined,
): void {
  const durationMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
  const entry = {
    requestId: res.getHeader("X-Request-Id"),
    method: req.method,
    path,
    status: res.statusCode,
    durationMs: Math.round(durationMs * 10) / 10,
    ...(subject === undefined ? {} : { subject }),
  };
  if (path !== undefined && PROBE_PATHS.has(path)) logger.trace(entry, "request");
  else logger.info(entry, "request");
}
