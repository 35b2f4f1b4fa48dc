"""Fixtures shared by every tier: baked projects (through pytest-cookies), the Node toolchain.

Stable names and signatures (other modules rely on them, see CONVENTIONS.md):
`bake_cached(**answers) -> Path`, `build_project(**answers) -> (Path, env)`, `run(cmd, cwd, env)`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.bake import bake, project_of  # noqa: E402
from support.node_toolchain import node_env  # noqa: E402
from support.template import TEMPLATE_DIR  # noqa: E402
from variants import variant_id  # noqa: E402


def pytest_configure(config):
    # pytest-cookies bakes its `--template` option, by default the current folder:
    # make that this template wherever pytest is started from.
    if getattr(config.option, "template", None) == ".":
        config.option.template = str(TEMPLATE_DIR)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (`-n`, `--dist loadgroup`, run-tests.sh's default), keep costly set-up on one worker.

    Every docker test runs on one worker, in order (one engine, stand-in images built once,
    no two image builds at a time); the tests of one built project (npm ci + build) share a
    worker, so each variant is built once. Everything else spreads over the workers.
    """
    for item in items:
        group = xdist_group_of(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


def xdist_group_of(item) -> str | None:
    if item.get_closest_marker("docker"):
        return "docker"
    if "build_project" in item.fixturenames:
        params = item.callspec.params.values() if hasattr(item, "callspec") else []
        variants = [value for value in params if isinstance(value, dict) and "node_version" in value]
        return "project:" + (variant_id(variants[0]) if variants else item.module.__name__)
    return None


@pytest.fixture(scope="session")
def bake_cached(cookies_session):
    """bake_cached(**answers) -> project folder; each distinct variant is baked once per session.

    The folders are shared: treat them as read-only (build_project bakes its own).
    """
    cache: dict[str, Path] = {}

    def _bake(**answers) -> Path:
        key = repr(sorted(answers.items()))
        if key not in cache:
            cache[key] = project_of(cookies_session.bake(extra_context=answers))
        return cache[key]

    return _bake


@pytest.fixture(scope="session")
def npm_available() -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the node tier needs Node.js and npm (apt-get install nodejs npm)")


NPM = ["npm", "--no-audit", "--no-fund", "--prefer-offline"]


@pytest.fixture(scope="session")
def build_project(cookies_session, npm_available):
    """build_project(**answers) -> (project, env): baked, `npm ci`, `npm run build`, once per variant.

    Baked afresh (not from the render cache, which must stay pristine): npm writes into it.
    `env` runs the Node version the variant selects.
    """
    cache: dict[str, tuple[Path, dict]] = {}

    def _build(**answers) -> tuple[Path, dict]:
        key = repr(sorted(answers.items()))
        if key not in cache:
            project = project_of(cookies_session.bake(extra_context=answers))
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
