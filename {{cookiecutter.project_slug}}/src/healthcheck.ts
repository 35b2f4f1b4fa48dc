/**
 * Container healthcheck: `node dist/healthcheck.js` (works without a shell,
 * e.g. on distroless). Exits 0 when GET /health answers 2xx within 2.5 s.
 */
import { healthcheckUrl } from "./env.js";

try {
  const response = await fetch(healthcheckUrl(), { signal: AbortSignal.timeout(2500) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
