/**
 * `npm run token`: prints a bearer credential for the server as .env.development configures it,
 * so a second terminal can call the running `npm run dev`:
 *
 *   curl -H "Authorization: Bearer $(NODE_ENV=development npm run -s token)" ...
 *
 * What it prints is the configured mode's `developmentCredential` (src/auth/modes/): with
 * AUTH_MODE=jwt and AUTH_JWT_SECRET, a JWT valid for one hour, with the configured issuer,
 * audience and required scopes; with AUTH_MODE=api_key, the first development key.
 *
 * Development only, decided on the NODE_ENV the *shell* set: the npm script passes no
 * --env-file (which would fill an unset NODE_ENV from .env.development), and this file reads
 * NODE_ENV before it loads .env.development itself. Exactly `development` or `test` passes;
 * unset, `production`, `staging` or `Development` (which the server treats as production) are
 * refused. It signs or prints development credentials only (dev_..., as the post-gen hook made
 * them): a production secret the shell exported wins over .env.development, as with `npm run
 * dev`, and is then refused instead of used. This script never lives in the image.
 */
import { modeOf } from "../src/auth/modes/index.js";
import { ConfigError, loadConfig } from "../src/config.js";
import { DEVELOPMENT_ENVS } from "../src/env.js";

function fail(message: string): never {
  process.stderr.write(`npm run token: ${message}\n`);
  process.exit(1);
}

const shellNodeEnv = process.env.NODE_ENV;
if (shellNodeEnv === undefined || !DEVELOPMENT_ENVS.has(shellNodeEnv)) {
  fail(
    `refused: NODE_ENV=${shellNodeEnv ?? "(unset)"} in this shell: this prints development credentials only; run it as NODE_ENV=development npm run -s token`,
  );
}

// Fills only what the shell did not set, as `node --env-file` does for `npm run dev`.
process.loadEnvFile(new URL("../.env.development", import.meta.url));

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(`configuration error: ${error.message}`);
  throw error;
}

const mode = modeOf(config.auth);
if (mode.developmentCredential === undefined) {
  fail(`AUTH_MODE=${config.auth.mode}: this mode has no development credential to print`);
}
try {
  process.stdout.write(`${await mode.developmentCredential(config.auth, config.requiredScopes)}\n`);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
