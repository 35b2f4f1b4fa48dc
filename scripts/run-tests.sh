#!/usr/bin/env bash
# Run the template's test suite on a fresh machine: installs what it needs, then pytest.
#
#   scripts/run-tests.sh                  # the full suite (what CI runs)
#   scripts/run-tests.sh -m "not docker"  # the fast tier: no container engine needed
#   scripts/run-tests.sh -m "not docker and not node"   # render + hooks only, seconds
#
# Any pytest arguments are passed through (after the defaults below, so they win,
# e.g. -n 0). Environment:
#   SETUP_DOCKER=auto|never  auto (default): as root on Debian, install docker.io,
#                            docker-compose and debootstrap if missing and start a
#                            daemon if none answers (stopped again on exit).
#   VENV=.venv               where the pinned Python test dependencies go.
#   TEST_WORKERS=2           pytest-xdist worker processes (`-n`; 0: all in one process).
#                            Docker tests stay on one worker, in order, and the tests of
#                            each built project on one (tests/conftest.py, xdist_scope).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=${VENV:-.venv}
SETUP_DOCKER=${SETUP_DOCKER:-auto}
DOCKERD_PID=""

log() { printf '==> %s\n' "$*" >&2; }

is_root_on_debian() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

setup_python() {
  local stamp="$VENV/.requirements-test.txt"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
  fi
  if ! cmp -s requirements-test.txt "$stamp"; then
    log "installing pinned test dependencies (requirements-test.txt)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
    cp requirements-test.txt "$stamp"
  fi
}

setup_node() {
  if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
    return
  fi
  if is_root_on_debian; then
    log "installing Node.js and npm (Debian packages; tests fetch each Node version they need)"
    apt_install nodejs npm ca-certificates
  else
    log "npm is missing: the node tier will skip (install Node.js and npm to run it)"
  fi
}

docker_cli() {
  # Debian's docker.io client has BuildKit built in; prefer it over other clients on PATH.
  if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker || true; fi
}

engine_answers() {
  local cli
  cli=$(docker_cli)
  [ -n "$cli" ] && "$cli" info >/dev/null 2>&1
}

setup_docker() {
  [ "$SETUP_DOCKER" = "never" ] && return
  if engine_answers; then
    return
  fi
  if ! is_root_on_debian; then
    log "no container engine answers and this is not root on Debian: docker tests will skip"
    return
  fi
  if [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/bin/docker-compose ] || ! command -v debootstrap >/dev/null 2>&1; then
    log "installing docker.io, docker-compose and debootstrap"
    apt_install docker.io docker-compose debootstrap ca-certificates
  fi
  log "starting dockerd (no bridge, no iptables: containers use the host network)"
  dockerd --iptables=false --bridge=none >"${TMPDIR:-/tmp}/run-tests-dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do
    if engine_answers; then return; fi
    sleep 1
  done
  log "dockerd did not come up; its log:"
  cat "${TMPDIR:-/tmp}/run-tests-dockerd.log" >&2
  exit 1
}

stop_docker() {
  if [ -n "$DOCKERD_PID" ]; then
    log "stopping the dockerd this script started"
    kill "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
  fi
}
trap stop_docker EXIT

setup_python
setup_node
setup_docker

export DOCKER_BUILDKIT=1
DOCKER=$(docker_cli)
export DOCKER
workers=${TEST_WORKERS:-2}
log "running pytest -n $workers $*"
"$VENV/bin/python" -m pytest -n "$workers" "$@"
