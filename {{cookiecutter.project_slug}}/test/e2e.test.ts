/**
 * End to end: the real server in a child process, spoken to over HTTP by the
 * MCP SDK's own client, in both authentication modes.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { type ClientRequest, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  INITIALIZE_BODY,
  mintToken,
  type RunningServer,
  registeredPromptNames,
  registeredResourceNames,
  registeredToolNames,
  startServer,
  TEST_ISSUER,
  TEST_SECRET,
  textOf,
} from "./helpers.js";

const API_KEY = "e2e-key-0123456789abcdef0123456789";
const MODERN_REVISION = "2026-07-28";

/**
 * How the SDK client picks the protocol revision: pinned to 2026-07-28 (no handshake),
 * "auto" (probes server/discover, falls back to initialize), or "legacy" (the 2025 handshake).
 */
type Negotiation = "legacy" | "auto" | { pin: string };

async function connect(
  server: RunningServer,
  token?: string,
  mode: Negotiation = "auto",
): Promise<Client> {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(`${server.baseUrl}/mcp`), {
    requestInit: { headers },
  });
  const client = new Client(
    { name: "e2e-test", version: "0.0.0" },
    { versionNegotiation: { mode } },
  );
  await client.connect(transport);
  return client;
}

function post(
  server: RunningServer,
  headers: Record<string, string>,
  path = "/mcp",
  body = INITIALIZE_BODY,
) {
  return fetch(`${server.baseUrl}${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...headers,
    },
    body,
  });
}

/** A raw request with a chosen Host header (fetch does not let us set it). */
function rawRequest(server: RunningServer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: server.port, path: "/mcp", method: "POST", headers },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end(INITIALIZE_BODY);
  });
}

/** Checks shared by both modes; `valid()` returns working credentials. */
function commonBehaviour(getServer: () => RunningServer, valid: () => Promise<string>): void {
  it("answers /health without credentials and from any Host", async () => {
    const response = await fetch(`${getServer().baseUrl}/health`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
    assert.equal((await fetch(`${getServer().baseUrl}/ready`)).status, 200);
  });

  const revisions: Array<[string, Negotiation, string]> = [
    ["pinned to 2026-07-28", { pin: MODERN_REVISION }, MODERN_REVISION],
    ["in automatic mode (ends on 2026-07-28)", "auto", MODERN_REVISION],
    ["on the handshake (2025-11-25)", "legacy", "2025-11-25"],
  ];
  for (const [name, mode, expected] of revisions) {
    it(`lists and calls tools for a valid caller ${name}`, async () => {
      const client = await connect(getServer(), await valid(), mode);
      try {
        assert.equal(client.getNegotiatedProtocolVersion(), expected);
        const { tools } = await client.listTools();
        const names = tools.map((tool) => tool.name).sort();
        assert.deepEqual(names, registeredToolNames());
        const echo = await client.callTool({ name: "echo", arguments: { text: 'héllo "world"' } });
        assert.equal(textOf(echo), 'héllo "world"');
      } finally {
        await client.close();
      }
    });

    it(`serves resources, prompts, structured output and progress ${name}`, async () => {
      const client = await connect(getServer(), await valid(), mode);
      try {
        const { resources } = await client.listResources();
        const { resourceTemplates } = await client.listResourceTemplates();
        const listed = [...resources, ...resourceTemplates].map((item) => item.name).sort();
        assert.deepEqual(listed, registeredResourceNames());
        const greeting = await client.readResource({ uri: "greeting://Ada" });
        assert.deepEqual(greeting.contents[0], {
          uri: "greeting://Ada",
          mimeType: "text/plain",
          text: "Hello, Ada!",
        });

        const { prompts } = await client.listPrompts();
        assert.deepEqual(prompts.map((prompt) => prompt.name).sort(), registeredPromptNames());
        const prompt = await client.getPrompt({ name: "summarize", arguments: { text: "x" } });
        assert.equal(prompt.messages.length, 1);

        const stats = await client.callTool({ name: "text_stats", arguments: { text: "a b" } });
        assert.deepEqual(stats.structuredContent, { characters: 3, words: 2, lines: 1 });

        const progress: number[] = [];
        const counted = await client.callTool(
          { name: "count", arguments: { to: 3 } },
          { onprogress: (update) => progress.push(update.progress) },
        );
        assert.equal(textOf(counted), "counted to 3");
        assert.deepEqual(progress, [1, 2, 3]);
      } finally {
        await client.close();
      }
    });
  }

  it("answers an unsupported revision with the protocol's own error, not a 500", async () => {
    const meta = {
      "io.modelcontextprotocol/protocolVersion": "2031-01-01",
      "io.modelcontextprotocol/clientInfo": { name: "future", version: "0" },
      "io.modelcontextprotocol/clientCapabilities": {},
    };
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/list",
      params: { _meta: meta },
    });
    const response = await post(
      getServer(),
      { Authorization: `Bearer ${await valid()}`, "MCP-Protocol-Version": "2031-01-01" },
      "/mcp",
      body,
    );
    assert.ok(response.status < 500, `status ${response.status}`);
    const answer = (await response.json()) as { error?: { code: number } };
    assert.equal(answer.error?.code, -32022, JSON.stringify(answer));
  });

  it("refuses an empty JSON-RPC batch with 400 and a compressed body with 415", async () => {
    const auth = { Authorization: `Bearer ${await valid()}` };
    assert.equal((await post(getServer(), auth, "/mcp", "[]")).status, 400);
    const gzip = await post(getServer(), { ...auth, "Content-Encoding": "gzip" });
    assert.equal(gzip.status, 415);
  });

  it("refuses a missing token with 401 and a resource_metadata challenge", async () => {
    const server = getServer();
    const response = await post(server, {});
    assert.equal(response.status, 401);
    const challenge = response.headers.get("www-authenticate") ?? "";
    assert.match(challenge, /^Bearer /);
    assert.ok(
      challenge.includes(
        `resource_metadata="http://localhost:${server.port}/.well-known/oauth-protected-resource/mcp"`,
      ),
      challenge,
    );
    await assert.rejects(connect(server));
  });

  it("refuses an invalid token with 401 invalid_token", async () => {
    const response = await post(getServer(), { Authorization: "Bearer not-a-valid-credential" });
    assert.equal(response.status, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    await assert.rejects(connect(getServer(), "not-a-valid-credential"));
  });

  it("refuses a token in the query string", async () => {
    const token = await valid();
    const response = await post(getServer(), {}, `/mcp?access_token=${encodeURIComponent(token)}`);
    assert.equal(response.status, 401);
    assert.ok(!getServer().output().includes(token), "the token is never logged");
  });

  it("refuses a foreign Origin with 403 and accepts its own", async () => {
    const server = getServer();
    const auth = { Authorization: `Bearer ${await valid()}` };
    assert.equal((await post(server, { ...auth, Origin: "https://evil.example" })).status, 403);
    assert.equal(
      (await post(server, { ...auth, Origin: `http://localhost:${server.port}` })).status,
      200,
    );
  });

  it("refuses a foreign Host with 403 (DNS rebinding protection)", async () => {
    const server = getServer();
    const headers = {
      Authorization: `Bearer ${await valid()}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
    };
    assert.equal(await rawRequest(server, { ...headers, Host: "evil.example" }), 403);
    assert.equal(await rawRequest(server, { ...headers, Host: `localhost:${server.port}` }), 200);
  });

  it("answers GET and DELETE /mcp with 405 and an Allow header", async () => {
    for (const method of ["GET", "DELETE"]) {
      const response = await fetch(`${getServer().baseUrl}/mcp`, { method });
      assert.equal(response.status, 405);
      assert.match(response.headers.get("allow") ?? "", /POST/);
    }
  });

  it("refuses bodies over MAX_BODY_BYTES with 413", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", pad: "x".repeat(20_000) });
    const response = await post(
      getServer(),
      { Authorization: `Bearer ${await valid()}` },
      "/mcp",
      big,
    );
    assert.equal(response.status, 413);
  });

  it("serves RFC 9728 metadata and 404 for unknown paths", async () => {
    const server = getServer();
    for (const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
    ]) {
      const response = await fetch(`${server.baseUrl}${path}`);
      assert.equal(response.status, 200);
      const metadata = (await response.json()) as { resource: string };
      assert.equal(metadata.resource, `http://localhost:${server.port}/mcp`);
    }
    assert.equal((await fetch(`${server.baseUrl}/nope`)).status, 404);
  });

  it("exits 0 on SIGTERM", async () => {
    assert.equal(await getServer().stop(), 0);
  });
}

