/**
 * `npm run dev:auth`: a real OAuth 2.1 authorization server on loopback, for development, and
 * this server (`tsx watch`) trusting it, so MCP clients run the whole authorization flow
 * against your own code: 401 -> protected-resource metadata -> authorization-server metadata ->
 * dynamic client registration -> authorization code with PKCE and the resource -> token.
 *
 * It is panva's oidc-provider (a certified implementation, not a stand-in) configured with:
 *   - dynamic client registration (open: anything on this machine may register),
 *   - PKCE (S256) required, resource indicators (RFC 8707): access tokens are RFC 9068 JWTs
 *     whose audience is the resource asked for (`${PUBLIC_URL}/mcp`, or another loopback URL),
 *   - the project's scopes (AUTH_REQUIRED_SCOPES, mcp:tools and every scope a tool declares),
 *     refresh tokens, the client credentials grant,
 *   - plain HTML login (any name, any password) and consent forms,
 *   - signing keys generated at first start into AUTH_SERVER_STATE_DIR (default .dev-auth/,
 *     git-ignored, readable by you only). SIGHUP rotates them: a new key signs from then on,
 *     the previous one stays published for the tokens it signed. Clients, grants and tokens
 *     live in memory: a restart forgets them (clients register again by themselves).
 *
 * Development only: it refuses to start unless NODE_ENV is development or test, and it listens
 * on 127.0.0.1 only. Without --with-dev-server it runs the authorization server alone (the
 * tests start it so, next to the production build).
 *
 * Settings (environment): AUTH_SERVER_PORT (default 9400), PUBLIC_URL (the MCP server's origin,
 * default http://localhost:$PORT, as the server's own), AUTH_SERVER_STATE_DIR, AUTH_REQUIRED_SCOPES.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { errors, Provider } from "oidc-provider";
import { ConfigError, DEVELOPMENT_ENVS, isLoopbackHost, port as serverPort } from "../src/env.js";
import { allToolScopes } from "../src/tools/index.js";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

function fail(message: string): never {
  process.stderr.write(`dev:auth: ${message}\n`);
  process.exit(1);
}

// ----------------------------------------------------------------------------- settings

// Compared exactly, as the server does: "Development" is not development.
const nodeEnv = process.env.NODE_ENV;
if (nodeEnv === undefined || !DEVELOPMENT_ENVS.has(nodeEnv)) {
  fail(
    `refused: NODE_ENV=${nodeEnv ?? "(unset)"}: this authorization server accepts any login and is for development only (NODE_ENV must be development or test)`,
  );
}

const port = Number(process.env.AUTH_SERVER_PORT ?? "9400");
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  fail("AUTH_SERVER_PORT must be an integer between 1 and 65535");
}
const HOST = "127.0.0.1";
const issuer = `http://${HOST}:${port}`;
/** The MCP server's PUBLIC_URL, defaulted as src/config.ts does, so the token audience matches it. */
function mcpServerOrigin(): string {
  if (process.env.PUBLIC_URL !== undefined) return process.env.PUBLIC_URL.replace(/\/+$/, "");
  try {
    return `http://localhost:${serverPort(process.env)}`;
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}
const publicUrl = mcpServerOrigin();
const resource = `${publicUrl}/mcp`;
const requiredScopes = (process.env.AUTH_REQUIRED_SCOPES ?? "").split(/\s+/).filter(Boolean);
/** The scopes tokens may carry: the required ones, the basic tool scope, every tool's. */
const projectScopes = [...new Set([...requiredScopes, "mcp:tools", ...allToolScopes()])];
const stateDir = resolve(PROJECT_ROOT, process.env.AUTH_SERVER_STATE_DIR ?? ".dev-auth");
const withDevServer = process.argv.includes("--with-dev-server");

// ----------------------------------------------------------------------------- keys

interface State {
  /** Private JWKs, the signing one first. */
  signing: Record<string, unknown>[];
  /** Keys of the provider's signed cookies (interaction and session). */
  cookies: string[];
}

const stateFile = resolve(stateDir, "keys.json");

function newSigningKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "RS256", use: "sig" };
}

