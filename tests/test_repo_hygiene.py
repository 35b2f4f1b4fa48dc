"""The template repository's own pre-commit checks pass (ruff, shellcheck, JSON/YAML hygiene)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.template import TEMPLATE_DIR


def test_template_repository_passes_its_pre_commit_hooks():
    if not (TEMPLATE_DIR / ".git").exists():
        pytest.skip("not a git checkout: pre-commit reads the files git tracks")
    pre_commit = Path(sys.executable).with_name("pre-commit")
    command = [str(pre_commit)] if pre_commit.exists() else [shutil.which("pre-commit") or "pre-commit"]
    result = subprocess.run(
        [*command, "run", "--all-files", "--show-diff-on-failure", "--color", "never"],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
