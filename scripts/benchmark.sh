#!/usr/bin/env bash
# Measure image size, build/rebuild times, start time, memory and throughput of the generated
# images against the seed's Dockerfile and the MCP SDK's stateless example; prints a Markdown table.
#
#   scripts/benchmark.sh --quick             # one esbuild variant + both baselines, short load (< 10 min)
#   scripts/benchmark.sh --json rows.json    # every base family x bundler buildable here (about an hour)
#
# Needs a container engine (set up as scripts/run-tests.sh does) and npm (autocannon runs via npx).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "benchmark: no $VENV: run scripts/run-tests.sh --collect-only -q once to set it up" >&2
  exit 2
fi
exec "$VENV/bin/python" scripts/benchmark.py "$@"
