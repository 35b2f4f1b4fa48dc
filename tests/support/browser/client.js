// The browser side of tests/test_browser.py: the MCP TypeScript SDK client, bundled by esbuild,
// run by a page the test serves. It talks to the MCP server named in the page's query string
// (a cross-origin request: CORS applies) and posts what happened back to the page's own origin.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const query = new URLSearchParams(location.search);
const endpoint = `${query.get("server")}/mcp`;
const bearer = { Authorization: `Bearer ${query.get("key")}` };

function errorOf(error) {
  return `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`;
}

/** One SDK client session: a tool call, a resource read, a prompt (the methods that carry Mcp-Name). */
async function session(mode) {
  const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
    requestInit: { headers: bearer },
  });
  const client = new Client({ name: "browser-test", version: "0" }, { versionNegotiation: { mode } });
  try {
    await client.connect(transport);
    const echo = await client.callTool({ name: "echo", arguments: { text: "from the browser ✓" } });
    const greeting = await client.readResource({ uri: "greeting://Browser" });
    const prompt = await client.getPrompt({ name: "summarize", arguments: { text: "x" } });
    return {
      ok: true,
      protocol: client.getNegotiatedProtocolVersion(),
      echo: echo.content[0]?.text,
      greeting: greeting.contents[0]?.text,
      promptMessages: prompt.messages.length,
    };
  } catch (error) {
    return { ok: false, error: errorOf(error) };
  } finally {
    await client.close().catch(() => {});
  }
}

/** A raw POST, to read what a page sees of the response headers (CORS exposes only some). */
async function raw(headers, message) {
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream", ...headers },
      body: JSON.stringify(message),
    });
    return {
      ok: true,
      status: response.status,
      wwwAuthenticate: response.headers.get("WWW-Authenticate"),
      requestId: response.headers.get("X-Request-Id"),
      body: await response.text(),
    };
  } catch (error) {
    return { ok: false, error: errorOf(error) };
  }
}

const MODERN = "2026-07-28";
const modernToolsList = {
  jsonrpc: "2.0",
  id: 1,
  method: "tools/list",
  params: {
    _meta: {
      "io.modelcontextprotocol/protocolVersion": MODERN,
      "io.modelcontextprotocol/clientInfo": { name: "browser-raw", version: "0" },
      "io.modelcontextprotocol/clientCapabilities": {},
    },
  },
};

async function main() {
  return {
    origin: location.origin,
    modern: await session({ pin: MODERN }),
    handshake: await session("legacy"),
    // No credential: the 401's challenge must be readable (exposed) by the page.
    unauthenticated: await raw({}, modernToolsList),
    // SEP-2243 custom-parameter header: the preflight must allow the name the page asks for.
    mcpParam: await raw(
      { ...bearer, "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list", "Mcp-Param-Region": "eu" },
      modernToolsList,
    ),
  };
}

main()
  .catch((error) => ({ origin: location.origin, fatal: errorOf(error) }))
  .then((result) => fetch("/result", { method: "POST", body: JSON.stringify(result) }));
