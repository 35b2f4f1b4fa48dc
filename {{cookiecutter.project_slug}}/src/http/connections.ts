/**
 * Connection bounds: at most `limit` sockets open at once, kept below the process's file limit.
 *
 * At the bound, a new connection first evicts the oldest idle one (a client that has not sent
 * its request headers yet, or a keep-alive connection between requests); only when every
 * connection is busy serving a request is the new one refused, at once. So clients that open
 * connections and never finish their headers cannot lock out /health or real calls, and the
 * process never runs out of file descriptors (which would stop it accepting anything).
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Descriptors kept free for everything else: logs, the JWKS fetch, the listening socket. */
export const RESERVED_DESCRIPTORS = 64;

/** The soft open-file limit of this process (Linux /proc), or undefined where unknown. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return undefined;
    }
  }
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (match?.[1] === undefined || match[1] === "unlimited") return undefined;
  return Number(match[1]);
}

/** The connection bound: the configured one, lowered to stay below the file limit. */
export function connectionBound(configured: number, fileLimit: number | undefined): number {
  if (fileLimit === undefined) return configured;
  return Math.max(1, Math.min(configured, fileLimit - RESERVED_DESCRIPTORS));
}

interface ConnectionGuard {
  /** The open sockets (the watchdog's write-timeout sweep walks them). */
  sockets(): Iterable<Socket>;
  /**
   * Closes every connection that is not serving a request: keep-alive ones between requests,
   * and ones that have not finished their request headers. For shutdown: `server.close()`
   * stops Node's header-timeout checks, so a half-open connection would otherwise hold the
   * drain open until its deadline, though it carries nothing to answer.
   */
  closeIdle(): void;
}

/** Applies the bound to a server; `now` is injected for tests. */
export function guardConnections(
  server: Server,
  limit: number,
  now: () => number = Date.now,
): ConnectionGuard {
  /** Open sockets, and since when each has been idle (undefined while serving a request). */
  const sockets = new Map<Socket, number | undefined>();

  function oldestIdle(): Socket | undefined {
    let oldest: Socket | undefined;
    let since = Number.POSITIVE_INFINITY;
    for (const [socket, idleSince] of sockets) {
      if (idleSince !== undefined && idleSince < since) {
        oldest = socket;
        since = idleSince;
      }
    }
    return oldest;
  }

  server.on("connection", (socket: Socket) => {
    if (sockets.size >= limit) {
      const victim = oldestIdle();
      if (victim === undefined) {
        socket.destroy();
        return;
      }
      sockets.delete(victim);
      victim.destroy();
    }
    sockets.set(socket, now());
    socket.once("close", () => sockets.delete(socket));
  });
  /** Requests in progress per socket: a pipelining client has several. */
  const serving = new WeakMap<Socket, number>();
  const busy = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    if (!sockets.has(socket)) return;
    serving.set(socket, (serving.get(socket) ?? 0) + 1);
    sockets.set(socket, undefined);
    res.once("close", () => {
      const left = (serving.get(socket) ?? 1) - 1;
      serving.set(socket, left);
      // Idle only once the last request on it is answered, not the first of a pipeline.
      if (left === 0 && sockets.has(socket) && !socket.destroyed) sockets.set(socket, now());
    });
  };
  server.on("request", busy);
  server.on("checkContinue", busy);
  return {
    sockets: () => sockets.keys(),
    closeIdle() {
      for (const [socket, idleSince] of sockets) {
        if (idleSince !== undefined) socket.destroy();
      }
    },
  };
}
