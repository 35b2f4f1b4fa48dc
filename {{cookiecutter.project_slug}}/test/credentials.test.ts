/**
 * Credentials stop at the door: after authentication, nothing a tool can reach (its
 * arguments, its context, the request the SDK hands it) holds the bearer token.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { McpServer } from "@modelcontextprotocol/server";
import { createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { createMcpRequestHandler } from "../src/mcp/handler.js";

const API_KEY = "credentials-test-key-0123456789abcdef";

/** Every string reachable from `value` (objects, arrays, Maps, Headers, getters), bounded in depth. */
function reachableStrings(value: unknown, depth = 0, seen = new WeakSet<object>()): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object" || depth > 8 || seen.has(value)) return [];
  seen.add(value);
  const found: string[] = [];
  const iterable = value as { entries?: () => Iterable<unknown> };
  if (typeof iterable.entries === "function" && !Array.isArray(value)) {
    try {
      for (const entry of iterable.entries())
        found.push(...reachableStrings(entry, depth + 1, seen));
    } catch {
      // Not a real entries() (or it throws): the own properties below still count.
    }
  }
  // Own properties, and the getters of its classes (a web Request's url, headers, ...).
  const keys = new Set<PropertyKey>(Reflect.ownKeys(value));
  for (let proto = Object.getPrototypeOf(value); proto && proto !== Object.prototype; ) {
    for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (descriptor.get !== undefined) keys.add(key);
    }
    proto = Object.getPrototypeOf(proto);
  }
  for (const key of keys) {
    let child: unknown;
    try {
      child = (value as Record<PropertyKey, unknown>)[key];
    } catch {
      continue;
    }
    found.push(...reachableStrings(child, depth + 1, seen));
  }
  return found;
}

describe("credentials never reach a tool", () => {
  let baseUrl = "";
  let seenByTool: string[] = [];
  let app: ReturnType<typeof createApp>;

  before(async () => {
    const config = loadConfig({
      AUTH_MODE: "api_key",
      AUTH_API_KEYS: API_KEY,
      HOST: "127.0.0.1",
      PORT: "8080",
      PUBLIC_URL: "http://127.0.0.1:8080",
      ALLOWED_HOSTS: "*",
      LOG_LEVEL: "silent",
    });
    // The same server, plus a probe tool that records everything its handler can reach.
    const logger = createLogger(config);
    const mcp = createMcpRequestHandler(logger, config.maxBodyBytes, (identity) => {
      const server = new McpServer({ name: "probe", version: "0" });
      server.registerTool("probe", { description: "records its context" }, async (ctx) => {
        seenByTool = reachableStrings({ ctx, identity });
        return { content: [{ type: "text", text: "ok" }] };
      });
      return server;
    });
    app = createApp(config, logger, { mcp });
    app.server.listen(0, "127.0.0.1");
    await once(app.server, "listening");
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await app.shutdown();
  });

  it("the probe tool runs, and no string it can reach holds the key", async () => {
    const response = await fetch(`${baseUrl}/mcp`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${API_KEY}`,
        Cookie: `session=${API_KEY}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "probe", arguments: {} },
      }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    assert.match(await response.text(), /"ok"/);
    assert.ok(seenByTool.length > 10, "the probe saw its context");
    assert.ok(seenByTool.includes("POST"), "the probe walked the request it was given");
    const leaks = seenByTool.filter((text) => text.includes(API_KEY));
    assert.deepEqual(leaks, []);
  });
});
