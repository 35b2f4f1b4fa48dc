#!/usr/bin/env bash
# Machine set-up shared by scripts/run-tests.sh and scripts/benchmark.sh (sourced, not run):
# the pinned Python test dependencies in $VENV, npm, Chromium (the browser tests), and a container engine.
#
#   SETUP_DOCKER=auto|never  auto (default): as root on Debian, install docker.io,
#                            docker-compose and debootstrap if missing and start a
#                            daemon if none answers; the caller stops it with
#                            `trap stop_docker EXIT`.
#   VENV=.venv               where the pinned Python test dependencies go.
# shellcheck shell=bash

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

# What the node and docker tiers start for real, as `command:Debian package`: a headless browser
# (CORS as browsers enforce it), Prometheus (scrapes the metrics port) and HAProxy (in front of
# the replicas, with the generated deploy/haproxy/haproxy.cfg).
TEST_SERVERS=(chromium:chromium prometheus:prometheus haproxy:haproxy)

setup_test_servers() {
  local entry missing=()
  for entry in "${TEST_SERVERS[@]}"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  if is_root_on_debian; then
    log "installing ${missing[*]} (Debian packages; the tests start their own instances)"
    apt_install "${missing[@]}"
  else
    log "${missing[*]} missing and this is not root on Debian: the tests that start them cannot run"
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

# checkov in a virtual environment of its own inside $VENV (its pins conflict with pytest's):
# tests/test_checkov.py runs $VENV/checkov/bin/checkov.
setup_checkov() {
  local tools="$VENV/checkov" stamp="$VENV/checkov/.requirements-checkov.txt"
  if [ -x "$tools/bin/checkov" ] && cmp -s requirements-checkov.txt "$stamp"; then
    return
  fi
  log "installing checkov into $tools (requirements-checkov.txt)"
  "$VENV/bin/python" -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
  cp requirements-checkov.txt "$stamp"
}

# Everything above, in order; DOCKER names the client with BuildKit for what runs next.
setup_machine() {
  setup_python
  setup_checkov
  setup_node
  setup_test_servers
  setup_docker
  export DOCKER_BUILDKIT=1
  DOCKER=$(docker_cli)
  export DOCKER
}
