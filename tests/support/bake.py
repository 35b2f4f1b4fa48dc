"""Baking, as a thin layer over pytest-cookies (and the real command line where a test needs it).

Tests bake through pytest-cookies' `cookies` / `cookies_session` fixtures (conftest's
`bake_cached` and `build_project` wrap `cookies_session`). Two things remain here:

- `project_of(result)`: a bake's project folder, or its exception raised (so a
  refused answer fails the calling test with the hook's message).
- `bake(output_dir, **answers)`: pytest-cookies' `Cookies` for code that holds no
  fixture (e.g. a module-scoped fixture baking into its own folder).
- `bake_with_cli(...)`: the real `cookiecutter` command line, for the tests that are
  about the command line itself (yes/no strings, no network under `unshare`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from pytest_cookies.plugin import Cookies, Result

from support.process import run
from support.template import TEMPLATE_DIR

__all__ = ["TEMPLATE_DIR", "bake", "bake_with_cli", "project_of"]


def project_of(result: Result) -> Path:
    """The generated project folder of a pytest-cookies bake; a failed bake raises its exception."""
    if result.exception is not None:
        raise result.exception
    return result.project_path


def bake(output_dir: Path, **answers) -> Path:
    """Bake with --no-input and the given answers into output_dir; returns output_dir/<slug>.

    Nothing but the project is written to output_dir (a refused answer leaves it empty).
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cookiecutter-user-") as user_dir:
        # Keep cookiecutter's clone and replay folders out of the user's home, as pytest-cookies does.
        config = Path(user_dir) / "config.yaml"
        config.write_text(
            yaml.safe_dump({"cookiecutters_dir": f"{user_dir}/cookiecutters", "replay_dir": f"{user_dir}/replay"}),
            encoding="utf-8",
        )
        # pytest-cookies asks for a new folder per bake ("bake00", ...): this one bake uses output_dir.
        cookies = Cookies(str(TEMPLATE_DIR), lambda _name: output_dir, str(config))
        return project_of(cookies.bake(extra_context=answers))


def bake_with_cli(
    output_dir: Path, *answers: str, prefix: tuple[str, ...] = (), env: dict | None = None
) -> subprocess.CompletedProcess:
    """Bake through the real `cookiecutter` command line (answers as key=value strings).

    `prefix` runs it under another command, e.g. `unshare --net` to cut the network; `env`
    replaces the environment.
    """
    command = [*prefix, sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir), str(TEMPLATE_DIR)]
    # The callers assert the exit code: some bakes here are meant to be refused.
    return run([*command, *answers], env=env, timeout=120, check=False)
