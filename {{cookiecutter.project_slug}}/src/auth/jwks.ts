/**
 * The identity provider's signing keys, fetched with every failure mode bounded.
 *
 * Whatever the JWKS endpoint does (errors, garbage, HTML, hangs, a huge document, thousands
 * of keys):
 *   - one fetch at a time: concurrent requests share the fetch in flight;
 *   - at most one fetch per cooldown, after a failed fetch as after a successful one;
 *   - each fetch is cut off after `timeoutMs`, at `maxBytes` of body, and refused above
 *     `maxKeys` keys;
 *   - the last good key set stays in use while refetches fail.
 * The clock is injected (`now`), so tests never wait for the cooldown to pass.
 *
 * A failed fetch is logged with its cause (HTTP status, network error code, what was wrong with
 * the document) and the URL without any userinfo or query: at most once per cooldown, since
 * fetches are. A token without `kid` that several keys could verify gets the candidates (jose's
 * JWKSMultipleMatchingKeys, passed on to the verifier, which tries each).
 */
import {
  type CryptoKey,
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from "jose";

/** Where failed fetches are reported (the server's pino logger fits). */
export interface JwksLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

interface JwksOptions {
  readonly url: URL;
  /** Minimum time between two fetches, whatever their outcome. */
  readonly cooldownMs?: number;
  /** Keys older than this are refetched on the next request (when the cooldown allows). */
  readonly maxAgeMs?: number;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly maxKeys?: number;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
  readonly logger?: JwksLogger;
}

const JWKS_DEFAULTS = {
  cooldownMs: 30_000,
  maxAgeMs: 10 * 60_000,
  timeoutMs: 5_000,
  maxBytes: 256 * 1024,
  maxKeys: 100,
} as const;

/** The keys cannot be had right now: answer 503 and say when to retry. */
export class KeysUnavailableError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    reason: string,
  ) {
    super(`signing keys unavailable: ${reason}`);
    this.name = "KeysUnavailableError";
  }
}

/** No published key matches the token's header (after a refetch, when the cooldown allowed one). */
export class NoMatchingKeyError extends Error {}

type KeyResolver = ReturnType<typeof createLocalJWKSet>;

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > maxBytes) throw new Error(`document larger than ${maxBytes} bytes`);
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`document larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJwks(text: string, maxKeys: number): JSONWebKeySet {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error("not JSON");
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error("no `keys` array");
  if (keys.length > maxKeys) throw new Error(`more than ${maxKeys} keys`);
  if (!keys.every((key) => key !== null && typeof key === "object" && !Array.isArray(key))) {
    throw new Error("a key is not an object");
  }
  return { keys } as JSONWebKeySet;
}

/** The URL as safe to log: no userinfo, no query or fragment. */
function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** What went wrong, without echoing a response body: the message and a network code if any. */
function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  const detail = typeof cause?.message === "string" ? cause.message : undefined;
  return [error.message, code ?? detail].filter(Boolean).join(": ");
}

interface RemoteKeys {
  /** The key for a token header; fetches when needed and allowed. */
  getKey(header: JWSHeaderParameters): Promise<CryptoKey>;
  /** How many fetches were started (for tests and logs). */
  fetches(): number;
}

export function createRemoteKeys(options: JwksOptions): RemoteKeys {
  const settings = { ...JWKS_DEFAULTS, ...options };
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  let resolver: KeyResolver | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let lastError: string | undefined;
  let inFlight: Promise<void> | undefined;
  let started = 0;

  async function load(): Promise<void> {
    started += 1;
    lastAttempt = now();
    try {
      const response = await doFetch(settings.url, {
        signal: AbortSignal.timeout(settings.timeoutMs),
        headers: { Accept: "application/json" },
        redirect: "error",
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      const jwks = parseJwks(await readCapped(response, settings.maxBytes), settings.maxKeys);
      resolver = createLocalJWKSet(jwks);
      fetchedAt = now();
      lastError = undefined;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      options.logger?.warn(
        {
          jwksUrl: safeUrl(settings.url),
          cause: causeOf(error),
          nextAttemptInMs: settings.cooldownMs,
        },
        "JWKS fetch failed: tokens cannot be verified until a fetch succeeds (the last good keys stay in use)",
      );
    }
  }

  /** Starts a fetch unless one runs or the cooldown forbids it; resolves when it is done. */
  function refresh(): Promise<void> {
    if (inFlight !== undefined) return inFlight;
    if (now() - lastAttempt < settings.cooldownMs) return Promise.resolve();
    inFlight = load().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function retryAfter(): number {
    const waitMs = settings.cooldownMs - (now() - lastAttempt);
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  async function resolve(header: JWSHeaderParameters): Promise<CryptoKey | undefined> {
    if (resolver === undefined) return undefined;
    try {
      return (await resolver(header, { payload: "", signature: "" } as never)) as CryptoKey;
    } catch (error) {
      // Several keys fit a header without `kid`: the verifier tries each candidate.
      if (error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      return undefined;
    }
  }

  return {
    async getKey(header) {
      if (resolver === undefined) {
        await refresh();
      } else if (now() - fetchedAt > settings.maxAgeMs) {
        // Aged, not wrong: keep serving them while the refetch runs, so a hanging identity
        // provider never holds requests (the refetch cannot reject; failures are recorded).
        void refresh();
      }
      if (resolver === undefined) {
        throw new KeysUnavailableError(retryAfter(), lastError ?? "not fetched yet");
      }
      const key = await resolve(header);
      if (key !== undefined) return key;
      // Unknown key: the provider may have rotated. Refetch, at most once per cooldown.
      await refresh();
      const rotated = await resolve(header);
      if (rotated === undefined) throw new NoMatchingKeyError("no matching key");
      return rotated;
    },
    fetches: () => started,
  };
}
