/**
 * Identity-provider presets (src/auth/presets.ts), end to end through the configuration and the
 * verifier: access tokens shaped as each provider documents them (header and claims), signed by
 * a test key whose JWKS is served on loopback (NODE_ENV=test allows a loopback stand-in with the
 * provider's JWKS path), are accepted; the same token from another tenant (issuer) or for another
 * API (audience, Cognito's client_id), or the provider's ID token, is refused.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from "jose";
import { createJwtVerifier } from "../src/auth/modes/jwt.js";
import { PRESETS, PROVIDERS, type ProviderName } from "../src/auth/presets.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { authSettings } from "./helpers.js";

const KID = "test-key-1";
const NOW = Math.floor(Date.now() / 1000);
const RESOURCE = "https://mcp.example.com/mcp";
const TENANT_A = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
const TENANT_B = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const ENTRA_API_CLIENT_ID = "2a4c6e80-1357-9bdf-2468-ace013579bdf";

interface ProviderCase {
  readonly env: Record<string, string>;
  /** The JWKS path the provider serves (the loopback stand-in must use the same). */
  readonly header: Partial<JWTHeaderParameters>;
  readonly access: JWTPayload;
  readonly scopes: readonly string[];
  /** Refused variants: another tenant, another API, the provider's ID token... */
  readonly refused: Record<string, JWTPayload>;
}

