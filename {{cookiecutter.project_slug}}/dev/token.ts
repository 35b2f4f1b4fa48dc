/**
 * `npm run token`: prints a bearer credential for the server as .env.development configures it,
 * so a second terminal can call the running `npm run dev` without exporting anything:
 *
 *   curl -H "Authorization: Bearer $(npm run -s token)" ...
 *
 * AUTH_MODE=jwt with AUTH_JWT_SECRET: a JWT valid for one hour, with the configured issuer,
 * audience and required scopes. AUTH_MODE=api_key: the first development key.
 * Development only: refuses unless NODE_ENV is development or test (as AUTH_MODE=none does; unset
 * or any other value, such as production or staging, is refused), and never lives in the image.
 */
import { SignJWT } from "jose";
import { ConfigError, DEVELOPMENT_ENVS, loadConfig } from "../src/config.js";

function fail(message: string): never {
  process.stderr.write(`npm run token: ${message}\n`);
  process.exit(1);
}

// Read before loadConfig, so a production environment is refused before anything else is said.
const nodeEnv = process.env.NODE_ENV?.trim().toLowerCase();
if (nodeEnv === undefined || !DEVELOPMENT_ENVS.has(nodeEnv)) {
  fail(
    `refused: NODE_ENV=${nodeEnv ?? "(unset)"}: this prints development credentials only (NODE_ENV must be development or test)`,
  );
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(`configuration error: ${error.message}`);
  throw error;
}

switch (config.authMode) {
  case "api_key": {
    const key = config.apiKeys[0];
    if (key === undefined) fail("no AUTH_API_KEYS configured");
    process.stdout.write(`${key}\n`);
    break;
  }
  case "jwt": {
    const jwt = config.jwt;
    if (jwt?.secret === undefined) {
      fail("AUTH_JWKS_URL is set: tokens come from your identity provider, not from here");
    }
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
