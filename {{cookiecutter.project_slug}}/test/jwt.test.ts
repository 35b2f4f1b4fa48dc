/**
 * Unit tests of the JWT verifier: HS256 shared secret and a JWKS served by a
 * local HTTP server (the loopback identity-provider case).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import type { AuthResult, Verifier } from "../src/auth/types.js";
import { mintToken, TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, testJwtVerifier } from "./helpers.js";

const SECRET_KEY = new TextEncoder().encode(TEST_SECRET);

function hs256Verifier(requiredScopes: string[] = []): Verifier {
  return testJwtVerifier({ secret: SECRET_KEY, requiredScopes });
}

function assertDenied(result: AuthResult, status: number, error?: string): void {
  assert.equal(result.ok, false, "expected the token to be refused");
  if (result.ok) return;
  assert.equal(result.status, status);
  if (error !== undefined) assert.equal(result.error, error);
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("JWT verifier (HS256 secret)", () => {
  const verifier = hs256Verifier();

  it("accepts a valid token and exposes subject and scopes", async () => {
    const token = await mintToken({ scope: "mcp:read mcp:write" }, { audience: TEST_AUDIENCE });
    const result = await verifier.verify(token);
    assert.deepEqual(result, {
      ok: true,
      identity: {
        subject: "alice",
        scopes: ["mcp:read", "mcp:write"],
        method: "jwt",
        clientId: undefined,
      },
    });
  });

  it("reads scopes from an `scp` array too", async () => {
    const token = await mintToken({ scp: ["a", "b"] }, { audience: TEST_AUDIENCE });
    const result = await verifier.verify(token);
    assert.ok(result.ok);
    assert.deepEqual(result.identity.scopes, ["a", "b"]);
  });

  it("refuses a wrong issuer", async () => {
    const token = await mintToken({}, { audience: TEST_AUDIENCE, issuer: "https://evil.test" });
    assertDenied(await verifier.verify(token), 401, "invalid_token");
  });

  it("refuses a wrong audience", async () => {
    const token = await mintToken({}, { audience: "https://other.example/mcp" });
    assertDenied(await verifier.verify(token), 401, "invalid_token");
  });

  it("refuses a token without audience", async () => {
    assertDenied(await verifier.verify(await mintToken({})), 401, "invalid_token");
  });

  it("refuses an expired token (beyond the clock tolerance)", async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    const token = await mintToken({}, { audience: TEST_AUDIENCE, expiresIn: past });
    const result = await verifier.verify(token);
    assertDenied(result, 401, "invalid_token");
    assert.ok(!result.ok && result.description.includes("expired"));
  });

  it("accepts a token expired within the clock tolerance", async () => {
    const justNow = Math.floor(Date.now() / 1000) - 5;
    const token = await mintToken({}, { audience: TEST_AUDIENCE, expiresIn: justNow });
    assert.ok((await verifier.verify(token)).ok);
  });

  it("refuses a token without exp", async () => {
    const token = await mintToken({}, { audience: TEST_AUDIENCE, expiresIn: null });
    assertDenied(await verifier.verify(token), 401, "invalid_token");
  });

  it("refuses a bad signature", async () => {
    const token = await mintToken(
      {},
      { audience: TEST_AUDIENCE, secret: "another-secret-0123456789-abcdefghijklmnop" },
    );
    assertDenied(await verifier.verify(token), 401, "invalid_token");
  });

  it("refuses a tampered payload", async () => {
    const token = await mintToken({ scope: "read" }, { audience: TEST_AUDIENCE });
    const [header, , signature] = token.split(".");
    const forged = b64url({ sub: "admin", iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: 4102444800 });
    assertDenied(await verifier.verify(`${header}.${forged}.${signature}`), 401, "invalid_token");
  });

  it("refuses alg: none", async () => {
    const claims = { sub: "mallory", iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: 4102444800 };
    const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
    assertDenied(await verifier.verify(token), 401, "invalid_token");
  });

  it("refuses another algorithm than HS256 (HS512)", async () => {
    const token = await mintToken({}, { audience: TEST_AUDIENCE, alg: "HS512" });
    assertDenied(await verifier.verify(token), 401, "invalid_token");
  });

  it("refuses garbage", async () => {
    assertDenied(await verifier.verify("not-a-jwt"), 401, "invalid_token");
    assertDenied(await verifier.verify("a.b.c"), 401, "invalid_token");
    assertDenied(await verifier.verify("x".repeat(10_000)), 401, "invalid_token");
  });

  it("refuses a token whose segments are not canonical base64url", async () => {
    const token = await mintToken({}, { audience: TEST_AUDIENCE });
    assert.ok((await verifier.verify(token)).ok);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    // The same bytes, spelled differently: padded, or with stray low bits in the last character.
    const padded = `${header}.${payload}=.${signature}`;
    const last = signature.at(-1) ?? "A";
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = alphabet[alphabet.indexOf(last) ^ 1] ?? "A";
    const strayBits = `${header}.${payload}.${signature.slice(0, -1)}${twin}`;
    assertDenied(await verifier.verify(padded), 401, "invalid_token");
    assertDenied(await verifier.verify(strayBits), 401, "invalid_token");
    assertDenied(await verifier.verify(`${header}.${payload}.${signature}.`), 401, "invalid_token");
  });

  it("refuses iat or nbf further in the future than the clock tolerance", async () => {
    const now = Math.floor(Date.now() / 1000);
    const future = await mintToken({ iat: now + 120 }, { audience: TEST_AUDIENCE });
    assertDenied(await verifier.verify(future), 401, "invalid_token");
    const notYet = await mintToken({ nbf: now + 120 }, { audience: TEST_AUDIENCE });
    assertDenied(await verifier.verify(notYet), 401, "invalid_token");
    const withinTolerance = await mintToken(
      { iat: now + 5, nbf: now + 5 },
      { audience: TEST_AUDIENCE },
    );
    assert.ok((await verifier.verify(withinTolerance)).ok);
  });

  it("refuses tokens older than AUTH_MAX_TOKEN_AGE_SECONDS when it is set", async () => {
    let clock = Date.now();
    const aged = testJwtVerifier({ secret: SECRET_KEY, maxTokenAgeSeconds: 600, now: () => clock });
    const token = await mintToken({}, { audience: TEST_AUDIENCE, expiresIn: "2h" });
    assert.ok((await aged.verify(token)).ok);
    clock += 3_600_000;
    assertDenied(await aged.verify(token), 401, "invalid_token");
  });

  it("refuses a token without a subject", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setExpirationTime("5m")
      .sign(SECRET_KEY);
    assertDenied(await verifier.verify(token), 401, "invalid_token");
  });

  it("answers 403 insufficient_scope when a required scope is missing", async () => {
    const scoped = hs256Verifier(["mcp:tools"]);
    const without = await mintToken({ scope: "mcp:read" }, { audience: TEST_AUDIENCE });
    assertDenied(await scoped.verify(without), 403, "insufficient_scope");
    const withScope = await mintToken({ scope: "mcp:read mcp:tools" }, { audience: TEST_AUDIENCE });
    assert.ok((await scoped.verify(withScope)).ok);
  });
});

describe("JWT verifier (JWKS over loopback http)", () => {
  let jwksServer: Server;
  let jwksUrl: URL;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;
  let keys: JWK[] = [];
  let requests = 0;

  before(async () => {
    rsa = await generateKeyPair("RS256");
    ec = await generateKeyPair("ES256");
    keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ];
    jwksServer = createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ keys }));
    });
    jwksServer.listen(0, "127.0.0.1");
    await once(jwksServer, "listening");
    const address = jwksServer.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    jwksUrl = new URL(`http://127.0.0.1:${address.port}/.well-known/jwks.json`);
  });

  after(() => jwksServer.close());

  function jwksVerifier(url: URL = jwksUrl, jwksCooldownMs?: number): Verifier {
    return testJwtVerifier({
      jwksUrl: url,
      ...(jwksCooldownMs === undefined ? {} : { jwksCooldownMs }),
    });
  }

  async function sign(
    alg: string,
    kid: string,
    key: CryptoKey | Uint8Array,
    claims: Record<string, unknown> = {},
  ) {
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid })
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setSubject("bob")
      .setExpirationTime("5m")
      .sign(key);
  }

  it("accepts RS256 and ES256 tokens signed with published keys, fetching the JWKS once", async () => {
    const verifier = jwksVerifier();
    const before = requests;
    const rsaResult = await verifier.verify(await sign("RS256", "rsa-1", rsa.privateKey));
    assert.ok(rsaResult.ok);
    assert.equal(rsaResult.identity.subject, "bob");
    assert.ok((await verifier.verify(await sign("ES256", "ec-1", ec.privateKey))).ok);
    assert.ok((await verifier.verify(await sign("RS256", "rsa-1", rsa.privateKey))).ok);
    assert.equal(requests - before, 1, "keys are cached");
  });

  it("refuses a token signed by an unknown key", async () => {
    const other = await generateKeyPair("RS256");
    const token = await sign("RS256", "rsa-1", other.privateKey);
    assertDenied(await jwksVerifier().verify(token), 401, "invalid_token");
  });

  it("refuses an unknown kid", async () => {
    const other = await generateKeyPair("RS256");
    const token = await sign("RS256", "unknown-kid", other.privateKey);
    assertDenied(await jwksVerifier().verify(token), 401, "invalid_token");
  });

  it("refetches the JWKS for an unknown kid (key rotation), at most once per cooldown", async () => {
    // The clock is injected: the cooldown passes when the test says so, never by waiting.
    let clock = Date.now();
    const verifier = testJwtVerifier({ jwksUrl, jwksCooldownMs: 30_000, now: () => clock });
    assert.ok((await verifier.verify(await sign("RS256", "rsa-1", rsa.privateKey))).ok);
    const rotated = await generateKeyPair("RS256");
    const published = keys;
    keys = [...keys, { ...(await exportJWK(rotated.publicKey)), kid: "rsa-2", alg: "RS256" }];
    try {
      const token = await sign("RS256", "rsa-2", rotated.privateKey);
      const before = requests;
      clock += 29_000;
      assertDenied(await verifier.verify(token), 401, "invalid_token");
      assert.equal(requests, before, "no refetch during the cooldown");
      clock += 2_000;
      assert.ok((await verifier.verify(token)).ok, "the new key is picked up after the cooldown");
      assert.equal(requests, before + 1);
    } finally {
      keys = published;
    }
  });

  it("refuses HS256 (symmetric) tokens: no algorithm confusion", async () => {
    const token = await sign("HS256", "rsa-1", SECRET_KEY);
    assertDenied(await jwksVerifier().verify(token), 401, "invalid_token");
  });

  it("refuses alg: none", async () => {
    const claims = { sub: "mallory", iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: 4102444800 };
    const token = `${b64url({ alg: "none", kid: "rsa-1" })}.${b64url(claims)}.`;
    assertDenied(await jwksVerifier().verify(token), 401, "invalid_token");
  });

  it("answers 503 (not 500) when the JWKS endpoint is unreachable", async () => {
    const closed = new URL(jwksUrl);
    closed.port = "9"; // discard port: nothing listens there
    const token = await sign("RS256", "rsa-1", rsa.privateKey);
    assertDenied(await jwksVerifier(closed).verify(token), 503);
  });
});
