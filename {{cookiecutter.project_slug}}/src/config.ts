/**
 * Configuration: the environment, parsed and validated once.
 *
 * This module, with env.ts (its zod-free part), is the only one that reads `process.env`.
 * Everything else receives a typed, frozen `Config`. A missing or bad value throws a
 * `ConfigError` that names the variable; `index.ts` prints it and exits non-zero.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import * as z from "zod";
import { isProvider, PRESETS, PROVIDERS, type ProviderName } from "./auth/presets.js";
import { ConfigError, type Env, integer, port as portOf, probePort, raw } from "./env.js";
import type { LimitSettings, RateQuota } from "./http/limits.js";
import type { WatchdogSettings } from "./http/watchdog.js";

export { ConfigError } from "./env.js";

/** The human-readable name: MCP `serverInfo.name` and the RFC 9728 `resource_name`. */
export const SERVER_NAME = {{ cookiecutter.project_name | tojson }};
/** The machine name (npm package, image, log `service` field). */
export const SERVICE_NAME = {{ cookiecutter.project_slug | tojson }};
/**
 * The version in package.json: what `npm version` bumps and scripts/docker-build.sh tags the image
 * with. Read at start-up (dist/ and src/ both sit next to it), so `serverInfo` and the logs never
 * report the version the project was generated with after a release bump.
 */
export const SERVER_VERSION: string = packageVersion(new URL("../package.json", import.meta.url));

export function packageVersion(manifest: URL): string {
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version?: unknown };
  if (typeof version !== "string" || version === "") {
    throw new Error(`${manifest.pathname} has no "version"`);
  }
  return version;
}

const DEFAULT_AUTH_MODE = {{ cookiecutter.auth_mode | tojson }};
/** The identity_provider answer: the AUTH_PROVIDER used when the variable is unset. */
const DEFAULT_PROVIDER = {% if cookiecutter.identity_provider in ["generic", "auth0", "entra", "keycloak", "okta", "cognito"] %}{{ cookiecutter.identity_provider | tojson }}{% else %}{{ unknown_identity_provider_choice }}{% endif %};

export type AuthMode = "jwt" | "api_key" | "none";
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface JwtConfig {
  /** AUTH_PROVIDER: which row of src/auth/presets.ts the tokens follow. */
  readonly provider: ProviderName;
  /** JWKS endpoint of the identity provider (asymmetric keys). */
  readonly jwksUrl: URL | undefined;
  /** Shared HS256 secret (at least 32 bytes). Exactly one of jwksUrl / secret is set. */
  readonly secret: Uint8Array | undefined;
  readonly issuer: string;
  /** The `aud` every token must contain; undefined where the provider has none (Cognito). */
  readonly audience: string | undefined;
  /** Cognito: the app client ids whose access tokens are accepted (`client_id`). */
  readonly clientIds: readonly string[];
  /** Require the RFC 9068 header `typ: at+jwt`. */
  readonly requireAtJwt: boolean;
  readonly clockToleranceSeconds: number;
  /** Refuse tokens whose `iat` is older than this (seconds); undefined = no limit. */
  readonly maxTokenAgeSeconds: number | undefined;
  /** Least time between two JWKS fetches (AUTH_JWKS_COOLDOWN_SECONDS): how soon a rotated key is seen. */
  readonly jwksCooldownMs?: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  readonly nodeEnv: string;
  /** Origin the server is reached at, without a trailing slash (e.g. https://mcp.example.com). */
  readonly publicUrl: string;
  /** The protected resource: `${publicUrl}/mcp`. */
  readonly resourceUrl: string;
  /** RFC 9728 metadata document URL advertised in every 401. */
  readonly resourceMetadataUrl: string;
  readonly authMode: AuthMode;
  readonly jwt: JwtConfig | undefined;
  /** API keys (api_key mode). Never logged. */
  readonly apiKeys: readonly string[];
  readonly requiredScopes: readonly string[];
  /** Lower-case host names accepted in the Host header of /mcp requests ("*" = any). */
  readonly allowedHosts: readonly string[];
  /** Exact origins (scheme://host[:port]) accepted in the Origin header ("*" = any). */
  readonly allowedOrigins: readonly string[];
  readonly maxBodyBytes: number;
  readonly shutdownTimeoutMs: number;
  /** Most connections open at once (further ones are refused at once), kept below the file limit. */
  readonly maxConnections: number;
  /** How long a client may take to send its request headers. */
  readonly headersTimeoutMs: number;
  /** Port of the probe listener (/health, /ready only); undefined = probes on PORT only. */
  readonly probePort: number | undefined;
  /** Connections the probe listener holds at most (its own budget, outside MAX_CONNECTIONS). */
  readonly probeMaxConnections: number;
  /** Fair limits per caller and per client address (src/http/limits.ts, docs/limits.md). */
  readonly limits: LimitSettings & WatchdogSettings;
}

