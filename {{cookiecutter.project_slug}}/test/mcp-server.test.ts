/**
 * What one request's server is built from: schemas converted once per process (and shared
 * read-only), and a `tools/call` server holding only the tool the call names.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport, type McpServer } from "@modelcontextprotocol/server";
import { pino } from "pino";
import * as z from "zod";
import type { Identity } from "../src/auth/types.js";
import { convertedOnce } from "../src/mcp/schema.js";
import { createMcpServer } from "../src/mcp/server.js";
import { registeredToolNames, textOf } from "./helpers.js";

const CALLER: Identity = { subject: "tester", scopes: [], method: "none" };
const ADMIN: Identity = { subject: "admin", scopes: ["mcp:admin"], method: "none" };

async function connect(server: McpServer): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "server-test", version: "0" });
  await client.connect(clientSide);
  return client;
}

async function toolNames(server: McpServer): Promise<string[]> {
  const client = await connect(server);
  try {
    return (await client.listTools()).tools.map((tool) => tool.name).sort();
  } finally {
    await client.close();
  }
}

describe("convertedOnce", () => {
  const schema = z.object({ text: z.string().max(3) });
  const once = convertedOnce(schema);
  const options = { target: "draft-2020-12" } as const;

  it("converts to JSON Schema once per target, frozen, equal to zod's own", () => {
    const first = once["~standard"].jsonSchema.input(options);
    assert.equal(once["~standard"].jsonSchema.input(options), first);
    assert.deepEqual(first, schema["~standard"].jsonSchema.input(options));
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.properties));
    assert.throws(() => {
      (first as Record<string, unknown>).type = "string";
    }, TypeError);
  });

  it("still validates with zod", async () => {
    assert.deepEqual(await once["~standard"].validate({ text: "abc" }), { value: { text: "abc" } });
    const refused = await once["~standard"].validate({ text: "abcd" });
    assert.ok("issues" in refused && refused.issues !== undefined && refused.issues.length > 0);
  });
});

describe("createMcpServer", () => {
  const logger = pino({ level: "silent" });

  it("serves every tool, resource and prompt the caller may use by default", async () => {
    assert.deepEqual(await toolNames(createMcpServer(CALLER, logger)), registeredToolNames());
    const client = await connect(createMcpServer(CALLER, logger));
    try {
      assert.ok((await client.listPrompts()).prompts.length > 0);
      assert.ok((await client.listResources()).resources.length > 0);
    } finally {
      await client.close();
    }
  });

  it("holds only the tool a tools/call names, and still answers that call", async () => {
    const server = createMcpServer(CALLER, logger, { tool: "echo" });
    assert.deepEqual(await toolNames(server), ["echo"]);
    const client = await connect(createMcpServer(CALLER, logger, { tool: "echo" }));
    try {
      const result = await client.callTool({ name: "echo", arguments: { text: "hi" } });
      assert.equal(textOf(result), "hi");
    } finally {
      await client.close();
    }
  });

  it("an unknown or forbidden tool name gets every tool the caller may use (the usual answer)", async () => {
    const unknown = await toolNames(createMcpServer(CALLER, logger, { tool: "no_such_tool" }));
    assert.deepEqual(unknown, registeredToolNames());
    const forbidden = await toolNames(createMcpServer(CALLER, logger, { tool: "server_status" }));
    assert.deepEqual(forbidden, registeredToolNames());
    assert.ok(!forbidden.includes("server_status"));
    const allowed = await toolNames(createMcpServer(ADMIN, logger, { tool: "server_status" }));
    assert.deepEqual(allowed, ["server_status"]);
  });
});
