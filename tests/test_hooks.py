"""The hooks: refused answers name their field and leave nothing; legal but awkward answers render valid files."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from support.bake import bake, bake_with_cli, project_of
from support.docs import shell_block, shown_commands
from support.process import run
from support.template import TEMPLATE_DIR, cookiecutter_json
from variants import CHOICE_OPTIONS, DEFAULTS, OPTIONS


def load_hook(name: str):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_DIR / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")


def leftovers(folder: Path) -> list[str]:
    """What a bake left in a test's tmp folder, besides pytest-cookies' own empty output folders."""
    return [
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if not (path.is_dir() and (path.name == "cookies" or path.name.startswith("bake")))
    ]


# --- refused answers -------------------------------------------------------------------

INVALID_ANSWERS = [
    ("project_slug", "My Server", "not a valid npm package and Docker image name"),
    ("project_slug", "-leading-hyphen", "not a valid npm package and Docker image name"),
    ("project_slug", "under_score", "not a valid npm package and Docker image name"),
    ("project_slug", "a" * 129, "at most 128"),
    ("project_name", "   ", "must not be empty"),
    ("project_name", "two\nlines", "single line"),
    ("description", "tab\there", "single line"),
    ("author_name", "", "must not be empty"),
    ("author_email", "not-an-email", "does not look like an email"),
    ("author_email", "a@b", "does not look like an email"),
    ("version", "1.0", "not a semantic version"),
    ("version", "v1.0.0", "not a semantic version"),
    ("port", "0", "not a TCP port"),
    ("port", "65536", "not a TCP port"),
    ("port", "80a", "not a TCP port"),
    ("port", "-1", "not a TCP port"),
    ("port", "0080", "not a TCP port"),
    ("port", "８０８０", "not a TCP port"),
    ("port", "²", "not a TCP port"),
    ("image_repository", "ghcr.io/acme/server:1.0", "not an image repository"),
    ("image_repository", "ghcr.io/acme/server@sha256:" + "a" * 64, "not an image repository"),
    ("image_repository", "acme/server", "not an image repository"),
    ("image_repository", "https://ghcr.io/acme/server", "not an image repository"),
    ("image_repository", "ghcr.io/Acme/server", "not an image repository"),
    ("image_repository", "ghcr.io", "not an image repository"),
]


@pytest.mark.parametrize(("field", "value", "message"), INVALID_ANSWERS, ids=lambda v: str(v)[:20])
def test_invalid_answer_is_refused_naming_the_field_and_nothing_is_left(
    cookies, tmp_path, capfd, field, value, message
):
    result = cookies.bake(extra_context={field: value})
    assert isinstance(result.exception, FailedHookException), result
    err = capfd.readouterr().err
    assert f"{field}: " in err and message in err, err
    assert leftovers(tmp_path) == [], "a refused answer must leave nothing on disk"


def test_a_slug_too_long_for_a_cloud_run_service_is_refused_with_cloud_run(cookies, tmp_path, capfd):
    # cloud_run given explicitly: no test assumes a default (a fork may turn it off).
    result = cookies.bake(extra_context={"project_slug": "a" * 50, "cloud_run": True})
    assert isinstance(result.exception, FailedHookException), result
    err = capfd.readouterr().err
    assert "project_slug: " in err and "Cloud Run service name" in err, err
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("field", [key for key, values in OPTIONS.items() if isinstance(values[0], bool)])
def test_a_non_boolean_is_refused(cookies, tmp_path, field):
    # cookiecutter itself refuses strings it cannot read as yes/no, before any hook runs.
    result = cookies.bake(extra_context={field: "maybe"})
    assert isinstance(result.exception, ValueError), result
    assert f"maybe provided for variable {field} could not be converted to a boolean" in str(result.exception)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("field", CHOICE_OPTIONS)
def test_a_value_outside_the_choices_is_refused(cookies, tmp_path, field):
    result = cookies.bake(extra_context={field: "not-a-choice"})
    assert isinstance(result.exception, ValueError), result
    assert f"not-a-choice provided for choice variable {field}" in str(result.exception)
    assert leftovers(tmp_path) == []


def test_a_replayed_answer_outside_the_choices_is_refused_by_the_hook_naming_the_field(tmp_path, capfd):
    """--replay skips cookiecutter's own choice check: the pre-gen hook, reading cookiecutter.json, refuses it."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"replay_dir": str(tmp_path / "replay")}))
    cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path / "first"), config_file=str(config))
    [replay_file] = (tmp_path / "replay").glob("*.json")
    replay = json.loads(replay_file.read_text())
    replay["cookiecutter"]["bundler"] = "webpack"
    replay_file.write_text(json.dumps(replay))
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE_DIR), replay=True, output_dir=str(tmp_path / "second"), config_file=str(config))
    err = capfd.readouterr().err
    assert "bundler: 'webpack' is not one of: " + ", ".join(OPTIONS["bundler"]) in err, err
    assert leftovers(tmp_path / "second") == []


