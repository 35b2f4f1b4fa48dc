"""Fast checks of the Docker files as rendered, for every variant (no engine needed).

- The Dockerfiles of the three base images differ only in base-specific lines (BASE_SPECIFIC).
- Every rendered Dockerfile of every variant passes hadolint with the project's .hadolint.yaml
  and no warning at all.
(No template syntax left in any rendered file: test_render checks every file of every all-pairs variant.)
"""

from __future__ import annotations

import itertools
import re
import subprocess

import pytest

from support.template import render_file
from support.tools import find_tool
from variants import OPTIONS

BASES = tuple(OPTIONS["base_image"])
BUNDLERS = tuple(OPTIONS["bundler"])
INITS = tuple(OPTIONS["init_system"])
SCANNING = tuple(OPTIONS["security_scanning"])
NODE_VERSIONS = tuple(OPTIONS["node_version"])
DOCKERFILES = ("Dockerfile.production", "Dockerfile.development")

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


@pytest.mark.parametrize("base", BASES)
def test_hadolint_every_variant(base, tmp_path):
    hadolint = find_tool("hadolint")
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
