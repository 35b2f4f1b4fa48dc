/**
 * Per-tool scopes: which scopes a JSON-RPC request needs, and whether a caller has them.
 *
 * The /mcp route asks before the SDK sees the request, so a call the caller may not make is
 * answered with HTTP 403 and an `insufficient_scope` challenge (MCP authorization, "scope
 * challenge"), which an MCP client answers by asking for the wider scope.
 *
 * Scopes come from the caller's token. API keys carry none (AUTH_REQUIRED_SCOPES is refused
 * with AUTH_MODE=api_key for the same reason): a key reaches the tools that need no scope and
 * nothing else, so no key is accepted anywhere it was refused before tools had scopes.
 */
import type { Identity } from "./types.js";

type ToolScopes = (toolName: string) => readonly string[] | undefined;

export function hasScopes(identity: Identity, needed: readonly string[]): boolean {
  return needed.every((scope) => identity.scopes.includes(scope));
}

/**
 * The scopes the `tools/call` messages of a request body need (a JSON-RPC batch of the
 * 2025-03-26 revision is an array: every call in it counts). Anything else needs none here;
 * a malformed message is left to the SDK, which answers it with a JSON-RPC error.
 */
export function scopesNeeded(body: unknown, scopesOf: ToolScopes): string[] {
  const messages = Array.isArray(body) ? body : [body];
  const needed = new Set<string>();
  for (const message of messages) {
    if (message === null || typeof message !== "object") continue;
    const { method, params } = message as { method?: unknown; params?: unknown };
    if (method !== "tools/call" || params === null || typeof params !== "object") continue;
    const name = (params as { name?: unknown }).name;
    if (typeof name !== "string") continue;
    for (const scope of scopesOf(name) ?? []) needed.add(scope);
  }
  return [...needed];
}