function writeState(state: State): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(stateFile, 0o600);
}

/** The keys of an earlier start, or new ones; a key file others can read is refused. */
function loadState(): State {
  let text: string;
  try {
    text = readFileSync(stateFile, "utf8");
  } catch {
    const state = { signing: [newSigningKey()], cookies: [randomBytes(32).toString("base64url")] };
    writeState(state);
    process.stdout.write(`dev:auth: new signing key in ${stateFile}\n`);
    return state;
  }
  if ((statSync(stateFile).mode & 0o077) !== 0 || (statSync(stateDir).mode & 0o077) !== 0) {
    fail(`${stateFile} is readable by others: chmod 700 ${stateDir} && chmod 600 ${stateFile}`);
  }
  let state: State;
  try {
    state = JSON.parse(text) as State;
  } catch {
    fail(`${stateFile} is not JSON: remove it to make new keys`);
  }
  if (!Array.isArray(state.signing) || state.signing.length === 0) fail(`${stateFile}: no keys`);
  return state;
}

// ----------------------------------------------------------------------------- storage

/**
 * Clients, grants, codes and tokens, in memory (oidc-provider's adapter interface). One store
 * for every Provider instance, so a key rotation (a new instance) keeps them.
 */
const store = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
/** Above this many entries, expired ones are dropped (a long-running dev server stays small). */
const MAX_ENTRIES = 10_000;

function pruneExpired(): void {
  const now = Date.now();
  for (const [key, entry] of store) if (entry.expiresAt <= now) store.delete(key);
}

class MemoryAdapter {
  constructor(private readonly model: string) {}

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
    if (this.model === "Client") {
      // A client is not held to the scope it registered with: MCP clients register with the
      // scope of their first request and later ask for more (the scope challenge's step-up).
      // The consent form is where a person agrees to each request's scopes.
      const { scope: _registered, ...unrestricted } = payload;
      payload = unrestricted;
    }
    const expiresAt =
      expiresIn === undefined ? Number.POSITIVE_INFINITY : Date.now() + expiresIn * 1000;
    store.set(this.key(id), { payload, expiresAt });
    // Secondary indexes, per model: a session is found by its uid, a device code by its user code.
    if (typeof payload.uid === "string") {
      store.set(this.key(`uid:${payload.uid}`), { payload: { id }, expiresAt });
    }
    if (typeof payload.userCode === "string") {
      store.set(this.key(`userCode:${payload.userCode}`), { payload: { id }, expiresAt });
    }
    if (store.size > MAX_ENTRIES) pruneExpired();
  }

  async find(id: string): Promise<Record<string, unknown> | undefined> {
    const entry = store.get(this.key(id));
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
    const id = store.get(this.key(`uid:${uid}`))?.payload.id;
    return typeof id === "string" ? this.find(id) : undefined;
  }

  async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
    const id = store.get(this.key(`userCode:${userCode}`))?.payload.id;
    return typeof id === "string" ? this.find(id) : undefined;
  }

  async consume(id: string): Promise<void> {
    const entry = store.get(this.key(id));
    if (entry !== undefined) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [key, entry] of store) {
      if (entry.payload.grantId === grantId) store.delete(key);
    }
  }
}

// ----------------------------------------------------------------------------- provider

/** This server's resource, or another loopback resource (two local servers, or a test's). */
function acceptedResource(indicator: string): boolean {
  if (indicator === resource) return true;
  try {
    const url = new URL(indicator);
    return (url.protocol === "http:" || url.protocol === "https:") && isLoopbackHost(url.hostname);
  } catch {
    return false;
  }
}

