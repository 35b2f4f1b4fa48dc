"""Fast checks of the Docker files as rendered, for every variant (no engine needed).

- The Dockerfiles of the base images differ only where a base must: the image references, the
  stages that copy node (and an init) onto a base without them, the runtime stage's block for
  the family's shape, and the app's uid. Families of one shape (cookiecutter.json's
  _base_families: how node and the init get in, the package manager) differ in the image
  references and the uid alone.
- Each base's Dockerfiles name its family's images, and its build image matches its runtime's
  release.
- Every rendered Dockerfile of every variant passes hadolint with the project's .hadolint.yaml
  and no warning at all.
- Every runtime stage installs the init its ENTRYPOINT and build-time check name (per base family).
(No template syntax left in any rendered file: test_render checks every file of every all-pairs variant;
every choice branch ends in its sentinel: test_exhaustive_branches.)
"""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import pytest

from support.docker_engine import run_instructions
from support.template import render_file
from support.tools import find_tool
from variants import BASE_FAMILIES, OPTIONS

BASES = tuple(OPTIONS["base_image"])
BUNDLERS = tuple(OPTIONS["bundler"])
INITS = tuple(OPTIONS["init_system"])
SCANNING = tuple(OPTIONS["security_scanning"])
NODE_VERSIONS = tuple(OPTIONS["node_version"])
DOCKERFILES = ("Dockerfile.production", "Dockerfile.development")

# Lines that name the base: the image references and the comments saying what the base is
# (each family's runtime_note and development_note).
IMAGE_LINES = re.compile(
    r"^(ARG (BUILD|RUNTIME|DEV)_IMAGE=|# ("
    + "|".join(re.escape(f"{base}: {family['runtime_note']}") for base, family in BASE_FAMILIES.items())
    + "|"
    + "|".join(re.escape(family["development_note"]) for family in BASE_FAMILIES.values())
    + ")$)"
)
# Stages a base may add: node (with its libraries) and an init, copied onto a base without them.
BASE_STAGES = {"node-files", "init"}
# The app's uid (the family's `uid`) and the comment saying why; the development image's USER.
UID_LINES = re.compile(r"^(ARG APP_UID=|# \(\d+|USER \d+:\d+$)")


def shape(base: str) -> tuple:
    """What decides the structure of a base's Dockerfile: how node and the init get in, its package manager."""
    family = BASE_FAMILIES[base]
    return family["node"], family["init"], family["package_manager"]


# Where the runtime stage's common part starts, after the per-family block: the build-time check
# that the entrypoint starts node (`RUN ["<init>", "--", "/usr/local/bin/node", "--version"]`).
COMMON_RUNTIME_START = re.compile(r'^RUN \[.*"/usr/local/bin/node", "--version"\]$')


def stages(text: str) -> dict[str, list[str]]:
    """Stage name -> its stripped lines ("" for the lines before the first FROM); the comment
    block right above a FROM belongs to the stage it introduces."""
    result: dict[str, list[str]] = {"": []}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        match = re.match(r"^FROM \S+ AS (\S+)$", line)
        if match:
            lines = result[current]
            start = len(lines)
            while start > 0 and lines[start - 1].startswith("#"):
                start -= 1
            result[current], heading = lines[:start], lines[start:]
            current = match.group(1)
            result[current] = heading
        result[current].append(line)
    return result


def without(lines: list[str], pattern: re.Pattern) -> list[str]:
    return [line for line in lines if line and not pattern.search(line)]


def common_runtime(lines: list[str]) -> list[str]:
    starts = [i for i, line in enumerate(lines) if COMMON_RUNTIME_START.match(line)]
    assert len(starts) == 1, "the runtime stage must check once that node starts"
    return without(lines[starts[0] :], UID_LINES)


