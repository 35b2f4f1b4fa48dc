/**
 * The echo tool on its own: registered on a fresh server, called through the SDK client over
 * an in-memory transport. Copy this file with the tool file to test a new tool.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { echo } from "../src/tools/echo.js";
import { connectTool, textOf } from "./helpers.js";

describe("tool: echo", () => {
  it("returns the text it is given", async () => {
    const client = await connectTool(echo);
    try {
      const result = await client.callTool({ name: "echo", arguments: { text: "héllo" } });
      assert.equal(textOf(result), "héllo");
    } finally {
      await client.close();
    }
  });

  it("refuses arguments that do not match its schema", async () => {
    const client = await connectTool(echo);
    try {
      const result = await client.callTool({ name: "echo", arguments: { text: 42 } });
      assert.equal(result.isError, true);
    } finally {
      await client.close();
    }
  });
});