describe("end to end, AUTH_MODE=jwt (HS256)", () => {
  let server: RunningServer;
  const token = (scope = "mcp:tools") =>
    mintToken({ scope }, { audience: `http://localhost:${server.port}/mcp`, subject: "alice" });

  before(async () => {
    server = await startServer({
      AUTH_MODE: "jwt",
      AUTH_JWT_SECRET: TEST_SECRET,
      AUTH_ISSUER: TEST_ISSUER,
      AUTH_REQUIRED_SCOPES: "mcp:tools",
      MAX_BODY_BYTES: "10000",
    });
  });
  after(() => server.stop());

  it("whoami returns the token's subject and scopes", async () => {
    const client = await connect(server, await token("mcp:tools extra"));
    try {
      const result = await client.callTool({ name: "whoami", arguments: {} });
      const caller = JSON.parse(textOf(result));
      assert.equal(caller.subject, "alice");
      assert.deepEqual(caller.scopes, ["mcp:tools", "extra"]);
    } finally {
      await client.close();
    }
  });

  it("callers served at the same time each see their own identity, in both eras", async () => {
    // Tools read the caller from their request's own server: interleaved requests of different
    // callers (and scope sets) must never answer with another caller's subject or scopes.
    const callers = await Promise.all(
      ["alice", "bob", "carol", "dave"].map(async (subject, n) => {
        const scope = n % 2 === 0 ? "mcp:tools" : "mcp:tools mcp:admin";
        const bearer = await mintToken(
          { scope },
          { audience: `http://localhost:${server.port}/mcp`, subject },
        );
        const mode: Negotiation = n < 2 ? { pin: MODERN_REVISION } : "legacy";
        return { subject, scopes: scope.split(" "), client: await connect(server, bearer, mode) };
      }),
    );
    try {
      const calls = callers.flatMap(({ subject, scopes, client }) =>
        Array.from({ length: 10 }, async () => {
          const caller = JSON.parse(
            textOf(await client.callTool({ name: "whoami", arguments: {} })),
          );
          assert.deepEqual({ subject: caller.subject, scopes: caller.scopes }, { subject, scopes });
        }),
      );
      await Promise.all(calls);
    } finally {
      await Promise.all(callers.map(({ client }) => client.close()));
    }
  });

  it("answers 403 insufficient_scope without the required scope", async () => {
    const response = await post(server, { Authorization: `Bearer ${await token("other")}` });
    assert.equal(response.status, 403);
    const challenge = response.headers.get("www-authenticate") ?? "";
    assert.match(challenge, /error="insufficient_scope"/);
    assert.match(challenge, /scope="mcp:tools"/);
  });

  it("lists and calls a scoped tool only for a token carrying its scope", async () => {
    const limited = await connect(server, await token("mcp:tools"));
    try {
      const { tools } = await limited.listTools();
      assert.ok(!tools.some((tool) => tool.name === "server_status"), "hidden without mcp:admin");
    } finally {
      await limited.close();
    }
    const admin = await connect(server, await token("mcp:tools mcp:admin"));
    try {
      const { tools } = await admin.listTools();
      assert.deepEqual(
        tools.map((tool) => tool.name).sort(),
        registeredToolNames(["mcp:tools", "mcp:admin"]),
      );
      const status = JSON.parse(textOf(await admin.callTool({ name: "server_status" })));
      assert.equal(typeof status.version, "string");
    } finally {
      await admin.close();
    }
  });

  it("answers a call of a scoped tool without its scope with the scope challenge", async () => {
    const meta = {
      "io.modelcontextprotocol/protocolVersion": MODERN_REVISION,
      "io.modelcontextprotocol/clientInfo": { name: "raw", version: "0" },
      "io.modelcontextprotocol/clientCapabilities": {},
    };
    const call = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "server_status", arguments: {}, _meta: meta },
    };
    const headers = {
      Authorization: `Bearer ${await token("mcp:tools extra")}`,
      "MCP-Protocol-Version": MODERN_REVISION,
      "Mcp-Method": "tools/call",
      "Mcp-Name": "server_status",
    };
    const response = await post(server, headers, "/mcp", JSON.stringify(call));
    assert.equal(response.status, 403);
    const challenge = response.headers.get("www-authenticate") ?? "";
    assert.match(challenge, /error="insufficient_scope"/);
    // The required scope, what the caller holds of this server's (kept on step-up; "extra" is
    // not this server's) and the tool's scope.
    assert.match(challenge, /scope="mcp:tools mcp:admin"/);
    assert.match(
      challenge,
      /resource_metadata="[^"]+\/.well-known\/oauth-protected-resource\/mcp"/,
    );
    // A token's other scopes are never echoed into the header (a scope may hold any character).
    const odd = await mintToken(
      { scp: ["mcp:tools", 'odd"\nscope'] },
      { audience: `http://localhost:${server.port}/mcp` },
    );
    const oddAnswer = await post(
      server,
      { ...headers, Authorization: `Bearer ${odd}` },
      "/mcp",
      JSON.stringify(call),
    );
    assert.equal(oddAnswer.status, 403);
    assert.match(oddAnswer.headers.get("www-authenticate") ?? "", /scope="mcp:tools mcp:admin"/);
    // In a 2025-03-26 batch too: one call without its scope refuses the request.
    const batch = JSON.stringify([call, { jsonrpc: "2.0", id: 2, method: "tools/list" }]);
    const batched = await post(server, { Authorization: headers.Authorization }, "/mcp", batch);
    assert.equal(batched.status, 403);
  });

  it("names the required scope in the 401 without a token", async () => {
    const response = await post(server, {});
    assert.equal(response.status, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /scope="mcp:tools"/);
  });

  it("refuses an expired token", async () => {
    const expired = await mintToken(
      { scope: "mcp:tools" },
      {
        audience: `http://localhost:${server.port}/mcp`,
        expiresIn: Math.floor(Date.now() / 1000) - 600,
      },
    );
    assert.equal((await post(server, { Authorization: `Bearer ${expired}` })).status, 401);
  });

  it("lists the issuer and scopes in the metadata", async () => {
    const response = await fetch(`${server.baseUrl}/.well-known/oauth-protected-resource/mcp`);
    const metadata = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(metadata.authorization_servers, [TEST_ISSUER]);
    // The required scope first, then the scopes tools declare (server_status: mcp:admin).
    assert.deepEqual(metadata.scopes_supported, ["mcp:tools", "mcp:admin"]);
  });

  commonBehaviour(
    () => server,
    () => token(),
  );
});

