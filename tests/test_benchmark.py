"""scripts/benchmark.sh --quick on the real engine: every row measured, nothing asserted about speed.

Rows: one generated variant, the seed pattern, and the peers measured in the same run (the SDK's
bare example, FastMCP behind its JWT verifier, and the limit: a plain node:http echo). The generated
variant also runs verifying the HS256 JWT FastMCP verifies (`auth_jwt`): the figure FastMCP is
compared with.

Targets (overhead, rebuild share, start time, throughput) are shown in the benchmark's table,
never asserted here: a loaded CI machine must not turn a measurement into a failure. What is
checked is that the benchmark measures what it says: each row present, each timing repeated
at least three times with its min and median, sizes and throughput real numbers, telemetry
really exported while it was on, and no request refused or failed in any load run.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from support.bake import TEMPLATE_DIR
from support.docker_engine import find_engine
from support.docs import shown_commands

pytestmark = pytest.mark.docker

TIMINGS = ("cold_build_s", "source_rebuild_s", "lockfile_rebuild_s", "start_to_healthy_s")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    engine, reason = find_engine()
    if engine is None:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("benchmark")
    # The command docs/benchmarks.md shows, with its JSON file and work directory in this run's folder.
    (command,) = shown_commands(TEMPLATE_DIR / "docs" / "benchmarks.md", "Running it")
    argv = shlex.split(command)
    assert argv[:2] == ["scripts/benchmark.sh", "--quick"] and "--json" in argv, argv
    argv[argv.index("--json") + 1] = str(out / "rows.json")
    result = subprocess.run(
        ["bash", str(TEMPLATE_DIR / argv[0]), *argv[1:], "--workdir", str(out / "work")],
        capture_output=True, text=True, timeout=2400,
        env={**os.environ, "DOCKER": engine.docker, "VENV": os.path.dirname(os.path.dirname(sys.executable))},
    )  # fmt: skip
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-8000:]
    return result.stdout, json.loads((out / "rows.json").read_text())


PEERS = ["seed-pattern", "sdk-example", "fastmcp", "limit"]


def test_quick_mode_measures_one_esbuild_variant_against_the_baselines_and_peers(quick_run):
    _, data = quick_run
    variants = [row["variant"] for row in data["rows"]]
    assert len(variants) == 1 + len(PEERS) and variants[0].endswith("/esbuild"), variants
    assert variants[1:] == PEERS
    assert data["meta"]["mode"] == "quick"
    assert set(data["meta"]["peers"]) == {"sdk-example", "fastmcp", "limit"}, data["meta"]


def test_the_peers_and_the_limit_are_measured_in_the_same_run(quick_run):
    """FastMCP (JWT-verified) and the plain node:http echo: throughput and CPU per request in
    every repeat, and their lines in the targets; numbers only, never compared here."""
    table, data = quick_run
    by_name = {row["variant"]: row for row in data["rows"]}
    generated = data["rows"][0]["variant"]
    for name in ("sdk-example", "fastmcp", "limit"):
        row = by_name[name]
        runs = row["load_runs"]["auth"]
        assert len(runs) >= 3 and all(run["rps"] > 0 and run["requests"] > 0 for run in runs), (name, runs)
        assert row["rps_auth"] > 0 and row["cpu_us_per_request_auth"] > 0, row
        assert row["rps_auth_otel"] is None and row["rps_auth_limits_off"] is None, row
    assert "fastmcp" in by_name["fastmcp"]["bases"] and "uvicorn" in by_name["fastmcp"]["bases"]
    assert f"| {generated}: rps auth (jwt) >= fastmcp |" in table
    assert f"| {generated}: rps auth >= sdk-example |" in table
    assert f"| {generated}: share of the limit (plain node:http echo) |" in table


def test_the_generated_server_verifies_the_jwt_fastmcp_verifies(quick_run):
    """Like for like with FastMCP: the generated variant's `auth_jwt` mode (AUTH_MODE=jwt in
    production, the run's HS256 secret and token, which FastMCP verifies too) measured in every
    repeat; the FastMCP target reads that figure, not the API key one. Numbers only."""
    table, data = quick_run
    generated = data["rows"][0]
    runs = generated["load_runs"]["auth_jwt"]
    assert len(runs) >= 3 and all(run["rps"] > 0 and run["requests"] > 0 for run in runs), runs
    assert generated["rps_auth_jwt"] > 0 and generated["cpu_us_per_request_auth_jwt"] > 0, generated
    assert 0 <= generated["p50_ms_jwt"] <= generated["p99_ms_jwt"], generated
    for row in data["rows"][1:]:  # the baselines and peers have no such mode
        assert row["rps_auth_jwt"] is None and "auth_jwt" not in row["load_runs"], row["variant"]
    assert "HS256" in data["meta"]["jwt"] and "HS256" in data["meta"]["peers"]["fastmcp"], data["meta"]
    assert "| rps auth (jwt) |" in table
    (fastmcp,) = [row for row in data["rows"] if row["variant"] == "fastmcp"]
    (line,) = [
        line for line in table.splitlines() if line.startswith(f"| {generated['variant']}: rps auth (jwt) >= fastmcp |")
    ]
    ratio = float(line.split("|")[2].strip().split("x")[0])
    assert ratio == pytest.approx(generated["rps_auth_jwt"] / fastmcp["rps_auth"], abs=0.01), line


def test_every_timing_is_repeated_and_summarised(quick_run):
    _, data = quick_run
    for row in data["rows"][:2]:
        for name in TIMINGS:
            summary = row[name]
            assert len(summary["runs"]) >= 3, (row["variant"], name, summary)
            assert summary["min"] == min(summary["runs"]) <= summary["median"] <= max(summary["runs"])
        assert row["image_mb"] > 0 and row["overhead_mb"] is not None and row["idle_rss_mb"] > 0
        assert row["rps_auth"] > 0 and row["rps_none"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"]
        assert len(row["load_runs"]["auth"]) >= 3 and len(row["load_runs"]["none"]) >= 3


def test_the_generated_image_is_also_measured_as_a_default_project_builds_it(quick_run):
    """The size a user's image has (security_scanning=yes, the default, adds the OS upgrade layer):
    measured for the generated row, its own column, never smaller than the image without it."""
    table, data = quick_run
    generated = data["rows"][0]
    assert generated["image_mb_as_generated"] >= generated["image_mb"] > 0, generated
    assert all(row["image_mb_as_generated"] is None for row in data["rows"][1:])
    assert "| image MB as generated |" in table


def test_the_seed_pattern_ships_more_than_the_generated_image(quick_run):
    """Sizes, not speed: the seed's runtime keeps npm, node_modules and the whole Node image."""
    _, data = quick_run
    esbuild, seed = data["rows"][0], data["rows"][1]
    assert seed["overhead_mb"] > esbuild["overhead_mb"] + 10, (seed, esbuild)


