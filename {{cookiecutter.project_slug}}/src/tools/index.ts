/**
 * The tool list: one module per tool, each carrying the OAuth scopes it needs.
 *
 * To add a tool: copy tools/echo.ts to tools/<name>.ts (a `ToolModule`: its name, its scopes and
 * its `register` function) and add it to `tools` below. A tool with `scopes: []` is open to every
 * authenticated caller; one that lists scopes is listed and callable only by a caller whose
 * token carries all of them (see "Per-tool scopes" in the README: a `tools/call` without them
 * is answered 403 `insufficient_scope` before the tool runs, and `tools/list` leaves it out).
 */
import type { McpServer } from "@modelcontextprotocol/server";
import { hasScopes } from "../auth/scopes.js";
import type { Identity } from "../auth/types.js";
import type { Logger } from "../logger.js";
import { echo } from "./echo.js";
import { serverStatus } from "./server-status.js";
import { whoami } from "./whoami.js";

/** What every tool may use: the verified caller and a request-scoped logger. */
export interface ToolContext {
  readonly identity: Identity;
  readonly logger: Logger;
}

export interface ToolModule {
  /** The MCP tool name, as `register` registers it. */
  readonly name: string;
  /** OAuth scopes a caller needs, all of them, to see and call the tool ([] = any caller). */
  readonly scopes: readonly string[];
  register(server: McpServer, context: ToolContext): void;
}

export const tools: readonly ToolModule[] = [echo, whoami, serverStatus];

const byName = new Map(tools.map((tool) => [tool.name, tool]));

/** The scopes a call of the tool `name` needs; undefined for a name no tool has. */
export function toolScopes(name: string): readonly string[] | undefined {
  return byName.get(name)?.scopes;
}

/** Every scope some tool asks for, in list order (for the protected-resource metadata). */
export function allToolScopes(): string[] {
  return [...new Set(tools.flatMap((tool) => tool.scopes))];
}

/** Registers the tools this caller may use: a tool whose scopes it lacks is not listed. */
export function registerTools(server: McpServer, context: ToolContext): void {
  for (const tool of tools) {
    if (hasScopes(context.identity, tool.scopes)) tool.register(server, context);
  }
}
