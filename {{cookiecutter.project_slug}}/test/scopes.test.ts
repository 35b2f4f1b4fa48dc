/**
 * Which scopes a request body needs (src/auth/scopes.ts): the tools/call messages count, in a
 * batch too; anything else, or a malformed message (left to the SDK), needs none.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hasScopes, scopesNeeded } from "../src/auth/scopes.js";
import { allToolScopes, toolScopes, tools } from "../src/tools/index.js";

const scopesOf = (name: string) =>
  ({ admin: ["mcp:admin"], both: ["mcp:admin", "mcp:write"] })[name];
const call = (name: unknown) => ({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name } });

describe("per-tool scopes", () => {
  it("a tools/call needs its tool's scopes", () => {
    assert.deepEqual(scopesNeeded(call("admin"), scopesOf), ["mcp:admin"]);
    assert.deepEqual(scopesNeeded(call("open"), scopesOf), []);
  });

  it("every call of a batch counts, each scope once", () => {
    const batch = [call("admin"), call("both"), { jsonrpc: "2.0", id: 2, method: "tools/list" }];
    assert.deepEqual(scopesNeeded(batch, scopesOf), ["mcp:admin", "mcp:write"]);
  });

  it("other methods and malformed messages need none", () => {
    for (const body of [
      null,
      "tools/call",
      { method: "tools/list" },
      { method: "tools/call" },
      { method: "tools/call", params: null },
      call(42),
      [null, 1],
    ]) {
      assert.deepEqual(scopesNeeded(body, scopesOf), [], JSON.stringify(body));
    }
  });

  it("a caller has a tool's scopes only with all of them", () => {
    const caller = { subject: "a", scopes: ["mcp:admin"], method: "jwt" } as const;
    assert.equal(hasScopes(caller, ["mcp:admin"]), true);
    assert.equal(hasScopes(caller, ["mcp:admin", "mcp:write"]), false);
    assert.equal(hasScopes(caller, []), true);
  });

  it("the tool list's scopes come from the tool modules", () => {
    for (const tool of tools) assert.deepEqual(toolScopes(tool.name), tool.scopes);
    assert.equal(toolScopes("no-such-tool"), undefined);
    assert.deepEqual(allToolScopes(), [...new Set(tools.flatMap((tool) => tool.scopes))]);
    assert.ok(allToolScopes().includes("mcp:admin"), "the example scoped tool: server_status");
  });
});
