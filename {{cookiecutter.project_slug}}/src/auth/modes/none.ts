/**
 * AUTH_MODE=none: no credential at all, every caller is "anonymous". For local development and
 * tests only: the server refuses it unless NODE_ENV is development or test (an open endpoint
 * must be asked for twice) and warns at start-up.
 */
import type { AuthMode } from "../mode.js";

export const noneMode = {
  name: "none",
  credential: "no credential",
  scopes: false,
  open: true,
  parse: () => ({}),
  verifier: () => undefined,
  authorizationServers: () => undefined,
  async developmentCredential() {
    throw new Error("AUTH_MODE=none: no credential is needed");
  },
} as const satisfies AuthMode<"none", Record<never, never>>;
