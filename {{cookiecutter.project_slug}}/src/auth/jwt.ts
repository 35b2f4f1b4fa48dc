/**
 * AUTH_MODE=jwt: bearer JWTs verified with jose.
 *
 * - AUTH_JWKS_URL: asymmetric algorithms only; keys come from jwks.ts (cached, bounded
 *   fetches, an unknown `kid` refetches at most once per cooldown).
 * - AUTH_JWT_SECRET: HS256 only (shared secret, at least 32 bytes).
 *
 * Issuer, audience and `exp` are always required; `alg: none` can never pass because only the
 * listed algorithms are accepted. Before any cryptography, each segment must be canonical
 * base64url (one token, one spelling). `iat` and `nbf` may not lie further in the future than
 * the clock tolerance; AUTH_MAX_TOKEN_AGE_SECONDS optionally bounds `iat` in the past. The
 * clock is injected (`now`) so tests never depend on wall-clock timing.
 *
 * What an access token of the configured provider (AUTH_PROVIDER) looks like comes from
 * presets.ts: the audience rule (`aud`, or Cognito's `client_id`), where the scopes live, and
 * the claims that tell an access token from the provider's ID token.
 */
import { type CryptoKey, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { JwtConfig } from "../config.js";
import {
  createRemoteKeys,
  type JwksLogger,
  KeysUnavailableError,
  NoMatchingKeyError,
} from "./jwks.js";
import { clientIdFor, PRESETS, scopesFor } from "./presets.js";
import { type AuthResult, deny, type Verifier } from "./types.js";

const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];
const SYMMETRIC_ALGORITHMS = ["HS256"];

/** Longest token accepted before any parsing (defends against oversized headers). */
const MAX_TOKEN_LENGTH = 8192;
/** Most keys tried for one token without `kid` (each try is a signature check). */
const MAX_CANDIDATE_KEYS = 10;

export interface JwtVerifierOptions
  extends Omit<JwtConfig, "provider" | "clientIds" | "requireAtJwt"> {
  /** The preset the tokens follow (default generic). */
  readonly provider?: JwtConfig["provider"];
  /** Cognito: accepted `client_id` values. */
  readonly clientIds?: readonly string[];
  /** Require `typ: at+jwt` (default false). */
  readonly requireAtJwt?: boolean;
  readonly requiredScopes: readonly string[];
  /** Minimum time between two JWKS fetches, whatever their outcome (default 30 s). */
  readonly jwksCooldownMs?: number;
  /** The clock, in milliseconds since the epoch (default Date.now). */
  readonly now?: () => number;
  /** The fetch used for the JWKS (default: global fetch). */
  readonly fetch?: typeof fetch;
  /** Where failed JWKS fetches are reported (default: nowhere). */
  readonly logger?: JwksLogger;
}

type Verify = (token: string, key: Parameters<typeof jwtVerify>[1]) => Promise<JWTPayload>;

/**
 * Verifies with the JWKS; when several keys fit a header without `kid` (jose's
 * JWKSMultipleMatchingKeys), tries each candidate until one signature verifies.
 */