def test_bake_outside_the_fixtures_writes_only_the_project(tmp_path):
    """support.bake.bake (for code without a pytest-cookies fixture): output_dir/<slug>, nothing else."""
    project = bake(tmp_path / "ok", project_name="Plain Bake")
    assert project == tmp_path / "ok" / "plain-bake" and sorted(p.name for p in project.parent.iterdir()) == [
        "plain-bake"
    ]
    with pytest.raises(FailedHookException):
        bake(tmp_path / "refused", port="0")
    assert list((tmp_path / "refused").iterdir()) == []


def test_the_hook_takes_the_variant_space_from_cookiecutter_json():
    options = cookiecutter_json()
    assert pre_gen.choice_options(options) == CHOICE_OPTIONS
    assert pre_gen.boolean_options(options) == [key for key, values in OPTIONS.items() if isinstance(values[0], bool)]
    assert not hasattr(pre_gen, "CHOICES"), "the hook keeps no copy of the choices"


def test_validators_accept_every_legal_value():
    answers = {
        "project_name": "x",
        "description": "x",
        "author_name": "x",
        "project_slug": "a-b2",
        "author_email": "",
        "version": "1.2.3-rc.1+build.5",
        "port": "65535",
        "image_repository": "europe-west1-docker.pkg.dev/my-project/containers/a-b2",
        **DEFAULTS,
    }
    for field, values in OPTIONS.items():
        for value in values:
            assert pre_gen.collect_errors({**answers, field: value}, cookiecutter_json()) == [], (field, value)
    assert pre_gen.validate_author_email("dev.team+mcp@example.co.uk") is None


def test_collect_errors_reports_every_bad_field_at_once():
    # Without options, the hook imported from the template folder reads the cookiecutter.json beside it.
    errors = pre_gen.collect_errors({"project_slug": "Bad", "port": "x", "ci": "jenkins"})
    fields = {error.split(":")[0] for error in errors}
    assert {"project_slug", "port", "ci", "project_name", "version", "cloud_run"} <= fields


