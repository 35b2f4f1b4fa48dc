/**
 * Test helpers: free ports, token minting and verifying, raw MCP requests, and the real server
 * in a child process.
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport, type JSONRPCMessage, McpServer } from "@modelcontextprotocol/server";
import { type JWTPayload, SignJWT } from "jose";
import { pino } from "pino";
import type { AuthSettings } from "../src/auth/modes/index.js";
import { createJwtVerifier, type JwtVerifierOptions } from "../src/auth/modes/jwt.js";
import type { Identity, Verifier } from "../src/auth/types.js";
import type { Config } from "../src/config.js";
import type { Registration, ToolModule } from "../src/mcp/context.js";
import { registerPrompts } from "../src/prompts/index.js";
import { registerResources } from "../src/resources/index.js";
import { registerTools } from "../src/tools/index.js";

export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnop";
export const TEST_ISSUER = "https://issuer.test";
export const TEST_AUDIENCE = "http://localhost:8080/mcp";

/** The settings of the configured auth mode, asserted to be `mode`. */
export function authSettings<M extends AuthSettings["mode"]>(
  config: Config,
  mode: M,
): Extract<AuthSettings, { mode: M }> {
  assert.equal(config.auth.mode, mode);
  return config.auth as Extract<AuthSettings, { mode: M }>;
}

/** A 2025-06-18 `initialize` request, as the raw JSON-RPC body a client POSTs to /mcp. */
export const INITIALIZE_BODY = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "raw", version: "0" },
  },
});

const REGISTRY_CONTEXT = {
  identity: { subject: "registry", scopes: [], method: "none" },
  logger: pino({ level: "silent" }),
} as const;

/** What the registries declare, read by registering them on a recorder instead of a server. */
function recordRegistrations(register: (server: McpServer) => void): {
  tools: string[];
  resources: string[];
  prompts: string[];
} {
  const recorded = { tools: [] as string[], resources: [] as string[], prompts: [] as string[] };
  const recorder = {
    registerTool: (name: string) => recorded.tools.push(name),
    registerResource: (name: string) => recorded.resources.push(name),
    registerPrompt: (name: string) => recorded.prompts.push(name),
  } as unknown as McpServer;
  register(recorder);
  for (const list of Object.values(recorded)) list.sort();
  return recorded;
}

/**
 * The tool names the registry in src/tools/index.ts declares: tests compare against this, so
 * adding a tool never breaks a test's expected list.
 */
export function registeredToolNames(scopes: readonly string[] = []): string[] {
  const context = { ...REGISTRY_CONTEXT, identity: { ...REGISTRY_CONTEXT.identity, scopes } };
  return recordRegistrations((server) => registerTools(server, context)).tools;
}

/** The resource names (static and templates) src/resources/index.ts declares. */
export function registeredResourceNames(): string[] {
  return recordRegistrations((server) => registerResources(server, REGISTRY_CONTEXT)).resources;
}

/** The prompt names src/prompts/index.ts declares. */
export function registeredPromptNames(): string[] {
  return recordRegistrations((server) => registerPrompts(server, REGISTRY_CONTEXT)).prompts;
}

/**
 * A client connected to a fresh server holding one item (tool, resource or prompt), in memory:
 * the unit test of that item. `sentByServer`, when given, receives every message the server sends.
 */
export async function connectItem(
  register: Registration,
  identity: Identity = { subject: "tester", scopes: [], method: "none" },
  sentByServer?: JSONRPCMessage[],
): Promise<Client> {
  const server = new McpServer(
    { name: "item-test", version: "0" },
    { capabilities: { tools: {}, resources: {}, prompts: {} } },
  );
  register(server, { identity, logger: pino({ level: "silent" }) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  if (sentByServer !== undefined) {
    // Records every message the server sends (notifications too), for tests that count them.
    const send = serverSide.send.bind(serverSide);
    serverSide.send = (message, options) => {
      sentByServer.push(message);
      return send(message, options);
    };
  }
  await server.connect(serverSide);
  const client = new Client({ name: "item-test", version: "0" });
  await client.connect(clientSide);
  return client;
}

/** `connectItem` for a tool module (the name the tool tests and docs/tools-resources-prompts.md use). */
export function connectTool(
  tool: ToolModule,
  identity?: Identity,
  sentByServer?: JSONRPCMessage[],
): Promise<Client> {
  return connectItem((server, context) => tool.register(server, context), identity, sentByServer);
}

/** The text of a tool result's first content block. */
export function textOf(result: Awaited<ReturnType<Client["callTool"]>>): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  const first = content[0];
  if (first?.type !== "text" || typeof first.text !== "string") throw new Error("no text content");
  return first.text;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

interface MintOptions {
  secret?: string;
  issuer?: string;
  audience?: string;
  subject?: string;
  expiresIn?: string | number | null;
  alg?: string;
}

/** Signs an HS256 (by default) test token. expiresIn: null leaves out `exp`. */
export async function mintToken(claims: JWTPayload = {}, options: MintOptions = {}) {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? "HS256" })
    .setIssuedAt(claims.iat)
    .setIssuer(options.issuer ?? TEST_ISSUER)
    .setSubject(options.subject ?? "alice");
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  if (options.expiresIn !== null) jwt.setExpirationTime(options.expiresIn ?? "5m");
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

/**
 * A JWT verifier for TEST_ISSUER and TEST_AUDIENCE, with a 30 s clock tolerance, no token age
 * limit and no required scope; `options` names the key source (`secret` or `jwksUrl`) and
 * whatever else a test changes.
 */
export function testJwtVerifier(options: Partial<JwtVerifierOptions>): Verifier {
  return createJwtVerifier({
    jwksUrl: undefined,
    secret: undefined,
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    clockToleranceSeconds: 30,
    maxTokenAgeSeconds: undefined,
    requiredScopes: [],
    ...options,
  });
}

export interface RunningServer {
  readonly baseUrl: string;
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once the server's output matches (bounded by a generous deadline, never a sleep). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `src/index.ts` in a child process and waits for its "listening" log line. */
export async function startServer(env: Record<string, string>): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "debug",
      NODE_ENV: "test",
      // The tests' tokens are generic ones; the default is the project's identity_provider answer.
      AUTH_PROVIDER: "generic",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 15_000;
  while (!output.includes('"msg":"listening"')) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    async waitForOutput(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in the output:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, "exit");
      if (!child.killed) child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** Runs `src/index.ts` to completion (for configuration errors). */
export async function runServerExpectingExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", AUTH_PROVIDER: "generic", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}
