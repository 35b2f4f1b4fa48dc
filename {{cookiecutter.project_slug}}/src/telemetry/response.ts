/**
 * Reads the outcome of an MCP response as the SDK writes it (a JSON body or an SSE stream):
 * the JSON-RPC error code, or `tool_error` for a tool result with `isError: true`. The bytes go
 * out unchanged; only a bounded copy is kept (whole JSON bodies up to MAX_PARSED, one SSE event
 * at a time), so a large tool result costs no more than its tail.
 */
import type { ServerResponse } from "node:http";

const MAX_PARSED = 256 * 1024;
const TAIL = 4096;

export interface Outcome {
  /** error.type: the JSON-RPC error code, "tool_error", an HTTP status, or "aborted". */
  readonly errorType: string | undefined;
  readonly rpcCode: number | undefined;
  readonly message: string | undefined;
}

interface StreamHooks {
  streamOpened(): void;
  streamClosed(): void;
}

type Write = ServerResponse["write"];
type End = ServerResponse["end"];

/**
 * Whether a JSON body can hold a JSON-RPC error or a tool error: it then names the member
 * (`"error"`, `"isError"`) with its quotes, which JSON never escapes in a key. Most answers do
 * not, and skip the parse (about a third of what telemetry cost per request).
 */
function mayReportError(json: string): boolean {
  return json.includes('"error"') || json.includes('"isError"');
}

export class ResponseWatcher {
  private readonly decoder = new TextDecoder();
  private sse: boolean | undefined;
  private buffered = "";
  private size = 0;
  private tail = "";
  private found: { rpcCode?: number; message?: string; toolError?: boolean } | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly id: string | undefined,
    private readonly hooks: StreamHooks,
  ) {
    const write = res.write;
    const end = res.end;
    const watcher = this;
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      watcher.see(chunk);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Write;
    res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      if (typeof chunk !== "function") watcher.see(chunk);
      return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
    } as End;
  }

  private see(chunk: unknown): void {
    if (chunk === undefined || chunk === null) return;
    if (this.sse === undefined) {
      this.sse = String(this.res.getHeader("content-type") ?? "").startsWith("text/event-stream");
      if (this.sse) this.hooks.streamOpened();
    }
    const piece =
      typeof chunk === "string"
        ? chunk
        : chunk instanceof Uint8Array
          ? this.decoder.decode(chunk, { stream: true })
          : "";
    this.size += piece.length;
    if (this.sse) {
      this.buffered += piece;
      // One SSE event at a time: events end with a blank line.
      let end = this.buffered.search(/\r?\n\r?\n/);
      while (end !== -1) {
        this.event(this.buffered.slice(0, end));
        this.buffered = this.buffered.slice(end).replace(/^\r?\n\r?\n/, "");
        end = this.buffered.search(/\r?\n\r?\n/);
      }
      if (this.buffered.length > MAX_PARSED) this.buffered = "";
    } else {
      if (this.size <= MAX_PARSED) this.buffered += piece;
      else this.buffered = "";
      this.tail = (this.tail + piece).slice(-TAIL);
    }
  }

  private event(block: string): void {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).replace(/^ /, ""))
      .join("\n");
    if (data !== "") this.message(data);
  }

  /** Looks at one JSON-RPC message (or batch); keeps the answer to our request. */
  private message(json: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return;
    }
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
      if (typeof item !== "object" || item === null) continue;
      const message = item as { id?: unknown; error?: unknown; result?: unknown };
      if (!("result" in message) && !("error" in message)) continue;
      if (this.id !== undefined && message.id !== undefined && String(message.id) !== this.id) {
        continue;
      }
      const error = message.error as { code?: unknown; message?: unknown } | undefined;
      if (error !== undefined && typeof error === "object" && error !== null) {
        this.found = {
          ...(typeof error.code === "number" ? { rpcCode: error.code } : {}),
          ...(typeof error.message === "string" ? { message: error.message.slice(0, 200) } : {}),
        };
      } else {
        const result = message.result as { isError?: unknown } | undefined;
        this.found = { toolError: result?.isError === true };
      }
    }
  }

  /** Called once, when the response is closed: what happened. */
  finish(): Outcome {
    if (this.sse) this.hooks.streamClosed();
    else if (this.buffered !== "" && mayReportError(this.buffered)) this.message(this.buffered);
    else if (this.found === undefined && /"isError"\s*:\s*true/.test(this.tail)) {
      this.found = { toolError: true };
    }
    const status = this.res.statusCode;
    let errorType: string | undefined;
    if (this.found?.rpcCode !== undefined) errorType = String(this.found.rpcCode);
    else if (this.found?.toolError) errorType = "tool_error";
    else if (!this.res.writableFinished) errorType = "aborted";
    else if (status >= 400) errorType = String(status);
    return { errorType, rpcCode: this.found?.rpcCode, message: this.found?.message };
  }
}
