import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { pathToFileURL } from "node:url";
import { ConfigError, loadConfig, packageVersion, SERVER_VERSION } from "../src/config.js";
import { healthcheckUrl } from "../src/env.js";
import { authSettings, runServerExpectingExit, TEST_ISSUER, TEST_SECRET } from "./helpers.js";

/** A fresh folder for key files, removed when the test ends (pass or fail). */
function temporaryFolder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "keys-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// AUTH_PROVIDER explicit: its default is the project's identity_provider answer.
const JWT_ENV = {
  AUTH_MODE: "jwt",
  AUTH_PROVIDER: "generic",
  AUTH_JWT_SECRET: TEST_SECRET,
  AUTH_ISSUER: TEST_ISSUER,
};
const API_KEY_ENV = { AUTH_MODE: "api_key", AUTH_API_KEYS: "dev-key-0123456789abcdef" };

/** Asserts that loading `env` fails and names `variable`. */
function assertRejects(env: Record<string, string>, variable: string): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.variable === variable &&
      error.message.includes(variable),
  );
}

describe("configuration", () => {
  it("has safe defaults", () => {
    const config = loadConfig({ ...API_KEY_ENV });
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.logLevel, "info");
    assert.equal(config.publicUrl, `http://localhost:${config.port}`);
    assert.equal(config.resourceUrl, `http://localhost:${config.port}/mcp`);
    assert.equal(config.maxBodyBytes, 1024 * 1024);
    assert.equal(config.shutdownTimeoutMs, 8000);
    assert.deepEqual([...config.allowedHosts].sort(), ["127.0.0.1", "[::1]", "localhost"]);
    assert.ok(config.allowedOrigins.includes(`http://localhost:${config.port}`));
  });

  it("derives the audience and allowed hosts from PUBLIC_URL", () => {
    const config = loadConfig({ ...JWT_ENV, PUBLIC_URL: "https://mcp.example.com/" });
    assert.equal(config.publicUrl, "https://mcp.example.com");
    assert.equal(authSettings(config, "jwt").audience, "https://mcp.example.com/mcp");
    assert.ok(config.allowedHosts.includes("mcp.example.com"));
    assert.ok(config.allowedOrigins.includes("https://mcp.example.com"));
    assert.equal(
      config.resourceMetadataUrl,
      "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
    );
  });

  it("parses lists", () => {
    const config = loadConfig({
      ...JWT_ENV,
      AUTH_REQUIRED_SCOPES: " mcp:read  mcp:tools ",
      ALLOWED_HOSTS: "a.example, B.example:8443",
      ALLOWED_ORIGINS: "https://app.example, http://localhost:6274",
    });
    assert.deepEqual(config.requiredScopes, ["mcp:read", "mcp:tools"]);
    assert.deepEqual(config.allowedHosts, ["a.example", "b.example"]);
    assert.deepEqual(config.allowedOrigins, ["https://app.example", "http://localhost:6274"]);
  });

  it("reads API keys from a file (one per line, # comments)", (t) => {
    const dir = temporaryFolder(t);
    const file = join(dir, "keys");
    writeFileSync(
      file,
      "# rotated 2026-01\nfile-key-0123456789abcdef\n\nfile-key-fedcba9876543210\n",
      { mode: 0o600 }, // owner-only: anything else is refused (see test/identity.test.ts)
    );
    const config = loadConfig({ AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file });
    assert.deepEqual(authSettings(config, "api_key").keys, [
      "file-key-0123456789abcdef",
      "file-key-fedcba9876543210",
    ]);
    assertRejects(
      { AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: join(dir, "missing") },
      "AUTH_API_KEYS_FILE",
    );
  });

  it("names the variable of every bad value", () => {
    assertRejects({ ...API_KEY_ENV, PORT: "abc" }, "PORT");
    assertRejects({ ...API_KEY_ENV, PORT: "70000" }, "PORT");
    assertRejects({ ...API_KEY_ENV, LOG_LEVEL: "loud" }, "LOG_LEVEL");
    assertRejects({ ...API_KEY_ENV, PUBLIC_URL: "not a url" }, "PUBLIC_URL");
    assertRejects({ ...API_KEY_ENV, PUBLIC_URL: "https://x.example/base" }, "PUBLIC_URL");
    assertRejects({ ...API_KEY_ENV, AUTH_MODE: "basic" }, "AUTH_MODE");
    assertRejects({ ...API_KEY_ENV, MAX_BODY_BYTES: "-1" }, "MAX_BODY_BYTES");
    assertRejects({ ...API_KEY_ENV, SHUTDOWN_TIMEOUT_MS: "soon" }, "SHUTDOWN_TIMEOUT_MS");
    assertRejects({ ...API_KEY_ENV, ALLOWED_ORIGINS: "not-an-origin" }, "ALLOWED_ORIGINS");
  });

  it("validates the JWT settings", () => {
    assertRejects(
      { AUTH_MODE: "jwt", AUTH_PROVIDER: "generic", AUTH_ISSUER: TEST_ISSUER },
      "AUTH_JWKS_URL",
    );
    assertRejects({ ...JWT_ENV, AUTH_ISSUER: "" }, "AUTH_ISSUER");
    assertRejects({ ...JWT_ENV, AUTH_JWT_SECRET: "too-short" }, "AUTH_JWT_SECRET");
    assertRejects({ ...JWT_ENV, AUTH_JWKS_URL: "https://idp.example/jwks" }, "AUTH_JWKS_URL");
    const jwks = { AUTH_MODE: "jwt", AUTH_PROVIDER: "generic", AUTH_ISSUER: TEST_ISSUER };
    assertRejects({ ...jwks, AUTH_JWKS_URL: "http://idp.example/jwks" }, "AUTH_JWKS_URL");
    assert.ok(
      authSettings(loadConfig({ ...jwks, AUTH_JWKS_URL: "http://127.0.0.1:9000/jwks" }), "jwt")
        .jwksUrl,
    );
    assert.ok(
      authSettings(loadConfig({ ...jwks, AUTH_JWKS_URL: "https://idp.example/jwks" }), "jwt")
        .jwksUrl,
    );
  });

  it("validates the API keys", () => {
    assertRejects({ AUTH_MODE: "api_key" }, "AUTH_API_KEYS");
    assertRejects({ AUTH_MODE: "api_key", AUTH_API_KEYS: "short" }, "AUTH_API_KEYS");
  });

  it("allows AUTH_MODE=none only with NODE_ENV explicitly development or test", () => {
    assertRejects({ AUTH_MODE: "none", NODE_ENV: "production" }, "AUTH_MODE");
    assertRejects({ AUTH_MODE: "none" }, "AUTH_MODE");
    assertRejects({ AUTH_MODE: "none", NODE_ENV: "staging" }, "AUTH_MODE");
    assert.equal(loadConfig({ AUTH_MODE: "none", NODE_ENV: "development" }).auth.mode, "none");
    assert.equal(loadConfig({ AUTH_MODE: "none", NODE_ENV: "test" }).auth.mode, "none");
  });

  it("takes PUBLIC_URL as an http(s) origin with no stray characters", () => {
    for (const bad of [
      "https://x.example\\@evil.example",
      "https://x.example:80:80",
      "https://x example",
      "https://user@x.example",
      "ftp://x.example",
      "https://x.example?",
      "https://x.example#",
    ]) {
      assertRejects({ ...API_KEY_ENV, PUBLIC_URL: bad }, "PUBLIC_URL");
    }
    assert.equal(
      loadConfig({ ...API_KEY_ENV, PUBLIC_URL: "https://X.example:8443/" }).publicUrl,
      "https://x.example:8443",
    );
  });

  it("takes ALLOWED_HOSTS entries as host[:port] only, naming a bad entry", () => {
    for (const bad of [
      "https://a.example",
      "a.example/path",
      "user@a.example",
      "a.example:99999",
    ]) {
      assert.throws(
        () => loadConfig({ ...API_KEY_ENV, ALLOWED_HOSTS: `ok.example,${bad}` }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === "ALLOWED_HOSTS" &&
          error.message.includes(bad),
      );
    }
    const config = loadConfig({ ...API_KEY_ENV, ALLOWED_HOSTS: "[::1]:8080, a.example" });
    assert.deepEqual(config.allowedHosts, ["[::1]", "a.example"]);
  });

  it("reads AUTH_API_KEYS_FILE only as a small regular file, naming it in every error", (t) => {
    const dir = temporaryFolder(t);
    const big = join(dir, "big");
    writeFileSync(big, `${"k".repeat(32)}\n`.repeat(4000), { mode: 0o600 });
    for (const file of [dir, big, "/dev/zero", join(dir, "missing")]) {
      assertRejects({ AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: file }, "AUTH_API_KEYS_FILE");
    }
    const fifo = join(dir, "fifo");
    if (spawnSync("mkfifo", [fifo]).status === 0) {
      // Opened non-blocking: a FIFO nobody writes to is refused at once, not waited on.
      assertRejects({ AUTH_MODE: "api_key", AUTH_API_KEYS_FILE: fifo }, "AUTH_API_KEYS_FILE");
    }
  });

  it("bounds connections and header time", () => {
    const config = loadConfig({ ...API_KEY_ENV });
    assert.equal(config.maxConnections, 512);
    assert.equal(config.headersTimeoutMs, 10_000);
    assertRejects({ ...API_KEY_ENV, MAX_CONNECTIONS: "0" }, "MAX_CONNECTIONS");
    assertRejects({ ...API_KEY_ENV, HEADERS_TIMEOUT_MS: "10" }, "HEADERS_TIMEOUT_MS");
    assertRejects({ ...JWT_ENV, AUTH_MAX_TOKEN_AGE_SECONDS: "soon" }, "AUTH_MAX_TOKEN_AGE_SECONDS");
    assert.equal(
      authSettings(loadConfig({ ...JWT_ENV, AUTH_MAX_TOKEN_AGE_SECONDS: "3600" }), "jwt")
        .maxTokenAgeSeconds,
      3600,
    );
    assertRejects({ ...JWT_ENV, AUTH_JWKS_COOLDOWN_SECONDS: "0" }, "AUTH_JWKS_COOLDOWN_SECONDS");
    assert.equal(authSettings(loadConfig({ ...JWT_ENV }), "jwt").jwksCooldownMs, 30_000);
    assert.equal(
      authSettings(loadConfig({ ...JWT_ENV, AUTH_JWKS_COOLDOWN_SECONDS: "2" }), "jwt")
        .jwksCooldownMs,
      2000,
    );
  });

  it("reports package.json's version (what `npm version` bumps), read at start-up", (t) => {
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    assert.equal(SERVER_VERSION, manifest.version);
    const bumped = join(temporaryFolder(t), "package.json");
    writeFileSync(bumped, JSON.stringify({ ...manifest, version: "9.8.7" }));
    assert.equal(packageVersion(pathToFileURL(bumped)), "9.8.7");
    writeFileSync(bumped, JSON.stringify({ name: manifest.name }));
    assert.throws(() => packageVersion(pathToFileURL(bumped)), /has no "version"/);
  });

  it("points the healthcheck at an address the server listens on", () => {
    assert.equal(healthcheckUrl({ PORT: "9000" }), "http://127.0.0.1:9000/health");
    assert.equal(healthcheckUrl({ PORT: "9000", HOST: "::" }), "http://127.0.0.1:9000/health");
    assert.equal(healthcheckUrl({ PORT: "9000", HOST: "::1" }), "http://[::1]:9000/health");
    assert.equal(healthcheckUrl({ PORT: "9000", HOST: "10.1.2.3" }), "http://10.1.2.3:9000/health");
  });

  it("makes the process exit non-zero with a message naming the variable", async () => {
    const bad = await runServerExpectingExit({ ...API_KEY_ENV, PORT: "not-a-port" });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /PORT/);
    const missing = await runServerExpectingExit({
      AUTH_MODE: "jwt",
      AUTH_JWT_SECRET: TEST_SECRET,
    });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /AUTH_ISSUER/);
    assert.doesNotMatch(missing.stderr, new RegExp(TEST_SECRET), "secrets are never printed");
  });
});
