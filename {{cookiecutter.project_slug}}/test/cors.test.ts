/**
 * The CORS preflight's allowed headers: every header the MCP client sends, plus the requested
 * `Mcp-Param-*` names when well formed (bounded). The template's browser test proves the same
 * in a real browser.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  allowedRequestHeaders,
  CORS_ALLOWED_HEADERS,
  MAX_PARAM_HEADERS,
} from "../src/http/cors.js";

function allowed(requested: string | undefined): string[] {
  return allowedRequestHeaders(requested).split(", ");
}

describe("CORS preflight headers", () => {
  it("allows every header of both protocol eras", () => {
    for (const name of [
      "Authorization",
      "Content-Type",
      "Mcp-Protocol-Version",
      "Mcp-Method",
      "Mcp-Name",
      "Mcp-Session-Id",
      "Last-Event-ID",
    ]) {
      assert.ok(allowed(undefined).includes(name), name);
    }
  });

  it("echoes well-formed Mcp-Param-* names, lower-cased, once each", () => {
    const answer = allowed("content-type, mcp-param-region, Mcp-Param-Tenant_ID, mcp-param-region");
    assert.deepEqual(answer.slice(CORS_ALLOWED_HEADERS.length), [
      "mcp-param-region",
      "mcp-param-tenant_id",
    ]);
  });

  it("echoes nothing else: other names, an empty suffix, non-token characters", () => {
    const answer = allowed("x-evil, mcp-param-, mcp-param-a b, mcp-param-a/b, mcp-param-é, cookie");
    assert.deepEqual(answer, [...CORS_ALLOWED_HEADERS]);
  });

  it("bounds how many and how long", () => {
    const many = Array.from({ length: MAX_PARAM_HEADERS + 10 }, (_, i) => `mcp-param-p${i}`);
    assert.equal(allowed(many.join(",")).length, CORS_ALLOWED_HEADERS.length + MAX_PARAM_HEADERS);
    assert.deepEqual(allowed(`mcp-param-${"x".repeat(200)}`), [...CORS_ALLOWED_HEADERS]);
  });
});
