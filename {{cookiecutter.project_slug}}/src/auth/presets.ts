/**
 * Identity-provider presets: the ONE table of what each provider's access tokens look like.
 *
 * The jwt mode (modes/jwt.ts) reads it twice: its settings parser to validate AUTH_ISSUER /
 * AUTH_JWKS_URL (and to derive the JWKS URL from the issuer), its verifier to check the audience
 * (or Cognito's client_id), collect the scopes and tell an access token from the provider's
 * other tokens. docs/identity-providers/<name>.md explains the provider-side settings behind each
 * row.
 *
 * `generic` assumes nothing about the provider (any issuer, any JWKS URL, `aud`, scopes in `scope`
 * or else `scp`): the RFC 9068 / RFC 8707 reading of an access token.
 *
 * `typ: at+jwt` (RFC 9068): none of the five providers puts it in its access tokens by default
 * (Auth0's default token profile, Entra, Keycloak, Okta and Cognito send `JWT` or no `typ`), so no
 * preset requires it; AUTH_REQUIRE_AT_JWT=true does, for issuers that follow RFC 9068 (Auth0's
 * "RFC 9068" token profile, Keycloak's at+jwt client option).
 */
import type { JWTPayload } from "jose";

export const PROVIDERS = ["generic", "auth0", "entra", "keycloak", "okta", "cognito"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** A claim scopes may live in: a space-separated string, or an array of strings. */
type ScopeClaim = "scope" | "scp" | "permissions" | "roles";

interface ProviderPreset {
  readonly name: ProviderName;
  /** The issuer's shape (undefined: any issuer, as with generic). */
  readonly issuerPattern: RegExp | undefined;
  /** What a right issuer looks like, for the error message. */
  readonly issuerExample: string;
  /** The JWKS URL that belongs to an issuer (undefined: AUTH_JWKS_URL must be given). */
  jwksUrlOf(issuer: string): string | undefined;
  /**
   * Who the token is for: `aud` must contain AUTH_AUDIENCE, or (Cognito, whose access tokens
   * have no `aud`) `client_id` must be one of AUTH_CLIENT_IDS.
   */
  readonly audience: "aud" | "client_id";
  /** May AUTH_AUDIENCE default to PUBLIC_URL/mcp? (Entra's is the app's client id or ID URI.) */
  readonly audienceDefaultsToResource: boolean;
  /**
   * Where the scopes are. `firstOf`: the first claim present counts (generic: `scope`, else
   * `scp`); `union`: every listed claim counts (Auth0 RBAC's `permissions`
   * beside `scope`, Entra's app `roles` beside delegated `scp`).
   */
  readonly scopes: { readonly mode: "firstOf" | "union"; readonly claims: readonly ScopeClaim[] };
  /** Claims that tell the provider's access token from its ID (or refresh) token. */
  accessTokenProblem(payload: JWTPayload): string | undefined;
  /** Claims naming the OAuth client the token was issued to, first present wins. */
  readonly clientIdClaims: readonly string[];
  /**
   * The default of AUTH_REQUIRE_AT_JWT (header `typ: at+jwt`, RFC 9068). False for every preset:
   * none of these providers sends it by default (see the module comment).
   */
  readonly requireAtJwt: boolean;
}

const HOST = String.raw`[A-Za-z0-9.-]+(?::\d{1,5})?`;
const GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

const none = (): undefined => undefined;

export const PRESETS: Readonly<Record<ProviderName, ProviderPreset>> = {
  generic: {
    name: "generic",
    issuerPattern: undefined,
    issuerExample: "your identity provider's issuer",
    jwksUrlOf: none,
    audience: "aud",
    audienceDefaultsToResource: true,
    scopes: { mode: "firstOf", claims: ["scope", "scp"] },
    accessTokenProblem: none,
    clientIdClaims: ["client_id"],
    requireAtJwt: false,
  },
  auth0: {
    // https://TENANT.auth0.com/ (or a custom domain): the trailing slash is part of `iss`.
    name: "auth0",
    issuerPattern: new RegExp(`^https://${HOST}/$`),
    issuerExample: "https://TENANT.auth0.com/ (with the trailing slash)",
    jwksUrlOf: (issuer) => `${issuer}.well-known/jwks.json`,
    audience: "aud",
    audienceDefaultsToResource: true,
    // RBAC with "Add Permissions in the Access Token" puts them in `permissions`.
    scopes: { mode: "union", claims: ["scope", "permissions"] },
    accessTokenProblem: none, // ID tokens carry the client id as `aud`, never the API identifier
    clientIdClaims: ["client_id", "azp"],
    requireAtJwt: false,
  },
  entra: {
    // v2.0 access tokens (accessTokenAcceptedVersion: 2): the tenant's GUID, then /v2.0.
    name: "entra",
    issuerPattern: new RegExp(`^https://login\\.microsoftonline\\.(?:com|us)/${GUID}/v2\\.0$`),
    issuerExample: "https://login.microsoftonline.com/TENANT-ID/v2.0",
    jwksUrlOf: (issuer) => `${issuer.slice(0, -"/v2.0".length)}/discovery/v2.0/keys`,
    audience: "aud",
    audienceDefaultsToResource: false,
    scopes: { mode: "union", claims: ["scp", "roles"] },
    // An access token always has delegated `scp` or application `roles`; an ID token has neither.
    accessTokenProblem: (payload) =>
      payload.scp === undefined && payload.roles === undefined
        ? "not an access token (no scp or roles)"
        : payload.ver !== "2.0"
          ? "not a v2.0 access token (ver)"
          : undefined,
    clientIdClaims: ["azp", "appid"],
    requireAtJwt: false,
  },
  keycloak: {
    // https://HOST/realms/REALM (Keycloak before 17 served it under /auth).
    name: "keycloak",
    issuerPattern: new RegExp(`^https://${HOST}(?:/auth)?/realms/[^/?#\\s]+$`),
    issuerExample: "https://keycloak.example.com/realms/REALM",
    jwksUrlOf: (issuer) => `${issuer}/protocol/openid-connect/certs`,
    audience: "aud",
    audienceDefaultsToResource: true,
    scopes: { mode: "union", claims: ["scope"] },
    // Keycloak marks its tokens in the payload: Bearer (access), ID, Refresh.
    accessTokenProblem: (payload) =>
      payload.typ === "Bearer" ? undefined : "not an access token (typ is not Bearer)",
    clientIdClaims: ["client_id", "azp"],
    requireAtJwt: false,
  },
  okta: {
    // A custom authorization server: https://ORG.okta.com/oauth2/SERVER ("default" or aus...).
    // The org authorization server (no /oauth2/...) issues tokens for Okta's own APIs only.
    name: "okta",
    issuerPattern: new RegExp(`^https://${HOST}/oauth2/[A-Za-z0-9]+$`),
    issuerExample: "https://ORG.okta.com/oauth2/default",
    jwksUrlOf: (issuer) => `${issuer}/v1/keys`,
    audience: "aud",
    audienceDefaultsToResource: true,
    scopes: { mode: "union", claims: ["scp"] },
    accessTokenProblem: none, // ID tokens carry the client id as `aud`, never the API audience
    clientIdClaims: ["cid"],
    requireAtJwt: false,
  },
  cognito: {
    // https://cognito-idp.REGION.amazonaws.com/REGION_POOLID
    name: "cognito",
    issuerPattern: /^https:\/\/cognito-idp\.([a-z0-9-]+)\.amazonaws\.com\/\1_[A-Za-z0-9]+$/,
    issuerExample: "https://cognito-idp.REGION.amazonaws.com/REGION_POOLID",
    jwksUrlOf: (issuer) => `${issuer}/.well-known/jwks.json`,
    audience: "client_id",
    audienceDefaultsToResource: false,
    scopes: { mode: "union", claims: ["scope"] },
    accessTokenProblem: (payload) =>
      payload.token_use === "access" ? undefined : "not an access token (token_use)",
    clientIdClaims: ["client_id"],
    requireAtJwt: false,
  },
};

export function isProvider(value: string): value is ProviderName {
  return (PROVIDERS as readonly string[]).includes(value);
}

function claimValues(payload: JWTPayload, claim: ScopeClaim): string[] | undefined {
  const value = payload[claim];
  if (typeof value === "string") return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === "string");
  return undefined;
}

/** The scopes a token carries, where the preset says they live. */
export function scopesFor(preset: ProviderPreset, payload: JWTPayload): string[] {
  const found: string[] = [];
  for (const claim of preset.scopes.claims) {
    if (payload[claim] === undefined) continue;
    found.push(...(claimValues(payload, claim) ?? []));
    // firstOf: the first claim present decides, even when its value is unusable (a malformed
    // `scope` is not rescued by an `scp` beside it).
    if (preset.scopes.mode === "firstOf") break;
  }
  return [...new Set(found)];
}

/** The client the token was issued to, where the preset says it is. */
export function clientIdFor(preset: ProviderPreset, payload: JWTPayload): string | undefined {
  for (const claim of preset.clientIdClaims) {
    const value = payload[claim];
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}
