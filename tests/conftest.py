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


def pytest_configure(config):
    # pytest-cookies bakes its `--template` option, by default the current folder:
    # make that this template wherever pytest is started from.
    if getattr(config.option, "template", None) == ".":
        config.option.template = str(TEMPLATE_DIR)


# Under pytest-xdist (`-n`, run-tests.sh's default) these share a worker, because their
# set-up is costly or must not run twice at once: every docker test (one engine, the
# stand-in images built once, never two image builds at a time), and the tests of each
# built project (one npm ci and build per variant: test_project's tests of a variant, and
# for the default answers also test_http_surface and the generated pre-commit test). Any
# other test goes to whichever worker is free. A renamed test only loses the sharing.
# (xdist's own `xdist_group` mark cannot do this here: with pytest 9 the group never
# reaches the scheduler.)
DOCKER_MODULES = ("tests/test_docker.py", "tests/test_benchmark.py")
PROJECT_MODULE = "tests/test_project.py"
BUILDING_THE_DEFAULTS = ("tests/test_http_surface.py", f"{PROJECT_MODULE}::test_generated_pre_commit_hooks_pass")


def xdist_scope(nodeid: str) -> str:
    """The unit of work a test is scheduled with: tests with the same scope share a worker."""
    path, _, name = nodeid.partition("::")
    if path in DOCKER_MODULES:
        return "docker"
    if path in BUILDING_THE_DEFAULTS or nodeid in BUILDING_THE_DEFAULTS:
        return "project[defaults]"
    if path == PROJECT_MODULE and "[" in name:
        return f"project[{name.split('[', 1)[1]}"
    return nodeid


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedSetUpScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return SharedSetUpScheduling(config, log)


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