async function verifyWithCandidates(
  token: string,
  getKey: JWTVerifyGetKey,
  verify: Verify,
): Promise<JWTPayload> {
  try {
    return await verify(token, getKey);
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    let tried = 0;
    for await (const candidate of error as unknown as AsyncIterable<CryptoKey>) {
      if (++tried > MAX_CANDIDATE_KEYS) break;
      try {
        return await verify(token, candidate);
      } catch (inner) {
        if (inner instanceof errors.JWSSignatureVerificationFailed) continue;
        throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** True when every segment is canonical base64url: no padding, no stray bits, one spelling. */
function isCanonicalCompactJws(token: string): boolean {
  const segments = token.split(".");
  if (segments.length !== 3) return false;
  return segments.every(
    (segment, index) =>
      (segment !== "" || index === 2) &&
      /^[A-Za-z0-9_-]*$/.test(segment) &&
      Buffer.from(segment, "base64url").toString("base64url") === segment,
  );
}

export function createJwtVerifier(options: JwtVerifierOptions): Verifier {
  const now = options.now ?? Date.now;
  const preset = PRESETS[options.provider ?? "generic"];
  const clientIds = options.clientIds ?? [];
  const common = {
    issuer: options.issuer,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    requiredClaims: ["exp"],
    clockTolerance: options.clockToleranceSeconds,
    ...(options.requireAtJwt === true ? { typ: "at+jwt" } : {}),
    ...(options.maxTokenAgeSeconds === undefined
      ? {}
      : { maxTokenAge: options.maxTokenAgeSeconds }),
  };
  if (preset.audience === "aud" && options.audience === undefined) {
    throw new Error(`AUTH_PROVIDER=${preset.name} needs an audience`);
  }
  if (preset.audience === "client_id" && clientIds.length === 0) {
    throw new Error(`AUTH_PROVIDER=${preset.name} needs the accepted client ids`);
  }
  let verifyJwt: (token: string) => Promise<JWTPayload>;
  if (options.jwksUrl !== undefined) {
    const keys = createRemoteKeys({
      url: options.jwksUrl,
      now,
      ...(options.jwksCooldownMs === undefined ? {} : { cooldownMs: options.jwksCooldownMs }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    const getKey: JWTVerifyGetKey = (header) => keys.getKey(header);
    const verifyOptions = { ...common, algorithms: ASYMMETRIC_ALGORITHMS };
    const verify: Verify = async (token, key) =>
      (await jwtVerify(token, key as never, { ...verifyOptions, currentDate: new Date(now()) }))
        .payload;
    verifyJwt = (token) => verifyWithCandidates(token, getKey, verify);
  } else if (options.secret !== undefined) {
    const secret = options.secret;
    const verifyOptions = { ...common, algorithms: SYMMETRIC_ALGORITHMS };
    verifyJwt = async (token) =>
      (await jwtVerify(token, secret, { ...verifyOptions, currentDate: new Date(now()) })).payload;
  } else {
    throw new Error("JWT verifier needs a JWKS URL or a secret");
  }

  return {
    async verify(token: string): Promise<AuthResult> {
      if (token.length > MAX_TOKEN_LENGTH) return deny(401, "token too long", "invalid_token");
      if (!isCanonicalCompactJws(token)) {
        return deny(401, "malformed token (not canonical base64url)", "invalid_token");
      }
      let payload: JWTPayload;
      try {
        payload = await verifyJwt(token);
      } catch (error) {
        return describe(error);
      }
      const nowSeconds = Math.floor(now() / 1000);
      if (
        typeof payload.iat === "number" &&
        payload.iat > nowSeconds + options.clockToleranceSeconds
      ) {
        return deny(401, "token issued in the future (iat)", "invalid_token");
      }
      if (payload.sub !== undefined && typeof payload.sub !== "string") {
        return deny(401, "token subject is not a string", "invalid_token");
      }
      const subject =
        payload.sub ??
        (typeof payload.client_id === "string" ? payload.client_id : undefined) ??
        (typeof payload.azp === "string" ? payload.azp : undefined);
      if (subject === undefined || subject === "") {
        return deny(401, "token has no subject", "invalid_token");
      }
      const notAccess = preset.accessTokenProblem(payload);
      if (notAccess !== undefined) return deny(401, notAccess, "invalid_token");
      if (preset.audience === "client_id") {
        const client = payload.client_id;
        if (typeof client !== "string" || !clientIds.includes(client)) {
          return deny(401, "invalid claim: client_id", "invalid_token");
        }
      }
      const scopes = scopesFor(preset, payload);
      const missing = options.requiredScopes.filter((scope) => !scopes.includes(scope));
      if (missing.length > 0) {
        return deny(403, `missing scope: ${missing.join(" ")}`, "insufficient_scope");
      }
      const clientId = clientIdFor(preset, payload);
      return { ok: true, identity: { subject, scopes, method: "jwt", clientId } };
    },
  };
}

/** Maps a verification error to a client-safe answer. Key-retrieval problems are 503, never 500. */
function describe(error: unknown): AuthResult {
  if (error instanceof KeysUnavailableError) {
    return deny(503, "signing keys temporarily unavailable", undefined, error.retryAfterSeconds);
  }
  if (error instanceof NoMatchingKeyError) return deny(401, "no matching key", "invalid_token");
  if (error instanceof errors.JWTExpired) return deny(401, "token expired", "invalid_token");
  if (error instanceof errors.JWTClaimValidationFailed) {
    return deny(401, `invalid claim: ${error.claim}`, "invalid_token");
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return deny(401, "algorithm not allowed", "invalid_token");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return deny(401, "invalid signature", "invalid_token");
  }
  if (error instanceof errors.JOSEError) {
    // JWSInvalid, JWTInvalid, JOSENotSupported, ...: a malformed or unsupported token.
    return deny(401, "malformed token", "invalid_token");
  }
  return deny(401, "invalid token", "invalid_token");
}
