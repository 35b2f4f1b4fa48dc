"""Generate a project from this template, the way a user's `cookiecutter` call does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE_DIR = Path(__file__).resolve().parents[2]


def bake(output_dir: Path, **answers) -> Path:
    """Bake with --no-input and the given answers; returns the generated project folder."""
    output_dir.mkdir(parents=True, exist_ok=True)
    project = cookiecutter(
        str(TEMPLATE_DIR),
        no_input=True,
        extra_context=answers,
        output_dir=str(output_dir),
        overwrite_if_exists=False,
    )
    return Path(project)


def bake_with_cli(output_dir: Path, *answers: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Bake through the real `cookiecutter` command line (answers as key=value strings).

    `prefix` runs it under another command, e.g. `unshare --net` to cut the network.
    """
    command = [*prefix, sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir), str(TEMPLATE_DIR)]
    return subprocess.run([*command, *answers], capture_output=True, text=True, timeout=120)
