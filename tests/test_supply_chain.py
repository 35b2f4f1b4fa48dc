"""Supply chain and delivery, as an auditor reads them: zizmor and yamllint on every variant,
update cooldowns, the release build's cache, the registry credential in CI, credential files
kept out of build contexts. Render tier: no Node, no engine."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.docs import shown_commands
from support.template import TEMPLATE_DIR
from variants import RENDER_VARIANTS

BIN = Path(sys.executable).parent
GITHUB_VARIANTS = [answers for answers in RENDER_VARIANTS if answers["ci"] == "github"]
GITLAB_VARIANTS = [answers for answers in RENDER_VARIANTS if answers["ci"] == "gitlab"]
TEMPLATE_PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"


def tool(name: str) -> str:
    return str(BIN / name)


def code(shell: str) -> str:
    """A shell script without its comment lines."""
    return "\n".join(line for line in shell.splitlines() if not line.lstrip().startswith("#"))


def test_zizmor_finds_nothing_in_any_generated_workflow_nor_the_templates_own(bake_cached):
    """zizmor --offline at its default persona: every variant with GitHub CI, and .github/ here."""
    assert GITHUB_VARIANTS
    inputs = [bake_cached(**answers) / ".github" for answers in GITHUB_VARIANTS] + [TEMPLATE_DIR / ".github"]
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "json", *map(str, inputs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stdout[-6000:] + result.stderr[-2000:]
    # It read every file it was given (an unrecognised folder would be no finding too).
    audited = re.findall(r"completed (\S+)", result.stderr)
    expected = [str(p / f) for p in inputs for f in ("dependabot.yml", "workflows/ci.yml")]
    assert set(expected) <= set(audited), (expected, audited)


def test_an_inline_zizmor_suppression_says_why():
    files = [*TEMPLATE_DIR.glob(".github/**/*.yml"), *TEMPLATE_PROJECT.glob(".github/**/*.yml")]
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "zizmor: ignore" in line:
                assert re.search(r"zizmor: ignore\[[^\]]+\]\s*\S{3,}", line), f"{path}: no reason beside {line!r}"


def yamllint(config: Path, *paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("yamllint"), "--strict", "--format", "parsable", "--config-file", str(config), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_generated_yaml_file_passes_yamllint_with_the_config_it_ships(bake_cached):
    projects = [bake_cached(**answers) for answers in RENDER_VARIANTS]
    shipped = {(project / ".yamllint.yaml").read_text(encoding="utf-8") for project in projects}
    assert len(shipped) == 1, "every variant ships the same .yamllint.yaml"
    yaml_files = [p for project in projects for p in [*project.rglob("*.yml"), *project.rglob("*.yaml")]]
    assert len(yaml_files) > 10 * len(projects) // 2
    result = yamllint(projects[0] / ".yamllint.yaml", *yaml_files)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr


def test_the_templates_own_yaml_passes_yamllint():
    tracked = subprocess.run(
        ["git", "ls-files", "*.yml", "*.yaml", ".yamllint.yaml"],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout: the template's own files are the ones git tracks")
    files = [TEMPLATE_DIR / f for f in tracked.stdout.split() if not f.startswith("{{")]
    assert files
    result = yamllint(TEMPLATE_DIR / ".yamllint.yaml", *files)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr


@pytest.mark.parametrize(
    "config", [TEMPLATE_DIR / ".pre-commit-config.yaml", TEMPLATE_PROJECT / ".pre-commit-config.yaml"]
)
def test_pre_commit_runs_yamllint_and_zizmor_offline_from_pypi(config):
    hooks = {h["id"]: h for r in yaml.safe_load(config.read_text(encoding="utf-8"))["repos"] for h in r["hooks"]}
    requirements = (TEMPLATE_DIR / "requirements-test.txt").read_text(encoding="utf-8").split()
    for hook_id, entry in (("yamllint", "yamllint --strict"), ("zizmor", "zizmor --offline")):
        hook = hooks[hook_id]
        assert hook["entry"] == entry and hook["language"] == "python"
        # The same pin as the tests use: what passes here passes in the hook.
        assert hook["additional_dependencies"] and hook["additional_dependencies"][0] in requirements
    assert re.search(hooks["zizmor"]["files"], ".github/workflows/ci.yml")
    assert re.search(hooks["zizmor"]["files"], ".github/dependabot.yml")


# --- updates wait before they are proposed ------------------------------------------------


@pytest.mark.parametrize("answers", GITHUB_VARIANTS[:1] + [{"ci": None}], ids=["generated", "template"])
def test_dependabot_waits_a_cooldown_on_every_ecosystem(bake_cached, answers):
    root = TEMPLATE_DIR if answers["ci"] is None else bake_cached(**answers)
    config = yaml.safe_load((root / ".github/dependabot.yml").read_text(encoding="utf-8"))
    for update in config["updates"]:
        assert update["cooldown"]["default-days"] >= 7, update["package-ecosystem"]


@pytest.mark.parametrize("ci", ["github", "gitlab", "none"])
def test_renovate_waits_a_minimum_release_age(bake_cached, ci):
    config = json.loads((bake_cached(ci=ci) / "renovate.json").read_text(encoding="utf-8"))
    assert config["minimumReleaseAge"] == "7 days"


# --- the released image -----------------------------------------------------------------


def test_github_publish_builds_without_a_shared_cache_then_tests_then_pushes_and_signs(bake_cached):
    project = bake_cached(ci="github")
    steps = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))["jobs"]["publish"][
        "steps"
    ]
    builds = [i for i, s in enumerate(steps) if s.get("uses", "").startswith("docker/build-push-action@")]
    assert len(builds) == 2, builds
    assert all("cache-from" not in steps[i]["with"] and "cache-to" not in steps[i]["with"] for i in builds)
    candidate, push = (steps[i]["with"] for i in builds)
    assert candidate["load"] is True and candidate["push"] is False and push["push"] is True
    # The pushed build has the tested build's inputs (the same layers, from the job's own builder).
    assert candidate["build-args"] == push["build-args"] and candidate["target"] == push["target"]
    test = next(i for i, s in enumerate(steps) if s.get("run") == "scripts/test-docker.sh")
    assert steps[test]["env"]["IMAGE"] == candidate["tags"] and steps[test]["env"]["SKIP_BUILD"] == "1"
    sign = next(i for i, s in enumerate(steps) if "cosign sign" in s.get("run", ""))
    assert builds[0] < test < builds[1] < sign


def test_gitlab_publish_builds_without_a_shared_cache_then_tests_then_pushes_and_signs(bake_cached):
    ci = yaml.safe_load((bake_cached(ci="gitlab") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    script = code("\n".join(ci["publish"]["script"]))
    for cache in ("--cache-from", "--cache-to", "type=registry"):
        assert cache not in script
    order = ["--load", "scripts/test-docker.sh", "--push", "cosign sign"]
    positions = [script.index(marker) for marker in order]
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))
    assert ci["publish"]["variables"]["TEST_HOST"] == "docker"


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


# --- the npm registry credential in CI --------------------------------------------------


def test_github_ci_install_scripts_never_see_the_registry_credential(bake_cached):
    jobs = yaml.safe_load((bake_cached(ci="github") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))["jobs"]
    for name, job in jobs.items():
        for step in job["steps"]:
            run = code(step.get("run", ""))
            assert not re.search(r"NPM_CONFIG_USERCONFIG=.*GITHUB_ENV", run), f"{name}: credential for every later step"
            if "secrets.NPMRC" in str(step.get("env", {})):
                npm_commands = re.findall(r"(?:^|[\s;&|])npm [a-z][^\n]*", run)
                assert npm_commands or not re.search(r"\bnpm\b", run), (name, run)
                assert all("--ignore-scripts" in c for c in npm_commands), (name, npm_commands)
    node = [step.get("run", "") for step in jobs["node"]["steps"]]
    install = next(i for i, run in enumerate(node) if "npm ci" in run)
    assert "--ignore-scripts" in node[install] and "trap 'rm -f \"$userconfig\"' EXIT" in node[install]
    assert node.index("npm rebuild") == install + 1


def test_gitlab_ci_install_scripts_never_see_the_registry_credential(bake_cached):
    ci = yaml.safe_load((bake_cached(ci="gitlab") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    before = ci[".node"]["before_script"]
    install = next(i for i, line in enumerate(before) if line.startswith("npm ci"))
    assert "--ignore-scripts" in before[install]
    rebuild = before.index("npm rebuild")
    between = before[install + 1 : rebuild]
    assert any('rm -f "$NPM_CONFIG_USERCONFIG"' in line for line in between)
    assert "unset NPM_CONFIG_USERCONFIG" in between


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