def test_the_table_shows_every_row_and_the_targets(quick_run):
    table, data = quick_run
    for row in data["rows"]:
        assert f"| {row['variant']} |" in table
    assert "| target | measured | met |" in table
    assert "stand-in" in table or "official" in table, "the table must name the base images it used"


def test_telemetry_and_limits_are_measured_on_the_generated_image(quick_run):
    """Throughput with telemetry on (spans and metrics received by the benchmark's loopback OTLP
    receiver) and with the limits off, beside the default run; their ratios in the table."""
    table, data = quick_run
    generated = data["rows"][0]
    assert "NOT MEASURED" not in data["meta"]["telemetry"], data["meta"]  # this machine's engine is on the host network
    for mode in ("auth_otel", "auth_limits_off"):
        runs = generated["load_runs"][mode]
        assert len(runs) >= 3, (mode, runs)
        assert all(run["rps"] > 0 and run["requests"] > 0 for run in runs), runs
    for run in generated["load_runs"]["auth_otel"]:
        # Every run exported: trace and metric requests arrived, and (at least) the HTTP and the
        # MCP span of each answered request.
        assert run["trace_exports"] > 0 and run["metric_exports"] > 0, run
        assert run["spans"] >= 2 * run["requests"], run
    assert generated["rps_auth_otel"] > 0 and generated["rps_auth_limits_off"] > 0
    assert generated["telemetry_ratio"] > 0 and generated["limits_ratio"] > 0
    assert generated["telemetry_cpu_ratio"] > 0 and generated["limits_cpu_ratio"] > 0
    for mode in ("auth", "auth_jwt", "auth_otel", "auth_limits_off"):
        assert generated[f"cpu_us_per_request_{mode}"] > 0, (mode, generated)
    assert generated["otel_spans_per_request"] >= 2
    for row in data["rows"][1:]:  # the baselines have neither
        assert row["rps_auth_otel"] is None and row["rps_auth_limits_off"] is None
    assert "rps with telemetry >= 0.90x without" in table and "rps limits on >= 0.95x off" in table
    assert "| rps auth + telemetry | rps auth, limits off |" in table
    assert "| CPU us/request |" in table


def test_no_request_was_refused_or_failed(quick_run):
    """The limits stay on in the measured runs: a 429 would be measured as throughput otherwise."""
    _, data = quick_run
    for row in data["rows"]:
        assert row["requests_refused"] == 0 and row["requests_failed"] == 0, row
        for mode, runs in row["load_runs"].items():
            assert all(run["refused"] == 0 and run["failed"] == 0 for run in runs), (row["variant"], mode)
