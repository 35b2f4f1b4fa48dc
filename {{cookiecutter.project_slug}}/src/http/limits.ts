/**
 * Fair limits per caller: what one credential (or, before authentication, one client address)
 * may hold of this replica at once and how fast it may ask.
 *
 *   - requests in progress per caller (a slot is held until the answer has left the process,
 *     so a client that never reads its answers holds its slots, not more memory),
 *   - open `subscriptions/listen` streams per caller, each with a maximum lifetime,
 *   - a token bucket per caller (after authentication) and per client address (before it),
 *     refused with 429, `Retry-After` and the IETF RateLimit headers
 *     (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy`, `RateLimit`).
 *
 * The request path costs a Map lookup and a few counters; buckets refill lazily from the clock,
 * and the only timer is the shared sweep in watchdog.ts. The clock is injected (tests).
 */

/** Why a request or connection was refused or cut; the metrics hook receives it. */
export type LimitReason =
  | "address_rate"
  | "caller_rate"
  | "caller_concurrency"
  | "caller_streams"
  | "body_timeout"
  | "write_timeout"
  | "stream_lifetime";

/** A token bucket quota: `quota` requests per `windowSeconds`, bursts of up to `quota`. */
export interface RateQuota {
  readonly quota: number;
  readonly windowSeconds: number;
}

export interface LimitSettings {
  /** Requests in progress at once per caller. */
  readonly requestsPerCaller: number;
  /** Open subscriptions/listen streams per caller. */
  readonly streamsPerCaller: number;
  /** Requests per window per caller; undefined = no rate limit. */
  readonly callerRate: RateQuota | undefined;
  /** Requests per window per client address, before authentication; undefined = none. */
  readonly addressRate: RateQuota | undefined;
}

/** A refusal: the status to answer and the headers that say when to come back. */
interface LimitRefusal {
  readonly ok: false;
  readonly status: 429;
  readonly reason: LimitReason;
  readonly headers: Record<string, string>;
}

/** A granted slot: `release()` gives it back (idempotent). */
export interface LimitGrant {
  readonly ok: true;
  release(): void;
}

export type LimitVerdict = LimitGrant | LimitRefusal;

/** Distinct keys tracked at most; further ones share one bucket (an address-spraying client). */
export const MAX_TRACKED_KEYS = 50_000;
const OVERFLOW_KEY = "\u0000overflow";

interface Bucket {
  tokens: number;
  updated: number;
}

interface CallerState extends Bucket {
  requests: number;
  streams: number;
}

/** The bucket after refilling it to `now`. */
function refill(bucket: Bucket, quota: RateQuota, now: number): void {
  const perMs = quota.quota / (quota.windowSeconds * 1000);
  const elapsed = now - bucket.updated;
  if (elapsed > 0) {
    bucket.tokens = Math.min(quota.quota, bucket.tokens + elapsed * perMs);
    bucket.updated = now;
  }
}

/** Takes one token, or returns the refusal headers (Retry-After and the draft's fields). */
function take(
  bucket: Bucket,
  quota: RateQuota,
  policy: string,
  now: number,
): Record<string, string> | undefined {
  refill(bucket, quota, now);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return undefined;
  }
  const perMs = quota.quota / (quota.windowSeconds * 1000);
  const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  // t: seconds until the quota is whole again, as the draft's "reset" for a bucket.
  const reset = Math.max(retryAfter, Math.ceil((quota.quota - bucket.tokens) / perMs / 1000));
  return {
    "Retry-After": String(retryAfter),
    "RateLimit-Policy": `"${policy}";q=${quota.quota};w=${quota.windowSeconds}`,
    RateLimit: `"${policy}";r=0;t=${reset}`,
  };
}

