/**
 * A fresh McpServer per request (stateless Streamable HTTP): nothing is shared between requests,
 * so any instance can answer any request. The SDK requires it: it marks each instance with the
 * request's protocol revision and client, and refuses one still serving another request.
 *
 * What does not depend on the request is built once per process instead (the tools' schemas and
 * their JSON Schemas, the resource template), and a `tools/call` gets a server holding only the
 * tool it names (see `registerTools`): building the server is then a few object allocations.
 */
import { McpServer } from "@modelcontextprotocol/server";
import type { Identity } from "../auth/types.js";
import { SERVER_NAME, SERVER_VERSION } from "../config.js";
import type { Logger } from "../logger.js";
import { registerPrompts } from "../prompts/index.js";
import { registerResources } from "../resources/index.js";
import { registerTools } from "../tools/index.js";
import type { McpContext } from "./context.js";

/** What one request can reach: a `tools/call` names its tool; undefined = anything. */
export interface RequestFocus {
  readonly tool?: string;
}

export function createMcpServer(
  identity: Identity,
  logger: Logger,
  focus: RequestFocus = {},
): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    // Lists never change within one request's server: no listChanged, no subscriptions.
    { capabilities: { tools: {}, resources: {}, prompts: {} } },
  );
  const context: McpContext = { identity, logger };
  registerTools(server, context, focus.tool);
  if (focus.tool === undefined) {
    registerResources(server, context);
    registerPrompts(server, context);
  }
  return server;
}
