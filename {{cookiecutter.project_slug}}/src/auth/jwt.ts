/**
 * AUTH_MODE=jwt: bearer JWTs verified with jose.
 *
 * - AUTH_JWKS_URL: asymmetric algorithms only; keys are cached and an unknown
 *   `kid` triggers a refetch at most once per cooldown period.
 * - AUTH_JWT_SECRET: HS256 only (shared secret, at least 32 bytes).
 *
 * Issuer, audience and `exp` are always required; `alg: none` can never pass
 * because only the listed algorithms are accepted.
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import type { JwtConfig } from "../config.js";
import { type AuthResult, deny, type Verifier } from "./types.js";

export const ASYMMETRIC_ALGORITHMS = [
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
export const SYMMETRIC_ALGORITHMS = ["HS256"];

/** Longest token accepted before any parsing (defends against oversized headers). */
const MAX_TOKEN_LENGTH = 8192;

export interface JwtVerifierOptions extends JwtConfig {
  readonly requiredScopes: readonly string[];
  /** Minimum time between two JWKS fetches triggered by an unknown `kid` (default 30 s). */
  readonly jwksCooldownMs?: number;
}

/** Scopes from the `scope` (space-separated string) or `scp` (array or string) claim. */
export function scopesOf(payload: JWTPayload): string[] {
  const claim = payload.scope ?? payload.scp;
  if (typeof claim === "string") return claim.split(/\s+/).filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === "string");
  return [];
}

export function createJwtVerifier(options: JwtVerifierOptions): Verifier {
  const common = {
    issuer: options.issuer,
    audience: options.audience,
    requiredClaims: ["exp"],
    clockTolerance: options.clockToleranceSeconds,
  };
  let verifyJwt: (token: string) => Promise<JWTPayload>;
  if (options.jwksUrl !== undefined) {
    const jwks = createRemoteJWKSet(options.jwksUrl, {
      timeoutDuration: 5_000,
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    const verifyOptions = { ...common, algorithms: ASYMMETRIC_ALGORITHMS };
    verifyJwt = async (token) => (await jwtVerify(token, jwks, verifyOptions)).payload;
  } else if (options.secret !== undefined) {
    const secret = options.secret;
    const verifyOptions = { ...common, algorithms: SYMMETRIC_ALGORITHMS };
    verifyJwt = async (token) => (await jwtVerify(token, secret, verifyOptions)).payload;
  } else {
    throw new Error("JWT verifier needs a JWKS URL or a secret");
  }

  return {
    async verify(token: string): Promise<AuthResult> {
      if (token.length > MAX_TOKEN_LENGTH) return deny(401, "token too long", "invalid_token");
      let payload: JWTPayload;
      try {
        payload = await verifyJwt(token);
      } catch (error) {
        return describe(error);
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
      const scopes = scopesOf(payload);
      const missing = options.requiredScopes.filter((scope) => !scopes.includes(scope));
      if (missing.length > 0) {
        return deny(403, `missing scope: ${missing.join(" ")}`, "insufficient_scope");
      }
      const clientId = typeof payload.client_id === "string" ? payload.client_id : undefined;
      return { ok: true, identity: { subject, scopes, method: "jwt", clientId } };
    },
  };
}

/** Maps a jose error to a client-safe answer. Key-retrieval problems are 503, never 500. */
function describe(error: unknown): AuthResult {
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
  if (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return deny(401, "no matching key", "invalid_token");
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return deny(503, "signing keys temporarily unavailable");
  }
  if (error instanceof errors.JOSEError) {
    // JWSInvalid, JWTInvalid, JOSENotSupported, ...: a malformed or unsupported token.
    // A JWKS fetch failure (network error, non-200) is a generic JOSEError too.
    if (error.code === "ERR_JOSE_GENERIC") return deny(503, "signing keys temporarily unavailable");
    return deny(401, "malformed token", "invalid_token");
  }
  // fetch() failures reaching the JWKS endpoint surface as TypeError / DOMException.
  if (error instanceof TypeError || (error instanceof Error && error.name === "AbortError")) {
    return deny(503, "signing keys temporarily unavailable");
  }
  return deny(401, "invalid token", "invalid_token");
}
