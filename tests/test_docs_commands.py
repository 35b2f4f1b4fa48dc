"""The template's front-door commands, read from the pages that show them and run as written.

- README.md, "The two commands": the test command is exactly what CI runs (.ci/run, GitHub's and
  GitLab's CI run it with no argument); test_project.py runs the quickstart command end to end.
- README.md, "Generate a project", and docs/using.md, "Generating a project": each cookiecutter
  line, through the real CLI in a shell, the template's address replaced by this checkout; the
  interactive line answered with Enter (every default).

The other pages' commands run in the modules of their subjects (test_teams.py for docs/teams.md,
test_docker.py for the proxy build of docs/delivery.md); tests/test_docs.py checks that every
shell block is read by some test.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from support.docs import shown_commands
from support.template import TEMPLATE_DIR

README = TEMPLATE_DIR / "README.md"
USING = TEMPLATE_DIR / "docs" / "using.md"
TEMPLATE_ADDRESS = "gh:<org>/<repo>"


def test_the_readme_test_command_is_what_ci_runs():
    quickstart, tests = shown_commands(README, "The two commands")
    assert quickstart.startswith("scripts/quickstart.sh"), quickstart
    assert tests == "scripts/run-tests.sh"
    ci_run = (TEMPLATE_DIR / ".ci/run").read_text(encoding="utf-8").splitlines()
    assert f"exec bash {tests}" in ci_run, ".ci/run runs the README's command, with no argument"
    github = yaml.safe_load((TEMPLATE_DIR / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    assert tests in [step.get("run", "") for job in github["jobs"].values() for step in job["steps"]]
    gitlab = yaml.safe_load((TEMPLATE_DIR / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert tests in [line for job in gitlab.values() if isinstance(job, dict) for line in job.get("script", [])]
    assert os.access(TEMPLATE_DIR / tests, os.X_OK) and os.access(TEMPLATE_DIR / "scripts/quickstart.sh", os.X_OK)


def generating_commands() -> list[str]:
    """The README's and the Using page's cookiecutter lines (the same lines, run once)."""
    shown = shown_commands(README, "Generate a project") + shown_commands(USING, "Generating a project")
    return list(dict.fromkeys(shown))


def test_the_readme_and_the_using_page_show_the_same_generating_commands():
    assert shown_commands(README, "Generate a project") == shown_commands(USING, "Generating a project")


def test_the_generating_commands_run_as_shown(tmp_path):
    """Each line in a shell, with cookiecutter on the PATH and this checkout as the template's
    address: the interactive line takes every default on Enter, the --no-input line its answers."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    made = {}
    for number, command in enumerate(generating_commands()):
        words = shlex.split(command, comments=True)
        assert words[0] == "cookiecutter" and TEMPLATE_ADDRESS in words, command
        cwd = tmp_path / f"run-{number}"
        cwd.mkdir()
        script = command.replace(TEMPLATE_ADDRESS, shlex.quote(str(TEMPLATE_DIR)))
        before = set(cwd.iterdir())
        result = subprocess.run(
            ["bash", "-ec", script], cwd=cwd, env=env, input="\n" * 80, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, command + "\n" + result.stdout[-3000:] + result.stderr[-3000:]
        (project,) = set(cwd.iterdir()) - before
        assert "First steps" in result.stdout, "generating prints the first steps"
        made[command] = project
    answered = [project for command, project in made.items() if "--no-input" in command]
    assert [project.name for project in answered] == ["weather-tools"], made
    (weather,) = answered
    assert "trixie-slim" not in (weather / "Dockerfile.production").read_text(encoding="utf-8")
    assert "bookworm-slim" in (weather / "Dockerfile.production").read_text(encoding="utf-8")
    assert not (weather / "deploy" / "cloud-run").exists()
    for command, project in made.items():
        if "--no-input" not in command:
            assert project.name == "my-mcp-server", command
            assert json.loads((project / "package.json").read_text(encoding="utf-8"))["name"] == "my-mcp-server"
            assert (project / "deploy" / "cloud-run").exists(), "every default taken"
