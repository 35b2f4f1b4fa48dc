/**
 * Reading single environment variables: the part of the configuration that needs no schema
 * library. config.ts and each auth mode's settings parser (src/auth/modes/) build on it; the
 * container healthcheck uses it alone, so its bundle (dist/healthcheck.js under esbuild) stays a
 * few kilobytes instead of carrying zod (`parse` takes any schema with zod's `safeParse`).
 */
import { isIP } from "node:net";

const DEFAULT_PORT = {{ cookiecutter.port | int }};

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`);
    this.name = "ConfigError";
  }
}

/** Reads one variable; empty strings count as unset. */
export function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

/** A decimal integer in [min, max]; the fallback when unset, a ConfigError naming `name` when bad. */
export function integer(
  env: Env,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number {
  const value = raw(env, name);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(name, "is required");
  }
  if (!/^\d+$/.test(value)) {
    throw new ConfigError(name, `must be an integer between ${min} and ${max}`);
  }
  const number = Number(value);
  if (number < min) throw new ConfigError(name, `must be at least ${min}`);
  if (number > max) throw new ConfigError(name, `must be at most ${max}`);
  return number;
}

/** What `parse` needs of a schema: zod's `safeParse` (so this module does not import zod). */
interface Schema<T> {
  safeParse(value: unknown):
    | { readonly success: true; readonly data: T }
    | {
        readonly success: false;
        readonly error: { readonly issues: readonly { message: string }[] };
      };
}

/** Parses one variable with a schema; unset takes the fallback, a failure names the variable. */
export function parse<T>(env: Env, name: string, schema: Schema<T>, fallback?: T): T {
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

export function optional<T>(env: Env, name: string, schema: Schema<T>): T | undefined {
  return raw(env, name) === undefined ? undefined : parse(env, name, schema);
}

/** A comma-separated list, entries trimmed, empty entries dropped. */
export function csv(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

export function booleanOf(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new ConfigError(name, "must be true or false");
}

/** The NODE_ENV values that may run without authentication or mint development credentials. */
export const DEVELOPMENT_ENVS: ReadonlySet<string> = new Set(["development", "test"]);

export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export const port = (env: Env): number => integer(env, "PORT", 1, 65535, DEFAULT_PORT);

/** PROBE_PORT: the probe listener's port; unset or 0 = no probe listener (probes use PORT). */
export function probePort(env: Env): number | undefined {
  const value = integer(env, "PROBE_PORT", 0, 65535, 0);
  return value === 0 ? undefined : value;
}

/**
 * The URL the container healthcheck probes. Reads only PORT, PROBE_PORT and HOST, so the
 * probe works even while the rest of the configuration is being fixed.
 * A wildcard or unset HOST is probed on 127.0.0.1 (never "localhost", which
 * may resolve to ::1 while the server listens on IPv4 only).
 */
export function healthcheckUrl(env: Env = process.env): string {
  const host = raw(env, "HOST") ?? "0.0.0.0";
  let target: string;
  if (host === "0.0.0.0" || host === "::" || host === "localhost") {
    target = "127.0.0.1";
  } else if (isIP(host.replace(/^\[|\]$/g, "")) === 6) {
    target = `[${host.replace(/^\[|\]$/g, "")}]`;
  } else {
    target = host;
  }
  // The probe listener when there is one: it answers even while PORT is flooded.
  return `http://${target}:${probePort(env) ?? port(env)}/health`;
}
