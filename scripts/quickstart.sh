#!/usr/bin/env bash
# Generate a project with the default answers, build it and start it: the main job, on a fresh machine.
#
#   scripts/quickstart.sh                      # defaults
#   scripts/quickstart.sh bundler=esbuild      # any answer, as key=value (cookiecutter's syntax)
#
# Environment:
#   OUTPUT_DIR=build/quickstart   where the project is generated (replaced on each run)
#   PORT=8080                     where the server listens
#   QUICKSTART_CHECK=1            start, make one authenticated MCP call, stop (used by the tests)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TEMPLATE_DIR=$PWD
VENV=${VENV:-.venv}
OUTPUT_DIR=${OUTPUT_DIR:-build/quickstart}
PORT=${PORT:-8080}

log() { printf '==> %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/cookiecutter" ]; then
  log "installing cookiecutter into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$(grep '^cookiecutter==' requirements-test.txt)"
fi
command -v npm >/dev/null 2>&1 || { log "npm is required (install Node.js and npm)"; exit 1; }

rm -rf "$OUTPUT_DIR"
mkdir -p "$OUTPUT_DIR"
log "generating a project in $OUTPUT_DIR"
"$VENV/bin/cookiecutter" --no-input --output-dir "$OUTPUT_DIR" "$TEMPLATE_DIR" "$@"
project=$(find "$OUTPUT_DIR" -mindepth 1 -maxdepth 1 -type d | head -n 1)

# The Node major the project targets, from the registry's official binary (cached).
node_bin=$("$VENV/bin/python" "$TEMPLATE_DIR/tests/support/node_toolchain.py" "$(cat "$project/.nvmrc")")
export PATH="$node_bin:$PATH"
cd "$project"
log "node $(node --version): npm ci && npm run build"
npm ci --no-audit --no-fund
npm run build

# Development credentials, made fresh for this run (never use them in production).
auth_mode=$(sed -n 's/^AUTH_MODE=//p' .env.example | head -n 1)
export PORT HOST=127.0.0.1 PUBLIC_URL="http://127.0.0.1:$PORT" NODE_ENV=development AUTH_MODE="$auth_mode"
if [ "$auth_mode" = "jwt" ]; then
  export AUTH_JWT_SECRET AUTH_ISSUER=https://quickstart.invalid/ AUTH_JWKS_URL=
  AUTH_JWT_SECRET=$(node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))")
  token=$(node --input-type=module -e "
    import { SignJWT } from 'jose';
    const secret = new TextEncoder().encode(process.env.AUTH_JWT_SECRET);
    console.log(await new SignJWT({ scope: 'mcp:tools' }).setProtectedHeader({ alg: 'HS256' })
      .setSubject('quickstart-user').setIssuer(process.env.AUTH_ISSUER)
      .setAudience(process.env.PUBLIC_URL + '/mcp').setIssuedAt().setExpirationTime('8h').sign(secret));")
else
  export AUTH_API_KEYS
  AUTH_API_KEYS=$(node -e "console.log(require('node:crypto').randomBytes(24).toString('base64url'))")
  token=$AUTH_API_KEYS
fi

list_tools() {
  curl -fsS "$PUBLIC_URL/mcp" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
}

if [ "${QUICKSTART_CHECK:-0}" = "1" ]; then
  node dist/index.js &
  server=$!
  trap 'kill "$server" 2>/dev/null || true' EXIT
  for _ in $(seq 1 50); do curl -fsS "$PUBLIC_URL/health" >/dev/null 2>&1 && break; sleep 0.2; done
  list_tools | grep -q '"echo"'
  kill -TERM "$server"
  wait "$server"
  trap - EXIT
  log "quickstart check passed: generated, built, served tools/list, stopped cleanly"
  exit 0
fi

cat >&2 <<MSG
==> $project is built; starting it on $PUBLIC_URL (Ctrl-C stops it).
    Try it from another terminal:
      curl -s $PUBLIC_URL/health
      curl -s $PUBLIC_URL/mcp -H 'Authorization: Bearer $token' \\
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
        -d '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
MSG
exec node dist/index.js
