/**
 * A fresh McpServer per request (stateless Streamable HTTP): nothing is shared
 * between requests, so any instance can answer any request.
 */
import { McpServer } from "@modelcontextprotocol/server";
import type { Identity } from "../auth/types.js";
import { SERVER_NAME, SERVER_VERSION } from "../config.js";
import type { Logger } from "../logger.js";
import { registerPrompts } from "../prompts/index.js";
import { registerResources } from "../resources/index.js";
import { registerTools } from "../tools/index.js";
import type { McpContext } from "./context.js";

export function createMcpServer(identity: Identity, logger: Logger): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    // Lists never change within one request's server: no listChanged, no subscriptions.
    { capabilities: { tools: {}, resources: {}, prompts: {} } },
  );
  const context: McpContext = { identity, logger };
  registerTools(server, context);
  registerResources(server, context);
  registerPrompts(server, context);
  return server;
}
