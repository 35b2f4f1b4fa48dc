/**
 * What an auth mode is: the contract each module in src/auth/modes/ fulfils, and the list in
 * src/auth/modes/index.ts is made of. A mode reads its own variables (its settings parser) and
 * builds its own verifier from them; everything else (AUTH_MODE's values, the configuration
 * type, the authenticator, the protected-resource metadata, the challenges) reads these fields
 * rather than naming a mode.
 */

import type { Env } from "../env.js";
import type { ProviderName } from "./presets.js";
import type { Verifier } from "./types.js";

/** What a settings parser may read beside its own variables. */
export interface SettingsContext {
  readonly env: Env;
  /** PUBLIC_URL, an origin without a trailing slash. */
  readonly publicUrl: string;
  /** NODE_ENV ("production" when unset). */
  readonly nodeEnv: string;
  /** AUTH_PROVIDER, already checked (in every mode: a bad value is named whatever the mode). */
  readonly provider: ProviderName;
}

/** What a verifier may be given beside its settings. */
interface VerifierContext {
  /** AUTH_REQUIRED_SCOPES (empty unless the mode's credentials carry scopes). */
  readonly requiredScopes: readonly string[];
  /** Where a mode reports trouble with a remote dependency (JWKS fetches). */
  readonly logger?: { warn(details: Record<string, unknown>, message: string): void };
}

export interface AuthMode<Name extends string = string, Settings extends object = object> {
  /** The AUTH_MODE value. */
  readonly name: Name;
  /** What a client presents, for messages ("JWTs", "API keys"). */
  readonly credential: string;
  /**
   * Whether the credentials carry OAuth scopes: only then may AUTH_REQUIRED_SCOPES be set, do
   * challenges name scopes and does the metadata list `scopes_supported`.
   */
  readonly scopes: boolean;
  /**
   * No credential is checked (the verifier is undefined): refused unless NODE_ENV is development
   * or test, and warned about at start-up.
   */
  readonly open: boolean;
  /** Reads the mode's variables; throws a ConfigError naming the variable on the first bad one. */
  parse(context: SettingsContext): Settings;
  /** The verifier of bearer credentials; undefined for an `open` mode only. */
  verifier(settings: Settings, context: VerifierContext): Verifier | undefined;
  /** RFC 9728 `authorization_servers`: where clients get credentials (none advertised: undefined). */
  authorizationServers(settings: Settings): readonly string[] | undefined;
  /**
   * `npm run token` (dev/token.ts): a credential these settings accept, made from development
   * credentials only; throws an Error saying why not. Absent: the mode has none to offer.
   */
  developmentCredential?(settings: Settings, requiredScopes: readonly string[]): Promise<string>;
}

/** The configuration of one mode: its name as the tag, then its settings. */
export type SettingsOf<M> =
  M extends AuthMode<infer Name, infer Settings>
    ? { readonly mode: Name } & Readonly<Settings>
    : never;
