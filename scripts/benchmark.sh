#!/usr/bin/env bash
# Measure the generated images against the seed's Dockerfile and the MCP SDK's stateless
# example: image size and overhead, cold / source-only / lockfile rebuilds, start-to-healthy,
# idle memory, and authenticated throughput. Prints a Markdown table (targets shown, never
# asserted). Sets up the machine as scripts/run-tests.sh does (scripts/machine.sh).
#
#   scripts/benchmark.sh --quick              # one esbuild variant, the baselines and peers, short load
#   scripts/benchmark.sh --json rows.json     # every base family x bundler buildable here
#
# Options go to scripts/benchmark.py (--help lists them). Where the official base images
# cannot be pulled, offline stand-ins are built and the table names them as stand-ins.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=machine.sh
source scripts/machine.sh
trap stop_docker EXIT

setup_machine
"$VENV/bin/python" scripts/benchmark.py "$@"