@pytest.mark.parametrize("bundler,init,scanning", list(itertools.product(BUNDLERS, INITS, SCANNING)), ids=str)
def test_production_bases_differ_only_where_a_base_must(bundler, init, scanning):
    answers = {"bundler": bundler, "init_system": init, "security_scanning": scanning}
    rendered = {base: render_file("Dockerfile.production", base_image=base, **answers) for base in BASES}
    parsed = {base: stages(text) for base, text in rendered.items()}
    reference = parsed[BASES[0]]
    shared = [name for name in reference if name not in BASE_STAGES and name != "runtime"]
    assert {"", "runtime-base", "deps", "build", "runtime"} <= set(reference)
    for base, own in parsed.items():
        assert set(own) - set(reference) <= BASE_STAGES, f"{base} adds stages {set(own) - set(reference)}"
        assert set(reference) - set(own) <= BASE_STAGES, f"{base} lacks stages {set(reference) - set(own)}"
        for name in shared:
            assert without(own[name], IMAGE_LINES) == without(reference[name], IMAGE_LINES), f"{base}: stage {name!r}"
        assert common_runtime(own["runtime"]) == common_runtime(reference["runtime"]), f"{base}: runtime tail"
    # Families of one shape (e.g. the two Debian suites): the same file but for the images and the uid.
    for base, other in itertools.combinations(BASES, 2):
        if shape(base) == shape(other):
            ignored = re.compile(f"{IMAGE_LINES.pattern}|{UID_LINES.pattern}")
            assert without(rendered[base].splitlines(), ignored) == without(rendered[other].splitlines(), ignored)
    # and the base-specific parts are really used
    assert len(set(rendered.values())) == len(BASES)


def test_development_bases_differ_only_in_the_image_and_uid():
    rendered = {base: render_file("Dockerfile.development", base_image=base) for base in BASES}
    ignored = re.compile(f"{IMAGE_LINES.pattern}|{UID_LINES.pattern}")
    reference = without(rendered[BASES[0]].splitlines(), ignored)
    assert len(reference) > 10
    for base, text in rendered.items():
        assert without(text.splitlines(), ignored) == reference, base
        assert f"USER {BASE_FAMILIES[base]['uid']}:{BASE_FAMILIES[base]['uid']}" in text.splitlines(), base


# The Debian release of each suite the runtime images name (distroless names its images by release).
DEBIAN_SUITES = {"12": "bookworm", "13": "trixie"}


def matching_build_image(runtime_image: str) -> str:
    """The official Node image a runtime image needs node from: the same Debian suite (node and its
    libraries are copied in, so the same glibc), or the runtime itself where it is a Node image."""
    if match := re.fullmatch(r"debian:([a-z]+)-slim", runtime_image):
        return f"node:${{NODE_VERSION}}-{match.group(1)}-slim"
    if match := re.fullmatch(r"gcr\.io/distroless/cc-debian(\d+):nonroot", runtime_image):
        return f"node:${{NODE_VERSION}}-{DEBIAN_SUITES[match.group(1)]}-slim"
    if runtime_image.startswith("node:${NODE_VERSION}-"):
        return runtime_image
    raise AssertionError(f"which Node image matches {runtime_image}? teach matching_build_image")


@pytest.mark.parametrize("base", BASES)
def test_each_base_builds_on_its_matching_node_image(base):
    family = BASE_FAMILIES[base]
    public = {"base_image": base, "container_registry": ""}  # the public names (a fork may default a mirror)
    production = render_file("Dockerfile.production", **public).splitlines()
    assert f"ARG BUILD_IMAGE={family['build_image']}" in production
    assert f"ARG RUNTIME_IMAGE={family['runtime_image']}" in production
    assert f"ARG APP_UID={family['uid']}" in production
    assert f"ARG DEV_IMAGE={family['build_image']}" in render_file("Dockerfile.development", **public).splitlines()
    assert family["build_image"] == matching_build_image(family["runtime_image"])


# Where a family gets the init its ENTRYPOINT names (its `init`): copied from Debian's package into
# /usr/local/bin, or installed by the runtime's own package manager, on the image's PATH (Alpine's:
# /sbin/tini, /usr/bin/dumb-init).
INIT_INSTALL = {
    "copied": "COPY --from=init /usr/bin/{init} /usr/local/bin/{init}",
    "package-manager": "&& apk add --no-cache {init} \\",
}


