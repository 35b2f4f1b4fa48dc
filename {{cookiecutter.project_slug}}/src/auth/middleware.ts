/**
 * Turns an HTTP request into an AuthResult with the verifier of the configured mode
 * (src/auth/modes/), and builds the `WWW-Authenticate` challenge that every 401/403 carries.
 */
import type { IncomingMessage } from "node:http";
import type { Config } from "../config.js";
import type { JwksLogger } from "./jwks.js";
import { modeOf } from "./modes/index.js";
import { type AuthResult, deny, type Verifier } from "./types.js";

export type Authenticator = (req: IncomingMessage) => Promise<AuthResult>;

/** The configured mode's verifier; undefined for an open mode (AUTH_MODE=none). */
function createVerifier(config: Config, logger?: JwksLogger): Verifier | undefined {
  return modeOf(config.auth).verifier(config.auth, {
    requiredScopes: config.requiredScopes,
    ...(logger === undefined ? {} : { logger }),
  });
}

const QUERY_TOKEN = /[?&]access_token=/i;

export function createAuthenticator(config: Config, logger?: JwksLogger): Authenticator {
  const verifier = createVerifier(config, logger);

  return async (req) => {
    // RFC 6750 allows tokens in the URL; we refuse them (they end up in logs and proxies).
    if (QUERY_TOKEN.test(req.url ?? "")) {
      return deny(401, "tokens in the query string are not accepted", "invalid_request");
    }
    if (verifier === undefined) {
      const identity = { subject: "anonymous", scopes: [], method: config.auth.mode };
      return { ok: true, identity };
    }
    // Node keeps the first of repeated Authorization headers, a proxy may keep the last:
    // which credential is meant is ambiguous, so neither is used (as with a repeated Host).
    if ((req.headersDistinct.authorization?.length ?? 0) > 1) {
      return deny(401, "more than one Authorization header", "invalid_request");
    }
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === "") {
      return deny(401, "missing bearer token");
    }
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (match?.[1] === undefined) {
      return deny(
        401,
        "malformed Authorization header (expected: Bearer <token>)",
        "invalid_request",
      );
    }
    try {
      return await verifier.verify(match[1]);
    } catch {
      // Verifiers do not throw; if one ever does, the answer is still 401, never 500.
      return deny(401, "invalid token", "invalid_token");
    }
  };
}

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

/**
 * The scopes a 401 names (RFC 6750 `scope`, MCP "scope selection"): AUTH_REQUIRED_SCOPES, the
 * least a token needs to reach this server. A client asks for these first and steps up to a
 * tool's scopes when the tool answers 403 insufficient_scope. Without required scopes the 401
 * names none, and clients ask for the metadata's `scopes_supported`.
 */
export function challengeScopes(config: Config): readonly string[] {
  return modeOf(config.auth).scopes ? config.requiredScopes : [];
}

/**
 * RFC 6750 / RFC 9728 challenge for a failed AuthResult. `scopes` overrides the scopes named
 * (the per-tool 403 names the scopes the call needs).
 */
export function wwwAuthenticate(
  config: Config,
  result: AuthResult,
  scopes: readonly string[] = challengeScopes(config),
): string {
  const params = [`realm="mcp"`, `resource_metadata=${quote(config.resourceMetadataUrl)}`];
  if (!result.ok && result.error !== undefined) {
    params.push(`error=${quote(result.error)}`);
    params.push(`error_description=${quote(result.description)}`);
  }
  if (!result.ok && result.status !== 503 && scopes.length > 0) {
    params.push(`scope=${quote(scopes.join(" "))}`);
  }
  return `Bearer ${params.join(", ")}`;
}