/** Parses one variable with a zod schema; a failure names the variable. */
function parse<T>(env: Env, name: string, schema: z.ZodType<T>, fallback?: T): T {
  const value = raw(env, name);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(name, "is required");
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(name, result.error.issues[0]?.message ?? "is invalid");
  }
  return result.data;
}

function optional<T>(env: Env, name: string, schema: z.ZodType<T>): T | undefined {
  return raw(env, name) === undefined ? undefined : parse(env, name, schema);
}

const logLevelSchema = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
  error: "must be one of fatal, error, warn, info, debug, trace, silent",
});
const authModeSchema = z.enum(["jwt", "api_key", "none"], {
  error: "must be one of jwt, api_key, none",
});
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The NODE_ENV values that may run without authentication or mint development credentials. */
export const DEVELOPMENT_ENVS: ReadonlySet<string> = new Set(["development", "test"]);

/**
 * Development credentials are recognisable: the post-gen hook writes `dev_` + random into
 * .env.development; `dev-only-` marks the fixed values projects generated by earlier template
 * versions still carry. Outside NODE_ENV development/test the server refuses to start with one.
 */
export const DEVELOPMENT_CREDENTIAL_PREFIXES = ["dev_", "dev-only-"] as const;

export function isDevelopmentCredential(value: string): boolean {
  return DEVELOPMENT_CREDENTIAL_PREFIXES.some((prefix) => value.startsWith(prefix));
}

function refuseDevelopmentCredential(variable: string, value: string, nodeEnv: string): void {
  if (isDevelopmentCredential(value) && !DEVELOPMENT_ENVS.has(nodeEnv)) {
    throw new ConfigError(
      variable,
      `holds a development credential (it starts with ${DEVELOPMENT_CREDENTIAL_PREFIXES.map((p) => `"${p}"`).join(" or ")}, as .env.development's do) and NODE_ENV is "${nodeEnv}": generate a real one (see docs/authentication.md)`,
    );
  }
}

/** A Host header value (or ALLOWED_HOSTS entry): host[:port], nothing else. */
const HOST_SHAPE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** The lower-cased host name of a `host[:port]` value, or undefined when it has any other shape. */
export function hostnameOfHostHeader(value: string): string | undefined {
  const match = HOST_SHAPE.exec(value);
  if (match?.[1] === undefined) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2].slice(1));
  if (port !== undefined && port > 65535) return undefined;
  return match[1].toLowerCase();
}

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** scheme://host[:port] with an optional trailing slash, nothing else (no spaces, backslashes, userinfo). */
const ORIGIN_SHAPE = /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\/?$/;

function parsePublicUrl(env: Env, port: number): string {
  const value = parse(env, "PUBLIC_URL", httpUrl, `http://localhost:${port}`);
  if (!ORIGIN_SHAPE.test(value)) {
    throw new ConfigError(
      "PUBLIC_URL",
      "must be an origin only (scheme://host[:port]), without path, query, credentials or stray characters",
    );
  }
  const url = new URL(value);
  if (
    (url.pathname !== "/" && url.pathname !== "") ||
    url.search ||
    url.hash ||
    url.username ||
    url.password
  ) {
    throw new ConfigError(
      "PUBLIC_URL",
      "must be an origin only (scheme://host[:port]), without path, query or credentials",
    );
  }
  return url.origin;
}

