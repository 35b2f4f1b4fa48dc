/**
 * The tool list. To add a tool: create tools/<name>.ts exporting a
 * `register<Name>(server, context)` function and add it below.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import type { McpContext } from "../mcp/context.js";
import { registerCount } from "./count.js";
import { registerEcho } from "./echo.js";
import { registerTextStats } from "./text-stats.js";
import { registerWhoami } from "./whoami.js";

/** The shared context (src/mcp/context.ts), under the name the tools have always used. */
export type ToolContext = McpContext;

export type ToolRegistration = (server: McpServer, context: ToolContext) => void;

export const tools: readonly ToolRegistration[] = [
  registerCount,
  registerEcho,
  registerTextStats,
  registerWhoami,
];

export function registerTools(server: McpServer, context: ToolContext): void {
  for (const register of tools) register(server, context);
}
