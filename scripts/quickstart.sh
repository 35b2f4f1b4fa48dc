#!/usr/bin/env bash
# Generate a project with the default answers, build it and start it: the main job, on a fresh machine.
#
#   scripts/quickstart.sh                      # defaults
#   scripts/quickstart.sh bundler=esbuild      # any answer, as key=value (cookiecutter's syntax)
#   scripts/quickstart.sh --dry-run [answers]  # only say where it would generate and listen
#
# Environment:
#   OUTPUT_DIR=build/quickstart   where the project is generated (replaced on each run)
#   PORT                          where the server listens (default: the port= answer or
#                                 8080, or a free port when that is taken); a PORT that is
#                                 taken stops the run
#   QUICKSTART_CHECK=1            start, make one authenticated MCP call, stop (used by the tests)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
template_dir=$PWD
venv=${VENV:-.venv}
output_dir=${OUTPUT_DIR:-build/quickstart}
default_port=8080

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

# Whether the server could listen on 127.0.0.1:<port> (asked by binding it, as the server will).
port_is_free() {
  python3 - "$1" <<'PY'
import socket
import sys

with socket.socket() as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Node.js listens
    try:
        probe.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
PY
}

# A port the system has free now on 127.0.0.1.
any_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

dry_run=0
if [ "${1:-}" = "--dry-run" ]; then
  dry_run=1
  shift
fi
# A port= answer is the project's default port: serve there unless PORT says otherwise.
for answer in "$@"; do
  case "$answer" in
    port=*) default_port=${answer#port=} ;;
  esac
done

# Refuse what is no TCP port (named as given: PORT=... or port=...).
require_port_number() {
  [[ "$2" =~ ^[1-9][0-9]{0,4}$ ]] && [ "$2" -le 65535 ] || die "$1=$2 is not a TCP port (1-65535)"
}

# The port is settled before anything is generated or built: a taken port would
# otherwise only show as EADDRINUSE after minutes of npm ci and build.
if [ -n "${PORT:-}" ]; then
  require_port_number PORT "$PORT"
  port_is_free "$PORT" ||
    die "port $PORT on 127.0.0.1 is already in use: stop what listens there, or choose another port: PORT=<port> $0"
else
  require_port_number port "$default_port"
  PORT=$default_port
  if ! port_is_free "$PORT"; then
    PORT=$(any_free_port)
    log "port $default_port is already in use: the server will listen on $PORT (choose one with PORT=<port>)"
  fi
fi

if [ "$dry_run" = 1 ]; then
  log "would generate into $output_dir (answers: ${*:-the defaults}) and serve on http://127.0.0.1:$PORT"
  exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is required (install Node.js and npm)"
if [ ! -x "$venv/bin/cookiecutter" ]; then
  log "installing cookiecutter into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$(grep '^cookiecutter==' requirements-test.txt)"
fi

rm -rf "$output_dir"
mkdir -p "$output_dir"
log "generating a project in $output_dir"
"$venv/bin/cookiecutter" --no-input --output-dir "$output_dir" "$template_dir" "$@"
project=$(find "$output_dir" -mindepth 1 -maxdepth 1 -type d | head -n 1)

# The Node major the project targets, from the registry's official binary (cached).
node_bin=$("$venv/bin/python" "$template_dir/tests/support/node_toolchain.py" "$(cat "$project/.nvmrc")")
export PATH="$node_bin:$PATH"
cd "$project"
log "node $(node --version): npm ci && npm run build"
# --prefer-offline: packages already in npm's cache are used without asking the registry again
# (the lockfile pins each version and checksum); a cache too old for the lockfile (ETARGET)
# retries online, as the Dockerfiles do.
npm ci --prefer-offline --no-audit --no-fund || npm ci --prefer-online --no-audit --no-fund
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
