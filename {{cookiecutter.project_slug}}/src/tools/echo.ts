/**
 * The smallest useful tool: returns its `text` argument.
 * Copy this file to add a tool, then list it in tools/index.ts.
 */
import * as z from "zod";
import type { ToolModule } from "../mcp/context.js";
import { convertedOnce } from "../mcp/schema.js";

// Defined once per process, not per request: see mcp/schema.ts.
const Input = convertedOnce(
  z.object({
    text: z.string().max(10_000).describe("The text to echo back"),
  }),
);

export const echo: ToolModule = {
  name: "echo",
  // Open to every authenticated caller (see server-status.ts for a tool that needs a scope).
  scopes: [],
  register(server) {
    server.registerTool(
      "echo",
      {
        title: "Echo",
        description: "Returns the text it is given.",
        inputSchema: Input,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      async ({ text }) => ({ content: [{ type: "text", text }] }),
    );
  },
};
