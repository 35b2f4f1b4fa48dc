import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createApiKeyVerifier, keyId } from "../src/auth/modes/api-key.js";

const KEY_A = "key-a-0123456789abcdef0123456789";
const KEY_B = "key-b-0123456789abcdef0123456789";

describe("API key verifier", () => {
  const verifier = createApiKeyVerifier([KEY_A, KEY_B]);

  it("accepts every configured key and identifies it by a key id, not the key", async () => {
    for (const key of [KEY_A, KEY_B]) {
      const result = await verifier.verify(key);
      assert.ok(result.ok);
      assert.equal(result.identity.subject, keyId(key));
      assert.equal(result.identity.method, "api_key");
      assert.ok(!JSON.stringify(result).includes(key), "the key never leaves the verifier");
    }
  });

  it("derives stable, distinct, non-secret key ids", () => {
    assert.match(keyId(KEY_A), /^key-[0-9a-f]{8}$/);
    assert.equal(keyId(KEY_A), keyId(KEY_A));
    assert.notEqual(keyId(KEY_A), keyId(KEY_B));
  });

  it("refuses unknown keys, prefixes and extensions of valid keys", async () => {
    for (const wrong of ["nope", KEY_A.slice(0, -1), `${KEY_A}x`, KEY_A.toUpperCase(), ""]) {
      const result = await verifier.verify(wrong);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.status, 401);
        assert.equal(result.error, "invalid_token");
      }
    }
  });

  it("needs at least one key", () => {
    assert.throws(() => createApiKeyVerifier([]));
  });
});