@pytest.mark.parametrize("node_version", ["20", "18"])
def test_a_replayed_end_of_life_node_line_is_refused_with_its_date_and_the_lines_to_choose(
    tmp_path, capfd, node_version
):
    """An old replay (or cruft's answers) still naming an end-of-life line: the hook refuses it."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"replay_dir": str(tmp_path / "replay")}))
    cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path / "first"), config_file=str(config))
    [replay_file] = (tmp_path / "replay").glob("*.json")
    replay = json.loads(replay_file.read_text())
    replay["cookiecutter"]["node_version"] = node_version
    replay_file.write_text(json.dumps(replay))
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE_DIR), replay=True, output_dir=str(tmp_path / "second"), config_file=str(config))
    err = capfd.readouterr().err
    eol = pre_gen.END_OF_LIFE_NODE_VERSIONS[node_version]
    assert f"node_version: Node.js {node_version} reached end-of-life on {eol}" in err, err
    assert "choose one of the supported lines: " + ", ".join(OPTIONS["node_version"]) in err, err
    assert leftovers(tmp_path / "second") == []


def test_an_end_of_life_node_line_is_refused_without_the_template_options_too():
    """cruft passes no _repo_dir (no option lists): the end-of-life check does not depend on them."""
    errors = pre_gen.collect_errors({**DEFAULTS, "node_version": "20"}, {})
    assert [e for e in errors if e.startswith("node_version: Node.js 20 reached end-of-life on 2026-04-30")], errors


def test_no_offered_node_line_is_end_of_life():
    assert not set(OPTIONS["node_version"]) & set(pre_gen.END_OF_LIFE_NODE_VERSIONS)
    assert min(OPTIONS["node_version"], key=int) == "22"


# --- the derived slug ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project_name", "slug"),
    [
        ("3D Printer Tools", "mcp-3d-printer-tools"),
        ("2048", "mcp-2048"),
        ("!!!", "mcp-server"),
        ("Weather Tools", "weather-tools"),
        ("A " + "very " * 30 + "long name", None),
    ],
)
def test_any_project_name_gets_a_valid_derived_slug(cookies, project_name, slug):
    """The user typed only a name: the slug derived from it is valid, even with cloud_run=yes."""
    result = cookies.bake(extra_context={"project_name": project_name, "cloud_run": True})
    project = project_of(result)
    assert pre_gen.validate_project_slug(project.name) is None
    assert pre_gen.validate_cloud_run_service_name(project.name, True) is None
    if slug is not None:
        assert project.name == slug


def test_a_bad_slug_error_says_it_can_be_chosen(cookies, capfd):
    result = cookies.bake(extra_context={"project_slug": "9lives"})
    assert isinstance(result.exception, FailedHookException)
    assert "choose one with project_slug=" in capfd.readouterr().err


# --- booleans, as real booleans and as the strings the CLI passes -------------------------


@pytest.mark.parametrize(
    ("given", "expected"), [(True, True), (False, False), ("yes", True), ("no", False), ("y", True), ("false", False)]
)
def test_boolean_answers_work_as_booleans_and_as_cli_strings(cookies, given, expected):
    answers = {"cloud_run": given, "security_scanning": given, "multi_platform": given}
    project = project_of(cookies.bake(extra_context=answers))
    assert (project / "cloudbuild.yaml").exists() is expected
    assert (project / "scripts" / "scan-image.sh").exists() is expected
    assert (project / "scripts" / "docker-buildx.sh").exists() is expected


def test_cli_strings_work_through_the_real_command_line(tmp_path):
    result = bake_with_cli(tmp_path, "cloud_run=no", "multi_platform=yes", "project_name=Cli Made")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "cli-made"
    assert not (project / "cloudbuild.yaml").exists()
    assert (project / "scripts" / "docker-buildx.sh").exists()


def test_generation_prints_the_first_steps_and_each_is_a_readme_command(tmp_path):
    """After generating, the hook prints where the project is and what to run first: the `cd`
    works from the shell the command ran in, and every command is one the generated README
    shows (the README's own tests run those)."""
    command = f'"{sys.executable}" -m cookiecutter --no-input -o out "{TEMPLATE_DIR}" project_name="First Hour"'
    result = run(["bash", "-c", command], tmp_path, timeout=120)
    printed = [line.strip() for line in result.stdout.splitlines()]
    start = next(i for i, line in enumerate(printed) if line.startswith("Generated First Hour in out/first-hour."))
    steps = [line for line in printed[start + 1 :] if line.startswith(("cd ", "npm ", "NODE_ENV="))]
    commands = [line.split("  #")[0].strip() for line in steps]
    assert commands[0] == "cd out/first-hour", printed
    went = run(["bash", "-c", f"{commands[0]} && pwd -P"], tmp_path)
    assert Path(went.stdout.strip()) == (tmp_path / "out" / "first-hour").resolve()
    readme = tmp_path / "out" / "first-hour" / "README.md"
    assert commands[1:] == ["npm ci", "npm run dev", "NODE_ENV=development npm run -s token"]
    # The README's first block, as its test runs it, then the token line its curl block embeds.
    assert [line.split("  #")[0].strip() for line in shown_commands(readme, "Run locally")] == commands[1:3]
    assert "$(NODE_ENV=development npm run -s token)" in shell_block(readme, "Call it")
    assert any("README.md" in line and "docs/" in line for line in printed[start:]), "where the docs are"


def test_first_steps_name_a_folder_outside_the_shell_by_its_path_and_stay_quiet_under_cruft_update(tmp_path):
    """Generated elsewhere (-o /somewhere): the full path. Rendered by cruft into a temporary
    folder to update the project the shell is in (.cruft.json there): nothing printed."""
    answers = {"project_name": "X", "port": "8080"}
    project = tmp_path / "elsewhere" / "x"
    project.mkdir(parents=True)
    shell = tmp_path / "shell"
    shell.mkdir()
    assert f"  cd {project.resolve()}" in post_gen.next_steps(answers, project, shell).splitlines()
    assert f"  cd {project.resolve()}" in post_gen.next_steps(answers, project, None).splitlines()
    (shell / ".cruft.json").write_text("{}")
    assert post_gen.next_steps(answers, project, shell) is None


# --- awkward but legal answers ----------------------------------------------------------

AWKWARD = {
    "project_name": "O'Brien's \"Quoted\" $(rm -rf /) `tick` Sérvér ✓",
    "description": 'Says "hi", it\'s $HOME & <b>bold</b> \\ back; ünïcödé 🚀 %s {braces}',
    "author_name": 'Zoë "Z" O\'Neil $(whoami)',
    "author_email": "zoe.o-neil+mcp@example.com",
}


@pytest.fixture(scope="module")
def awkward_project(bake_cached):
    return bake_cached(**AWKWARD)


def test_awkward_answers_get_a_clean_derived_slug(awkward_project):
    assert pre_gen.validate_project_slug(awkward_project.name) is None
    assert awkward_project.name.startswith("o-brien-s-quoted-rm-rf")


def test_awkward_answers_survive_in_json(awkward_project):
    package = json.loads((awkward_project / "package.json").read_text(encoding="utf-8"))
    assert package["description"] == AWKWARD["description"]
    assert package["author"] == f"{AWKWARD['author_name']} <{AWKWARD['author_email']}>"
    lock = json.loads((awkward_project / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["name"] == package["name"] == awkward_project.name


def test_awkward_answers_leave_every_structured_file_parseable(awkward_project):
    for path in awkward_project.rglob("*"):
        if path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))


def test_awkward_answers_leave_every_shell_script_valid(awkward_project):
    scripts = list((awkward_project / "scripts").glob("*.sh"))
    assert scripts
    for script in scripts:
        run(["bash", "-n", str(script)])


# --- post-gen functions, unit by unit ------------------------------------------------------


def test_remove_paths_removes_files_and_folders_and_prunes_empty_parents(tmp_path):
    (tmp_path / "deploy" / "cloud-run").mkdir(parents=True)
    (tmp_path / "deploy" / "cloud-run" / "service.yaml").write_text("x")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "keep.sh").write_text("x")
    (tmp_path / "scripts" / "drop.sh").write_text("x")
    post_gen.remove_paths(tmp_path, ("deploy/cloud-run", "scripts/drop.sh", "never-existed"))
    assert not (tmp_path / "deploy").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keep.sh", "scripts"]


