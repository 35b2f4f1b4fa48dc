/**
 * `npm run dev:auth`'s authorization server (dev/auth-server.ts) with this server trusting it:
 * a client registers, gets a client-credentials JWT for the server's resource, and calls the
 * tools; a token without a tool's scope gets the scope challenge. And it refuses production.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { freePort, PROJECT_ROOT, type RunningServer, startServer, textOf } from "./helpers.js";

const AUTH_SERVER = ["--import", "tsx", "dev/auth-server.ts"];

describe("the local authorization server (npm run dev:auth)", () => {
  let authServer: ChildProcess;
  let issuer: string;
  let server: RunningServer;
  let resource: string;

  before(async () => {
    const authPort = await freePort();
    issuer = `http://127.0.0.1:${authPort}`;
    server = await startServer({
      AUTH_MODE: "jwt",
      AUTH_ISSUER: issuer,
      AUTH_JWKS_URL: `${issuer}/jwks`,
      AUTH_REQUIRED_SCOPES: "mcp:tools",
    });
    resource = `http://localhost:${server.port}/mcp`;
    authServer = spawn(process.execPath, AUTH_SERVER, {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        NODE_ENV: "test",
        AUTH_SERVER_PORT: String(authPort),
        AUTH_SERVER_STATE_DIR: join(mkdtempSync(join(tmpdir(), "dev-auth-")), "state"),
        PUBLIC_URL: `http://localhost:${server.port}`,
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    // Ready once it says where it listens (awaited, not timed).
    let output = "";
    authServer.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    while (!output.includes("authorization server http://")) {
      if (authServer.exitCode !== null) throw new Error(`dev/auth-server.ts exited:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  after(async () => {
    await server.stop();
    const exited = once(authServer, "exit");
    authServer.kill("SIGTERM");
    await exited;
  });

  async function clientCredentialsToken(scope: string, target = resource): Promise<string> {
    const registration = await fetch(`${issuer}/reg`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_post",
      }),
    });
    assert.equal(registration.status, 201);
    const client = (await registration.json()) as { client_id: string; client_secret: string };
    const response = await fetch(`${issuer}/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: client.client_id,
        client_secret: client.client_secret,
        scope,
        resource: target,
      }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function connect(token: string): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(resource), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: "dev-auth-test", version: "0" });
    await client.connect(transport);
    return client;
  }

  it("issues JWTs for the server's resource that the server accepts, with their scopes", async () => {
    const client = await connect(await clientCredentialsToken("mcp:tools mcp:admin"));
    try {
      const caller = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })));
      assert.deepEqual(caller.scopes, ["mcp:tools", "mcp:admin"]);
      const status = JSON.parse(textOf(await client.callTool({ name: "server_status" })));
      assert.equal(typeof status.version, "string");
    } finally {
      await client.close();
    }
  });

  it("a token for another resource is refused", async () => {
    const other = await clientCredentialsToken("mcp:tools", "http://127.0.0.1:9/elsewhere");
    const response = await fetch(resource, {
      method: "POST",
      headers: { Authorization: `Bearer ${other}`, "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(response.status, 401);
  });

  it("the server names it in its protected-resource metadata", async () => {
    const response = await fetch(`${server.baseUrl}/.well-known/oauth-protected-resource/mcp`);
    const metadata = (await response.json()) as { authorization_servers: string[] };
    assert.deepEqual(metadata.authorization_servers, [issuer]);
  });
});

describe("dev/auth-server.ts outside development", () => {
  it("refuses to start unless NODE_ENV is development or test", () => {
    for (const nodeEnv of ["production", undefined]) {
      const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
      if (nodeEnv !== undefined) env.NODE_ENV = nodeEnv;
      const result = spawnSync(process.execPath, AUTH_SERVER, {
        cwd: PROJECT_ROOT,
        env,
        encoding: "utf8",
      });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /NODE_ENV/);
    }
  });
});