describe("end to end, AUTH_MODE=api_key", () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer({
      AUTH_MODE: "api_key",
      AUTH_API_KEYS: `other-key-0123456789abcdef,${API_KEY}`,
      MAX_BODY_BYTES: "10000",
    });
  });
  after(() => server.stop());

  it("whoami returns the key id, never the key", async () => {
    const client = await connect(server, API_KEY);
    try {
      const text = textOf(await client.callTool({ name: "whoami", arguments: {} }));
      const caller = JSON.parse(text);
      assert.match(caller.subject, /^key-[0-9a-f]{8}$/);
      assert.ok(!text.includes(API_KEY));
    } finally {
      await client.close();
    }
    assert.ok(!server.output().includes(API_KEY), "the key is never logged");
  });

  it("an API key carries no scopes: it reaches only the tools that need none", async () => {
    const client = await connect(server, API_KEY);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), registeredToolNames([]));
      assert.ok(!tools.some((tool) => tool.name === "server_status"));
    } finally {
      await client.close();
    }
    const call = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "server_status", arguments: {} },
    });
    const headers = { Authorization: `Bearer ${API_KEY}`, "MCP-Protocol-Version": "2025-06-18" };
    const response = await post(server, headers, "/mcp", call);
    assert.equal(response.status, 403);
    assert.match(response.headers.get("www-authenticate") ?? "", /error="insufficient_scope"/);
  });

  commonBehaviour(
    () => server,
    async () => API_KEY,
  );
});

