"""What the tests of the delivery files (CI, update bots, Cloud Run, the project's scripts) share:
the named variants they bake, the template's workflows and pinned versions, a clean environment
and stand-in tools for running the scripts offline, and the two checkers they run
(check-jsonschema with its vendored schemas, shellcheck).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.process import run
from support.template import TEMPLATE_DIR
from support.tools import find_tool

# Explicit answers (no test assumes today's defaults: a fork may move them). The
# `delivery_project` fixture (conftest.py) bakes them by name.
DELIVERY_VARIANTS: dict[str, dict] = {
    "defaults": {
        "ci": "github",
        "license": "MIT",
        "node_version": "24",
        "cloud_run": True,
        "security_scanning": True,
        "auth_mode": "jwt",
    },
    "all-on": {
        "cloud_run": True,
        "security_scanning": True,
        "multi_platform": True,
        "auth_mode": "api_key",
        "ci": "gitlab",
        "port": "9090",
        "node_version": "22",
        "license": "Apache-2.0",
    },
    "all-off": {"cloud_run": False, "security_scanning": False, "multi_platform": False, "ci": "none"},
}

# The template repository's own workflows, and the versions its update job pins everywhere.
TEMPLATE_WORKFLOWS = sorted((TEMPLATE_DIR / ".github/workflows").glob("*.yml"))
VERSIONS = json.loads((TEMPLATE_DIR / ".github/versions.json").read_text(encoding="utf-8"))


def clean_env(path: str, **extra: str) -> dict[str, str]:
    """An environment without the caller's build secrets or CI settings."""
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def restricted_bin(tmp_path: Path, names: tuple[str, ...]) -> Path:
    """A folder with symlinks to only the named host tools: a PATH without scanners or docker."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in names:
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed on this machine")
        (folder / name).symlink_to(found)
    return folder


def stub(folder: Path, name: str, body: str) -> None:
    """A stand-in `name` in `folder`: a bash script with this body (e.g. one that logs its arguments)."""
    path = folder / name
    path.write_text(f"#!/usr/bin/env bash\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def code(shell: str) -> str:
    """A shell script without its comment lines."""
    return "\n".join(line for line in shell.splitlines() if not line.lstrip().startswith("#"))


def check_jsonschema(schema: str, *files: Path, transform: str | None = None) -> subprocess.CompletedProcess:
    """check-jsonschema with one of its vendored schemas (no network); the caller asserts the exit code."""
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)]
    if transform:
        command[3:3] = ["--data-transform", transform]
    return run(command, timeout=120, check=False)


def shellcheck(script: str, shell: str) -> subprocess.CompletedProcess:
    """shellcheck on a CI script given on stdin; the caller asserts the exit code (its message
    shows the script, which the command line does not)."""
    # SC2154: variables come from the job's env/variables. SC1091: sourced files are not there.
    command = [find_tool("shellcheck"), "--norc", f"--shell={shell}", "-e", "SC2154,SC1091", "-"]
    return run(command, input=script, timeout=60, check=False)
