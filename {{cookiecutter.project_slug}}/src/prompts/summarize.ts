/**
 * A prompt with arguments: a message template the client fills in and hands to its model.
 * Copy this file to add a prompt, then list it in prompts/index.ts. Prompt arguments are
 * strings; the schema bounds them like tool arguments.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import * as z from "zod";
import type { McpContext } from "../mcp/context.js";

// Defined once per process, not per request (every request builds a fresh server).
const Args = z.object({
  text: z.string().min(1).max(100_000).describe("The text to summarize"),
  audience: z.string().max(200).optional().describe("Who the summary is for"),
});

export function registerSummarize(server: McpServer, _context: McpContext): void {
  server.registerPrompt(
    "summarize",
    {
      title: "Summarize",
      description: "Asks the model to summarize a text, optionally for a given audience.",
      argsSchema: Args,
    },
    ({ text, audience }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "text",
            text:
              audience === undefined
                ? `Summarize this text:\n\n${text}`
                : `Summarize this text for ${audience}:\n\n${text}`,
          },
        },
      ],
    }),
  );
}