def test_select_lockfile_renames_the_variant_lock_and_sets_the_project_name(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "my-server", "license": "Apache-2.0"}))
    lockfiles = tmp_path / ".lockfiles"
    lockfiles.mkdir()
    lock = {"name": "x", "version": "0", "lockfileVersion": 3, "packages": {"": {"name": "x", "version": "0"}}}
    (lockfiles / "node22-esbuild.json").write_text(json.dumps(lock))
    (lockfiles / "node24-tsc.json").write_text("{}")
    post_gen.select_lockfile(tmp_path, "22", "esbuild", "my-server", "1.2.3")
    written = json.loads((tmp_path / "package-lock.json").read_text())
    assert written["name"] == written["packages"][""]["name"] == "my-server"
    assert written["version"] == written["packages"][""]["version"] == "1.2.3"
    assert written["packages"][""]["license"] == "Apache-2.0", "the license follows package.json"
    assert not lockfiles.exists()


@pytest.mark.parametrize(
    ("ci", "kept"), [("github", [".github"]), ("gitlab", [".gitlab", ".gitlab-ci.yml"]), ("none", [])]
)
def test_keep_ci_files(tmp_path, ci, kept):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("x")
    (tmp_path / ".gitlab-ci.yml").write_text("x")
    (tmp_path / ".gitlab").mkdir()
    (tmp_path / ".gitlab" / "ci-variables.yml").write_text("x")
    post_gen.keep_ci_files(tmp_path, ci)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


@pytest.mark.parametrize(("field", "files_kept_by"), [("bundler", "FILES_KEPT_BY_BUNDLER"), ("ci", "FILES_KEPT_BY_CI")])
def test_the_post_gen_hook_names_every_value_of_the_choices_it_shapes(field, files_kept_by):
    """Every value gets an entry (even an empty one); an unknown value stops generation."""
    table = getattr(post_gen, files_kept_by)
    assert sorted(table) == sorted(CHOICE_OPTIONS[field])
    with pytest.raises(post_gen.UnknownChoice, match=f"{field}='fake'"):
        post_gen.keep_files_of(Path("/nonexistent"), field, "fake", table)


