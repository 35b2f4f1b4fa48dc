/**
 * node:http in front of the SDK's web-standard handler (`handler.fetch`), for a body this
 * server has already read and parsed (src/http/body.ts applied the size limit and the UTF-8 and
 * JSON checks). The SDK's own adapter, `toNodeHandler`, serialises that parsed body back to JSON
 * and streams it into the web `Request` it builds, only for the SDK to be told to use the parsed
 * one (`parsedBody`) and never read it: on the hot path that round trip cost about 5 % of the
 * CPU per request. Here the `Request` carries the method, URL, headers and abort signal, no body;
 * everything the SDK reads of it is there. The answer is written back as `toNodeHandler` writes
 * it, status, headers and body, except that a JSON answer goes out in one write; an SSE stream is
 * streamed with backpressure until it ends or the client goes away.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuthInfo, McpHttpHandler } from "@modelcontextprotocol/server";

/** Describe the body the `Request` does not carry: the SDK reads the parsed one. */
const BODY_HEADERS = new Set(["content-length", "transfer-encoding", "content-encoding"]);

function webRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || BODY_HEADERS.has(name)) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method: req.method ?? "POST",
    headers,
    signal,
  });
}

function isEventStream(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === "text/event-stream";
}

function internalError(body: unknown): Response {
  const message = body as { id?: unknown; method?: unknown } | null;
  const id =
    typeof message?.method === "string" &&
    (typeof message.id === "string" || typeof message.id === "number")
      ? message.id
      : null;
  return Response.json(
    { jsonrpc: "2.0", error: { code: -32603, message: "Internal server error" }, id },
    { status: 500 },
  );
}

/** Serves one request whose body is already parsed; never rejects. */
export async function serveParsed(
  handler: McpHttpHandler,
  req: IncomingMessage,
  res: ServerResponse,
  authInfo: AuthInfo,
  body: unknown,
  onerror: (error: Error) => void,
): Promise<void> {
  let finished = false;
  const abort = new AbortController();
  res.on("close", () => {
    if (!finished) abort.abort();
  });
  if (res.destroyed) abort.abort();
  let response: Response;
  try {
    response = await handler.fetch(webRequest(req, abort.signal), { authInfo, parsedBody: body });
  } catch (error) {
    onerror(error instanceof Error ? error : new Error(String(error)));
    response = internalError(body);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) headers[name] = value;
  if (response.body === null || !isEventStream(headers["content-type"])) {
    // A JSON answer (or none) is complete: one write, headers and body together.
    const bytes = response.body === null ? undefined : Buffer.from(await response.arrayBuffer());
    if (bytes !== undefined) headers["content-length"] = String(bytes.length);
    res.writeHead(response.status, headers);
    finished = true;
    res.end(bytes);
    return;
  }
  res.writeHead(response.status, headers);
  let drained: (() => void) | undefined;
  const onDrain = () => {
    drained?.();
    drained = undefined;
  };
  res.on("drain", onDrain);
  const closed = new Promise<void>((resolve) => {
    abort.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    for await (const chunk of response.body) {
      if (abort.signal.aborted) break;
      if (!res.write(chunk)) {
        await Promise.race([new Promise<void>((resolve) => (drained = resolve)), closed]);
      }
    }
  } catch {
    // The stream failed or the client went away: end what was sent.
  }
  res.off("drain", onDrain);
  finished = true;
  res.end();
}