function csv(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function parseAllowedHosts(env: Env, publicUrl: string): string[] {
  const value = raw(env, "ALLOWED_HOSTS");
  if (value === undefined) {
    return [...new Set([new URL(publicUrl).hostname, ...LOOPBACK_HOSTS])];
  }
  return csv(value).map((entry) => {
    if (entry === "*") return entry;
    // "host", "host:port" or "[v6]:port" only: a scheme, path or userinfo is a mistake to name.
    const hostname = hostnameOfHostHeader(entry);
    if (hostname === undefined) {
      throw new ConfigError(
        "ALLOWED_HOSTS",
        `"${entry}" is not host[:port] (no scheme, path or credentials)`,
      );
    }
    return hostname;
  });
}

function parseAllowedOrigins(env: Env, publicUrl: string, port: number): string[] {
  const value = raw(env, "ALLOWED_ORIGINS");
  if (value === undefined) {
    const local = [...LOOPBACK_HOSTS].map((host) => `http://${host}:${port}`);
    return [...new Set([publicUrl, ...local])];
  }
  return csv(value).map((entry) => {
    if (entry === "*") return entry;
    try {
      const url = new URL(entry);
      if (url.origin === "null") throw new Error("opaque origin");
      return url.origin;
    } catch {
      throw new ConfigError(
        "ALLOWED_ORIGINS",
        `"${entry}" is not an origin (expected scheme://host[:port])`,
      );
    }
  });
}

function booleanOf(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(name, "must be true or false");
}

/** A secret from NAME or from the file NAME_FILE (not both); undefined when neither is set. */
function secretOf(env: Env, name: string): { value: string; variable: string } | undefined {
  const direct = raw(env, name);
  const file = raw(env, `${name}_FILE`);
  if (direct !== undefined && file !== undefined) {
    throw new ConfigError(`${name}_FILE`, `set either ${name} or ${name}_FILE, not both`);
  }
  if (file !== undefined) {
    const value = readSecretFile(`${name}_FILE`, file).trim();
    if (value === "") throw new ConfigError(`${name}_FILE`, "the file is empty");
    return { value, variable: `${name}_FILE` };
  }
  return direct === undefined ? undefined : { value: direct, variable: name };
}

function parseProvider(env: Env): ProviderName {
  const value = raw(env, "AUTH_PROVIDER") ?? DEFAULT_PROVIDER;
  if (!isProvider(value)) {
    throw new ConfigError("AUTH_PROVIDER", `must be one of ${PROVIDERS.join(", ")}`);
  }
  return value;
}

/**
 * The JWKS URL for the provider: AUTH_JWKS_URL, or the one the preset derives from the issuer.
 * A given URL must be the issuer's own (a JWKS of another tenant would accept its tokens);
 * with NODE_ENV development/test a loopback stand-in with the same path is allowed (tests).
 */
function jwksUrlFor(
  env: Env,
  provider: ProviderName,
  issuer: string,
  nodeEnv: string,
): URL | undefined {
  const given = optional(env, "AUTH_JWKS_URL", httpUrl);
  const expected = PRESETS[provider].jwksUrlOf(issuer);
  if (given === undefined) return expected === undefined ? undefined : new URL(expected);
  const url = new URL(given);
  if (url.protocol !== "https:" && !isLoopbackHost(url.hostname)) {
    throw new ConfigError("AUTH_JWKS_URL", "must use https:// (plain http only for loopback)");
  }
  if (expected !== undefined && url.href !== new URL(expected).href) {
    const standIn =
      DEVELOPMENT_ENVS.has(nodeEnv) &&
      isLoopbackHost(url.hostname) &&
      url.pathname === new URL(expected).pathname;
    if (!standIn) {
      throw new ConfigError(
        "AUTH_JWKS_URL",
        `is not the JWKS of AUTH_ISSUER for AUTH_PROVIDER=${provider} (expected ${expected}; leave AUTH_JWKS_URL empty to use it)`,
      );
    }
  }
  return url;
}

function parseJwt(env: Env, publicUrl: string, nodeEnv: string): JwtConfig {
  const provider = parseProvider(env);
  const preset = PRESETS[provider];
  const secretValue = secretOf(env, "AUTH_JWT_SECRET");
  if (secretValue !== undefined && raw(env, "AUTH_JWKS_URL") !== undefined) {
    throw new ConfigError(
      "AUTH_JWKS_URL",
      `set either AUTH_JWKS_URL or ${secretValue.variable}, not both`,
    );
  }
  if (
    secretValue === undefined &&
    raw(env, "AUTH_JWKS_URL") === undefined &&
    provider === "generic"
  ) {
    throw new ConfigError(
      "AUTH_JWKS_URL",
      "AUTH_MODE=jwt needs AUTH_JWKS_URL (identity provider keys) or AUTH_JWT_SECRET (HS256)",
    );
  }
  const issuer = parse(env, "AUTH_ISSUER", z.string().min(1));
  if (preset.issuerPattern !== undefined && !preset.issuerPattern.test(issuer)) {
    throw new ConfigError(
      "AUTH_ISSUER",
      `is not an issuer of AUTH_PROVIDER=${provider} (expected ${preset.issuerExample})`,
    );
  }
  if (secretValue !== undefined && provider !== "generic") {
    throw new ConfigError(
      secretValue.variable,
      `AUTH_PROVIDER=${provider} signs tokens with its own keys (its JWKS): a shared secret works with AUTH_PROVIDER=generic only`,
    );
  }
  const jwksUrl =
    secretValue === undefined ? jwksUrlFor(env, provider, issuer, nodeEnv) : undefined;
  let secret: Uint8Array | undefined;
  if (secretValue !== undefined) {
    secret = new TextEncoder().encode(secretValue.value);
    if (secret.byteLength < 32) {
      throw new ConfigError(secretValue.variable, "must be at least 32 bytes long");
    }
    refuseDevelopmentCredential(secretValue.variable, secretValue.value, nodeEnv);
  }
  let audience: string | undefined;
  let clientIds: string[] = [];
  if (preset.audience === "client_id") {
    if (raw(env, "AUTH_AUDIENCE") !== undefined) {
      throw new ConfigError(
        "AUTH_AUDIENCE",
        `AUTH_PROVIDER=${provider} access tokens carry no aud: list the app client ids in AUTH_CLIENT_IDS instead`,
      );
    }
    clientIds = csv(raw(env, "AUTH_CLIENT_IDS"));
    if (clientIds.length === 0) {
      throw new ConfigError(
        "AUTH_CLIENT_IDS",
        `AUTH_PROVIDER=${provider} needs the app client ids whose tokens are accepted (comma-separated)`,
      );
    }
  } else {
    if (raw(env, "AUTH_CLIENT_IDS") !== undefined) {
      throw new ConfigError(
        "AUTH_CLIENT_IDS",
        `is for AUTH_PROVIDER=cognito only (AUTH_PROVIDER=${provider} checks aud against AUTH_AUDIENCE)`,
      );
    }
    audience = preset.audienceDefaultsToResource
      ? parse(env, "AUTH_AUDIENCE", z.string().min(1), `${publicUrl}/mcp`)
      : parse(env, "AUTH_AUDIENCE", z.string().min(1));
  }
  const maxTokenAgeSeconds =
    raw(env, "AUTH_MAX_TOKEN_AGE_SECONDS") === undefined
      ? undefined
      : integer(env, "AUTH_MAX_TOKEN_AGE_SECONDS", 1, 31_536_000);
  const jwksCooldownMs = integer(env, "AUTH_JWKS_COOLDOWN_SECONDS", 1, 3600, 30) * 1000;
  return {
    provider,
    jwksUrl,
    secret,
    issuer,
    audience,
    clientIds: Object.freeze(clientIds),
    requireAtJwt: booleanOf(env, "AUTH_REQUIRE_AT_JWT", preset.requireAtJwt),
    clockToleranceSeconds: 30,
    maxTokenAgeSeconds,
    jwksCooldownMs,
  };
}

/** Largest secret file (*_FILE) accepted: a key file is a few lines, not a log. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * A secret file must be the server's alone. Refused: any permission for others, and group
 * permissions, except on a platform's read-only secret mount (Kubernetes with fsGroup: owned by
 * another user, e.g. root, with the server's own group, mode 0440 or 0400), which only the
 * pod's containers can read. Windows has no such modes: nothing to check there.
 */
function checkOwnerOnly(variable: string, stat: { mode: number; uid: number; gid: number }): void {
  if (process.platform === "win32") return;
  const mode = stat.mode & 0o777;
  const shown = `mode 0${mode.toString(8).padStart(3, "0")}`;
  const fix =
    "make it owner-only (chmod 600, or create it under umask 077) and owned by the server's user";
  if (mode & 0o007) {
    throw new ConfigError(variable, `the file is accessible to other users (${shown}): ${fix}`);
  }
  if (mode & 0o070) {
    const platformMount =
      stat.uid !== process.getuid?.() && stat.gid === process.getgid?.() && (mode & 0o020) === 0;
    if (!platformMount) {
      throw new ConfigError(variable, `the file is accessible to its group (${shown}): ${fix}`);
    }
  }
}

/**
 * Reads a secret file (AUTH_API_KEYS_FILE, AUTH_JWT_SECRET_FILE): a regular, owner-only file
 * under MAX_KEY_FILE_BYTES. Opened non-blocking, so a FIFO or a device cannot hang the start;
 * every refusal names the variable.
 */
export function readSecretFile(variable: string, file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "open error";
    throw new ConfigError(variable, `cannot open the file (${code})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(variable, "is not a regular file");
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw new ConfigError(variable, `is larger than ${MAX_KEY_FILE_BYTES} bytes`);
    }
    checkOwnerOnly(variable, stat);
    return readFileSync(fd, "utf8");
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? "read error";
    throw new ConfigError(variable, `cannot read the file (${code})`);
  } finally {
    closeSync(fd);
  }
}

/** Reads AUTH_API_KEYS (comma-separated) and AUTH_API_KEYS_FILE (one key per line). */
function parseApiKeys(env: Env, nodeEnv: string): string[] {
  const keys = csv(raw(env, "AUTH_API_KEYS"));
  for (const key of keys) refuseDevelopmentCredential("AUTH_API_KEYS", key, nodeEnv);
  const file = raw(env, "AUTH_API_KEYS_FILE");
  if (file !== undefined) {
    const text = readSecretFile("AUTH_API_KEYS_FILE", file);
    for (const line of text.split(/\r?\n/)) {
      const key = line.trim();
      if (key === "" || key.startsWith("#")) continue;
      refuseDevelopmentCredential("AUTH_API_KEYS_FILE", key, nodeEnv);
      keys.push(key);
    }
  }
  if (keys.length === 0) {
    throw new ConfigError(
      "AUTH_API_KEYS",
      "AUTH_MODE=api_key needs at least one key in AUTH_API_KEYS or AUTH_API_KEYS_FILE",
    );
  }
  for (const key of keys) {
    if (key.length < 16) {
      throw new ConfigError(
        file === undefined ? "AUTH_API_KEYS" : "AUTH_API_KEYS_FILE",
        "every key must be at least 16 characters long",
      );
    }
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(key)) {
      throw new ConfigError(
        file === undefined ? "AUTH_API_KEYS" : "AUTH_API_KEYS_FILE",
        "keys may only contain letters, digits and - . _ ~ + / (and trailing =)",
      );
    }
  }
  return [...new Set(keys)];
}

/** A rate limit: RATE_LIMIT_PER_* requests per RATE_LIMIT_WINDOW_SECONDS; 0 turns it off. */
function rateQuota(
  env: Env,
  name: string,
  fallback: number,
  windowSeconds: number,
): RateQuota | undefined {
  const quota = integer(env, name, 0, 1_000_000_000, fallback);
  return quota === 0 ? undefined : { quota, windowSeconds };
}

function parseLimits(env: Env): LimitSettings & WatchdogSettings {
  const windowSeconds = integer(env, "RATE_LIMIT_WINDOW_SECONDS", 1, 86_400, 60);
  return Object.freeze({
    requestsPerCaller: integer(env, "MAX_REQUESTS_PER_CALLER", 1, 100_000, 32),
    streamsPerCaller: integer(env, "MAX_STREAMS_PER_CALLER", 0, 100_000, 4),
    callerRate: rateQuota(env, "RATE_LIMIT_PER_CALLER", 3000, windowSeconds),
    addressRate: rateQuota(env, "RATE_LIMIT_PER_ADDRESS", 6000, windowSeconds),
    bodyTimeoutMs: integer(env, "BODY_TIMEOUT_MS", 1000, 600_000, 10_000),
    bodyMinBytesPerSecond: integer(env, "BODY_MIN_BYTES_PER_SECOND", 0, 100 * 1024 * 1024, 1024),
    writeTimeoutMs: integer(env, "WRITE_TIMEOUT_MS", 1000, 600_000, 15_000),
    streamLifetimeMs: integer(env, "STREAM_LIFETIME_MS", 1000, 86_400_000, 300_000),
  });
}

function parseProbePort(env: Env, port: number): number | undefined {
  const probe = probePort(env);
  if (probe !== undefined && probe === port) {
    throw new ConfigError("PROBE_PORT", `must differ from PORT (${port})`);
  }
  return probe;
}

/** Parses and validates the whole environment. Throws ConfigError on the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const port = portOf(env);
  const logLevel = parse(env, "LOG_LEVEL", logLevelSchema, "info");
  const explicitNodeEnv = raw(env, "NODE_ENV");
  const nodeEnv = explicitNodeEnv ?? "production";
  // A development server is for this machine only; production (containers, VMs) binds every
  // interface, as before. The images set HOST=0.0.0.0 explicitly.
  const host = parse(
    env,
    "HOST",
    z.string().min(1),
    DEVELOPMENT_ENVS.has(nodeEnv) ? "127.0.0.1" : "0.0.0.0",
  );
  const publicUrl = parsePublicUrl(env, port);
  const authMode = parse(env, "AUTH_MODE", authModeSchema, DEFAULT_AUTH_MODE);

  // An open endpoint must be asked for twice: AUTH_MODE=none and an explicit non-production NODE_ENV.
  if (authMode === "none" && !DEVELOPMENT_ENVS.has(nodeEnv)) {
    throw new ConfigError(
      "AUTH_MODE",
      `AUTH_MODE=none needs NODE_ENV=development or NODE_ENV=test (NODE_ENV is ${explicitNodeEnv === undefined ? "unset" : `"${nodeEnv}"`})`,
    );
  }

  parseProvider(env); // a bad AUTH_PROVIDER is named in every mode, not only once jwt is chosen
  const jwt = authMode === "jwt" ? parseJwt(env, publicUrl, nodeEnv) : undefined;
  const apiKeys = authMode === "api_key" ? parseApiKeys(env, nodeEnv) : [];
  const requiredScopes = (raw(env, "AUTH_REQUIRED_SCOPES") ?? "").split(/\s+/).filter(Boolean);
  if (requiredScopes.length > 0 && authMode !== "jwt") {
    throw new ConfigError(
      "AUTH_REQUIRED_SCOPES",
      "scopes come from JWTs: set it with AUTH_MODE=jwt only",
    );
  }

  return Object.freeze({
    port,
    host,
    logLevel,
    nodeEnv,
    publicUrl,
    resourceUrl: `${publicUrl}/mcp`,
    resourceMetadataUrl: `${publicUrl}/.well-known/oauth-protected-resource/mcp`,
    authMode,
    jwt,
    apiKeys: Object.freeze(apiKeys),
    requiredScopes: Object.freeze(requiredScopes),
    allowedHosts: Object.freeze(parseAllowedHosts(env, publicUrl)),
    allowedOrigins: Object.freeze(parseAllowedOrigins(env, publicUrl, port)),
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", 1024, 100 * 1024 * 1024, 1024 * 1024),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 0, 600_000, 8000),
    maxConnections: integer(env, "MAX_CONNECTIONS", 1, 1_000_000, 512),
    headersTimeoutMs: integer(env, "HEADERS_TIMEOUT_MS", 1000, 120_000, 10_000),
    probePort: parseProbePort(env, port),
    probeMaxConnections: integer(env, "PROBE_MAX_CONNECTIONS", 1, 1024, 16),
    limits: parseLimits(env),
  });
}
