/**
 * The text_stats tool: structured output checked against its declared outputSchema.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { measureText, textStats } from "../src/tools/text-stats.js";
import { connectTool, textOf } from "./helpers.js";

describe("tool: text_stats", () => {
  it("counts characters (code points), words and lines", () => {
    assert.deepEqual(measureText(""), { characters: 0, words: 0, lines: 0 });
    assert.deepEqual(measureText("héllo wörld ✓\nsecond  line\r\n"), {
      characters: 28,
      words: 5,
      lines: 3,
    });
  });

  it("declares its output schema and annotations, and returns matching structured content", async () => {
    const client = await connectTool(textStats);
    try {
      const { tools } = await client.listTools();
      const tool = tools.find((candidate) => candidate.name === "text_stats");
      assert.ok(tool?.outputSchema, "outputSchema is listed");
      assert.deepEqual(Object.keys(tool.outputSchema.properties ?? {}).sort(), [
        "characters",
        "lines",
        "words",
      ]);
      assert.equal(tool.annotations?.readOnlyHint, true);
      assert.equal(tool.annotations?.idempotentHint, true);

      const result = await client.callTool({ name: "text_stats", arguments: { text: "a b\nc" } });
      const expected = { characters: 5, words: 3, lines: 2 };
      assert.deepEqual(result.structuredContent, expected);
      assert.deepEqual(JSON.parse(textOf(result)), expected, "text content mirrors it");
    } finally {
      await client.close();
    }
  });

  it("refuses arguments that do not match its schema", async () => {
    const client = await connectTool(textStats);
    try {
      const result = await client.callTool({ name: "text_stats", arguments: {} });
      assert.equal(result.isError, true);
    } finally {
      await client.close();
    }
  });
});