/**
 * The key of a client address: IPv6 addresses by their /64 (one host usually owns a whole
 * /64, so per-address keys would let it take 2^64 of them), IPv4 as is.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return "unknown";
  if (address.startsWith("::ffff:") && address.includes(".")) return address.slice(7);
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("::", 2);
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group || "0", 16).toString(16))
    .join(":")}::/64`;
}

export interface Limiter {
  /** Before authentication: one token of the client address's bucket. */
  admitAddress(address: string | undefined): LimitVerdict;
  /** After authentication: a request slot and one token of the caller's bucket. */
  admitRequest(subject: string): LimitVerdict;
  /** Turns a granted request slot into a stream slot (the body asked for subscriptions/listen). */
  upgradeToStream(subject: string, request: LimitGrant): LimitVerdict;
  /** Forgets full buckets of idle keys; the shared sweep calls it. */
  prune(): void;
  /** For tests and metrics: what a caller holds now. */
  usage(subject: string): { readonly requests: number; readonly streams: number };
  /** Keys tracked now (callers, addresses). */
  size(): { readonly callers: number; readonly addresses: number };
}

interface LimiterOptions {
  readonly now?: () => number;
  /** Called once per refusal or cut, with its reason (metrics). */
  readonly onReject?: (reason: LimitReason) => void;
}

const GRANTED_NOTHING: LimitGrant = { ok: true, release() {} };

export function createLimiter(settings: LimitSettings, options: LimiterOptions = {}): Limiter {
  const now = options.now ?? Date.now;
  const onReject = options.onReject;
  const callers = new Map<string, CallerState>();
  const addresses = new Map<string, Bucket>();

  function refuse(reason: LimitReason, headers: Record<string, string>): LimitRefusal {
    onReject?.(reason);
    return { ok: false, status: 429, reason, headers };
  }

  function callerOf(subject: string): CallerState {
    let state = callers.get(subject);
    if (state === undefined) {
      const key = callers.size >= MAX_TRACKED_KEYS ? OVERFLOW_KEY : subject;
      state = callers.get(key);
      if (state === undefined) {
        state = {
          requests: 0,
          streams: 0,
          tokens: settings.callerRate?.quota ?? 0,
          updated: now(),
        };
        callers.set(key, state);
      }
    }
    return state;
  }

  function grant(state: CallerState, kind: "requests" | "streams"): LimitGrant {
    state[kind] += 1;
    let released = false;
    return {
      ok: true,
      release() {
        if (released) return;
        released = true;
        state[kind] -= 1;
      },
    };
  }

  return {
    admitAddress(address) {
      const quota = settings.addressRate;
      if (quota === undefined) return GRANTED_NOTHING;
      let key = addressKey(address);
      let bucket = addresses.get(key);
      if (bucket === undefined) {
        if (addresses.size >= MAX_TRACKED_KEYS) key = OVERFLOW_KEY;
        bucket = addresses.get(key);
        if (bucket === undefined) {
          bucket = { tokens: quota.quota, updated: now() };
          addresses.set(key, bucket);
        }
      }
      const refused = take(bucket, quota, "address", now());
      return refused === undefined ? GRANTED_NOTHING : refuse("address_rate", refused);
    },

    admitRequest(subject) {
      const state = callerOf(subject);
      if (state.requests >= settings.requestsPerCaller) {
        return refuse("caller_concurrency", { "Retry-After": "1" });
      }
      const quota = settings.callerRate;
      if (quota !== undefined) {
        const refused = take(state, quota, "caller", now());
        if (refused !== undefined) return refuse("caller_rate", refused);
      }
      return grant(state, "requests");
    },

    upgradeToStream(subject, request) {
      const state = callerOf(subject);
      if (state.streams >= settings.streamsPerCaller) {
        return refuse("caller_streams", { "Retry-After": "1" });
      }
      request.release();
      return grant(state, "streams");
    },

    prune() {
      const at = now();
      for (const [key, state] of callers) {
        if (state.requests > 0 || state.streams > 0) continue;
        const quota = settings.callerRate;
        if (quota !== undefined) refill(state, quota, at);
        if (quota === undefined || state.tokens >= quota.quota) callers.delete(key);
      }
      const quota = settings.addressRate;
      if (quota === undefined) return;
      for (const [key, bucket] of addresses) {
        refill(bucket, quota, at);
        if (bucket.tokens >= quota.quota) addresses.delete(key);
      }
    },

    usage(subject) {
      const state = callers.get(subject);
      return { requests: state?.requests ?? 0, streams: state?.streams ?? 0 };
    },

    size: () => ({ callers: callers.size, addresses: addresses.size }),
  };
}
