/**
 * Configuration: the environment, parsed and validated once.
 *
 * This module, with env.ts (its zod-free part), is the only one that reads `process.env`.
 * Everything else receives a typed, frozen `Config`. A missing or bad value throws a
 * `ConfigError` that names the variable; `index.ts` prints it and exits non-zero.
 * The authentication settings are parsed by the chosen mode's own module (src/auth/modes/),
 * from the environment this module hands them.
 */
import { readFileSync } from "node:fs";
import * as z from "zod";
import { type AuthSettings, parseAuthSettings, parseRequiredScopes } from "./auth/modes/index.js";
import {
  ConfigError,
  csv,
  DEVELOPMENT_ENVS,
  type Env,
  integer,
  LOOPBACK_HOSTS,
  parse,
  port as portOf,
  probePort,
  raw,
} from "./env.js";
import { hostnameOfHostHeader } from "./http/headers.js";
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

type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

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
  /** AUTH_MODE and its settings, tagged by `mode` (the list: src/auth/modes/index.ts). */
  readonly auth: AuthSettings;
  /** AUTH_REQUIRED_SCOPES: what every token needs (empty where credentials carry no scopes). */
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

const logLevelSchema = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
  error: "must be one of fatal, error, warn, info, debug, trace, silent",
});
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

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
  const nodeEnv = raw(env, "NODE_ENV") ?? "production";
  // A development server is for this machine only; production (containers, VMs) binds every
  // interface, as before. The images set HOST=0.0.0.0 explicitly.
  const host = parse(
    env,
    "HOST",
    z.string().min(1),
    DEVELOPMENT_ENVS.has(nodeEnv) ? "127.0.0.1" : "0.0.0.0",
  );
  const publicUrl = parsePublicUrl(env, port);
  const auth = parseAuthSettings(
    env,
    { publicUrl, nodeEnv },
    { mode: DEFAULT_AUTH_MODE, provider: DEFAULT_PROVIDER },
  );
  const requiredScopes = parseRequiredScopes(env, auth);

  return Object.freeze({
    port,
    host,
    logLevel,
    nodeEnv,
    publicUrl,
    resourceUrl: `${publicUrl}/mcp`,
    resourceMetadataUrl: `${publicUrl}/.well-known/oauth-protected-resource/mcp`,
    auth,
    requiredScopes,
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
