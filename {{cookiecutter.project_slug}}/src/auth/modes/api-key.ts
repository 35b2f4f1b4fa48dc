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
import { ConfigError, csv, raw } from "../../env.js";
import {
  isDevelopmentCredential,
  NOT_A_DEVELOPMENT_CREDENTIAL,
  readSecretFile,
  refuseDevelopmentCredential,
} from "../credentials.js";
import type { AuthMode, SettingsContext } from "../mode.js";
import { type AuthResult, deny, type Verifier } from "../types.js";

interface ApiKeySettings {
  /** The accepted keys, without duplicates. Never logged. */
  readonly keys: readonly string[];
}

/** Reads AUTH_API_KEYS (comma-separated) and AUTH_API_KEYS_FILE (one key per line). */
function parseApiKeys({ env, nodeEnv }: SettingsContext): ApiKeySettings {
  const keys = csv(raw(env, "AUTH_API_KEYS"));
  for (const key of keys) refuseDevelopmentCredential("AUTH_API_KEYS", key, nodeEnv);
  const file = raw(env, "AUTH_API_KEYS_FILE");
  if (file !== undefined) {
    const text = readSecretFile("AUTH_API_KEYS_FILE", file);
    for (const line of text.split(/\r?\n/)) {
      const key = line.trim();
      if (key === "" || key.startsWith("#")) continue;
      refuseDevelopmentCredential("AUTH_API_KEYS_FILE", key, nodeEnv);
      keys.push(key);
    }
  }
  if (keys.length === 0) {
    throw new ConfigError(
      "AUTH_API_KEYS",
      "AUTH_MODE=api_key needs at least one key in AUTH_API_KEYS or AUTH_API_KEYS_FILE",
    );
  }
  for (const key of keys) {
    if (key.length < 16) {
      throw new ConfigError(
        file === undefined ? "AUTH_API_KEYS" : "AUTH_API_KEYS_FILE",
        "every key must be at least 16 characters long",
      );
    }
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(key)) {
      throw new ConfigError(
        file === undefined ? "AUTH_API_KEYS" : "AUTH_API_KEYS_FILE",
        "keys may only contain letters, digits and - . _ ~ + / (and trailing =)",
      );
    }
  }
  return { keys: Object.freeze([...new Set(keys)]) };
}

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

export const apiKeyMode = {
  name: "api_key",
  credential: "API keys",
  scopes: false,
  open: false,
  parse: parseApiKeys,
  verifier: (settings) => createApiKeyVerifier(settings.keys),
  authorizationServers: () => undefined,
  /** The first development key (dev_...) of AUTH_API_KEYS. */
  async developmentCredential(settings) {
    const key = settings.keys.find(isDevelopmentCredential);
    if (key === undefined) {
      throw new Error(`AUTH_API_KEYS ${NOT_A_DEVELOPMENT_CREDENTIAL}`);
    }
    return key;
  },
} as const satisfies AuthMode<"api_key", ApiKeySettings>;
