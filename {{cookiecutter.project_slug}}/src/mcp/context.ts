/**
 * What every tool, resource and prompt may use: the verified caller and a request-scoped
 * logger. Its own module, so the registries (tools/, resources/, prompts/) and the items they
 * list all import it from here, never from each other.
 */
import type { McpServer } from "@modelcontextprotocol/server";
import type { Identity } from "../auth/types.js";
import type { Logger } from "../logger.js";

export interface McpContext {
  readonly identity: Identity;
  readonly logger: Logger;
}

/** One item's registration: `register<Name>(server, context)`, listed in its folder's index.ts. */
export type Registration = (server: McpServer, context: McpContext) => void;

/** A tool: its MCP name, the OAuth scopes a caller needs (all of them; [] = any caller), its registration. */
export interface ToolModule {
  readonly name: string;
  readonly scopes: readonly string[];
  register(server: McpServer, context: McpContext): void;
}
