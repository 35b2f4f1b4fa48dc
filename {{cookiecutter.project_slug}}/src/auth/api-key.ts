/**
 * AUTH_MODE=api_key: static bearer keys from AUTH_API_KEYS or AUTH_API_KEYS_FILE.
 *
 * Both the presented key and every configured key are hashed with SHA-256 and
 * compared with timingSafeEqual, so the comparison takes the same time whatever
 * the key length or the position of the first differing byte; all keys are
 * always compared (no early exit). The caller is identified by a key id derived
 * from the key's hash ("key-1a2b3c4d"), never by the key itself.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type AuthResult, deny, type Verifier } from "./types.js";

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** Stable, non-secret identifier of a key: safe to log and to show to tools. */
export function keyId(key: string): string {
  return `key-${sha256(key).toString("hex").slice(0, 8)}`;
}

export function createApiKeyVerifier(keys: readonly string[]): Verifier {
  if (keys.length === 0) throw new Error("API key verifier needs at least one key");
  const known = keys.map((key) => ({ digest: sha256(key), id: keyId(key) }));

  return {
    async verify(token: string): Promise<AuthResult> {
      const presented = sha256(token);
      let match: string | undefined;
      for (const candidate of known) {
        if (timingSafeEqual(presented, candidate.digest) && match === undefined) {
          match = candidate.id;
        }
      }
      if (match === undefined) return deny(401, "invalid API key", "invalid_token");
      return { ok: true, identity: { subject: match, scopes: [], method: "api_key" } };
    },
  };
}
