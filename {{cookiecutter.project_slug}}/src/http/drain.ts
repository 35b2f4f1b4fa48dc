/**
 * Graceful shutdown: stop accepting connections (new ones are refused), answer the requests
 * already received with `Connection: close` (also on keep-alive connections), close the
 * connections as their responses finish, and give up after the drain timeout.
 */
import type { Server, ServerResponse } from "node:http";
import type { Logger } from "../logger.js";

interface Drain {
  /** True once shutdown has begun. */
  readonly draining: () => boolean;
  /** Applies the drain rules to a response (call once per request). */
  track(res: ServerResponse): void;
  /** Starts the drain; resolves when every connection is closed (idempotent). */
  start(): Promise<void>;
}

/**
 * While draining, every response says `Connection: close`, even when a handler (the SDK's
 * SSE answer) names its own Connection header in writeHead.
 */
function closeWhileDraining(res: ServerResponse, draining: () => boolean): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (draining()) {
      const last = args.at(-1);
      if (last !== null && typeof last === "object" && !Array.isArray(last)) {
        args[args.length - 1] = Object.fromEntries(
          Object.entries(last).filter(([name]) => name.toLowerCase() !== "connection"),
        );
      }
      this.setHeader("Connection", "close");
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
}

export function createDrain(server: Server, timeoutMs: number, logger: Logger): Drain {
  let draining = false;
  let closing: Promise<void> | undefined;
  const isDraining = () => draining;
  return {
    draining: isDraining,
    track(res) {
      closeWhileDraining(res, isDraining);
      // While draining, a kept-alive connection would hold shutdown open: end it after the answer.
      res.once("finish", () => {
        if (draining) res.req.socket.end();
      });
    },
    start() {
      closing ??= new Promise<void>((resolve) => {
        draining = true;
        const timer = setTimeout(() => {
          logger.warn("shutdown timeout reached: closing remaining connections");
          server.closeAllConnections();
        }, timeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
