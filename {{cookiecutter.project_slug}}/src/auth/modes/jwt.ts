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
 *
 * This module holds the mode whole: its settings (AUTH_PROVIDER, AUTH_ISSUER, AUTH_AUDIENCE,
 * AUTH_CLIENT_IDS, AUTH_JWKS_URL or AUTH_JWT_SECRET[_FILE], ...) parsed from the environment,
 * and the verifier built from them.
 */
import {
  type CryptoKey,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from "jose";
import * as z from "zod";
import {
  booleanOf,
  ConfigError,
  csv,
  DEVELOPMENT_ENVS,
  type Env,
  integer,
  isLoopbackHost,
  optional,
  parse,
  raw,
} from "../../env.js";
import {
  isDevelopmentCredential,
  NOT_A_DEVELOPMENT_CREDENTIAL,
  refuseDevelopmentCredential,
  secretOf,
} from "../credentials.js";
import {
  createRemoteKeys,
  type JwksLogger,
  KeysUnavailableError,
  NoMatchingKeyError,
} from "../jwks.js";
import type { AuthMode, SettingsContext } from "../mode.js";
import { clientIdFor, PRESETS, type ProviderName, scopesFor } from "../presets.js";
import { type AuthResult, deny, type Verifier } from "../types.js";

// --- settings ------------------------------------------------------------------------------

interface JwtSettings {
  /** AUTH_PROVIDER: which row of src/auth/presets.ts the tokens follow. */
  readonly provider: ProviderName;
  /** JWKS endpoint of the identity provider (asymmetric keys). */
  readonly jwksUrl: URL | undefined;
  /** Shared HS256 secret (at least 32 bytes). Exactly one of jwksUrl / secret is set. */
  readonly secret: Uint8Array | undefined;
  readonly issuer: string;
  /** The `aud` every token must contain; undefined where the provider has none (Cognito). */
  readonly audience: string | undefined;
  /** Cognito: the app client ids whose access tokens are accepted (`client_id`). */
  readonly clientIds: readonly string[];
  /** Require the RFC 9068 header `typ: at+jwt`. */
  readonly requireAtJwt: boolean;
  readonly clockToleranceSeconds: number;
  /** Refuse tokens whose `iat` is older than this (seconds); undefined = no limit. */
  readonly maxTokenAgeSeconds: number | undefined;
  /** Least time between two JWKS fetches (AUTH_JWKS_COOLDOWN_SECONDS): how soon a rotated key is seen. */
  readonly jwksCooldownMs?: number;
}

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

/**
 * The JWKS URL for the provider: AUTH_JWKS_URL, or the one the preset derives from the issuer.
 * A given URL must be the issuer's own (a JWKS of another tenant would accept its tokens);
 * with NODE_ENV development/test a loopback stand-in with the same path is allowed (tests).
 */
function jwksUrlFor(
  env: Env,
  provider: ProviderName,
  issuer: string,
  nodeEnv: string,
): URL | undefined {
  const given = optional(env, "AUTH_JWKS_URL", httpUrl);
  const expected = PRESETS[provider].jwksUrlOf(issuer);
  if (given === undefined) return expected === undefined ? undefined : new URL(expected);
  const url = new URL(given);
  if (url.protocol !== "https:" && !isLoopbackHost(url.hostname)) {
    throw new ConfigError("AUTH_JWKS_URL", "must use https:// (plain http only for loopback)");
  }
  if (expected !== undefined && url.href !== new URL(expected).href) {
    const standIn =
      DEVELOPMENT_ENVS.has(nodeEnv) &&
      isLoopbackHost(url.hostname) &&
      url.pathname === new URL(expected).pathname;
    if (!standIn) {
      throw new ConfigError(
        "AUTH_JWKS_URL",
        `is not the JWKS of AUTH_ISSUER for AUTH_PROVIDER=${provider} (expected ${expected}; leave AUTH_JWKS_URL empty to use it)`,
      );
    }
  }
  return url;
}

function parseJwt({ env, publicUrl, nodeEnv, provider }: SettingsContext): JwtSettings {
  const preset = PRESETS[provider];
  const secretValue = secretOf(env, "AUTH_JWT_SECRET");
  if (secretValue !== undefined && raw(env, "AUTH_JWKS_URL") !== undefined) {
    throw new ConfigError(
      "AUTH_JWKS_URL",
      `set either AUTH_JWKS_URL or ${secretValue.variable}, not both`,
    );
  }
  if (
    secretValue === undefined &&
    raw(env, "AUTH_JWKS_URL") === undefined &&
    provider === "generic"
  ) {
    throw new ConfigError(
      "AUTH_JWKS_URL",
      "AUTH_MODE=jwt needs AUTH_JWKS_URL (identity provider keys) or AUTH_JWT_SECRET (HS256)",
    );
  }
  const issuer = parse(env, "AUTH_ISSUER", z.string().min(1));
  if (preset.issuerPattern !== undefined && !preset.issuerPattern.test(issuer)) {
    throw new ConfigError(
      "AUTH_ISSUER",
      `is not an issuer of AUTH_PROVIDER=${provider} (expected ${preset.issuerExample})`,
    );
  }
  if (secretValue !== undefined && provider !== "generic") {
    throw new ConfigError(
      secretValue.variable,
      `AUTH_PROVIDER=${provider} signs tokens with its own keys (its JWKS): a shared secret works with AUTH_PROVIDER=generic only`,
    );
  }
  const jwksUrl =
    secretValue === undefined ? jwksUrlFor(env, provider, issuer, nodeEnv) : undefined;
  let secret: Uint8Array | undefined;
  if (secretValue !== undefined) {
    secret = new TextEncoder().encode(secretValue.value);
    if (secret.byteLength < 32) {
      throw new ConfigError(secretValue.variable, "must be at least 32 bytes long");
    }
    refuseDevelopmentCredential(secretValue.variable, secretValue.value, nodeEnv);
  }
  let audience: string | undefined;
  let clientIds: string[] = [];
  if (preset.audience === "client_id") {
    if (raw(env, "AUTH_AUDIENCE") !== undefined) {
      throw new ConfigError(
        "AUTH_AUDIENCE",
        `AUTH_PROVIDER=${provider} access tokens carry no aud: list the app client ids in AUTH_CLIENT_IDS instead`,
      );
    }
    clientIds = csv(raw(env, "AUTH_CLIENT_IDS"));
    if (clientIds.length === 0) {
      throw new ConfigError(
        "AUTH_CLIENT_IDS",
        `AUTH_PROVIDER=${provider} needs the app client ids whose tokens are accepted (comma-separated)`,
      );
    }
  } else {
    if (raw(env, "AUTH_CLIENT_IDS") !== undefined) {
      throw new ConfigError(
        "AUTH_CLIENT_IDS",
        `is for AUTH_PROVIDER=cognito only (AUTH_PROVIDER=${provider} checks aud against AUTH_AUDIENCE)`,
      );
    }
    audience = preset.audienceDefaultsToResource
      ? parse(env, "AUTH_AUDIENCE", z.string().min(1), `${publicUrl}/mcp`)
      : parse(env, "AUTH_AUDIENCE", z.string().min(1));
  }
  const maxTokenAgeSeconds =
    raw(env, "AUTH_MAX_TOKEN_AGE_SECONDS") === undefined
      ? undefined
      : integer(env, "AUTH_MAX_TOKEN_AGE_SECONDS", 1, 31_536_000);
  const jwksCooldownMs = integer(env, "AUTH_JWKS_COOLDOWN_SECONDS", 1, 3600, 30) * 1000;
  return {
    provider,
    jwksUrl,
    secret,
    issuer,
    audience,
    clientIds: Object.freeze(clientIds),
    requireAtJwt: booleanOf(env, "AUTH_REQUIRE_AT_JWT", preset.requireAtJwt),
    clockToleranceSeconds: 30,
    maxTokenAgeSeconds,
    jwksCooldownMs,
  };
}

// --- verifier ------------------------------------------------------------------------------

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
  extends Omit<JwtSettings, "provider" | "clientIds" | "requireAtJwt"> {
  /** The preset the tokens follow (default generic). */
  readonly provider?: ProviderName;
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

// --- the mode ------------------------------------------------------------------------------

export const jwtMode = {
  name: "jwt",
  credential: "JWTs",
  scopes: true,
  open: false,
  parse: parseJwt,
  verifier: (settings, { requiredScopes, logger }) =>
    createJwtVerifier({ ...settings, requiredScopes, ...(logger === undefined ? {} : { logger }) }),
  // Where MCP clients register and ask for tokens (with `npm run dev:auth`, the local one).
  authorizationServers: (settings) => [settings.issuer],
  /** A JWT valid for one hour, signed with the development AUTH_JWT_SECRET. */
  async developmentCredential(settings, requiredScopes) {
    if (settings.secret === undefined) {
      throw new Error(
        "AUTH_JWKS_URL is set: tokens come from your identity provider, not from here",
      );
    }
    if (!isDevelopmentCredential(new TextDecoder().decode(settings.secret))) {
      throw new Error(`AUTH_JWT_SECRET ${NOT_A_DEVELOPMENT_CREDENTIAL}`);
    }
    if (settings.audience === undefined) throw new Error("no AUTH_AUDIENCE configured");
    return new SignJWT({ scope: ["mcp:tools", ...requiredScopes].join(" ") })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("developer")
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(settings.secret);
  },
} as const satisfies AuthMode<"jwt", JwtSettings>;
