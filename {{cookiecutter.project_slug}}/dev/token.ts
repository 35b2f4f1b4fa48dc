/**
 * `npm run token`: prints a bearer credential for the server as .env.development configures it,
 * so a second terminal can call the running `npm run dev`:
 *
 *   curl -H "Authorization: Bearer $(NODE_ENV=development npm run -s token)" ...
 *
 * AUTH_MODE=jwt with AUTH_JWT_SECRET: a JWT valid for one hour, with the configured issuer,
 * audience and required scopes. AUTH_MODE=api_key: the first development key.
 *
 * Development only, decided on the NODE_ENV the *shell* set: the npm script passes no
 * --env-file (which would fill an unset NODE_ENV from .env.development), and this file reads
 * NODE_ENV before it loads .env.development itself. Exactly `development` or `test` passes;
 * unset, `production`, `staging` or `Development` (which the server treats as production) are
 * refused. It signs or prints development credentials only (dev_..., as the post-gen hook made
 * them): a production secret the shell exported wins over .env.development, as with `npm run
 * dev`, and is then refused instead of used. It never lives in the image.
 */
import { SignJWT } from "jose";
import {
  ConfigError,
  DEVELOPMENT_ENVS,
  isDevelopmentCredential,
  loadConfig,
} from "../src/config.js";

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

const NOT_DEVELOPMENT =
  "is not a development credential (dev_...): the shell's value wins over .env.development, and this prints development credentials only";

switch (config.authMode) {
  case "api_key": {
    const key = config.apiKeys.find(isDevelopmentCredential);
    if (key === undefined) fail(`AUTH_API_KEYS ${NOT_DEVELOPMENT}`);
    process.stdout.write(`${key}\n`);
    break;
  }
  case "jwt": {
    const jwt = config.jwt;
    if (jwt?.secret === undefined) {
      fail("AUTH_JWKS_URL is set: tokens come from your identity provider, not from here");
    }
    if (!isDevelopmentCredential(new TextDecoder().decode(jwt.secret))) {
      fail(`AUTH_JWT_SECRET ${NOT_DEVELOPMENT}`);
    }
    if (jwt.audience === undefined) fail("no AUTH_AUDIENCE configured");
    const token = await new SignJWT({ scope: ["mcp:tools", ...config.requiredScopes].join(" ") })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("developer")
      .setIssuer(jwt.issuer)
      .setAudience(jwt.audience)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(jwt.secret);
    process.stdout.write(`${token}\n`);
    break;
  }
  case "none":
    fail("AUTH_MODE=none: no credential is needed");
}
