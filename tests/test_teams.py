"""Teams: a defaults file, private registries, a fork with moved defaults, updates both ways, CI.

What docs/teams.md promises, each through the real tools: its `cookiecutter` and `cruft`
command lines and its `git` lines, read from the page (tests/support/docs.py) and run as
written but for the template's address, and the template's own test tiers run (unchanged)
inside a fork.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from support import process
from support.bake import TEMPLATE_DIR, bake
from support.docs import blocks, shown_commands
from support.template import render_file
from variants import COOKIECUTTER_JSON, OPTIONS

TEAMS_PAGE = TEMPLATE_DIR / "docs" / "teams.md"
# Where the page's commands name the template; a test puts its own copy there.
TEMPLATE_ADDRESS = "gh:<org>/<repo>"
GIT = ["git", "-c", "user.name=team-tests", "-c", "user.email=team@example.com", "-c", "init.defaultBranch=main"]
SKIP_DIRS = {".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache", ".cache"}
MIRROR = "mirror.example.com/dockerhub"
NPM_REGISTRY = "https://npm.example.com/repository/npm-group/"
ISSUER = "https://login.example.com/realms/platform"
JWKS = "https://login.example.com/realms/platform/protocol/openid-connect/certs"
# Team answers that are free text (any value, validated by the hook), moved off their empty default.
TEAM_STRINGS = {
    "container_registry": MIRROR,
    "npm_registry": NPM_REGISTRY,
    "auth_issuer": ISSUER,
    "auth_jwks_url": JWKS,
}
# Keys npm reads credentials from (and any per-host `//host/:key=` line, where they live).
NPM_AUTH_KEYS = re.compile(r"^\s*(//|_auth|_authToken|_password|username|password|email|certfile|keyfile|cert|key)\b")


def git(cwd: Path, *args: str) -> str:
    return process.run([*GIT, *args], cwd).stdout


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def run(cmd: list[str], cwd: Path, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    # support.process.run without its exit-code check: these tests assert it themselves, several
    # expect a refusal (a bad answer, cruft seeing a project behind its template).
    return process.run(cmd, cwd, env=env, timeout=timeout, check=False)


def cookiecutter_cli(cwd: Path, config: Path, template: Path | str, out: Path, *answers: str):
    command = [sys.executable, "-m", "cookiecutter", "--config-file", str(config), "--no-input", "-o", str(out)]
    return run([*command, str(template), *answers], cwd)


def copy_template(dest: Path) -> Path:
    """The template as a fork starts: its tracked (and new, not ignored) files, no local state."""
    if (TEMPLATE_DIR / ".git").exists() and shutil.which("git"):
        listed = git(TEMPLATE_DIR, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
        for relative in filter(None, listed):
            source = TEMPLATE_DIR / relative
            if source.is_file():
                (dest / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / relative)
    else:
        shutil.copytree(TEMPLATE_DIR, dest, ignore=lambda _d, names: [n for n in names if n in SKIP_DIRS])
    return dest


def git_repo(folder: Path, message: str) -> Path:
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", message)
    return folder


def moved_defaults(config: dict) -> dict:
    """cookiecutter.json with every option's default moved to another of its values."""
    moved = dict(config)
    for key, value in config.items():
        if key.startswith("_"):
            continue
        if isinstance(value, list):
            moved[key] = [*value[1:], value[0]]
        elif isinstance(value, bool):
            moved[key] = not value
        elif key in TEAM_STRINGS:
            moved[key] = TEAM_STRINGS[key] if value != TEAM_STRINGS[key] else ""
    return moved


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def team_defaults_file() -> str:
    """The worked team-defaults.yaml of the Teams page, verbatim."""
    (text,) = [
        block.text
        for block in blocks(TEAMS_PAGE)
        if block.heading == "Team defaults without a fork" and block.fence == "yaml"
    ]
    assert text.startswith("# team-defaults.yaml"), text
    return text


def team_defaults_command(start: str) -> str:
    """The Teams page's command that begins with `start`, from its "Team defaults" block."""
    (command,) = [c for c in shown_commands(TEAMS_PAGE, "Team defaults without a fork") if c.startswith(start)]
    assert TEMPLATE_ADDRESS in command, command
    return command


def replayed_answers(replay_dir: Path) -> dict:
    """The answers cookiecutter recorded for the generation (its replay file)."""
    (replay,) = replay_dir.glob("*.json")
    return json.loads(replay.read_text(encoding="utf-8"))["cookiecutter"]