const CASES: Record<Exclude<ProviderName, "generic">, ProviderCase> = {
  auth0: {
    // Auth0 token profile (the default): aud is an array with the userinfo URL, azp, scope, and
    // with RBAC's "Add Permissions in the Access Token" a permissions array.
    env: { AUTH_ISSUER: "https://tenant-a.auth0.com/", AUTH_AUDIENCE: RESOURCE },
    header: { typ: "JWT" },
    access: {
      iss: "https://tenant-a.auth0.com/",
      sub: "auth0|123456",
      aud: [RESOURCE, "https://tenant-a.auth0.com/userinfo"],
      azp: "my_client_id",
      iat: NOW,
      exp: NOW + 600,
      scope: "openid profile read:patients",
      permissions: ["read:patients", "mcp:tools"],
    },
    scopes: ["openid", "profile", "read:patients", "mcp:tools"],
    refused: {
      "another tenant": { iss: "https://tenant-b.auth0.com/" },
      "another API": {
        aud: ["https://other-api.example.com", "https://tenant-a.auth0.com/userinfo"],
      },
      "an ID token (aud is the client id)": {
        aud: "my_client_id",
        scope: undefined,
        permissions: undefined,
      },
    },
  },
  entra: {
    // v2.0 access token: typ JWT, aud the API's client id, tid, oid, azp, scp string, ver 2.0.
    env: {
      AUTH_ISSUER: `https://login.microsoftonline.com/${TENANT_A}/v2.0`,
      AUTH_AUDIENCE: ENTRA_API_CLIENT_ID,
    },
    header: { typ: "JWT" },
    access: {
      aud: ENTRA_API_CLIENT_ID,
      iss: `https://login.microsoftonline.com/${TENANT_A}/v2.0`,
      iat: NOW,
      nbf: NOW,
      exp: NOW + 600,
      aio: "opaque",
      azp: "c1a2b3d4-0000-4000-8000-00000000c11e",
      azpacr: "0",
      name: "Alice",
      oid: "00000000-0000-4000-8000-0000000a11ce",
      preferred_username: "alice@contoso.example",
      rh: "opaque",
      scp: "access_as_user mcp.tools",
      sub: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
      tid: TENANT_A,
      uti: "opaque",
      ver: "2.0",
    },
    scopes: ["access_as_user", "mcp.tools"],
    refused: {
      "another tenant": {
        iss: `https://login.microsoftonline.com/${TENANT_B}/v2.0`,
        tid: TENANT_B,
      },
      "another API": { aud: "9f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f" },
      "an ID token (no scp or roles)": { scp: undefined },
      "a v1.0 token": { ver: "1.0" },
    },
  },
  keycloak: {
    // typ Bearer in the payload, azp, realm_access, scope string; aud from an audience mapper.
    env: { AUTH_ISSUER: "https://keycloak.example.com/realms/acme", AUTH_AUDIENCE: RESOURCE },
    header: { typ: "JWT" },
    access: {
      exp: NOW + 300,
      iat: NOW,
      auth_time: NOW,
      jti: "onrtac:0b1c2d3e",
      iss: "https://keycloak.example.com/realms/acme",
      aud: [RESOURCE, "account"],
      sub: "f1e2d3c4-b5a6-4798-8a9b-0c1d2e3f4a5b",
      typ: "Bearer",
      azp: "mcp-client",
      sid: "a1b2c3d4",
      acr: "1",
      realm_access: { roles: ["default-roles-acme"] },
      resource_access: { account: { roles: ["manage-account"] } },
      scope: "openid profile email mcp:tools",
      email_verified: true,
      preferred_username: "alice",
    },
    scopes: ["openid", "profile", "email", "mcp:tools"],
    refused: {
      "another realm": { iss: "https://keycloak.example.com/realms/other" },
      "the default audience only": { aud: "account" },
      "an ID token": { typ: "ID" },
    },
  },
  okta: {
    // Custom authorization server: no typ, ver 1, jti AT..., cid, uid, scp array.
    env: { AUTH_ISSUER: "https://acme.okta.com/oauth2/default", AUTH_AUDIENCE: "api://default" },
    header: {},
    access: {
      ver: 1,
      jti: "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
      iss: "https://acme.okta.com/oauth2/default",
      aud: "api://default",
      iat: NOW,
      exp: NOW + 600,
      cid: "0oa1b2c3d4e5f6g7h8i9",
      uid: "00u1b2c3d4e5f6g7h8i9",
      scp: ["openid", "mcp:tools"],
      auth_time: NOW,
      sub: "alice@example.com",
    },
    scopes: ["openid", "mcp:tools"],
    refused: {
      "another authorization server": { iss: "https://acme.okta.com/oauth2/ausOther123" },
      "another org": { iss: "https://other.okta.com/oauth2/default" },
      "another API": { aud: "api://other" },
    },
  },
  cognito: {
    // No aud: client_id, token_use access, scope string, version 2, cognito:groups.
    env: {
      AUTH_ISSUER: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example1",
      AUTH_CLIENT_IDS: "1example23456789",
    },
    header: {},
    access: {
      sub: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      "cognito:groups": ["admin"],
      iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example1",
      version: 2,
      client_id: "1example23456789",
      origin_jti: "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
      event_id: "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
      token_use: "access",
      scope: "aws.cognito.signin.user.admin openid mcp/tools",
      auth_time: NOW,
      exp: NOW + 600,
      iat: NOW,
      jti: "cccccccc-cccc-cccc-cccc-cccccccccccc",
      username: "alice",
    },
    scopes: ["aws.cognito.signin.user.admin", "openid", "mcp/tools"],
    refused: {
      "another user pool": { iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other99" },
      "another app client": { client_id: "2other3456789012" },
      "an ID token": { token_use: "id", aud: "1example23456789", client_id: undefined },
    },
  },
};

describe("identity-provider presets", () => {
  let server: Server;
  let origin: string;
  let privateKey: CryptoKey;
  let publicJwk: JWK;

  before(async () => {
    const pair = await generateKeyPair("RS256");
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: "RS256", use: "sig" };
    // Whatever the path (each provider's own): the test JWKS.
    server = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    origin = `http://127.0.0.1:${address.port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  function verifierFor(provider: ProviderName, env: Record<string, string>) {
    const issuer = env.AUTH_ISSUER ?? "";
    const jwks = new URL(PRESETS[provider].jwksUrlOf(issuer) ?? "");
    const config = loadConfig({
      NODE_ENV: "test",
      AUTH_MODE: "jwt",
      AUTH_PROVIDER: provider,
      AUTH_JWKS_URL: `${origin}${jwks.pathname}`,
      ...env,
    });
    return createJwtVerifier({ ...authSettings(config, "jwt"), requiredScopes: [] });
  }

  async function sign(header: Partial<JWTHeaderParameters>, payload: JWTPayload) {
    const claims = Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: KID, ...header })
      .sign(privateKey);
  }

  for (const [provider, example] of Object.entries(CASES) as Array<
    [Exclude<ProviderName, "generic">, ProviderCase]
  >) {
    describe(provider, () => {
      it("accepts an access token shaped as the provider issues it, with its scopes", async () => {
        const verifier = verifierFor(provider, example.env);
        const result = await verifier.verify(await sign(example.header, example.access));
        assert.ok(result.ok, JSON.stringify(result));
        assert.deepEqual([...result.identity.scopes].sort(), [...example.scopes].sort());
        assert.equal(result.identity.subject, example.access.sub);
      });

      for (const [what, change] of Object.entries(example.refused)) {
        it(`refuses ${what}`, async () => {
          const verifier = verifierFor(provider, example.env);
          const result = await verifier.verify(
            await sign(example.header, { ...example.access, ...change }),
          );
          assert.equal(result.ok, false, `${provider}: ${what} was accepted`);
          if (!result.ok) assert.equal(result.status, 401);
        });
      }

      it("refuses the issuer of another provider's shape at start, naming AUTH_ISSUER", () => {
        const wrong =
          provider === "auth0" ? "https://tenant-a.auth0.com" : "https://idp.example.com/";
        assert.throws(
          () => verifierFor(provider, { ...example.env, AUTH_ISSUER: wrong }),
          (error: unknown) => error instanceof ConfigError && error.variable === "AUTH_ISSUER",
        );
      });
    });
  }

  it("Auth0's RFC 9068 profile (typ at+jwt, client_id) passes AUTH_REQUIRE_AT_JWT, its default profile does not", async () => {
    const { env, access } = CASES.auth0;
    const verifier = verifierFor("auth0", { ...env, AUTH_REQUIRE_AT_JWT: "true" });
    const rfc9068 = {
      ...access,
      azp: undefined,
      client_id: "my_client_id",
      jti: "73WakrfVbNJBaAmhQtEeDv",
    };
    const accepted = await verifier.verify(await sign({ typ: "at+jwt" }, rfc9068));
    assert.ok(accepted.ok, JSON.stringify(accepted));
    assert.equal(accepted.identity.clientId, "my_client_id");
    const refused = await verifier.verify(await sign({ typ: "JWT" }, access));
    assert.equal(refused.ok, false);
    // Without AUTH_REQUIRE_AT_JWT both are accepted (no provider sends at+jwt by default).
    const relaxed = verifierFor("auth0", env);
    assert.ok((await relaxed.verify(await sign({ typ: "JWT" }, access))).ok);
  });

  it("Entra application tokens carry their permissions in roles", async () => {
    const { env, header, access } = CASES.entra;
    const appOnly = { ...access, scp: undefined, roles: ["Tasks.Read.All"] };
    const result = await verifierFor("entra", env).verify(await sign(header, appOnly));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.identity.scopes, ["Tasks.Read.All"]);
  });

  it("every provider is in the table, generic included", () => {
    assert.deepEqual(Object.keys(PRESETS).sort(), [...PROVIDERS].sort());
  });
});