describe("graceful shutdown", () => {
  // A long drain deadline: it never ends a test's drain. Were a kept-alive connection to hold
  // shutdown open, the server would log "shutdown timeout reached" (checked below) instead of
  // exiting as soon as it answered; a second signal must not wait for it.
  const LONG_DRAIN = { AUTH_MODE: "api_key", AUTH_API_KEYS: API_KEY, SHUTDOWN_TIMEOUT_MS: "60000" };

  /**
   * Opens an authenticated POST /mcp announcing `contentLength` bytes with Expect: 100-continue,
   * and sends none of them: resolves on "100 Continue", which proves the server received and
   * authenticated the request (no sleeps).
   */
  async function requestInFlight(
    server: RunningServer,
    contentLength: number,
  ): Promise<ClientRequest> {
    const req = request({
      host: "127.0.0.1",
      port: server.port,
      path: "/mcp",
      method: "POST",
      headers: {
        Authorization: `Bearer ${API_KEY}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "Content-Length": contentLength,
        Expect: "100-continue",
      },
    });
    await once(req, "continue");
    return req;
  }

  it("answers a request received before SIGTERM with Connection: close, then exits 0", async () => {
    const server = await startServer(LONG_DRAIN);
    const body = Buffer.from(INITIALIZE_BODY);
    const exited = once(server.child, "exit");
    const req = await requestInFlight(server, body.length);
    const answered = new Promise<{ status: number; connection: string | undefined }>(
      (resolve, reject) => {
        req.on("response", (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
        });
        req.on("error", reject);
      },
    );
    server.child.kill("SIGTERM");
    // The body is sent only once the server says the drain has begun.
    await server.waitForOutput(/shutting down/);
    req.end(body);
    const answer = await answered;
    assert.equal(answer.status, 200);
    assert.equal(answer.connection, "close", "a response during the drain closes its connection");
    const [code] = await exited;
    assert.equal(code, 0);
    assert.match(server.output(), /shutdown complete/);
    assert.doesNotMatch(server.output(), /shutdown timeout reached/);
  });

  it("exits at once with code 1 on a second signal, without waiting for the drain", async () => {
    const server = await startServer(LONG_DRAIN);
    const exited = once(server.child, "exit");
    // A request that never finishes its body holds the drain open.
    const req = await requestInFlight(server, 1000);
    req.on("error", () => undefined);
    server.child.kill("SIGTERM");
    await server.waitForOutput(/shutting down/);
    server.child.kill("SIGTERM");
    const [code] = await exited;
    assert.equal(code, 1);
    assert.match(server.output(), /second signal/);
    req.destroy();
  });
});
