/**
 * The tool list: one module per tool, each carrying the OAuth scopes it needs.
 *
 * To add a tool: copy tools/echo.ts to tools/<name>.ts (a `ToolModule`: its name, its scopes and
 * its `register` function) and add it to `tools` below. A tool with `scopes: []` is open to every
 * authenticated caller; one that lists scopes is listed and callable only by a caller whose
 * token carries all of them (see "Per-tool scopes" in docs/authentication.md: a `tools/call` without them
 * is answered 403 `insufficient_scope` before the tool runs, and `tools/list` leaves it out).
 */
import type { McpServer } from "@modelcontextprotocol/server";
import { hasScopes } from "../auth/scopes.js";
import type { McpContext, ToolModule } from "../mcp/context.js";
import { count } from "./count.js";
import { echo } from "./echo.js";
import { serverStatus } from "./server-status.js";
import { textStats } from "./text-stats.js";
import { whoami } from "./whoami.js";

export const tools: readonly ToolModule[] = [count, echo, serverStatus, textStats, whoami];

const byName = new Map(tools.map((tool) => [tool.name, tool]));

/** The scopes a call of the tool `name` needs; undefined for a name no tool has. */
export function toolScopes(name: string): readonly string[] | undefined {
  return byName.get(name)?.scopes;
}

/** Every scope some tool asks for, in list order (for the protected-resource metadata). */
export function allToolScopes(): string[] {
  return [...new Set(tools.flatMap((tool) => tool.scopes))];
}

/**
 * Registers the tools this caller may use: a tool whose scopes it lacks is not listed.
 * `only` (a `tools/call`'s tool name) registers just that tool, when it is one this caller may
 * use: the call can reach no other, and the answer is the same; any other name registers all,
 * so an unknown or forbidden tool gets the SDK's usual answer.
 */
export function registerTools(server: McpServer, context: McpContext, only?: string): void {
  const named = only === undefined ? undefined : byName.get(only);
  if (named !== undefined && hasScopes(context.identity, named.scopes)) {
    named.register(server, context);
    return;
  }
  for (const tool of tools) {
    if (hasScopes(context.identity, tool.scopes)) tool.register(server, context);
  }
}