def assert_project_follows(project: Path, answers: dict) -> None:
    """Read each answer back from the files it lands in."""
    read = lambda relative: (project / relative).read_text(encoding="utf-8")  # noqa: E731
    answers = {**{key: value for key, value in COOKIECUTTER_JSON.items() if isinstance(value, str)}, **answers}
    package = json.loads(read("package.json"))
    assert read(".nvmrc").strip() == answers["node_version"]
    assert answers["base_image"] in read("Dockerfile.production")
    assert re.search(rf"^AUTH_MODE={answers['auth_mode']}$", read(".env.example"), re.MULTILINE)
    if answers.get("auth_issuer"):
        example = read(".env.example").splitlines()
        assert f"AUTH_ISSUER={answers['auth_issuer']}" in example
        assert f"AUTH_JWKS_URL={answers['auth_jwks_url']}" in example
    assert package["license"] == ("UNLICENSED" if answers["license"] == "proprietary" else answers["license"])
    if "author_name" in answers:
        assert answers["author_name"] in json.dumps(package, ensure_ascii=False)
    assert (project / ".github/workflows/ci.yml").exists() is (answers["ci"] == "github")
    assert (project / ".gitlab-ci.yml").exists() is (answers["ci"] == "gitlab")
    assert (project / "cloudbuild.yaml").exists() is answers["cloud_run"]
    registry = answers.get("npm_registry", "")
    assert (project / ".npmrc").exists() is bool(registry)
    if registry:
        assert f"registry={registry}" in read(".npmrc").splitlines()
    prefix = answers.get("container_registry", "")
    if answers["ci"] == "gitlab":
        variables = yaml.safe_load(read(".gitlab/ci-variables.yml"))["variables"]
        assert variables["IMAGE_PREFIX"] == (f"{prefix}/" if prefix else "")
    if answers.get("kubernetes") and answers["auth_mode"] == "jwt" and answers.get("auth_issuer"):
        literals = yaml.safe_load(read("deploy/kubernetes/overlays/production/kustomization.yaml"))[
            "configMapGenerator"
        ][0]["literals"]
        assert f"AUTH_ISSUER={answers['auth_issuer']}" in literals
        assert f"AUTH_JWKS_URL={answers['auth_jwks_url']}" in literals
    if answers["cloud_run"] and answers["auth_mode"] == "jwt" and answers.get("auth_issuer"):
        service = yaml.safe_load(read("deploy/cloud-run/service.yaml"))
        env = {item["name"]: item.get("value") for item in service["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["AUTH_ISSUER"] == answers["auth_issuer"] and env["AUTH_JWKS_URL"] == answers["auth_jwks_url"]


# --- team defaults without a fork --------------------------------------------------------


def test_the_team_defaults_file_answers_every_question(tmp_path):
    """The page's worked file and its first command, through the real CLI, as written (the
    template's address filled in): every answer from the file, no prompt, no other input."""
    text = team_defaults_file()
    team = yaml.safe_load(text)["default_context"]
    assert {"base_image", "node_version", "auth_mode", "ci", *TEAM_STRINGS} <= set(team)
    config = tmp_path / "team-defaults.yaml"
    config.write_text(f"{text}replay_dir: {tmp_path / 'replay'}\n", encoding="utf-8")

    command = team_defaults_command("cookiecutter --config-file team-defaults.yaml --no-input")
    before = set(tmp_path.iterdir())
    result = shell_with_the_venv_tools(tmp_path, command.replace(TEMPLATE_ADDRESS, str(TEMPLATE_DIR)))
    assert result.returncode == 0, result.stdout + result.stderr
    answers = replayed_answers(tmp_path / "replay")
    assert {key: answers[key] for key in team} == team
    (project,) = set(tmp_path.iterdir()) - before - {tmp_path / "replay"}
    assert project.name == "billing-tools", "the page's project_name answer"
    assert_project_follows(project, answers)


def test_interactive_prompts_offer_the_team_defaults(tmp_path):
    """The page's interactive command: every question is asked (each prompt renders) and Enter
    takes the file's answer."""
    text = team_defaults_file()
    team = yaml.safe_load(text)["default_context"]
    config = tmp_path / "team-defaults.yaml"
    config.write_text(f"{text}replay_dir: {tmp_path / 'replay'}\n", encoding="utf-8")
    command = team_defaults_command("cookiecutter --config-file team-defaults.yaml gh:")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-ec", command.replace(TEMPLATE_ADDRESS, str(TEMPLATE_DIR))],
        cwd=tmp_path, env=env, input="\n" * 60, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    questions = len([key for key in COOKIECUTTER_JSON if not key.startswith("_")])
    asked = {int(n) for n, total in re.findall(r"\[(\d+)/(\d+)\]", result.stdout) if int(total) == questions}
    assert asked == set(range(1, questions + 1)), result.stdout[-3000:]
    answers = replayed_answers(tmp_path / "replay")
    assert {key: answers[key] for key in team} == team


def test_a_defaults_file_moving_every_option_is_followed(tmp_path):
    """Every option off its template default, only from the file: each answer is the file's."""
    moved = moved_defaults(COOKIECUTTER_JSON)
    team = {key: value[0] if isinstance(value, list) else value for key, value in moved.items() if key in OPTIONS}
    team |= {key: moved[key] for key in TEAM_STRINGS} | {"author_name": "Platform Team"}
    config = tmp_path / "team.yaml"
    config.write_text(
        yaml.safe_dump({"default_context": team, "replay_dir": str(tmp_path / "replay")}), encoding="utf-8"
    )

    result = cookiecutter_cli(tmp_path, config, TEMPLATE_DIR, tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    answers = replayed_answers(tmp_path / "replay")
    for key, value in team.items():
        default = COOKIECUTTER_JSON[key][0] if isinstance(COOKIECUTTER_JSON[key], list) else COOKIECUTTER_JSON[key]
        assert answers[key] == value != default, key
    (project,) = (tmp_path / "out").iterdir()
    assert_project_follows(project, answers)


def test_a_bad_answer_in_the_defaults_file_is_refused_naming_the_field(tmp_path):
    config = tmp_path / "team.yaml"
    config.write_text(yaml.safe_dump({"default_context": {"container_registry": "https://mirror.example.com"}}))
    result = cookiecutter_cli(tmp_path, config, TEMPLATE_DIR, tmp_path / "out")
    assert result.returncode != 0
    assert "container_registry: " in result.stderr and "no scheme" in result.stderr, result.stderr
    assert not any((tmp_path / "out").glob("*/package.json")), "nothing half-made"


# --- private registries ------------------------------------------------------------------

INVALID_TEAM_ANSWERS = [
    ("container_registry", "https://mirror.example.com"),
    ("container_registry", "mirror.example.com/"),
    ("container_registry", "mirror example.com"),
    ("container_registry", "user:secret@mirror.example.com"),
    ("container_registry", "myteam"),
    ("container_registry", "mirror.example.com/Upper"),
    ("npm_registry", "http://npm.example.com/"),
    ("npm_registry", "https://user:token@npm.example.com/"),
    ("npm_registry", "file:///etc/npmrc"),
    ("npm_registry", "https://npm.example.com/?token=x"),
    ("auth_issuer", "javascript:alert(1)"),
    ("auth_issuer", "https://login.example.com/ realms"),
    ("auth_jwks_url", "http://login.example.com/jwks.json"),
]


@pytest.mark.parametrize(("field", "value"), INVALID_TEAM_ANSWERS, ids=lambda v: str(v)[:24])
def test_bad_registry_and_identity_provider_answers_are_refused(tmp_path, capfd, field, value):
    with pytest.raises(FailedHookException):
        bake(tmp_path, **{field: value})
    err = capfd.readouterr().err
    assert f"{field}: {value!r} is not " in err, err
    assert list(tmp_path.iterdir()) == [], "a refused answer must leave nothing on disk"


@pytest.mark.parametrize(
    "registry",
    ["registry.example.com:5000", "localhost:5000/team", "gitlab.example.com/group/dependency_proxy/containers"],
)
def test_registry_hosts_with_ports_and_paths_are_accepted(bake_cached, registry):
    project = bake_cached(container_registry=registry, ci="gitlab")
    variables = yaml.safe_load((project / ".gitlab/ci-variables.yml").read_text(encoding="utf-8"))["variables"]
    assert variables["IMAGE_PREFIX"] == f"{registry}/"


def gitlab_images(project: Path) -> list[str]:
    """Every image a GitLab job or service runs, with the pipeline's variables resolved."""
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    variables = {**config["variables"]}
    variables |= yaml.safe_load((project / ".gitlab/ci-variables.yml").read_text(encoding="utf-8"))["variables"]
    raw = [job["image"] for job in config.values() if isinstance(job, dict) and "image" in job]
    raw += [service["name"] for job in config.values() if isinstance(job, dict) for service in job.get("services", [])]
    assert raw and all(image.startswith("${IMAGE_PREFIX}") for image in raw), raw
    return [re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], image) for image in raw]


def test_gitlab_ci_images_follow_the_container_registry(bake_cached):
    public = gitlab_images(bake_cached(ci="gitlab", node_version="22", container_registry=""))
    assert "node:22-trixie-slim" in public and all("/" not in image.split(":")[0] for image in public), public
    mirrored = gitlab_images(bake_cached(ci="gitlab", node_version="22", container_registry=MIRROR))
    assert mirrored == [f"{MIRROR}/{image}" for image in public]


IMAGE_ARG = re.compile(r"^ARG (?P<name>\w*IMAGE)=(?P<image>\S+)$", re.MULTILINE)
DOCKERFILES = ("Dockerfile.production", "Dockerfile.development")


def image_args(dockerfile: str, **answers) -> dict[str, str]:
    return {m["name"]: m["image"] for m in IMAGE_ARG.finditer(render_file(dockerfile, **answers))}


@pytest.mark.parametrize("base_image", OPTIONS["base_image"])
@pytest.mark.parametrize("registry", [MIRROR, "registry.example.com:5000/hub"])
def test_every_base_image_follows_the_container_registry(base_image, registry):
    """One rule for every image, Docker Hub's and others' (gcr.io/...): <registry>/<reference as written>."""
    for dockerfile in DOCKERFILES:
        public = image_args(dockerfile, base_image=base_image, container_registry="")
        mirrored = image_args(dockerfile, base_image=base_image, container_registry=registry)
        assert public and all(not image.startswith(registry) for image in public.values()), public
        assert mirrored == {name: f"{registry}/{image}" for name, image in public.items()}, dockerfile


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_image_builds_read_the_project_npmrc_only_when_there_is_one_and_never_copy_it(dockerfile):
    """The project .npmrc is bind-mounted into each step that reaches the registry, never COPYed:
    a credential someone adds to it later stays out of every layer (and every cache export)."""
    bind = "--mount=type=bind,source=.npmrc,target=/app/.npmrc"
    with_registry = render_file(dockerfile, npm_registry=NPM_REGISTRY)
    runs = [block for block in re.split(r"\n(?=[A-Z]+ )", with_registry) if block.startswith("RUN ")]
    registry_steps = [run for run in runs if re.search(r"npm (ci|audit)\b", run)]
    assert registry_steps and all(bind in run for run in registry_steps), registry_steps
    assert all(bind not in run for run in runs if run not in registry_steps)
    assert not re.findall(r"^(COPY|ADD) .*(npmrc|\. \.$)", with_registry, re.MULTILINE), "a COPY may bring .npmrc in"
    without = render_file(dockerfile, npm_registry="")
    assert "npmrc,target=/app" not in without and ".npmrc ./" not in without


def test_cloud_build_step_images_follow_the_container_registry(bake_cached):
    def step_images(**answers) -> list[str]:
        build = yaml.safe_load((bake_cached(cloud_run=True, **answers) / "cloudbuild.yaml").read_text(encoding="utf-8"))
        return [step["name"] for step in build["steps"]]

    public = step_images(container_registry="")
    assert public and all(image.startswith("gcr.io/") for image in public), public
    assert step_images(container_registry=MIRROR) == [f"{MIRROR}/{image}" for image in public]


def test_github_ci_takes_buildkit_from_the_registry_and_npm_credentials_from_a_secret(bake_cached):
    project = bake_cached(ci="github", container_registry=MIRROR)
    env_file = (project / ".github/ci-variables.env").read_text(encoding="utf-8")
    assert f"IMAGE_PREFIX={MIRROR}/" in env_file.splitlines()
    assert (
        "IMAGE_PREFIX="
        in (bake_cached(ci="github", container_registry="") / ".github/ci-variables.env").read_text().splitlines()
    )
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    for name in ("docker", "scan", "publish"):
        steps = workflow["jobs"][name]["steps"]
        runs = [step.get("run", "") for step in steps]
        loads = next(i for i, run in enumerate(runs) if ".github/ci-variables.env" in run)
        # The credential is a file the builds get as a secret, never npm's user config for later steps.
        assert "NPMRC" in steps[loads]["env"] and "NPM_CONFIG_USERCONFIG" not in runs[loads], name
        buildx = [i for i, step in enumerate(steps) if step.get("uses", "").startswith("docker/setup-buildx-action@")]
        assert buildx and all(i > loads for i in buildx), name
        for i in buildx:
            assert steps[i]["with"]["driver-opts"] == "image=${{ env.IMAGE_PREFIX }}moby/buildkit:buildx-stable-1"
        builds = [step for step in steps if step.get("uses", "").startswith("docker/build-push-action@")]
        assert builds and all(b["with"]["secret-files"] == "npmrc=${{ steps.npmrc.outputs.file }}" for b in builds)
    node_runs = [step.get("run", "") for step in workflow["jobs"]["node"]["steps"]]
    install = next(r for r in node_runs if "NPM_CONFIG_USERCONFIG" in r)
    assert 'NPM_CONFIG_USERCONFIG="$userconfig" npm ci --ignore-scripts' in install
    assert node_runs.index(install) < node_runs.index("npm rebuild")


def test_npm_registry_writes_a_project_npmrc_without_credentials(bake_cached, tmp_path):
    project = bake_cached(npm_registry="https://npm.example.com/repository/npm-group", cloud_run=True)
    lines = (project / ".npmrc").read_text(encoding="utf-8").splitlines()
    settings = [line for line in lines if line.strip() and not line.lstrip().startswith(("#", ";"))]
    assert settings == ["registry=https://npm.example.com/repository/npm-group/"]
    assert not [line for line in settings if NPM_AUTH_KEYS.match(line)], "credentials in the project .npmrc"
    # git keeps the project's .npmrc (CI and image builds read it from a checkout); nested ones stay ignored.
    checkout = shutil.copytree(project, tmp_path / "checkout")
    git(checkout, "init", "-q")
    ignored = [".npmrc", "config/.npmrc"]
    check = run(["git", "check-ignore", "--no-index", *ignored], checkout)
    assert check.stdout.split() == ["config/.npmrc"], check.stdout + check.stderr
    # The project's .npmrc reaches the build context (and Cloud Build); nested ones never do.
    for ignore_file, reinclude in ((".dockerignore", "!.npmrc"), (".gcloudignore", "!/.npmrc")):
        patterns = (project / ignore_file).read_text(encoding="utf-8").splitlines()
        assert patterns.index("**/.npmrc") < patterns.index(reinclude), ignore_file
        assert [p for p in patterns if "npmrc" in p and not p.startswith("#")] == ["**/.npmrc", reinclude]


def test_no_npm_registry_means_no_npmrc_and_every_npmrc_kept_out(bake_cached):
    project = bake_cached(npm_registry="", cloud_run=True)
    assert not (project / ".npmrc").exists()
    for ignore_file in (".dockerignore", ".gcloudignore"):
        patterns = (project / ignore_file).read_text(encoding="utf-8").splitlines()
        assert [p for p in patterns if "npmrc" in p and not p.startswith("#")] == ["**/.npmrc"], ignore_file


def test_identity_provider_answers_reach_cloud_run_and_kubernetes(bake_cached):
    first = {key: values[0] for key, values in OPTIONS.items()}
    answers = {
        **first,
        "cloud_run": True,
        "kubernetes": True,
        "auth_mode": "jwt",
        "ci": "gitlab",
        "auth_issuer": ISSUER,
        "auth_jwks_url": JWKS,
    }
    assert_project_follows(bake_cached(**answers), answers)
    placeholder = yaml.safe_load(
        (
            bake_cached(cloud_run=True, auth_mode="jwt", auth_issuer="", auth_jwks_url="")
            / "deploy/cloud-run/service.yaml"
        ).read_text(encoding="utf-8")
    )
    env = {item["name"]: item["value"] for item in placeholder["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AUTH_ISSUER"].startswith("https://auth.example.com/")


# --- a fork that stays easy to merge -------------------------------------------------------

# The render and hook tiers (about 20 s): every option value, file set, parse check and refusal.
FORK_TIER_MODULES = ["tests/test_render.py", "tests/test_hooks.py"]


def test_a_fork_with_every_default_moved_passes_the_render_and_hook_tiers(tmp_path):
    """A copy of the template with every default moved: its own render and hook tests, unchanged, pass."""
    fork = copy_template(tmp_path / "fork")
    config = json.loads((fork / "cookiecutter.json").read_text(encoding="utf-8"))
    moved = moved_defaults(config)
    for key in OPTIONS:
        assert moved[key] != config[key], key
    write_json(fork / "cookiecutter.json", moved)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    # The tiers the Teams page has a fork run after a merge: run-tests.sh passes its arguments to
    # pytest (after setting the machine up, which this machine already is).
    (tiers,) = [line for line in fork_takes_upstream() if line.startswith("scripts/run-tests.sh ")]
    selection = shlex.split(tiers, comments=True)[1:]
    assert selection == ["-m", "not docker and not node"], selection
    command = [sys.executable, "-m", "pytest", *selection, "-p", "no:cacheprovider", "-q"]
    result = run([*command, *FORK_TIER_MODULES], fork, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout[-2000:]


# --- upstream and downstream ---------------------------------------------------------------

FORK_FILE = "{{cookiecutter.project_slug}}/TEAM.md"


def make_fork(tmp_path: Path) -> tuple[Path, Path]:
    """An upstream repository and a fork of it that moved two defaults and added a file."""
    upstream = git_repo(copy_template(tmp_path / "upstream"), "upstream v1")
    fork = tmp_path / "fork"
    process.run([*GIT, "clone", "-q", str(upstream), str(fork)])
    config = json.loads((fork / "cookiecutter.json").read_text(encoding="utf-8"))
    for key in ("bundler", "auth_mode"):
        config[key] = [*config[key][1:], config[key][0]]
    write_json(fork / "cookiecutter.json", config)
    (fork / FORK_FILE).write_text("# {{ cookiecutter.project_name }}\n\nRun by the platform team.\n")
    git(fork, "add", "-A")
    git(fork, "commit", "-qm", "fork: team defaults and TEAM.md")
    return upstream, fork


def shell_with_the_venv_tools(cwd: Path, script: str) -> subprocess.CompletedProcess:
    """A page's line as a user's shell runs it, with cruft on the PATH (the test venv's, the
    versions a fresh `pip install cruft` gets)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return run(["bash", "-ec", script], cwd, env=env)


def test_projects_from_a_fork_update_from_the_fork_with_cruft(tmp_path):
    """The Teams page's cruft lines, as written (the fork's URL and the project folder filled in):
    `cruft create` from a defaults file, then, after the fork moved on, `cruft update
    --skip-apply-ask` and `git diff` bring its changes and keep the project's own."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _, fork = make_fork(tmp_path)
    fork_config = json.loads((fork / "cookiecutter.json").read_text(encoding="utf-8"))
    work = tmp_path / "work"
    work.mkdir()
    (work / "team-defaults.yaml").write_text(
        yaml.safe_dump({"default_context": {"npm_registry": NPM_REGISTRY}}), encoding="utf-8"
    )

    # "Team defaults": a project created under cruft with one answer on the command line.
    named = team_defaults_command("cruft create")
    created = shell_with_the_venv_tools(work, named.replace(TEMPLATE_ADDRESS, str(fork)))
    assert created.returncode == 0, created.stdout + created.stderr
    assert (work / "billing-tools" / "TEAM.md").read_text().startswith("# Billing Tools\n")
    assert "  cd billing-tools\n" in created.stdout, "the first steps are printed under cruft too"

    # "Updates both ways": create, work on the project, the fork moves on, update.
    lines = shown_commands(TEAMS_PAGE, "Updates both ways", 0)
    (create,) = [line for line in lines if line.startswith("cruft create")]
    update = [line for line in lines if not line.startswith("cruft create")]
    assert any("cruft update" in line for line in update), lines
    before = set(work.iterdir())
    url = "https://git.example.com/platform/cookiecutter-mcp-server.git"
    assert url in create
    created = shell_with_the_venv_tools(work, create.replace(url, str(fork)))
    assert created.returncode == 0, created.stdout + created.stderr
    (project,) = set(work.iterdir()) - before
    recorded = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert recorded["template"] == str(fork)
    context = recorded["context"]["cookiecutter"]
    assert context["bundler"] == fork_config["bundler"][0] and context["auth_mode"] == fork_config["auth_mode"][0]
    assert context["npm_registry"] == NPM_REGISTRY
    git_repo(project, "generated")

    # The project team's own work...
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur deployment notes.\n")
    git(project, "commit", "-qam", "local notes")
    # ...and, meanwhile, the fork changes its own file and one it took from upstream.
    (fork / FORK_FILE).write_text((fork / FORK_FILE).read_text() + "On call: #platform.\n")
    echo = fork / "{{cookiecutter.project_slug}}/src/tools/echo.ts"
    echo.write_text(echo.read_text() + "// improved in the fork\n")
    git(fork, "commit", "-qam", "fork: on-call channel, echo improved")

    assert run([tool("cruft"), "check"], project).returncode != 0, "cruft must see the project is behind the fork"
    script = "\n".join(update).replace("<project>", project.name)
    updated = shell_with_the_venv_tools(work, script)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "+// improved in the fork" in updated.stdout, "git diff shows the update for review"
    assert "First steps" not in updated.stdout, "cruft's temporary renders print no first steps"
    assert (project / "TEAM.md").read_text().endswith("On call: #platform.\n")
    assert (project / "src/tools/echo.ts").read_text().endswith("// improved in the fork\n")
    assert "Our deployment notes." in readme.read_text(), "the project's own work is kept"
    assert (project / ".npmrc").exists(), "the team's answers are kept"
    assert run([tool("cruft"), "check"], project).returncode == 0


def test_a_fork_takes_upstream_with_a_clean_git_merge(tmp_path):
    """Upstream adds an option and improves a file; the fork changed only defaults and added a file."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    upstream, fork = make_fork(tmp_path)
    config = json.loads((upstream / "cookiecutter.json").read_text(encoding="utf-8"))
    keys = list(config)
    position = keys.index("_copy_without_render")
    config = dict([*list(config.items())[:position], ("upstream_flag", "on"), *list(config.items())[position:]])
    config["__prompts__"]["upstream_flag"] = "A new upstream option"
    write_json(upstream / "cookiecutter.json", config)
    echo = upstream / "{{cookiecutter.project_slug}}/src/tools/echo.ts"
    echo.write_text(echo.read_text() + "// improved upstream\n")
    git(upstream, "commit", "-qam", "upstream v2")

    # The page's lines, as written but for upstream's address.
    git_lines = [line for line in fork_takes_upstream() if line.startswith("git ")]
    assert git_lines[0].startswith("git remote add upstream https://github.com/<org>/<repo>.git"), git_lines
    script = "\n".join(git_lines).replace("https://github.com/<org>/<repo>.git", str(upstream))
    identity = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
                for what, value in (("NAME", "team-tests"), ("EMAIL", "team@example.com"))}  # fmt: skip
    merged = run(["bash", "-ec", script], fork, env={**os.environ, **identity, "GIT_MERGE_AUTOEDIT": "no"})
    assert merged.returncode == 0, merged.stdout + merged.stderr
    result = json.loads((fork / "cookiecutter.json").read_text(encoding="utf-8"))
    assert result["upstream_flag"] == "on" and result["bundler"][0] != config["bundler"][0]

    project = bake_from(fork, tmp_path / "out")
    assert (project / "TEAM.md").exists()
    assert (project / "src/tools/echo.ts").read_text().endswith("// improved upstream\n")


def test_a_fork_checkout_generates_with_cookiecutter_dot(tmp_path):
    """`cookiecutter .` inside the fork's checkout, as a shell runs it (the hook finds the fork's choices)."""
    fork = copy_template(tmp_path / "fork")
    command = f'"{sys.executable}" -m cookiecutter --no-input . -o ../out license=proprietary'
    result = subprocess.run(["bash", "-c", command], cwd=fork, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (project,) = (tmp_path / "out").iterdir()
    assert json.loads((project / "package.json").read_text(encoding="utf-8"))["license"] == "UNLICENSED"


def fork_takes_upstream() -> list[str]:
    """The Teams page's commands for a fork taking upstream: git remote, fetch and merge, then the tiers."""
    return shown_commands(TEAMS_PAGE, "Updates both ways", 1)


def bake_from(template: Path, out: Path) -> Path:
    result = run([sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(out), str(template)], out.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    (project,) = out.iterdir()
    return project


# --- the docker tier: registries proven on a real engine -----------------------------------


@pytest.mark.docker
def test_the_build_context_gets_the_project_npmrc_and_no_nested_one(engine, bake_cached, tmp_path):
    """What the engine receives: the root .npmrc (the registry), never a nested one (a secret)."""
    project = bake_cached(npm_registry=NPM_REGISTRY)
    context = tmp_path / "context"
    shutil.copytree(project, context)
    for nested in ("config/.npmrc", "src/.npmrc", "packages/a/.npmrc"):
        (context / nested).parent.mkdir(parents=True, exist_ok=True)
        (context / nested).write_text("//npm.example.com/:_authToken=secret\n")
    dockerfile = tmp_path / "Dockerfile.context"
    dockerfile.write_text("FROM scratch\nCOPY . /\n")
    received = tmp_path / "received"
    engine.cmd("build", "--file", str(dockerfile), "--output", f"type=local,dest={received}", str(context))
    sent = {str(p.relative_to(received)) for p in received.rglob("*") if p.is_file()}
    assert ".npmrc" in sent and (received / ".npmrc").read_text() == (project / ".npmrc").read_text()
    assert not [path for path in sent if path.endswith("/.npmrc")], "a nested .npmrc reached the build context"


MIRROR_UNDER_TEST = "teams-mirror.local/dockerhub"
# The public registry, spelled so that only a read .npmrc makes npm report it (its default has no :443).
NPM_REGISTRY_UNDER_TEST = "https://registry.npmjs.org:443/"


@pytest.fixture(scope="module")
def ca_secret() -> list[str]:
    """The system CA as an extra CA for npm in the build (this machine's TLS-intercepting proxy)."""
    for candidate in (os.environ.get("NODE_EXTRA_CA_CERTS"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return ["--secret", f"id=ca,src={candidate}"]
    return []


@pytest.mark.docker
@pytest.mark.parametrize("base_image", OPTIONS["base_image"])
def test_a_project_generated_with_a_mirror_builds_against_standins_under_the_mirror_name(
    engine, ca_secret, tmp_path, base_image
):
    """Every base image tagged only under the mirror's name; the generated project builds with
    no --build-arg, runs hardened and serves MCP, and npm in the build reads the project .npmrc."""
    from test_docker import assert_serves_mcp_with_jwt, image_files

    from support.docker_engine import base_images

    node_version = "24"
    public = {
        name: image.replace("${NODE_VERSION}", node_version)
        for dockerfile in DOCKERFILES
        for name, image in image_args(
            dockerfile, base_image=base_image, node_version=node_version, container_registry=""
        ).items()
    }
    local, note = base_images(engine, base_image, node_version)
    if local is None:
        pytest.skip(f"{base_image}: {note}")
    local["DEV_IMAGE"] = local["BUILD_IMAGE"]  # the development image is the build stage's Node image
    for name, image in public.items():
        mirrored = f"{MIRROR_UNDER_TEST}/{image}"
        engine.cmd("tag", local[name], mirrored)
        engine.images.append(mirrored)  # removes the tag only, at cleanup

    answers = {"base_image": base_image, "node_version": node_version, "auth_mode": "jwt"}
    project = bake(tmp_path, **answers, container_registry=MIRROR_UNDER_TEST, npm_registry=NPM_REGISTRY_UNDER_TEST)
    # No --build-arg: the Dockerfiles' ARG defaults name the mirror.
    tag, log = engine.build(project, tag=f"teams-mirror-test/{base_image}:{uuid.uuid4().hex[:8]}", extra=ca_secret)
    for name in ("BUILD_IMAGE", "RUNTIME_IMAGE"):
        assert f"{MIRROR_UNDER_TEST}/{public[name]}" in log, f"{name} did not come from the mirror:\n{log[-3000:]}"
    assert_serves_mcp_with_jwt(engine, tag)
    files, _ = image_files(engine, tag)
    assert not [path for path in files if path.endswith("/.npmrc")], "an .npmrc is in the runtime image"

    # npm in the build reads the project's .npmrc where its RUN steps bind-mount it (/app/.npmrc,
    # the project config of WORKDIR /app), and no layer keeps it (at most an empty mount point).
    deps, _ = engine.build(
        project, tag=f"teams-mirror-test/deps:{uuid.uuid4().hex[:8]}", extra=[*ca_secret, "--target", "deps"]
    )
    kept = engine.cmd("run", "--rm", "--entrypoint", "sh", deps, "-c", "test -s /app/.npmrc && echo kept || true")
    assert kept.stdout.strip() == "", "the project .npmrc is in a layer of the deps stage"
    mount = ["--volume", f"{project / '.npmrc'}:/app/.npmrc:ro"]
    registry = engine.cmd("run", "--rm", *mount, "--entrypoint", "npm", deps, "config", "get", "registry")
    assert registry.stdout.strip() == NPM_REGISTRY_UNDER_TEST

    # The development image installs through the same bind mount and copies its sources one by
    # one (`COPY . .` would bring the project .npmrc along): no .npmrc, the sources there.
    dev, _ = engine.build(
        project,
        dockerfile="Dockerfile.development",
        tag=f"teams-mirror-test/dev:{uuid.uuid4().hex[:8]}",
        extra=ca_secret,
    )
    listing = engine.cmd("run", "--rm", "--entrypoint", "sh", dev, "-c", "test -s /app/.npmrc && echo kept; ls /app")
    assert "kept" not in listing.stdout.split(), "the project .npmrc is in the development image"
    assert {"src", "dev", "tsconfig.json", "node_modules"} <= set(listing.stdout.split()), listing.stdout
