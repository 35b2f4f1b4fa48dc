/**
 * A longer-running tool that reports progress: the pattern for work done in steps.
 * Progress is sent only when the client asked for it (its request carries a `progressToken`);
 * each step is awaited, so the notifications reach the client before the result, and a
 * cancelled request stops at the next step.
 */
import type { ServerContext } from "@modelcontextprotocol/server";
import * as z from "zod";
import type { ToolModule } from "../mcp/context.js";
import { convertedOnce } from "../mcp/schema.js";

export const MAX_STEPS = 100;

const Input = convertedOnce(
  z.object({
    to: z.number().int().min(1).max(MAX_STEPS).describe("How far to count"),
  }),
);

/** Sends `notifications/progress` for this request, or nothing when no token was sent. */
function progressReporter(ctx: ServerContext) {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  return async (progress: number, total: number, message: string): Promise<void> => {
    if (progressToken === undefined) return;
    await ctx.mcpReq.notify({
      method: "notifications/progress",
      params: { progressToken, progress, total, message },
    });
  };
}

export const count: ToolModule = {
  name: "count",
  scopes: [],
  register(server) {
    server.registerTool(
      "count",
      {
        title: "Count (with progress)",
        description: `Counts from 1 to \`to\` (at most ${MAX_STEPS}), reporting progress after each step.`,
        inputSchema: Input,
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      async ({ to }, ctx) => {
        const report = progressReporter(ctx);
        for (let step = 1; step <= to; step += 1) {
          ctx.mcpReq.signal.throwIfAborted();
          // The real work of one step goes here.
          await report(step, to, `counted ${step} of ${to}`);
        }
        return { content: [{ type: "text", text: `counted to ${to}` }] };
      },
    );
  },
};
