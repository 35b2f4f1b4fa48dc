/**
 * A fresh McpServer per request (stateless Streamable HTTP): nothing is shared
 * between requests, so any instance can answer any request.
 */
import { McpServer } from "@modelcontextprotocol/server";
import type { Identity } from "../auth/types.js";
import { SERVER_NAME, SERVER_VERSION } from "../config.js";
import type { Logger } from "../logger.js";
import { registerTools } from "../tools/index.js";

export function createMcpServer(identity: Identity, logger: Logger): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    { capabilities: { tools: {} } },
  );
  registerTools(server, { identity, logger });
  return server;
}
