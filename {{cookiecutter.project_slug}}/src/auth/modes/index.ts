/**
 * THE list of auth modes. Everything that depends on the mode derives from it: the values
 * AUTH_MODE accepts and its error message, the configuration type (a union tagged by `mode`),
 * the verifier the authenticator uses, the protected-resource metadata, the challenges, the
 * refusal of open modes and of AUTH_REQUIRED_SCOPES where credentials carry no scopes.
 *
 * Adding a mode: one module beside these (its settings parser and its verifier, an `AuthMode`)
 * and one entry here. docs/maintaining/auth-mode.md in the template has the checklist.
 */
import { ConfigError, DEVELOPMENT_ENVS, type Env, raw } from "../../env.js";
import type { AuthMode, SettingsOf } from "../mode.js";
import { isProvider, PROVIDERS, type ProviderName } from "../presets.js";
import { apiKeyMode } from "./api-key.js";
import { jwtMode } from "./jwt.js";
import { noneMode } from "./none.js";

// `satisfies`: an entry that does not fulfil the contract (a member missing or of the wrong type)
// is a compile error on its line, naming the member.
const authModes = [
  jwtMode, // bearer JWTs from an identity provider (JWKS) or signed with an HS256 secret
  apiKeyMode, // static bearer keys
  noneMode, // no credential: development and tests only
] as const satisfies readonly AuthMode[];

type Mode = (typeof authModes)[number];
type AuthModeName = Mode["name"];
/** The configuration of the mode in use: `{ mode: "jwt", issuer, ... } | { mode: "api_key", keys } | ...` */
export type AuthSettings = SettingsOf<Mode>;

function isAuthModeName(value: string): value is AuthModeName {
  return authModes.some((mode) => mode.name === value);
}

/** The mode whose settings these are. */
export function modeOf(settings: AuthSettings): AuthMode<AuthModeName, AuthSettings> {
  const mode = authModes.find((candidate) => candidate.name === settings.mode);
  if (mode === undefined) throw new Error(`unknown auth mode ${settings.mode}`);
  // Sound: `settings` were made by this mode's `parse` and tagged with its name (parseAuthSettings).
  return mode as unknown as AuthMode<AuthModeName, AuthSettings>;
}

interface AuthDefaults {
  /** The project's auth_mode answer: AUTH_MODE when unset. */
  readonly mode: string;
  /** The project's identity_provider answer: AUTH_PROVIDER when unset. */
  readonly provider: ProviderName;
}

function parseProvider(env: Env, fallback: ProviderName): ProviderName {
  const value = raw(env, "AUTH_PROVIDER") ?? fallback;
  if (!isProvider(value)) {
    throw new ConfigError("AUTH_PROVIDER", `must be one of ${PROVIDERS.join(", ")}`);
  }
  return value;
}

/** AUTH_MODE and the chosen mode's own variables; a ConfigError names the first bad variable. */
export function parseAuthSettings(
  env: Env,
  { publicUrl, nodeEnv }: { readonly publicUrl: string; readonly nodeEnv: string },
  defaults: AuthDefaults,
): AuthSettings {
  const name = raw(env, "AUTH_MODE") ?? defaults.mode;
  if (!isAuthModeName(name)) {
    const names = authModes.map((mode) => mode.name).join(", ");
    throw new ConfigError("AUTH_MODE", `must be one of ${names}`);
  }
  const mode = authModes.find((candidate) => candidate.name === name) as Mode;
  // An open endpoint must be asked for twice: the mode and an explicit non-production NODE_ENV.
  if (mode.open && !DEVELOPMENT_ENVS.has(nodeEnv)) {
    const shown = raw(env, "NODE_ENV") === undefined ? "unset" : `"${nodeEnv}"`;
    throw new ConfigError(
      "AUTH_MODE",
      `AUTH_MODE=${name} needs NODE_ENV=development or NODE_ENV=test (NODE_ENV is ${shown})`,
    );
  }
  // A bad AUTH_PROVIDER is named in every mode, not only once jwt is chosen.
  const provider = parseProvider(env, defaults.provider);
  const settings = mode.parse({ env, publicUrl, nodeEnv, provider });
  return Object.freeze({ mode: name, ...settings }) as AuthSettings;
}

/** AUTH_REQUIRED_SCOPES (space-separated): only where the mode's credentials carry scopes. */
export function parseRequiredScopes(env: Env, settings: AuthSettings): readonly string[] {
  const scopes = (raw(env, "AUTH_REQUIRED_SCOPES") ?? "").split(/\s+/).filter(Boolean);
  if (scopes.length > 0 && !modeOf(settings).scopes) {
    const scoped = authModes.filter((mode) => mode.scopes);
    throw new ConfigError(
      "AUTH_REQUIRED_SCOPES",
      `scopes come from ${scoped.map((mode) => mode.credential).join(" or ")}: set it with ${scoped.map((mode) => `AUTH_MODE=${mode.name}`).join(" or ")} only`,
    );
  }
  return Object.freeze(scopes);
}
