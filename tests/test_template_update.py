"""The template-update path: a project made with cruft takes later template changes as a diff.

Teams generate with `cruft create`, keep working, and pull template improvements with
`cruft update`; their own edits and their original answers must survive. That whole path is
tested from a fork (test_teams.test_projects_from_a_fork_update_from_the_fork_with_cruft: to
cruft, a fork is a template repository like this one); here, what cruft refuses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.process import run
from support.template import TEMPLATE_DIR

GIT = ["git", "-c", "user.name=template-tests", "-c", "user.email=tests@example.com", "-c", "init.defaultBranch=main"]
SKIP_DIRS = {".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache"}


def git(cwd: Path, *args: str) -> str:
    return run([*GIT, *args], cwd).stdout


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name("cruft")
    return run([str(executable), *args], cwd, timeout=300, check=False)  # the test asserts its refusal


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """This working tree as a git repository of its own (cruft records template commits)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, repo, ignore=lambda _dir, names: [n for n in names if n in SKIP_DIRS])
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "template v1")
    return repo


def test_cruft_refuses_an_answer_outside_the_choices_naming_the_field(template_repo, tmp_path):
    """cruft passes the pre-gen hook no template folder to read the choices from: cookiecutter checks them first."""
    out = tmp_path / "projects"
    created = cruft(
        tmp_path, "create", "--no-input", "--output-dir", str(out),
        "--extra-context", json.dumps({"bundler": "webpack"}), str(template_repo),
    )  # fmt: skip
    assert created.returncode != 0
    assert "webpack provided for choice variable bundler" in created.stdout + created.stderr
    assert not out.exists() or not any(out.iterdir())
