/**
 * A failing identity provider: whatever the JWKS endpoint does, fetches stay bounded (one in
 * flight, one per cooldown after failures too, capped size and key count) and requests get
 * 503 with Retry-After meanwhile. The clock is injected: no test waits for a cooldown.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { createRemoteKeys, KeysUnavailableError } from "../src/auth/jwks.js";
import { TEST_AUDIENCE, TEST_ISSUER, testJwtVerifier } from "./helpers.js";

type Behaviour = (res: ServerResponse) => void;

describe("JWKS fetching against a failing identity provider", () => {
  let server: Server;
  let url: URL;
  let behaviour: Behaviour;
  let requests = 0;
  let goodKey: JWK;
  let token: string;
  const hanging: ServerResponse[] = [];

  before(async () => {
    const pair = await generateKeyPair("RS256");
    goodKey = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    token = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setSubject("carol")
      .setExpirationTime("5m")
      .sign(pair.privateKey);
    server = createServer((_req, res) => {
      requests += 1;
      behaviour(res);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    url = new URL(`http://127.0.0.1:${address.port}/jwks.json`);
  });

  after(() => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    server.close();
  });

  function verifierAt(clock: { now: number }) {
    return testJwtVerifier({ jwksUrl: url, jwksCooldownMs: 30_000, now: () => clock.now });
  }

  const json =
    (body: string, status = 200): Behaviour =>
    (res) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(body);
    };
  const failures: Array<[string, Behaviour]> = [
    ["an HTTP 500", json('{"error":"boom"}', 500)],
    ["garbage", json("\u0000\u0001not json")],
    [
      "an HTML page",
      (res) => {
        res.writeHead(200, { "Content-Type": "text/html" });
        res.end("<html><body>Sign in</body></html>");
      },
    ],
    ["a document without keys", json('{"keys": "none"}')],
    ["a huge document", json(JSON.stringify({ keys: [], pad: "x".repeat(2 * 1024 * 1024) }))],
    [
      // No Content-Length to refuse up front: the cap must hold while the body streams in.
      "a huge streamed document",
      (res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.write(`{"keys": [], "pad": "`);
        for (let i = 0; i < 32; i += 1) res.write("x".repeat(64 * 1024));
        res.end(`"}`);
      },
    ],
    [
      "thousands of keys",
      json(
        JSON.stringify({
          keys: Array.from({ length: 5000 }, (_, i) => ({ ...goodKey, kid: `k${i}` })),
        }),
      ),
    ],
  ];

  for (const [name, failure] of failures) {
    it(`answers 503 with a retry time on ${name}, and refetches only after the cooldown`, async () => {
      behaviour = failure;
      const clock = { now: Date.now() };
      const verifier = verifierAt(clock);
      const start = requests;
      // Twenty concurrent requests share one fetch.
      const results = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
      for (const result of results) {
        assert.equal(result.ok, false);
        if (!result.ok) {
          assert.equal(result.status, 503);
          assert.ok((result.retryAfterSeconds ?? 0) >= 1);
        }
      }
      assert.equal(requests - start, 1, "one fetch for twenty concurrent requests");
      clock.now += 10_000;
      assert.equal((await verifier.verify(token)).ok, false);
      assert.equal(requests - start, 1, "the cooldown applies after a failed fetch");
      behaviour = json(JSON.stringify({ keys: [goodKey] }));
      clock.now += 21_000;
      assert.ok(
        (await verifier.verify(token)).ok,
        "the provider recovered: keys are fetched again",
      );
      assert.equal(requests - start, 2);
    });
  }

  it("serves cached keys while a refetch of aged keys hangs", { timeout: 30_000 }, async () => {
    // A refetch of keys that merely aged must not hold requests: the identity provider may be
    // hanging, and every request would wait for the fetch timeout (5 s by default) each cooldown.
    let release: (() => void) | undefined;
    let calls = 0;
    const fakeFetch = (async () => {
      calls += 1;
      if (calls === 1) return new Response(JSON.stringify({ keys: [goodKey] }));
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return new Response("unavailable", { status: 503 });
    }) as typeof fetch;
    const clock = { now: Date.now() };
    const keys = createRemoteKeys({
      url,
      now: () => clock.now,
      fetch: fakeFetch,
      maxAgeMs: 60_000,
      cooldownMs: 30_000,
      timeoutMs: 10 * 60_000,
    });
    await keys.getKey({ alg: "RS256", kid: "k1" });
    clock.now += 61_000;
    assert.ok(await keys.getKey({ alg: "RS256", kid: "k1" }), "the cached key is served");
    assert.equal(keys.fetches(), 2, "the refetch was started in the background");
    release?.();
  });

  it("cuts off a fetch that hangs", async () => {
    behaviour = (res) => {
      hanging.push(res);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"keys": [');
    };
    const keys = createRemoteKeys({ url, timeoutMs: 200 });
    await assert.rejects(keys.getKey({ alg: "RS256", kid: "k1" }), KeysUnavailableError);
    assert.equal(keys.fetches(), 1);
  });
});
