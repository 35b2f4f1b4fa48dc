/**
 * What the rest of the server sees of authentication: an identity, never a token.
 */
export interface Identity {
  /** JWT `sub` (or `client_id`), the API key id, or "anonymous" when AUTH_MODE=none. */
  readonly subject: string;
  readonly scopes: readonly string[];
  /** The AUTH_MODE that admitted the caller (src/auth/modes/). */
  readonly method: string;
  /** OAuth client the token was issued to, when the token says so. */
  readonly clientId?: string | undefined;
}

/** RFC 6750 error codes used in `WWW-Authenticate`. */
type BearerError = "invalid_request" | "invalid_token" | "insufficient_scope";

export type AuthResult =
  | { readonly ok: true; readonly identity: Identity }
  | {
      readonly ok: false;
      /** 401 (no or bad credentials), 403 (insufficient scope), 503 (keys temporarily unavailable). */
      readonly status: 401 | 403 | 503;
      readonly error?: BearerError | undefined;
      /** Safe to show to the client and to log: never contains the token. */
      readonly description: string;
      /** With 503: when the client may retry (seconds). */
      readonly retryAfterSeconds?: number;
    };

/** Checks one bearer credential. Implementations never throw. */
export interface Verifier {
  verify(token: string): Promise<AuthResult>;
}

export function deny(
  status: 401 | 403 | 503,
  description: string,
  error?: BearerError,
  retryAfterSeconds?: number,
): AuthResult {
  return retryAfterSeconds === undefined
    ? { ok: false, status, error, description }
    : { ok: false, status, error, description, retryAfterSeconds };
}
