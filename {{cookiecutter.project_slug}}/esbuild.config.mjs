// Bundles the server and the healthcheck into self-contained ESM files:
// dist/index.js and dist/healthcheck.js run with no node_modules next to them.
import { rm } from "node:fs/promises";
import { build } from "esbuild";

await rm("dist", { recursive: true, force: true });

await build({
  entryPoints: ["src/index.ts", "src/healthcheck.ts"],
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node{{ cookiecutter.node_version }}",
  sourcemap: true,
  // Maps point at src/ lines without embedding the TypeScript sources in the image.
  sourcesContent: false,
  legalComments: "linked",
  logLevel: "info",
  // Some dependencies (pino) are CommonJS and call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
