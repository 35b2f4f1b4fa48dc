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
#   TEST_WORKERS             pytest-xdist worker processes (`-n`; 0: all in one process).
#                            Default: one per CPU (a third worker on two CPUs measured
#                            slower). Docker tests stay on one worker, in order
#                            (tests/conftest.py, xdist_scope).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=machine.sh
source scripts/machine.sh
trap stop_docker EXIT

setup_machine
# One worker per CPU this process may use: nproc counts the CPU set, cgroup v2's cpu.max the
# quota a container runner may impose on top (e.g. 2 CPUs of a 64-core host).
cpus=$(nproc)
if read -r quota period 2>/dev/null </sys/fs/cgroup/cpu.max && [ "$quota" != max ]; then
  quota_cpus=$(((quota + period - 1) / period))
  if [ "$quota_cpus" -lt "$cpus" ]; then cpus=$quota_cpus; fi
fi
workers=${TEST_WORKERS:-$cpus}
log "running pytest -n $workers $*"
"$VENV/bin/python" -m pytest -n "$workers" "$@"