def test_select_lockfile_names_a_missing_lockfile(tmp_path):
    (tmp_path / ".lockfiles").mkdir()
    with pytest.raises(post_gen.UnknownChoice, match="node18-tsc.json"):
        post_gen.select_lockfile(tmp_path, "18", "tsc", "x", "0.1.0")


@pytest.mark.parametrize("answers", [(), ("port=0",)], ids=["generated", "refused"])
def test_generation_leaves_nothing_in_the_temporary_folder(tmp_path, answers):
    """cookiecutter runs each hook from a rendered copy (every answer in it) in the temporary
    folder and leaves it there; the hooks remove their copies, whether they accept or refuse."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = bake_with_cli(tmp_path / "out", *answers, env={**os.environ, "TMPDIR": str(temporary)})
    assert (result.returncode == 0) is (not answers), result.stderr
    assert sorted(path.name for path in temporary.iterdir()) == []
    assert (TEMPLATE_DIR / "hooks" / "pre_gen_project.py").exists() and (
        TEMPLATE_DIR / "hooks" / "post_gen_project.py"
    ).exists()


def test_generation_needs_no_network(tmp_path):
    """Bake inside a fresh network namespace (loopback only, down): hooks and rendering stay offline."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed: cannot cut the network for this test")
    probe = run(["unshare", "--net", "--map-root-user", "true"], check=False)  # refused: a skip, said why
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.strip()}")
    result = bake_with_cli(tmp_path, "bundler=esbuild", "ci=gitlab", prefix=("unshare", "--net", "--map-root-user"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "my-mcp-server" / "package-lock.json").exists()


# --- identity: the provider answer and per-project development credentials --------------------


def test_a_replayed_identity_provider_outside_the_choices_is_refused_by_the_hook_naming_the_field():
    """--replay and cruft skip cookiecutter's own choice check: the pre-gen hook names the field."""
    answers = {**DEFAULTS, "project_name": "x", "project_slug": "x", "description": "x", "author_name": "x",
               "author_email": "", "version": "0.1.0", "port": "8080", "image_repository": "ghcr.io/x/x",
               "identity_provider": "azure-ad"}  # fmt: skip
    errors = pre_gen.collect_errors(answers)
    assert errors == ["identity_provider: 'azure-ad' is not one of: " + ", ".join(OPTIONS["identity_provider"])]


def _env_file(project: Path) -> dict[str, str]:
    lines = (project / ".env.development").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_every_project_gets_its_own_development_credentials(cookies):
    """Made at bake time with `secrets`: never the same in two projects, recognisable (dev_), on loopback."""
    first, second = (_env_file(project_of(cookies.bake(extra_context={"project_name": name}))) for name in "ab")
    for variable in post_gen.DEVELOPMENT_CREDENTIALS:
        assert first[variable].startswith("dev_") and second[variable].startswith("dev_")
        assert len(first[variable]) >= 4 + 43, "256 random bits after the prefix"
        assert first[variable] != second[variable], f"{variable} is shared between two projects"
    assert first["AUTH_API_KEYS"] != first["AUTH_JWT_SECRET"]
    assert first["HOST"] == "127.0.0.1" and first["NODE_ENV"] == "development"


def test_the_post_gen_hook_refuses_a_development_env_file_it_cannot_fill(tmp_path):
    (tmp_path / ".env.development").write_text("AUTH_API_KEYS=fixed\nAUTH_JWT_SECRET=\n")
    with pytest.raises(post_gen.UnknownChoice, match="AUTH_API_KEYS"):
        post_gen.write_development_credentials(tmp_path)


def test_every_identity_provider_has_its_docs_page_and_is_the_servers_default(cookies):
    for provider in OPTIONS["identity_provider"]:
        # No issuer answer: a fork's default issuer has one provider's shape, not every one's.
        answers = {"identity_provider": provider, "auth_issuer": "", "auth_jwks_url": ""}
        project = project_of(cookies.bake(extra_context=answers))
        pages = sorted(p.stem for p in (project / "docs" / "identity-providers").glob("*.md"))
        assert pages == sorted(OPTIONS["identity_provider"]), pages
        config = (project / "src" / "config.ts").read_text(encoding="utf-8")
        assert f'const DEFAULT_PROVIDER = "{provider}";' in config
        assert f"AUTH_PROVIDER={provider}" in (project / ".env.example").read_text(encoding="utf-8")
