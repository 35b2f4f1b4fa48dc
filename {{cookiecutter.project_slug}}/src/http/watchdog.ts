/**
 * Deadlines without a timer per request: one shared sweep (every `intervalMs`) checks
 *
 *   - request bodies being read: cut when the whole body is not in within `bodyTimeoutMs`, or
 *     when, after a grace period, it arrives slower than `bodyMinBytesPerSecond`;
 *   - connections with answer bytes waiting: destroyed when nothing was written for
 *     `writeTimeoutMs` (a client that posts and never reads would otherwise hold the answer in
 *     memory for as long as it keeps the connection);
 *   - subscriptions/listen streams: closed at `streamLifetimeMs` (the client re-subscribes);
 *   - and it lets the limiter forget idle keys.
 *
 * `sweep(now)` is public, so tests drive it with their own clock instead of waiting.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { LimitReason } from "./limits.js";

/** How long a body may trickle before the minimum rate applies. */
export const BODY_GRACE_MS = 2000;

export interface WatchdogSettings {
  readonly bodyTimeoutMs: number;
  /** 0 = no minimum rate (only the deadline). */
  readonly bodyMinBytesPerSecond: number;
  readonly writeTimeoutMs: number;
  readonly streamLifetimeMs: number;
}

interface WatchdogOptions {
  readonly now?: () => number;
  readonly intervalMs?: number;
  /** The open connections whose writes are watched (the connection guard's). */
  readonly sockets: () => Iterable<Socket>;
  /** A body cut for being too slow: answer it (408) and close. */
  readonly onBodyTimeout: (req: IncomingMessage, res: ServerResponse) => void;
  readonly onReject?: (reason: LimitReason) => void;
  /** Runs on every sweep (the limiter's prune). */
  readonly onSweep?: () => void;
}

interface BodyRead {
  readonly res: ServerResponse;
  readonly started: number;
  readonly bytesAtStart: number;
  readonly declared: number;
}

interface WriteProgress {
  written: number;
  since: number;
}

export interface Watchdog {
  /** Starts watching a body read; call `bodyDone(req)` when it ends, however it ends. */
  bodyStarted(req: IncomingMessage, res: ServerResponse): void;
  bodyDone(req: IncomingMessage): void;
  /** Watches a stream's lifetime until the response closes. */
  streamStarted(res: ServerResponse): void;
  /** One pass over everything watched, at `now` (the timer calls it; tests call it directly). */
  sweep(now?: number): void;
  /** Starts the shared timer (unref'd: it never holds the process open). */
  start(): void;
  stop(): void;
}

export function createWatchdog(settings: WatchdogSettings, options: WatchdogOptions): Watchdog {
  const clock = options.now ?? Date.now;
  const bodies = new Map<IncomingMessage, BodyRead>();
  const streams = new Map<ServerResponse, number>();
  const writes = new WeakMap<Socket, WriteProgress>();
  let timer: NodeJS.Timeout | undefined;

  function bodyTooSlow(req: IncomingMessage, read: BodyRead, now: number): boolean {
    const elapsed = now - read.started;
    if (elapsed >= settings.bodyTimeoutMs) return true;
    if (settings.bodyMinBytesPerSecond === 0 || elapsed <= BODY_GRACE_MS) return false;
    const received = req.socket.bytesRead - read.bytesAtStart;
    const expected = (settings.bodyMinBytesPerSecond * (elapsed - BODY_GRACE_MS)) / 1000;
    return received < Math.min(read.declared, expected);
  }

  function writeStalled(socket: Socket, now: number): boolean {
    if (socket.destroyed || socket.writableLength === 0) {
      writes.delete(socket);
      return false;
    }
    const progress = writes.get(socket);
    if (progress === undefined || progress.written !== socket.bytesWritten) {
      writes.set(socket, { written: socket.bytesWritten, since: now });
      return false;
    }
    return now - progress.since >= settings.writeTimeoutMs;
  }

  return {
    bodyStarted(req, res) {
      const declared = Number(req.headers["content-length"]);
      bodies.set(req, {
        res,
        started: clock(),
        bytesAtStart: req.socket.bytesRead,
        declared: Number.isFinite(declared) ? declared : Number.POSITIVE_INFINITY,
      });
    },
    bodyDone(req) {
      bodies.delete(req);
    },
    streamStarted(res) {
      streams.set(res, clock() + settings.streamLifetimeMs);
      res.once("close", () => streams.delete(res));
    },
    sweep(now = clock()) {
      for (const [req, read] of bodies) {
        if (!bodyTooSlow(req, read, now)) continue;
        bodies.delete(req);
        options.onReject?.("body_timeout");
        options.onBodyTimeout(req, read.res);
      }
      for (const socket of options.sockets()) {
        if (!writeStalled(socket, now)) continue;
        writes.delete(socket);
        options.onReject?.("write_timeout");
        // A reset, not a close: the kernel drops the unsent bytes instead of keeping them
        // (and the memory) for an orphaned socket.
        socket.resetAndDestroy();
      }
      for (const [res, expires] of streams) {
        if (now < expires) continue;
        streams.delete(res);
        options.onReject?.("stream_lifetime");
        // The SDK sees the abort and tears the subscription down; the client re-subscribes.
        res.destroy();
      }
      options.onSweep?.();
    },
    start() {
      timer ??= setInterval(() => this.sweep(), options.intervalMs ?? 1000);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

/**
 * Calls `done` once the answer has left the process: the response closed and the socket's
 * write buffer is empty (or the socket is gone). A client that does not read keeps its slot,
 * so the per-caller cap also bounds the answers waiting in memory for it.
 */
export function whenSent(res: ServerResponse, done: () => void): void {
  res.once("close", () => {
    const socket = res.req.socket;
    if (socket.destroyed || socket.writableLength === 0) {
      done();
      return;
    }
    const finish = (): void => {
      socket.off("drain", finish);
      socket.off("close", finish);
      done();
    };
    socket.on("drain", finish);
    socket.on("close", finish);
  });
}
