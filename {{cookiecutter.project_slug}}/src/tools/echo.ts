/**
 * The smallest useful tool: returns its `text` argument.
 * Copy this file to add a tool, then list it in tools/index.ts.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import * as z from "zod";
import type { McpContext } from "../mcp/context.js";

export function registerEcho(server: McpServer, _context: McpContext): void {
  server.registerTool(
    "echo",
    {
      title: "Echo",
      description: "Returns the text it is given.",
      inputSchema: z.object({
        text: z.string().max(10_000).describe("The text to echo back"),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );
}
