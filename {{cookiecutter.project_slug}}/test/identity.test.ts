/**
 * Identity configuration: development credentials stay in development, the development server
 * stays on loopback, secrets can come from owner-only files, the provider presets refuse a
 * mismatched issuer/JWKS at start, and the JWKS handles kid-less tokens and reports failures.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from "jose";
import { PRESETS } from "../src/auth/presets.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { authSettings, TEST_AUDIENCE, TEST_ISSUER, testJwtVerifier } from "./helpers.js";

function rejects(env: Record<string, string>, variable: string, detail?: RegExp): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.variable === variable &&
      error.message.includes(variable) &&
      (detail === undefined || detail.test(error.message)),
  );
}

function folder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "identity-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const DEV_KEY = "dev_Zk3q9xYbV2mN7pLr4sT8uW1aC5dE6fG0hJ";
const DEV_SECRET = "dev_Q2w3e4r5t6y7u8i9o0pAsDfGhJkLzXcVbNm";
const REAL_SECRET = "Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Jh0GfEdCbA9z";
const RESOURCE_URL = "https://mcp.example.com/mcp";

describe("development credentials", () => {
  it("are refused outside NODE_ENV development/test, naming the variable", () => {
    for (const nodeEnv of [undefined, "production", "staging", "Development", "TEST"]) {
      const base: Record<string, string> = nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv };
      rejects(
        { ...base, AUTH_MODE: "api_key", AUTH_API_KEYS: DEV_KEY },
        "AUTH_API_KEYS",
        /development credential/,
      );
      rejects(
        { ...base, AUTH_MODE: "api_key", AUTH_API_KEYS: `real-key-0123456789abcdef,${DEV_KEY}` },
        "AUTH_API_KEYS",
      );
      rejects(
        {
          ...base,
          AUTH_MODE: "jwt",
          AUTH_JWT_SECRET: DEV_SECRET,
          AUTH_ISSUER: TEST_ISSUER,
          AUTH_PROVIDER: "generic",
        },
        "AUTH_JWT_SECRET",
        /development credential/,
      );
      // The template's earlier fixed values too.
      rejects(
        { ...base, AUTH_MODE: "api_key", AUTH_API_KEYS: "dev-only-api-key-change-me" },
        "AUTH_API_KEYS",
      );
    }
  });

  it("are accepted with NODE_ENV development or test", () => {
    for (const nodeEnv of ["development", "test"]) {
      assert.deepEqual(
        authSettings(
          loadConfig({ NODE_ENV: nodeEnv, AUTH_MODE: "api_key", AUTH_API_KEYS: DEV_KEY }),
          "api_key",
        ).keys,
        [DEV_KEY],
      );
      const jwt = authSettings(
        loadConfig({
          NODE_ENV: nodeEnv,
          AUTH_MODE: "jwt",
          AUTH_PROVIDER: "generic",
          AUTH_JWT_SECRET: DEV_SECRET,
          AUTH_ISSUER: TEST_ISSUER,
        }),
        "jwt",
      );
      assert.ok(jwt?.secret);
    }
  });

  it("in a key file are refused too, naming AUTH_API_KEYS_FILE", (t) => {
    const file = join(folder(t), "keys");
    writeFileSync(file, `real-key-0123456789abcdef\n${DEV_KEY}\n`, { mode: 0o600 });
    rejects(
      { NODE_ENV: "production", AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file },
      "AUTH_API_KEYS_FILE",
    );
  });
});

describe("the interface the server binds", () => {
  it("is loopback in development and test, all interfaces otherwise, HOST when set", () => {
    const keys = { AUTH_MODE: "api_key", AUTH_API_KEYS: "real-key-0123456789abcdef" };
    assert.equal(loadConfig({ ...keys, NODE_ENV: "development" }).host, "127.0.0.1");
    assert.equal(loadConfig({ ...keys, NODE_ENV: "test" }).host, "127.0.0.1");
    assert.equal(loadConfig({ ...keys }).host, "0.0.0.0");
    assert.equal(loadConfig({ ...keys, NODE_ENV: "production" }).host, "0.0.0.0");
    assert.equal(loadConfig({ ...keys, NODE_ENV: "development", HOST: "0.0.0.0" }).host, "0.0.0.0");
  });
});

describe("secrets as files", () => {
  const jwtEnv = { AUTH_MODE: "jwt", AUTH_PROVIDER: "generic", AUTH_ISSUER: TEST_ISSUER };

  it("reads AUTH_JWT_SECRET_FILE (one line, trailing newline ignored)", (t) => {
    const file = join(folder(t), "jwt-secret");
    writeFileSync(file, `${REAL_SECRET}\n`, { mode: 0o600 });
    const jwt = authSettings(loadConfig({ ...jwtEnv, AUTH_JWT_SECRET_FILE: file }), "jwt");
    assert.equal(new TextDecoder().decode(jwt?.secret), REAL_SECRET);
  });

  it("refuses AUTH_JWT_SECRET_FILE beside AUTH_JWT_SECRET, empty, short, or not a small regular file", (t) => {
    const dir = folder(t);
    const file = join(dir, "jwt-secret");
    writeFileSync(file, REAL_SECRET, { mode: 0o600 });
    rejects(
      { ...jwtEnv, AUTH_JWT_SECRET_FILE: file, AUTH_JWT_SECRET: REAL_SECRET },
      "AUTH_JWT_SECRET_FILE",
    );
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n", { mode: 0o600 });
    rejects({ ...jwtEnv, AUTH_JWT_SECRET_FILE: empty }, "AUTH_JWT_SECRET_FILE", /empty/);
    const short = join(dir, "short");
    writeFileSync(short, "too-short", { mode: 0o600 });
    rejects({ ...jwtEnv, AUTH_JWT_SECRET_FILE: short }, "AUTH_JWT_SECRET_FILE", /32 bytes/);
    const big = join(dir, "big");
    writeFileSync(big, "x".repeat(70 * 1024), { mode: 0o600 });
    for (const bad of [dir, big, "/dev/zero", join(dir, "missing")]) {
      rejects({ ...jwtEnv, AUTH_JWT_SECRET_FILE: bad }, "AUTH_JWT_SECRET_FILE");
    }
    const dev = join(dir, "dev");
    writeFileSync(dev, DEV_SECRET, { mode: 0o600 });
    rejects(
      { ...jwtEnv, AUTH_JWT_SECRET_FILE: dev },
      "AUTH_JWT_SECRET_FILE",
      /development credential/,
    );
  });

  it("refuses a secret file other users or its group can read, naming the variable", (t) => {
    const dir = folder(t);
    mkdirSync(join(dir, "s"));
    const keys = join(dir, "s", "api-keys");
    const secret = join(dir, "s", "jwt-secret");
    writeFileSync(keys, "real-key-0123456789abcdef\n");
    writeFileSync(secret, REAL_SECRET);
    for (const mode of [0o644, 0o604, 0o640, 0o660, 0o606]) {
      chmodSync(keys, mode);
      chmodSync(secret, mode);
      rejects({ AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: keys }, "AUTH_API_KEYS_FILE", /mode 0/);
      rejects({ ...jwtEnv, AUTH_JWT_SECRET_FILE: secret }, "AUTH_JWT_SECRET_FILE", /mode 0/);
    }
    for (const mode of [0o600, 0o400]) {
      chmodSync(keys, mode);
      chmodSync(secret, mode);
      assert.equal(
        authSettings(loadConfig({ AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: keys }), "api_key").keys
          .length,
        1,
      );
      assert.ok(
        authSettings(loadConfig({ ...jwtEnv, AUTH_JWT_SECRET_FILE: secret }), "jwt").secret,
      );
    }
  });
});

describe("provider presets at start", () => {
  const jwt = { AUTH_MODE: "jwt" };
  const auth0 = { ...jwt, AUTH_PROVIDER: "auth0", AUTH_ISSUER: "https://tenant-a.auth0.com/" };
  const cognito = {
    ...jwt,
    AUTH_PROVIDER: "cognito",
    AUTH_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
    AUTH_CLIENT_IDS: "client1",
  };

  it("derive the JWKS URL from the issuer, as each provider publishes it", () => {
    const cases: Array<[Record<string, string>, string]> = [
      [auth0, "https://tenant-a.auth0.com/.well-known/jwks.json"],
      [
        {
          ...jwt,
          AUTH_PROVIDER: "entra",
          AUTH_ISSUER:
            "https://login.microsoftonline.com/6e74172b-be56-4843-9ff4-e66a39bb12e3/v2.0",
          AUTH_AUDIENCE: "2a4c6e80-1357-9bdf-2468-ace013579bdf",
        },
        "https://login.microsoftonline.com/6e74172b-be56-4843-9ff4-e66a39bb12e3/discovery/v2.0/keys",
      ],
      [
        { ...jwt, AUTH_PROVIDER: "keycloak", AUTH_ISSUER: "https://sso.example.com/realms/acme" },
        "https://sso.example.com/realms/acme/protocol/openid-connect/certs",
      ],
      [
        { ...jwt, AUTH_PROVIDER: "okta", AUTH_ISSUER: "https://acme.okta.com/oauth2/default" },
        "https://acme.okta.com/oauth2/default/v1/keys",
      ],
      [
        cognito,
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json",
      ],
    ];
    for (const [env, expected] of cases) {
      assert.equal(authSettings(loadConfig(env), "jwt").jwksUrl?.href, expected);
      assert.equal(
        authSettings(loadConfig({ ...env, AUTH_JWKS_URL: expected }), "jwt").jwksUrl?.href,
        expected,
      );
    }
  });

  it("refuse a JWKS URL that is not the issuer's, naming AUTH_JWKS_URL", () => {
    rejects(
      { ...auth0, AUTH_JWKS_URL: "https://tenant-b.auth0.com/.well-known/jwks.json" },
      "AUTH_JWKS_URL",
    );
    rejects(
      {
        ...cognito,
        AUTH_JWKS_URL:
          "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other/.well-known/jwks.json",
      },
      "AUTH_JWKS_URL",
    );
    // A loopback stand-in (tests) only with NODE_ENV development/test, only with the same path.
    const standIn = "http://127.0.0.1:9/.well-known/jwks.json";
    rejects({ ...auth0, AUTH_JWKS_URL: standIn }, "AUTH_JWKS_URL");
    rejects(
      { ...auth0, NODE_ENV: "test", AUTH_JWKS_URL: "http://127.0.0.1:9/keys" },
      "AUTH_JWKS_URL",
    );
    assert.equal(
      authSettings(loadConfig({ ...auth0, NODE_ENV: "test", AUTH_JWKS_URL: standIn }), "jwt")
        .jwksUrl?.href,
      standIn,
    );
  });

  it("refuse what the provider does not fit, naming the variable", () => {
    rejects({ ...jwt, AUTH_PROVIDER: "azure", AUTH_ISSUER: TEST_ISSUER }, "AUTH_PROVIDER");
    rejects(
      { AUTH_MODE: "api_key", AUTH_API_KEYS: "real-key-0123456789abcdef", AUTH_PROVIDER: "Auth0" },
      "AUTH_PROVIDER",
    );
    rejects(
      { ...auth0, AUTH_ISSUER: "https://tenant-a.auth0.com" },
      "AUTH_ISSUER",
      /trailing slash/,
    );
    rejects({ ...jwt, AUTH_PROVIDER: "okta", AUTH_ISSUER: "https://acme.okta.com" }, "AUTH_ISSUER");
    rejects(
      {
        ...jwt,
        AUTH_PROVIDER: "entra",
        AUTH_ISSUER: "https://sts.windows.net/6e74172b-be56-4843-9ff4-e66a39bb12e3/",
      },
      "AUTH_ISSUER",
    );
    rejects({ ...auth0, AUTH_JWT_SECRET: REAL_SECRET }, "AUTH_JWT_SECRET", /generic/);
    rejects({ ...cognito, AUTH_AUDIENCE: RESOURCE_URL }, "AUTH_AUDIENCE", /AUTH_CLIENT_IDS/);
    rejects({ ...cognito, AUTH_CLIENT_IDS: "" }, "AUTH_CLIENT_IDS");
    rejects({ ...auth0, AUTH_CLIENT_IDS: "client1" }, "AUTH_CLIENT_IDS");
    rejects(
      {
        ...jwt,
        AUTH_PROVIDER: "entra",
        AUTH_ISSUER: "https://login.microsoftonline.com/6e74172b-be56-4843-9ff4-e66a39bb12e3/v2.0",
      },
      "AUTH_AUDIENCE",
    );
    rejects({ ...auth0, AUTH_REQUIRE_AT_JWT: "yes" }, "AUTH_REQUIRE_AT_JWT");
  });

  it("generic keeps the behaviour from before presets (any issuer, any JWKS URL)", () => {
    const env = { ...jwt, AUTH_PROVIDER: "generic", AUTH_ISSUER: "urn:anything" };
    const config = loadConfig({ ...env, AUTH_JWKS_URL: "https://keys.example.com/any/path" });
    assert.equal(authSettings(config, "jwt").jwksUrl?.href, "https://keys.example.com/any/path");
    assert.equal(PRESETS.generic.jwksUrlOf("urn:anything"), undefined);
    rejects(env, "AUTH_JWKS_URL");
  });
});

describe("JWKS details", () => {
  let server: Server;
  let url: URL;
  let status = 200;
  let body = "";

  before(async () => {
    server = createServer((_req, res) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(body);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    // The query is never logged (only origin and path).
    url = new URL(`http://127.0.0.1:${address.port}/jwks.json?key=hidden`);
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("tries each of several RSA keys for a token without kid", async () => {
    const pairs = await Promise.all([1, 2, 3].map(() => generateKeyPair("RS256")));
    const published = await Promise.all(pairs.slice(0, 2).map((p) => exportJWK(p.publicKey)));
    status = 200;
    body = JSON.stringify({ keys: published.map((k) => ({ ...k, alg: "RS256", use: "sig" })) });
    const verifier = testJwtVerifier({ jwksUrl: url });
    const mint = (key: CryptoKey) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "RS256" })
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .setSubject("kidless")
        .setExpirationTime("5m")
        .sign(key);
    for (const pair of pairs.slice(0, 2)) {
      const result = await verifier.verify(await mint(pair.privateKey));
      assert.ok(result.ok, JSON.stringify(result));
    }
    const foreign = await verifier.verify(
      await mint((pairs[2] as { privateKey: CryptoKey }).privateKey),
    );
    assert.equal(foreign.ok, false);
    if (!foreign.ok) assert.equal(foreign.status, 401);
  });

  it("logs a failed fetch with its cause once per cooldown, without credentials", async () => {
    status = 500;
    body = '{"error":"boom"}';
    const logged: Array<{ details: Record<string, unknown>; message: string }> = [];
    const clock = { now: 1_000_000 };
    const verifier = testJwtVerifier({
      jwksUrl: url,
      jwksCooldownMs: 30_000,
      now: () => clock.now,
      logger: { warn: (details, message) => logged.push({ details, message }) },
    });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k" })
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setSubject("s")
      .setExpirationTime(Math.floor(clock.now / 1000) + 300)
      .sign((await generateKeyPair("RS256")).privateKey);
    for (let i = 0; i < 5; i += 1) assert.equal((await verifier.verify(token)).ok, false);
    assert.equal(logged.length, 1, "one log line per cooldown");
    assert.match(String(logged[0]?.details.cause), /HTTP 500/);
    clock.now += 30_001;
    await verifier.verify(token);
    assert.equal(logged.length, 2, "the next failed fetch after the cooldown is logged again");
    const text = JSON.stringify(logged);
    assert.ok(!text.includes("hidden") && !text.includes(token.split(".")[2] ?? "?"));
    assert.match(text, /127\.0\.0\.1:\d+\/jwks\.json/);
  });
});
