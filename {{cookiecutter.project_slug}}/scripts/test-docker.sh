#!/usr/bin/env bash
# Smoke-test the production image the way production runs it:
#   build -> run hardened (read-only root, no capabilities, no-new-privileges,
#   non-root) -> wait for its own HEALTHCHECK to report healthy -> an
#   authenticated MCP call (initialize + tools/call echo) -> an unauthenticated
#   call is refused with 401 -> SIGTERM -> exit 0 within 10 s.
# The container is always removed, whatever happens (trap).
#
# Environment:
#   DOCKER          docker client                                (default: docker)
#   IMAGE           tag to build and test                        (default: <package name>:test)
#   BUILD_ARGS      extra build arguments, split on spaces, e.g.
#                   "--build-arg BUILD_IMAGE=... --build-arg RUNTIME_IMAGE=..."
#   BASE_IMAGE      shorthand for --build-arg RUNTIME_IMAGE=...
#   DOCKER_NETWORK  "host" runs build and container on the host network (no
#                   bridge needed); the server then listens on TEST_PORT.
#   TEST_PORT       port on the host                             (default: {{ cookiecutter.port }})
#   SKIP_BUILD=1    test an existing IMAGE
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DOCKER="${DOCKER:-docker}"
NAME="$(sed -n 's/^  "name": *"\([^"]*\)".*/\1/p' package.json | head -n 1)"
IMAGE="${IMAGE:-${NAME}:test}"
TEST_PORT="${TEST_PORT:-{{ cookiecutter.port }}}"
CONTAINER_PORT="{{ cookiecutter.port }}"
# A random key for this run only.
API_KEY="test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
WORK="$(mktemp -d)"
CID=""

cleanup() {
  if [ -n "${CID}" ]; then
    "${DOCKER}" rm -f "${CID}" >/dev/null 2>&1 || true
  fi
  rm -rf "${WORK}"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${CID}" ]; then
    echo "--- container logs ---" >&2
    "${DOCKER}" logs "${CID}" >&2 2>&1 || true
  fi
  exit 1
}

step() { echo "==> $*" >&2; }

if [ "${SKIP_BUILD:-0}" != "1" ]; then
  step "Building ${IMAGE}"
  build=(build --file Dockerfile.production --tag "${IMAGE}")
  if [ -n "${DOCKER_NETWORK:-}" ]; then
    build+=(--network "${DOCKER_NETWORK}")
  fi
  if [ -n "${BASE_IMAGE:-}" ]; then
    build+=(--build-arg "RUNTIME_IMAGE=${BASE_IMAGE}")
  fi
  if [ -n "${BUILD_ARGS:-}" ]; then
    read -r -a extra <<<"${BUILD_ARGS}"
    build+=("${extra[@]}")
  fi
  DOCKER_BUILDKIT=1 "${DOCKER}" "${build[@]}" .
fi

step "Starting ${IMAGE} (read-only, no capabilities, no-new-privileges)"
run=(run --detach --read-only --cap-drop ALL --security-opt no-new-privileges
  # Check every second instead of the image's interval, only to finish sooner:
  # the check itself is the image's own HEALTHCHECK command.
  --health-interval 1s --health-start-period 30s
  --env AUTH_MODE=api_key --env "AUTH_API_KEYS=${API_KEY}" --env LOG_LEVEL=warn)
if [ "${DOCKER_NETWORK:-}" = "host" ]; then
  run+=(--network host --env "PORT=${TEST_PORT}")
  CONTAINER_PORT="${TEST_PORT}"
else
  if [ -n "${DOCKER_NETWORK:-}" ]; then
    run+=(--network "${DOCKER_NETWORK}")
  fi
  run+=(--publish "127.0.0.1:${TEST_PORT}:${CONTAINER_PORT}")
fi
URL="http://127.0.0.1:${TEST_PORT}"
run+=(--env "PUBLIC_URL=${URL}")
CID="$("${DOCKER}" "${run[@]}" "${IMAGE}")"

step "Waiting for the HEALTHCHECK to report healthy"
for _ in $(seq 1 60); do
  if [ -n "$("${DOCKER}" ps --quiet --filter "id=${CID}" --filter health=healthy)" ]; then
    break
  fi
  if [ -z "$("${DOCKER}" ps --quiet --filter "id=${CID}" --filter status=running)" ]; then
    fail "the container stopped before becoming healthy"
  fi
  sleep 1
done
[ -n "$("${DOCKER}" ps --quiet --filter "id=${CID}" --filter health=healthy)" ] ||
  fail "not healthy after 60 s"

# Asked of the server's own runtime (works without a shell or `id`, e.g. distroless).
uid="$("${DOCKER}" exec "${CID}" node -e 'process.stdout.write(String(process.getuid()))')"
[ "${uid}" != "0" ] || fail "the server runs as root"

# POST a JSON-RPC message to /mcp; prints the HTTP status, body in $WORK/body.
mcp_post() {
  local auth="$1" body="$2"
  local headers=(-H "Content-Type: application/json" -H "Accept: application/json, text/event-stream")
  if [ -n "${auth}" ]; then
    headers+=(-H "Authorization: Bearer ${auth}")
  fi
  curl --silent --show-error --max-time 10 --output "${WORK}/body" --dump-header "${WORK}/headers" \
    --write-out '%{http_code}' "${headers[@]}" --data "${body}" "${URL}/mcp"
}

step "Authenticated MCP session"
status="$(mcp_post "${API_KEY}" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-docker","version":"1.0.0"}}}')"
[ "${status}" = "200" ] || fail "initialize answered HTTP ${status}: $(cat "${WORK}/body")"
grep -q '"serverInfo"' "${WORK}/body" || fail "initialize returned no serverInfo: $(cat "${WORK}/body")"
status="$(mcp_post "${API_KEY}" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello from test-docker"}}}')"
[ "${status}" = "200" ] || fail "tools/call answered HTTP ${status}: $(cat "${WORK}/body")"
grep -q 'hello from test-docker' "${WORK}/body" || fail "echo did not answer: $(cat "${WORK}/body")"

step "Unauthenticated and wrong-key calls are refused"
status="$(mcp_post "" '{"jsonrpc":"2.0","id":3,"method":"tools/list"}')"
[ "${status}" = "401" ] || fail "no credentials: expected 401, got ${status}"
grep -qi '^www-authenticate: bearer' "${WORK}/headers" || fail "401 without WWW-Authenticate: Bearer"
status="$(mcp_post "wrong-${API_KEY}" '{"jsonrpc":"2.0","id":4,"method":"tools/list"}')"
[ "${status}" = "401" ] || fail "wrong key: expected 401, got ${status}"

step "SIGTERM: exit 0 within 10 s"
"${DOCKER}" kill --signal TERM "${CID}" >/dev/null
stopped=""
for _ in $(seq 1 100); do
  if [ -z "$("${DOCKER}" ps --quiet --filter "id=${CID}" --filter status=running)" ]; then
    stopped=1
    break
  fi
  sleep 0.1
done
[ -n "${stopped}" ] || fail "still running 10 s after SIGTERM"
code="$("${DOCKER}" wait "${CID}")"
[ "${code}" = "0" ] || fail "exit code ${code} after SIGTERM"

echo "PASS: ${IMAGE} is healthy, serves authenticated MCP, refuses anonymous calls and stops cleanly" >&2
