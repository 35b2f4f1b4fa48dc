/**
 * The resource list. To add a resource: create resources/<name>.ts exporting a
 * `register<Name>(server, context)` function and add it below.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import type { McpContext, Registration } from "../mcp/context.js";
import { registerGreeting } from "./greeting.js";
import { registerServerInfo } from "./server-info.js";

const resources: readonly Registration[] = [registerGreeting, registerServerInfo];

export function registerResources(server: McpServer, context: McpContext): void {
  for (const register of resources) register(server, context);
}
