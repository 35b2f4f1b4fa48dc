/**
 * The summarize prompt: listed with its arguments, filled in by prompts/get. Copy this file
 * with the prompt file to test a new prompt.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registerSummarize } from "../src/prompts/summarize.js";
import { connectItem } from "./helpers.js";

describe("prompt: summarize", () => {
  it("lists its arguments, the required one marked so", async () => {
    const client = await connectItem(registerSummarize);
    try {
      const { prompts } = await client.listPrompts();
      assert.equal(prompts.length, 1);
      const args = prompts[0]?.arguments ?? [];
      assert.deepEqual(
        args.map(({ name, required }) => ({ name, required: required === true })),
        [
          { name: "text", required: true },
          { name: "audience", required: false },
        ],
      );
    } finally {
      await client.close();
    }
  });

  it("fills the message in from the arguments", async () => {
    const client = await connectItem(registerSummarize);
    try {
      const plain = await client.getPrompt({
        name: "summarize",
        arguments: { text: "Long text." },
      });
      assert.deepEqual(plain.messages, [
        { role: "user", content: { type: "text", text: "Summarize this text:\n\nLong text." } },
      ]);
      const aimed = await client.getPrompt({
        name: "summarize",
        arguments: { text: "Long text.", audience: "children" },
      });
      const [message] = aimed.messages;
      assert.ok(message?.content.type === "text");
      assert.equal(message.content.text, "Summarize this text for children:\n\nLong text.");
    } finally {
      await client.close();
    }
  });

  it("refuses a missing required argument", async () => {
    const client = await connectItem(registerSummarize);
    try {
      await assert.rejects(client.getPrompt({ name: "summarize", arguments: {} }), {
        code: -32602,
      });
    } finally {
      await client.close();
    }
  });
});
