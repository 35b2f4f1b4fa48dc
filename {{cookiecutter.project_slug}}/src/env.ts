/**
 * Reading single environment variables: the part of the configuration that needs no schema
 * library. config.ts builds on it; the container healthcheck uses it alone, so its bundle
 * (dist/healthcheck.js under esbuild) stays a few kilobytes instead of carrying zod.
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
