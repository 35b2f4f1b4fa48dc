"""Supply chain, as an auditor's tools read it: zizmor and yamllint on every variant and on the
template's own files, release tags protected, other tools' credential files kept out of build
contexts. Render tier: no Node, no engine. (Update cooldowns: test_dependency_updates.py; the
release build and the registry credential in CI: test_github_workflow.py, test_gitlab_ci.py;
the pre-commit hooks that run these auditors: test_pre_commit.py.)"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from support.docs import shown_commands
from support.process import run
from support.template import PROJECT_TEMPLATE, TEMPLATE_DIR
from variants import RENDER_VARIANTS

BIN = Path(sys.executable).parent
GITHUB_VARIANTS = [answers for answers in RENDER_VARIANTS if answers["ci"] == "github"]


def tool(name: str) -> str:
    return str(BIN / name)


def test_zizmor_finds_nothing_in_any_generated_workflow_nor_the_templates_own(bake_cached):
    """zizmor --offline at its default persona: every variant with GitHub CI, and .github/ here."""
    assert GITHUB_VARIANTS
    inputs = [bake_cached(**answers) / ".github" for answers in GITHUB_VARIANTS] + [TEMPLATE_DIR / ".github"]
    command = [tool("zizmor"), "--offline", "--no-progress", "--format", "json", *map(str, inputs)]
    result = run(command, timeout=300, check=False)  # the assertion below shows the findings
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stdout[-6000:] + result.stderr[-2000:]
    # It read every file it was given (an unrecognised folder would be no finding too).
    audited = re.findall(r"completed (\S+)", result.stderr)
    expected = [str(p / f) for p in inputs for f in ("dependabot.yml", "workflows/ci.yml")]
    assert set(expected) <= set(audited), (expected, audited)


def test_an_inline_zizmor_suppression_says_why():
    files = [*TEMPLATE_DIR.glob(".github/**/*.yml"), *PROJECT_TEMPLATE.glob(".github/**/*.yml")]
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "zizmor: ignore" in line:
                assert re.search(r"zizmor: ignore\[[^\]]+\]\s*\S{3,}", line), f"{path}: no reason beside {line!r}"


def yamllint(config: Path, *paths: Path) -> subprocess.CompletedProcess:
    command = [tool("yamllint"), "--strict", "--format", "parsable", "--config-file", str(config), *map(str, paths)]
    return run(command, timeout=300, check=False)  # the callers assert the exit code with the findings


def test_every_generated_yaml_file_passes_yamllint_with_the_config_it_ships(bake_cached):
    projects = [bake_cached(**answers) for answers in RENDER_VARIANTS]
    shipped = {(project / ".yamllint.yaml").read_text(encoding="utf-8") for project in projects}
    assert len(shipped) == 1, "every variant ships the same .yamllint.yaml"
    yaml_files = [p for project in projects for p in [*project.rglob("*.yml"), *project.rglob("*.yaml")]]
    assert len(yaml_files) > 10 * len(projects) // 2
    result = yamllint(projects[0] / ".yamllint.yaml", *yaml_files)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr


def test_the_templates_own_yaml_passes_yamllint():
    # Not a git checkout (an unpacked archive) is a skip, not a failure.
    tracked = run(["git", "ls-files", "*.yml", "*.yaml", ".yamllint.yaml"], TEMPLATE_DIR, check=False)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout: the template's own files are the ones git tracks")
    files = [TEMPLATE_DIR / f for f in tracked.stdout.split() if not f.startswith("{{")]
    assert files
    result = yamllint(TEMPLATE_DIR / ".yamllint.yaml", *files)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr


# --- the released image -----------------------------------------------------------------


def test_the_delivery_docs_say_to_protect_release_tags(bake_cached):
    for ci in ("github", "gitlab"):
        project = bake_cached(ci=ci)
        page = (project / "docs/deployment.md").read_text(encoding="utf-8")
        assert re.search(r"[Pp]rotect (the )?release tags", page), ci


# The identity a keyless signature of the publish job carries (Fulcio's certificate SAN), for a
# release tag of the repository acme/widget: the workflow file's URL at the ref, on each CI.
SIGNER = {
    "github": (
        "https://token.actions.githubusercontent.com",
        "https://github.com/acme/widget/.github/workflows/ci.yml@refs/tags/v1.2.3",
        ".github/workflows/ci.yml",
    ),
    "gitlab": (
        "https://gitlab.com",
        "https://gitlab.com/acme/widget//.gitlab-ci.yml@refs/tags/v1.2.3",
        ".gitlab-ci.yml",
    ),
}


@pytest.mark.parametrize("ci", sorted(SIGNER))
def test_the_verify_recipe_accepts_the_publish_jobs_signature_and_no_other(bake_cached, ci):
    """docs/deployment.md's `cosign verify` line, its placeholders filled in for acme/widget: its
    OIDC issuer is the CI's, and its identity pattern matches the workflow that signs (a file the
    project has) and not another workflow of the same repository."""
    project = bake_cached(ci=ci)
    shown = shown_commands(project / "docs/deployment.md", "Verify an image")
    filled = [re.sub(r"<(owner|group)>/<(repo|project)>", "acme/widget", command) for command in shown]
    assert filled[0].startswith("IMAGE=") and filled[0].endswith("@sha256:<digest>"), "verify by digest, not a tag"
    (verify,) = [command for command in filled if command.startswith("cosign verify ")]
    words = shlex.split(verify)
    issuer = words[words.index("--certificate-oidc-issuer") + 1]
    pattern = words[words.index("--certificate-identity-regexp") + 1]
    expected_issuer, identity, workflow = SIGNER[ci]
    assert issuer == expected_issuer
    assert (project / workflow).is_file() and "cosign sign" in (project / workflow).read_text(encoding="utf-8")
    assert re.match(pattern, identity), (pattern, identity)
    assert not re.match(pattern, identity.replace(workflow.rsplit("/", 1)[-1], "other.yml")), pattern
    assert not re.match(pattern, identity.replace("acme/widget", "acme/widget-fork")), pattern


# --- credential files never reach a build context -----------------------------------------

CREDENTIAL_PATTERNS = (
    "**/.netrc",
    "**/.git-credentials",
    "**/*.p12",
    "**/*.pfx",
    "**/*.jks",
    "**/.aws/",
    "**/.docker/config.json",
    "**/*service-account*.json",
    "**/application_default_credentials.json",
)


@pytest.mark.parametrize("ignore_file", [".dockerignore", ".gcloudignore"])
def test_ignore_files_keep_other_tools_credentials_out(bake_cached, ignore_file):
    for registry in ("", "https://npm.example.com/"):
        patterns = (bake_cached(cloud_run=True, npm_registry=registry) / ignore_file).read_text().splitlines()
        missing = [p for p in CREDENTIAL_PATTERNS if p not in patterns]
        assert not missing, missing
        # No later `!` pattern takes any of them back.
        reincluded = [p for p in patterns if p.startswith("!")]
        assert all(r in ("!**/.env.example", "!.npmrc", "!/.npmrc") for r in reincluded), reincluded
