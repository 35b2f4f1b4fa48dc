"""Fixtures shared by every tier: baked projects (through pytest-cookies), the Node toolchain.

Stable names and signatures (other modules rely on them, see CONVENTIONS.md):
`bake_cached(**answers) -> Path`, `build_project(**answers) -> (Path, env)`, `delivery_project(name) -> Path`,
`engine` (the docker tier's container engine). Commands run through support.process.run
(re-exported here for the modules that import it from conftest).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.bake import bake, project_of  # noqa: E402
from support.delivery import DELIVERY_VARIANTS  # noqa: E402
from support.docker_engine import find_engine  # noqa: E402
from support.node_toolchain import NPM, link_installed_dependencies, node_env  # noqa: E402
from support.process import run  # noqa: E402
from support.template import TEMPLATE_DIR, cache_compiled_templates_in_bakes  # noqa: E402


def pytest_configure(config):
    cache_compiled_templates_in_bakes()
    # pytest-cookies bakes its `--template` option, by default the current folder:
    # make that this template wherever pytest is started from.
    if getattr(config.option, "template", None) == ".":
        config.option.template = str(TEMPLATE_DIR)


# Under pytest-xdist (`-n`, run-tests.sh's default) these share a worker: every docker test (one
# engine, the stand-in images built once, never two image builds at a time), and the tests of
# each built project (test_project's tests of a variant, and for the default answers also
# test_http_surface, test_mcp_surface, test_browser and the generated pre-commit test), so that
# the other worker does not sit waiting for a build it needs (builds are shared, see
# once_per_run). Any other test goes to whichever worker is free. A renamed test only loses the sharing.
# (xdist's own `xdist_group` mark cannot do this here: with pytest 9 the group never
# reaches the scheduler.)
DOCKER_MODULES = ("tests/test_docker.py", "tests/test_benchmark.py")
# Docker tests that live with their subject elsewhere: on the docker worker too (a docker test
# that is in neither list stops the collection, see pytest_collection_modifyitems).
DOCKER_TESTS_ELSEWHERE = (
    "tests/test_kubernetes.py::test_the_image_runs_under_the_pod_spec_with_the_secret_mounted",
    "tests/test_teams.py::test_the_build_context_gets_the_project_npmrc_and_no_nested_one",
    "tests/test_teams.py::test_a_project_generated_with_a_mirror_builds_against_standins_under_the_mirror_name",
)
PROJECT_MODULE = "tests/test_project.py"
BUILDING_THE_DEFAULTS = (
    "tests/test_http_surface.py",
    "tests/test_mcp_surface.py",
    "tests/test_browser.py",
    "tests/test_authorization_server.py",
    "tests/test_limits.py",
    "tests/test_telemetry.py",
    "tests/test_identity_providers.py",
    f"{PROJECT_MODULE}::test_generated_pre_commit_hooks_pass",
)


def xdist_scope(nodeid: str) -> str:
    """The unit of work a test is scheduled with: tests with the same scope share a worker."""
    path, _, name = nodeid.partition("::")
    if path in DOCKER_MODULES or f"{path}::{name.split('[', 1)[0]}" in DOCKER_TESTS_ELSEWHERE:
        return "docker"
    if path in BUILDING_THE_DEFAULTS or nodeid in BUILDING_THE_DEFAULTS:
        return "project[defaults]"
    if path == PROJECT_MODULE and "[" in name:
        return f"project[{name.split('[', 1)[1]}"
    return nodeid


# Longest first (the classic longest-processing-time rule): the docker tier (one long scope), the
# node tier and the fork's own run of the render and hook tiers are handed out before the many
# short render tests, which then fill the gaps at the end instead of one worker finishing a long
# test alone while the other waits.
LONG_RUNNING = ("tests/test_teams.py::test_a_fork_with_every_default_moved_passes_the_render_and_hook_tiers",)


def _start_order(item: pytest.Item) -> int:
    if item.get_closest_marker("docker"):
        return 0
    if item.get_closest_marker("node") or item.nodeid in LONG_RUNNING:
        return 1
    return 2


def pytest_collection_modifyitems(config, items):
    stray = [
        item.nodeid for item in items if item.get_closest_marker("docker") and xdist_scope(item.nodeid) != "docker"
    ]
    if stray:
        raise pytest.UsageError(
            f"docker tests outside the docker worker's scope (list them in DOCKER_TESTS_ELSEWHERE): {stray}"
        )
    items.sort(key=_start_order)  # stable: the order within each group is the collection order


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedSetUpScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return SharedSetUpScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def temporary_files_stay_in_the_run(tmp_path_factory):
    """TMPDIR (for this process and every tool it starts) is a folder of this test run.

    What the tools leave there (tsx's cache, npm's, the servers') stays out of the shared /tmp:
    every Python hook lists its temporary folder on start-up, and a /tmp grown to thousands of
    entries made each bake 70 % slower. pytest keeps its last three runs' folders and removes
    older ones, these files with them.
    """
    folder = tmp_path_factory.mktemp("tmp", numbered=False)
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)
    yield
    tempfile.tempdir = None
    if saved is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved


@pytest.fixture(scope="session")
def once_per_run(tmp_path_factory):
    """once_per_run(key, produce) -> folder: `produce()` runs once per test run, in whichever
    pytest-xdist worker asks first; the others wait for it and get the same folder.

    The folder `produce()` returns is moved into the run's own temporary folder, which outlives
    every worker (pytest-cookies removes a worker's bakes when that worker's session ends, while
    another may still be using them). A failed `produce()` leaves nothing behind: the next asker
    tries again (and fails the same way).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above every worker's own
    root = root / "once-per-run"
    root.mkdir(exist_ok=True)
    known: dict[str, Path] = {}

    def _once(key: str, produce: Callable[[], Path]) -> Path:
        if key not in known:
            name = hashlib.sha256(key.encode()).hexdigest()[:20]
            kept = root / name
            with (root / f"{name}.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                if not kept.exists():
                    made = produce()
                    # Staged under another name, then renamed whole: a worker killed in between
                    # leaves no empty `kept` that every later asker would take for a result.
                    staged = root / f"{name}.staged"
                    shutil.rmtree(staged, ignore_errors=True)
                    staged.mkdir()
                    made.rename(staged / made.name)  # same file system: a rename, nothing copied
                    staged.rename(kept)
            known[key] = next(kept.iterdir())
        return known[key]

    return _once


@pytest.fixture(scope="session")
def bake_cached(cookies_session, once_per_run):
    """bake_cached(**answers) -> project folder; each distinct variant is baked once per run.

    The folders are shared (between tests and between workers): treat them as read-only
    (build_project bakes its own).
    """

    def _bake(**answers) -> Path:
        return once_per_run(
            f"bake {sorted(answers.items())!r}", lambda: project_of(cookies_session.bake(extra_context=answers))
        )

    return _bake


@pytest.fixture(scope="session")
def delivery_project(bake_cached):
    """delivery_project(name) -> the project of one of the named delivery variants
    (support.delivery: "defaults", "all-on", "all-off"), from the shared render cache: read it,
    never write to it."""
    return lambda name: bake_cached(**DELIVERY_VARIANTS[name])


@pytest.fixture(scope="session")
def engine():
    """The container engine of the docker tier (images it builds are removed at the end); skipped,
    with the reason printed, where none is reachable."""
    found, reason = find_engine()
    if found is None:
        print(f"SKIP docker tier: {reason}")
        pytest.skip(reason)
    yield found
    found.cleanup()


@pytest.fixture(scope="session")
def npm_available() -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the node tier needs Node.js and npm (apt-get install nodejs npm)")


@pytest.fixture(scope="session")
def build_project(cookies_session, npm_available, once_per_run):
    """build_project(**answers) -> (project, env): baked, its dependencies installed, `npm run build`,
    once per variant and run (whichever worker asks first builds it; see once_per_run).

    The dependencies are a real `npm ci` of the project's lockfile, made once per locked package
    set and cached across runs (support.node_toolchain.link_installed_dependencies); `npm ci` in a
    fresh project is tested as such by the README quickstart test and every image build.
    Baked afresh (not from the render cache, which must stay pristine): the build writes into it.
    Shared like the render cache: a test that changes files works on a copy (see copy_project).
    `env` runs the Node version the variant selects.
    """

    def _build(**answers) -> tuple[Path, dict]:
        env = node_env(answers["node_version"])

        def build() -> Path:
            project = project_of(cookies_session.bake(extra_context=answers))
            link_installed_dependencies(project, env)  # a cached `npm ci` of the same lockfile
            run([*NPM, "run", "build"], project, env)
            return project

        return once_per_run(f"build {sorted(answers.items())!r}", build), env

    return _build


def copy_project(built: Path, destination: Path) -> Path:
    """A writable copy of a built project (its build output too), sharing its node_modules
    (read-only) by a symlink."""
    shutil.copytree(built, destination, symlinks=True, ignore=shutil.ignore_patterns("node_modules"))
    (destination / "node_modules").symlink_to(built / "node_modules")
    return destination


__all__ = ["NPM", "bake", "copy_project", "node_env", "run"]
