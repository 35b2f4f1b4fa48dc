/**
 * The prompt list. To add a prompt: create prompts/<name>.ts exporting a
 * `register<Name>(server, context)` function and add it below.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import type { McpContext, Registration } from "../mcp/context.js";
import { registerSummarize } from "./summarize.js";

const prompts: readonly Registration[] = [registerSummarize];

export function registerPrompts(server: McpServer, context: McpContext): void {
  for (const register of prompts) register(server, context);
}
