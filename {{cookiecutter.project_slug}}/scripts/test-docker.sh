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
#   NPMRC_FILE, NPM_CA_FILE  build secrets, as for scripts/docker-build.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

help_if_asked "$@"
image="${IMAGE:-$(package_field name):test}"
test_port="${TEST_PORT:-{{ cookiecutter.port }}}"
container_port="{{ cookiecutter.port }}"
# A random key for this run only.
api_key="test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
work="$(mktemp -d)"
cid=""

cleanup() {
  if [ -n "$cid" ]; then
    "$docker" rm -f "$cid" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  if [ -n "$cid" ]; then
    echo "--- container logs ---" >&2
    "$docker" logs "$cid" >&2 2>&1 || true
  fi
  exit 1
}

# Whether the container is listed with this extra filter (e.g. health=healthy, status=running).
container_is() {
  [ -n "$("$docker" ps --quiet --filter "id=${cid}" --filter "$1")" ]
}

if [ "${SKIP_BUILD:-0}" != "1" ]; then
  log "Building ${image}"
  set_secret_args
  set_extra_build_args
  build=(build --file Dockerfile.production --tag "$image")
  if [ -n "${DOCKER_NETWORK:-}" ]; then
    build+=(--network "$DOCKER_NETWORK")
  fi
  if [ -n "${BASE_IMAGE:-}" ]; then
    build+=(--build-arg "RUNTIME_IMAGE=${BASE_IMAGE}")
  fi
  DOCKER_BUILDKIT=1 "$docker" "${build[@]}" "${secret_args[@]}" "${extra_build_args[@]}" .
fi

log "Starting ${image} (read-only, no capabilities, no-new-privileges)"
run=(run --detach --read-only --cap-drop ALL --security-opt no-new-privileges
  # Check every second instead of the image's interval, only to finish sooner:
  # the check itself is the image's own HEALTHCHECK command.
  --health-interval 1s --health-start-period 30s
  --env AUTH_MODE=api_key --env "AUTH_API_KEYS=${api_key}" --env LOG_LEVEL=warn)
if [ "${DOCKER_NETWORK:-}" = "host" ]; then
  run+=(--network host --env "PORT=${test_port}")
  container_port="$test_port"
else
  if [ -n "${DOCKER_NETWORK:-}" ]; then
    run+=(--network "$DOCKER_NETWORK")
  fi
  run+=(--publish "127.0.0.1:${test_port}:${container_port}")
fi
url="http://127.0.0.1:${test_port}"
run+=(--env "PUBLIC_URL=${url}")
cid="$("$docker" "${run[@]}" "$image")"

log "Waiting for the HEALTHCHECK to report healthy"
for _ in $(seq 1 60); do
  container_is health=healthy && break
  container_is status=running || fail "the container stopped before becoming healthy"
  sleep 1
done
container_is health=healthy || fail "not healthy after 60 s"

# Asked of the server's own runtime (works without a shell or `id`, e.g. distroless).
uid="$("$docker" exec "$cid" node -e 'process.stdout.write(String(process.getuid()))')"
[ "$uid" != "0" ] || fail "the server runs as root"

# POST a JSON-RPC message to /mcp; prints the HTTP status, body in $work/body.
mcp_post() {
  local auth="$1" body="$2"
  local headers=(-H "Content-Type: application/json" -H "Accept: application/json, text/event-stream")
  if [ -n "$auth" ]; then
    headers+=(-H "Authorization: Bearer ${auth}")
  fi
  curl --silent --show-error --max-time 10 --output "${work}/body" --dump-header "${work}/headers" \
    --write-out '%{http_code}' "${headers[@]}" --data "$body" "${url}/mcp"
}

log "Authenticated MCP session"
status="$(mcp_post "$api_key" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-docker","version":"1.0.0"}}}')"
[ "$status" = "200" ] || fail "initialize answered HTTP ${status}: $(cat "${work}/body")"
grep -q '"serverInfo"' "${work}/body" || fail "initialize returned no serverInfo: $(cat "${work}/body")"
status="$(mcp_post "$api_key" '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello from test-docker"}}}')"
[ "$status" = "200" ] || fail "tools/call answered HTTP ${status}: $(cat "${work}/body")"
grep -q 'hello from test-docker' "${work}/body" || fail "echo did not answer: $(cat "${work}/body")"

log "Unauthenticated and wrong-key calls are refused"
status="$(mcp_post "" '{"jsonrpc":"2.0","id":3,"method":"tools/list"}')"
[ "$status" = "401" ] || fail "no credentials: expected 401, got ${status}"
grep -qi '^www-authenticate: bearer' "${work}/headers" || fail "401 without WWW-Authenticate: Bearer"
status="$(mcp_post "wrong-${api_key}" '{"jsonrpc":"2.0","id":4,"method":"tools/list"}')"
[ "$status" = "401" ] || fail "wrong key: expected 401, got ${status}"

log "SIGTERM: exit 0 within 10 s"
"$docker" kill --signal TERM "$cid" >/dev/null
stopped=""
for _ in $(seq 1 100); do
  if ! container_is status=running; then
    stopped=1
    break
  fi
  sleep 0.1
done
[ -n "$stopped" ] || fail "still running 10 s after SIGTERM"
code="$("$docker" wait "$cid")"
[ "$code" = "0" ] || fail "exit code ${code} after SIGTERM"

printf 'PASS: %s is healthy, serves authenticated MCP, refuses anonymous calls and stops cleanly\n' "$image" >&2