function createProvider(state: State): Provider {
  return new Provider(issuer, {
    adapter: MemoryAdapter,
    jwks: { keys: state.signing },
    cookies: { keys: state.cookies },
    scopes: ["openid", "offline_access", ...projectScopes],
    claims: { openid: ["sub"] },
    findAccount: async (_ctx: unknown, accountId: string) => ({
      accountId,
      claims: async () => ({ sub: accountId }),
    }),
    // Browser-based clients (the Inspector) call the token and registration endpoints.
    clientBasedCORS: () => true,
    // OAuth 2.1: the authorization code flow only (no implicit or hybrid response types).
    responseTypes: ["code"],
    pkce: { required: () => true },
    // A client allowed the refresh_token grant gets a refresh token, offline_access or not.
    issueRefreshToken: async (
      _ctx: unknown,
      client: { grantTypeAllowed(grant: string): boolean },
    ) => client.grantTypeAllowed("refresh_token"),
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (!acceptedResource(indicator)) throw new errors.InvalidTarget();
          return {
            scope: projectScopes.join(" "),
            audience: indicator,
            accessTokenFormat: "jwt",
            accessTokenTTL: 3600,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
  });
}

let state = loadState();
let handler = createProvider(state).callback();

/** SIGHUP: a new signing key; the previous one stays published (tokens it signed still verify). */
function rotate(): void {
  state = { ...state, signing: [newSigningKey(), ...state.signing].slice(0, 2) };
  writeState(state);
  handler = createProvider(state).callback();
  process.stdout.write(`dev:auth: signing key rotated, new kid ${String(state.signing[0]?.kid)}\n`);
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  handler(req, res);
});
server.listen(port, HOST, () => {
  process.stdout.write(
    `dev:auth: authorization server ${issuer} (JWKS ${issuer}/jwks) for resource ${resource}, scopes ${projectScopes.join(" ")}\n`,
  );
  if (withDevServer) startDevServer();
});
process.on("SIGHUP", rotate);

// ----------------------------------------------------------------------------- dev server

let devServer: ChildProcess | undefined;

/**
 * `npm run dev`'s server, configured to trust this authorization server: the environment
 * (.env.development, loaded by npm run dev:auth) with JWT mode pointed here and the other
 * credentials (a shared secret, API keys) left out, since the server accepts one kind only.
 */
function startDevServer(): void {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const otherCredentials = [
    "AUTH_JWT_SECRET",
    "AUTH_JWT_SECRET_FILE",
    "AUTH_API_KEYS",
    "AUTH_API_KEYS_FILE",
    "AUTH_AUDIENCE",
    "AUTH_CLIENT_IDS",
  ];
  for (const name of otherCredentials) {
    delete env[name];
  }
  Object.assign(env, {
    AUTH_MODE: "jwt",
    // Whatever provider production uses, the tokens here are this server's: RFC 9068, generic.
    AUTH_PROVIDER: "generic",
    AUTH_ISSUER: issuer,
    AUTH_JWKS_URL: `${issuer}/jwks`,
    AUTH_REQUIRED_SCOPES: requiredScopes.length > 0 ? requiredScopes.join(" ") : "mcp:tools",
  });
  const tsx = fileURLToPath(new URL("../node_modules/tsx/dist/cli.mjs", import.meta.url));
  devServer = spawn(process.execPath, [tsx, "watch", "src/index.ts"], {
    cwd: PROJECT_ROOT,
    env,
    stdio: "inherit",
  });
  devServer.on("exit", (code) => {
    if (!stopping) fail(`the development server exited (${code ?? "signal"})`);
  });
}

let stopping = false;
/** Ctrl-C or SIGTERM: the dev server is stopped, then this process exits (a second signal: at once). */
function stop(): void {
  if (stopping) process.exit(1);
  stopping = true;
  server.close();
  server.closeAllConnections();
  if (devServer === undefined || devServer.exitCode !== null) process.exit(0);
  devServer.once("exit", () => process.exit(0));
  devServer.kill("SIGTERM");
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
