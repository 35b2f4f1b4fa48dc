"""Rendering, for every pair of option values: the exact file set, no template leftovers, files that parse."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml

from support.docs import blocks, shown_commands
from support.process import run
from support.template import PROJECT_TEMPLATE
from support.tools import find_tool
from variants import COOKIECUTTER_JSON, NODE_LINES, OPTIONS, RENDER_VARIANTS, variant_id

# Which files each answer adds. Written out here on purpose (not read from the hook),
# so a hook that removes the wrong file fails these tests.
FILES_ONLY_WHEN = {
    ("bundler", "esbuild"): {"esbuild.config.mjs"},
    ("cloud_run", True): {
        "cloudbuild.yaml",
        ".gcloudignore",
        "scripts/deploy-cloud-run.sh",
        "deploy/cloud-run/service.yaml",
        "deploy/cloud-run/README.md",
    },
    ("security_scanning", True): {"scripts/scan-image.sh"},
    ("multi_platform", True): {"scripts/docker-buildx.sh"},
    ("kubernetes", True): {
        "deploy/kubernetes/base/kustomization.yaml",
        "deploy/kubernetes/base/namespace.yaml",
        "deploy/kubernetes/base/serviceaccount.yaml",
        "deploy/kubernetes/base/deployment.yaml",
        "deploy/kubernetes/base/service.yaml",
        "deploy/kubernetes/base/hpa.yaml",
        "deploy/kubernetes/base/pdb.yaml",
        "deploy/kubernetes/base/networkpolicy.yaml",
        "deploy/kubernetes/overlays/production/kustomization.yaml",
        "deploy/kubernetes/overlays/production/replicas.yaml",
        "deploy/kubernetes/overlays/production/ingress.yaml",
        "deploy/kubernetes/overlays/production/httproute.yaml",
        "scripts/pin-image.sh",
        "deploy/kubernetes/overlays/production/.gitignore",
        "docs/kubernetes.md",
    },
    ("ci", "github"): {".github/workflows/ci.yml", ".github/dependabot.yml", ".github/ci-variables.env"},
    ("ci", "gitlab"): {".gitlab-ci.yml", ".gitlab/ci-variables.yml"},
}
# Which files a free-text answer adds when it is set (not empty).
FILES_ONLY_WHEN_SET = {"npm_registry": {".npmrc"}}
# Files every variant has, whatever the answers (besides the template's own files).
CORE_FILES = {
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "README.md",
    "AGENTS.md",
    ".gitignore",
    ".env.example",
    ".env.development",
    "Dockerfile.production",
    "Dockerfile.development",
    ".dockerignore",
    "docker-compose.yml",
    ".hadolint.yaml",
    ".pre-commit-config.yaml",
    ".nvmrc",
    "scripts/lib.sh",
    "scripts/docker-build.sh",
    "scripts/test-docker.sh",
    ".shellcheckrc",
    "src/index.ts",
    "src/config.ts",
    "src/app.ts",
    "src/logger.ts",
    "src/healthcheck.ts",
    "src/mcp/server.ts",
    "src/tools/echo.ts",
    "src/tools/whoami.ts",
    ".vscode/mcp.json",
}
# Files copied verbatim (tools rewrite them, e.g. `pre-commit autoupdate`): no Jinja inside,
# so GitHub's own `${{ ... }}` expressions are legitimate there.
COPIED_VERBATIM = set(COOKIECUTTER_JSON["_copy_without_render"])
LEFTOVER = re.compile(r"\{\{|\{%|cookiecutter", re.IGNORECASE)


def template_files() -> set[str]:
    """Every file path the template can produce (before the post-gen hook)."""
    return {
        str(path.relative_to(PROJECT_TEMPLATE))
        for path in PROJECT_TEMPLATE.rglob("*")
        if path.is_file() and ".lockfiles" not in path.parts
    } | {"package-lock.json"}


def expected_files(answers: dict) -> set[str]:
    optional = set().union(*FILES_ONLY_WHEN.values(), *FILES_ONLY_WHEN_SET.values())
    selected = set().union(*(files for (key, value), files in FILES_ONLY_WHEN.items() if answers[key] == value))
    selected |= set().union(
        *(files for key, files in FILES_ONLY_WHEN_SET.items() if answers.get(key, COOKIECUTTER_JSON[key]))
    )
    return (template_files() - optional) | selected


def generated_files(project: Path) -> set[str]:
    return {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}


@pytest.fixture(params=RENDER_VARIANTS, ids=variant_id)
def rendered(request, bake_cached):
    return request.param, bake_cached(**request.param)


def test_every_variant_has_exactly_its_files(rendered):
    answers, project = rendered
    files = generated_files(project)
    assert files >= CORE_FILES, f"missing core files: {sorted(CORE_FILES - files)}"
    assert files == expected_files(answers), {
        "unexpected": sorted(files - expected_files(answers)),
        "missing": sorted(expected_files(answers) - files),
    }


def test_no_template_syntax_is_left_in_any_rendered_file(rendered):
    _, project = rendered
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(project)
        text = path.read_text(encoding="utf-8")
        if any(relative.match(pattern) for pattern in COPIED_VERBATIM):
            # Not rendered: may hold the CI system's own ${{ }} but never template syntax.
            assert "cookiecutter" not in text.lower() and "{%" not in text, relative
            continue
        match = LEFTOVER.search(text)
        assert match is None, f"{relative}: leftover {match.group(0)!r}"
        assert "cookiecutter" not in str(relative).lower()


def test_every_json_yaml_and_toml_file_parses(rendered):
    _, project = rendered
    parsed = 0
    for path in project.rglob("*"):
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text(encoding="utf-8"))
        else:
            continue
        parsed += 1
    assert parsed >= 5


def test_lockfile_matches_the_manifest(rendered):
    """`npm ci` refuses a lockfile whose root dependencies differ from package.json."""
    answers, project = rendered
    package = json.loads((project / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((project / "package-lock.json").read_text(encoding="utf-8"))
    root = lock["packages"][""]
    assert lock["name"] == package["name"] == project.name
    assert root["version"] == package["version"] and root["license"] == package["license"]
    for field in ("dependencies", "devDependencies"):
        assert root.get(field, {}) == package.get(field, {}), field
    for name in {**package.get("dependencies", {}), **package.get("devDependencies", {})}:
        assert f"node_modules/{name}" in lock["packages"], name
    assert ("esbuild" in package.get("devDependencies", {})) is (answers["bundler"] == "esbuild")
    assert package["devDependencies"]["@types/node"].lstrip("^~").startswith(answers["node_version"] + ".")


# What a Node line changes in the installed packages: its types, and the undici types they pull in.
NODE_TYPES = {"node_modules/@types/node", "node_modules/undici-types"}


@pytest.mark.parametrize("bundler", OPTIONS["bundler"])
def test_node_lines_install_the_same_packages_but_their_types(bundler):
    """The premise of the node tier's bracketing (variants.PROJECT_VARIANTS): for one bundler, every
    Node line's lockfile installs the same package versions as the newest line's, but for NODE_TYPES."""

    def installed(node: str) -> dict[str, str]:
        lock = json.loads((PROJECT_TEMPLATE / ".lockfiles" / f"node{node}-{bundler}.json").read_text(encoding="utf-8"))
        return {name: entry["version"] for name, entry in lock["packages"].items() if name}

    newest = installed(NODE_LINES[-1])
    for node in NODE_LINES:
        other = installed(node)
        differing = {name for name in newest.keys() | other.keys() if newest.get(name) != other.get(name)}
        assert differing <= NODE_TYPES, f"Node {node} ({bundler}) also differs in {sorted(differing - NODE_TYPES)}"


def test_answers_reach_the_files_that_use_them(rendered):
    answers, project = rendered
    package = json.loads((project / "package.json").read_text(encoding="utf-8"))
    assert package["engines"]["node"] == f">={answers['node_version']}"
    assert (project / ".nvmrc").read_text().strip() == answers["node_version"]
    example = (project / ".env.example").read_text()
    assert re.search(rf"^#?\s*AUTH_MODE={answers['auth_mode']}\s*$", example, re.MULTILINE), example
    assert "8080" in (project / "Dockerfile.production").read_text()


SHELL_LIBRARY = "scripts/lib.sh"
SHELLCHECKED: set[str] = set()  # digests of scripts found clean, see below
SOURCE_LIBRARY = '# shellcheck source=lib.sh\nsource "$(dirname "${BASH_SOURCE[0]}")/lib.sh"\n'


def test_every_shell_script_is_strict_executable_and_shellcheck_clean(rendered):
    """Scripts: strict mode, executable, sourcing the shared scripts/lib.sh; all clean under shellcheck."""
    _, project = rendered
    library = project / SHELL_LIBRARY
    scripts = sorted(path for path in project.rglob("*.sh") if path != library)
    assert scripts, "every variant has scripts"
    assert library.read_text(encoding="utf-8").startswith("# shellcheck shell=bash\n")
    assert not library.stat().st_mode & 0o111, "lib.sh is sourced, not run"
    shellcheck = find_tool("shellcheck")
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text, script.name
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"
        if script.parent == library.parent:
            assert "\nset -euo pipefail\n" + SOURCE_LIBRARY in text, f"{script.name} does not source lib.sh"
    # docs/development.md shows how a new script starts: the way these scripts start.
    (start,) = [block.text for block in blocks(project / "docs/development.md") if block.heading == "Scripts"]
    assert start.startswith("#!/usr/bin/env bash\n#"), start
    assert start.endswith("\nset -euo pipefail\n" + SOURCE_LIBRARY), start
    # Many variants render the same scripts: each distinct script (with the lib.sh and
    # .shellcheckrc it is checked with) goes through shellcheck once per test process.
    setting = library.read_text(encoding="utf-8") + (project / ".shellcheckrc").read_text(encoding="utf-8")
    unchecked = {}
    for path in [library, *scripts]:
        digest = hashlib.sha256((setting + path.name + path.read_text(encoding="utf-8")).encode()).hexdigest()
        if digest not in SHELLCHECKED:
            unchecked[digest] = path
    if unchecked:
        run([shellcheck, "--severity=style", *map(str, unchecked.values())])
        SHELLCHECKED.update(unchecked)
    if "alone" not in SHELLCHECKED:
        # One script on its own, as an editor or a pre-commit hook checks it: lib.sh is found through .shellcheckrc.
        run([shellcheck, "--severity=style", str(scripts[0])])
        SHELLCHECKED.add("alone")


def test_the_generated_scripts_repeat_no_block(bake_cached):
    """What several scripts need (usage, die, package.json, build secrets...) lives once, in lib.sh.

    Checked on the variant that has every script (a subset cannot repeat more).
    """
    duplicates = shutil.which("duplicates")
    if duplicates is None:
        pytest.skip("the `duplicates` tool is not installed on this machine")
    booleans = {key: True for key, value in COOKIECUTTER_JSON.items() if isinstance(value, bool)}
    project = bake_cached(**booleans)
    assert {path.name for path in (project / "scripts").iterdir()} >= {
        "deploy-cloud-run.sh",
        "scan-image.sh",
        "docker-buildx.sh",
    }
    result = run([duplicates, "--repo", str(project / "scripts")], check=False)  # its report is what is asserted
    assert result.stdout.startswith("no duplicates"), result.stdout


# --- the first hour: what the generated README has a user do -----------------------------------

# Files a user makes by following the README or the usual tooling, that must never be committed.
SECRET_PATHS = (".env", ".env.production", ".env.local", ".npmrc", "corporate-ca.pem", "tls/server.key", "secrets/x")
COMMITTED_PATHS = (".env.example", ".env.development", "package-lock.json", "src/index.ts")


@pytest.fixture(scope="module")
def defaults_project(bake_cached) -> Path:
    # No npm_registry: then a root .npmrc is the user's own (credentials) and must stay ignored.
    choices = {key: values[0] for key, values in COOKIECUTTER_JSON.items() if isinstance(values, list)}
    return bake_cached(**choices, npm_registry="")


def git_ignored(repository: Path, paths: list[str]) -> set[str]:
    """The paths git would ignore in this repository, by its .gitignore alone (asked of git itself)."""
    command = ["git", "-c", "core.excludesFile=/dev/null", "check-ignore", "--no-index", "--stdin"]
    # Exit 1 is "nothing ignored", an answer too.
    result = run(command, repository, input="\n".join(paths), check=False)
    assert result.returncode in (0, 1), result.stderr
    return set(result.stdout.split())


def test_files_the_readme_creates_are_git_ignored(defaults_project, tmp_path):
    pages = [defaults_project / "README.md", *sorted((defaults_project / "docs").rglob("*.md"))]
    shown = "\n".join(block.text for page in pages for block in blocks(page) if block.is_shell)
    # Every host file a page's commands mount into a container, or write with `>`, is such a file.
    made = set(re.findall(r'"\$PWD/([^":]+):', shown)) | set(re.findall(r"\s> ([\w./-]+)", shown))
    assert "secrets/api-keys" in made, "docs/docker.md's docker run example mounts an API key file"
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = tmp_path / "project"
    shutil.copytree(defaults_project, project)
    run(["git", "init", "-q", str(project)])
    ignored = git_ignored(project, [*made, *SECRET_PATHS, *COMMITTED_PATHS])
    assert ignored >= made | set(SECRET_PATHS), f"not git-ignored: {sorted(made | set(SECRET_PATHS) - ignored)}"
    assert not ignored & set(COMMITTED_PATHS), f"wrongly ignored: {sorted(ignored & set(COMMITTED_PATHS))}"


def test_the_docs_say_git_init_before_pre_commit_install(defaults_project):
    recipe = [
        line.split("#")[0].strip()
        for line in shown_commands(defaults_project / "docs/testing.md", "Git hooks with pre-commit")
    ]
    assert recipe[0] == "git init && git add -A" and "pre-commit install" in recipe[1:], recipe


def test_the_vs_code_config_asks_for_the_token_and_sends_it_as_a_bearer_header(defaults_project):
    """VS Code itself cannot run here: the `.vscode/mcp.json` the project ships (and the README
    points at) is checked for what VS Code reads: an http server at the README's URL, the token
    from a password input, never inline."""
    readme = (defaults_project / "README.md").read_text(encoding="utf-8")
    assert "[`.vscode/mcp.json`](.vscode/mcp.json)" in readme, "the README's VS Code recipe points at the file"
    config = json.loads((defaults_project / ".vscode" / "mcp.json").read_text(encoding="utf-8"))
    server = config["servers"][defaults_project.name]
    assert server["type"] == "http" and server["url"] == f"http://localhost:{COOKIECUTTER_JSON['port']}/mcp"
    assert server["url"] in readme
    reference = re.fullmatch(r"Bearer \$\{input:([\w-]+)\}", server["headers"]["Authorization"])
    assert reference, server["headers"]
    assert f"`Authorization: {server['headers']['Authorization']}`" in readme
    inputs = {item["id"]: item for item in config["inputs"]}
    assert inputs[reference.group(1)]["type"] == "promptString" and inputs[reference.group(1)]["password"] is True
