/**
 * A tool with typed output: `outputSchema` declares the result's shape, the handler returns it
 * as `structuredContent` (checked by the SDK against the schema) and as text for clients that
 * read only `content`. Its annotations tell clients it is safe to call freely.
 */
import * as z from "zod";
import type { ToolModule } from "../mcp/context.js";
import { convertedOnce } from "../mcp/schema.js";

const StatsShape = z.object({
  characters: z.number().int().describe("Unicode code points"),
  words: z.number().int().describe("Runs of non-space characters"),
  lines: z.number().int().describe("Line breaks + 1 (an empty text has no lines)"),
});

type TextStats = z.infer<typeof StatsShape>;

const Stats = convertedOnce(StatsShape);
const Input = convertedOnce(
  z.object({
    text: z.string().max(100_000).describe("The text to measure"),
  }),
);

export function measureText(text: string): TextStats {
  const words = text.split(/\s+/u).filter((word) => word.length > 0).length;
  const lines = text.length === 0 ? 0 : text.split(/\r\n|\r|\n/u).length;
  return { characters: [...text].length, words, lines };
}

export const textStats: ToolModule = {
  name: "text_stats",
  scopes: [],
  register(server) {
    server.registerTool(
      "text_stats",
      {
        title: "Text statistics",
        description: "Counts the characters, words and lines of a text.",
        inputSchema: Input,
        outputSchema: Stats,
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      async ({ text }) => {
        const stats = measureText(text);
        return {
          content: [{ type: "text", text: JSON.stringify(stats) }],
          structuredContent: stats,
        };
      },
    );
  },
};
