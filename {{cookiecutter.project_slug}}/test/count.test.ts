/**
 * The count tool: progress notifications when (and only when) the client asks for them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { count, MAX_STEPS } from "../src/tools/count.js";
import { connectTool, textOf } from "./helpers.js";

function progressNotifications(messages: JSONRPCMessage[]): JSONRPCMessage[] {
  return messages.filter(
    (message) => "method" in message && message.method === "notifications/progress",
  );
}

describe("tool: count", () => {
  it("reports progress after each step when the client sends a progressToken", async () => {
    const client = await connectTool(count);
    try {
      const seen: Array<{ progress: number; total?: number }> = [];
      const result = await client.callTool(
        { name: "count", arguments: { to: 4 } },
        { onprogress: ({ progress, total }) => seen.push({ progress, total }) },
      );
      assert.equal(textOf(result), "counted to 4");
      assert.deepEqual(
        seen,
        [1, 2, 3, 4].map((progress) => ({ progress, total: 4 })),
      );
    } finally {
      await client.close();
    }
  });

  it("sends no progress without a progressToken", async () => {
    const sent: JSONRPCMessage[] = [];
    const client = await connectTool(count, undefined, sent);
    try {
      const result = await client.callTool({ name: "count", arguments: { to: 3 } });
      assert.equal(textOf(result), "counted to 3");
      assert.deepEqual(progressNotifications(sent), []);
      assert.ok(sent.length > 0, "the recorder saw the server's answers");
    } finally {
      await client.close();
    }
  });

  it(`refuses to count past ${MAX_STEPS} or below 1`, async () => {
    const client = await connectTool(count);
    try {
      for (const to of [0, MAX_STEPS + 1, 2.5]) {
        const result = await client.callTool({ name: "count", arguments: { to } });
        assert.equal(result.isError, true, String(to));
      }
    } finally {
      await client.close();
    }
  });
});
