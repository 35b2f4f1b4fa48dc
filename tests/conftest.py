"""Fixtures shared by every tier: baked projects, the Node toolchain, tokens."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.bake import bake  # noqa: E402
from support.node_toolchain import node_env  # noqa: E402
from variants import variant_id  # noqa: E402


@pytest.fixture(scope="session")
def bake_cached(tmp_path_factory):
    """bake(**answers) -> project folder; each distinct variant is baked once per session."""
    cache: dict[str, Path] = {}

    def _bake(**answers) -> Path:
        key = repr(sorted(answers.items()))
        if key not in cache:
            cache[key] = bake(tmp_path_factory.mktemp(variant_id(answers)[:60] or "defaults"), **answers)
        return cache[key]

    return _bake


@pytest.fixture(scope="session")
def npm_available() -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the node tier needs Node.js and npm (apt-get install nodejs npm)")


NPM = ["npm", "--no-audit", "--no-fund", "--prefer-offline"]


@pytest.fixture(scope="session")
def build_project(tmp_path_factory, npm_available):
    """build_project(**answers) -> (project, env): baked, `npm ci`, `npm run build`, once per variant.

    Baked afresh (not from the render cache, which must stay pristine): npm writes into it.
    `env` runs the Node version the variant selects.
    """
    cache: dict[str, tuple[Path, dict]] = {}

    def _build(**answers) -> tuple[Path, dict]:
        key = repr(sorted(answers.items()))
        if key not in cache:
            project = bake(tmp_path_factory.mktemp("project"), **answers)
            env = node_env(answers["node_version"])
            run([*NPM, "ci"], project, env)
            run([*NPM, "run", "build"], project, env)
            cache[key] = (project, env)
        return cache[key]

    return _build


def run(cmd: list[str], cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command; on failure, fail the test with its output (not a bare exit code)."""
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


__all__ = ["NPM", "bake", "node_env", "run"]