@pytest.mark.parametrize("base,init", list(itertools.product(BASES, INITS)), ids=str)
def test_the_runtime_installs_the_init_its_entrypoint_names(base, init):
    """Each runtime stage installs the init before the build-time check runs it, and the entrypoint
    and that check name the same program; without an init, node is PID 1 and no init is installed."""
    runtime = stages(render_file("Dockerfile.production", base_image=base, init_system=init))["runtime"]
    check = [line for line in runtime if COMMON_RUNTIME_START.match(line)]
    assert len(check) == 1
    if init == "none":
        assert check[0] == 'RUN ["/usr/local/bin/node", "--version"]'
        assert "ENTRYPOINT []" in runtime
        assert not [line for line in runtime if "dumb-init" in line or "tini" in line]
        return
    family = BASE_FAMILIES[base]
    assert family["init"] == "copied" or family["package_manager"] == "apk", "teach INIT_INSTALL this package manager"
    install = INIT_INSTALL[family["init"]].format(init=init)
    assert install in runtime, f"{base}: the runtime stage does not install {init}"
    assert runtime.index(install) < runtime.index(check[0]), "the init is checked before it is installed"
    assert check[0] == f'RUN ["{init}", "--", "/usr/local/bin/node", "--version"]'
    assert f'ENTRYPOINT ["{init}", "--"]' in runtime


NODE_VERSION_ARG = re.compile(r"^ARG NODE_VERSION=\d+$", re.MULTILINE)


def all_variants():
    return itertools.product(BASES, BUNDLERS, INITS, SCANNING, NODE_VERSIONS)


@pytest.mark.parametrize("base", BASES)
def test_hadolint_every_variant(base, tmp_path):
    hadolint = find_tool("hadolint")
    config = tmp_path / ".hadolint.yaml"
    config.write_text(render_file(".hadolint.yaml"), encoding="utf-8")
    # One file per distinct text, where texts that differ only in the Node line's
    # `ARG NODE_VERSION=<major>` default count as one: a version number that FROM reads through
    # the variable, which no hadolint rule evaluates. Every other difference is linted.
    files: dict[str, Path] = {}
    for _, bundler, init, scanning, node in (v for v in all_variants() if v[0] == base):
        answers = dict(
            base_image=base, bundler=bundler, init_system=init, security_scanning=scanning, node_version=node
        )
        for dockerfile in DOCKERFILES:
            text = render_file(dockerfile, **answers)
            assert len(NODE_VERSION_ARG.findall(text)) == 1, f"{dockerfile} ({answers}) sets NODE_VERSION once"
            same_but_node = NODE_VERSION_ARG.sub("ARG NODE_VERSION=<major>", text)
            if same_but_node not in files:
                path = tmp_path / f"{dockerfile}.{bundler}.{init}.{'scan' if scanning else 'noscan'}.node{node}"
                path.write_text(text, encoding="utf-8")
                files[same_but_node] = path
    result = subprocess.run(
        [hadolint, "--config", str(config), "--no-color", *map(str, files.values())], capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
@pytest.mark.parametrize("bundler", BUNDLERS)
def test_no_install_script_runs_while_the_registry_credential_is_mounted(dockerfile, bundler):
    """`npm ci` under the npmrc secret runs no dependency's scripts (--ignore-scripts); a later
    RUN of the same stage, without that secret, runs them (`npm rebuild`)."""
    installs = 0
    for stage, lines in stages(render_file(dockerfile, bundler=bundler)).items():
        runs = run_instructions("\n".join(lines))
        for index, run in enumerate(runs):
            if "npm ci" not in run:
                continue
            installs += 1
            assert "id=npmrc" in run, f"{stage}: npm ci without the optional registry secret"
            for call in re.findall(r"npm ci[^|;&}]*", run):
                assert "--ignore-scripts" in call, f"{stage}: `{call.strip()}` runs install scripts"
            rebuilds = [later for later in runs[index + 1 :] if "npm rebuild" in later]
            assert rebuilds, f"{stage}: the install scripts never run"
            assert "id=npmrc" not in rebuilds[0], f"{stage}: install scripts run with the credential mounted"
    assert installs >= 1


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
