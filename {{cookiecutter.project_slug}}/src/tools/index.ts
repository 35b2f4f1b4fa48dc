/**
 * The tool list. To add a tool: create tools/<name>.ts exporting a
 * `register<Name>(server, context)` function and add it below.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import type { Identity } from "../auth/types.js";
import type { Logger } from "../logger.js";
import { registerEcho } from "./echo.js";
import { registerWhoami } from "./whoami.js";

/** What every tool may use: the verified caller and a request-scoped logger. */
export interface ToolContext {
  readonly identity: Identity;
  readonly logger: Logger;
}

export type ToolRegistration = (server: McpServer, context: ToolContext) => void;

export const tools: readonly ToolRegistration[] = [registerEcho, registerWhoami];

export function registerTools(server: McpServer, context: ToolContext): void {
  for (const register of tools) register(server, context);
}
