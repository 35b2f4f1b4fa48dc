"""The hooks: refused answers name their field and leave nothing; legal but awkward answers render valid files."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from support.bake import TEMPLATE_DIR, bake, bake_with_cli


def load_hook(name: str):
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_DIR / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")


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
]


@pytest.mark.parametrize(("field", "value", "message"), INVALID_ANSWERS, ids=lambda v: str(v)[:20])
def test_invalid_answer_is_refused_naming_the_field_and_nothing_is_left(tmp_path, capfd, field, value, message):
    with pytest.raises(FailedHookException):
        bake(tmp_path, **{field: value})
    err = capfd.readouterr().err
    assert f"{field}: " in err and message in err, err
    assert list(tmp_path.iterdir()) == [], "a refused answer must leave nothing on disk"


def test_a_slug_too_long_for_a_cloud_run_service_is_refused_with_cloud_run(tmp_path, capfd):
    with pytest.raises(FailedHookException):
        bake(tmp_path, project_slug="a" * 50, cloud_run=True)
    err = capfd.readouterr().err
    assert "project_slug: " in err and "Cloud Run service name" in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("field", ["cloud_run", "security_scanning", "multi_platform"])
def test_a_non_boolean_is_refused(tmp_path, field):
    # cookiecutter itself refuses strings it cannot read as yes/no, before any hook runs.
    with pytest.raises(ValueError, match=f"maybe provided for variable {field} could not be converted to a boolean"):
        bake(tmp_path, **{field: "maybe"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("field", "value"), [("node_version", "18"), ("base_image", "ubuntu")])
def test_a_value_outside_the_choices_is_refused(tmp_path, field, value):
    with pytest.raises(ValueError, match=value):
        bake(tmp_path, **{field: value})
    assert list(tmp_path.iterdir()) == []


def test_validators_accept_every_legal_value():
    answers = {
        "project_name": "x",
        "description": "x",
        "author_name": "x",
        "project_slug": "a-b2",
        "author_email": "",
        "version": "1.2.3-rc.1+build.5",
        "port": "65535",
        **{field: choices[0] for field, choices in pre_gen.CHOICES.items()},
        **{field: False for field in pre_gen.BOOLEANS},
    }
    assert pre_gen.collect_errors(answers) == []
    assert pre_gen.validate_author_email("dev.team+mcp@example.co.uk") is None


def test_collect_errors_reports_every_bad_field_at_once():
    errors = pre_gen.collect_errors({"project_slug": "Bad", "port": "x", "ci": "jenkins"})
    fields = {error.split(":")[0] for error in errors}
    assert {"project_slug", "port", "ci", "project_name", "version", "cloud_run"} <= fields


def test_node_20_generates_with_an_end_of_life_warning(tmp_path, capfd):
    project = bake(tmp_path, node_version="20")
    assert "end-of-life" in capfd.readouterr().err
    assert json.loads((project / "package.json").read_text())["engines"]["node"].startswith(">=20")


def test_supported_node_versions_generate_without_warning(tmp_path, capfd):
    bake(tmp_path, node_version="24")
    assert "end-of-life" not in capfd.readouterr().err


# --- booleans, as real booleans and as the strings the CLI passes -------------------------


@pytest.mark.parametrize(
    ("given", "expected"), [(True, True), (False, False), ("yes", True), ("no", False), ("y", True), ("false", False)]
)
def test_boolean_answers_work_as_booleans_and_as_cli_strings(tmp_path, given, expected):
    project = bake(tmp_path, cloud_run=given, security_scanning=given, multi_platform=given)
    assert (project / "cloudbuild.yaml").exists() is expected
    assert (project / "scripts" / "scan-image.sh").exists() is expected
    assert (project / "scripts" / "docker-buildx.sh").exists() is expected


def test_cli_strings_work_through_the_real_command_line(tmp_path):
    result = bake_with_cli(tmp_path, "cloud_run=no", "multi_platform=yes", "project_name=Cli Made")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "cli-made"
    assert not (project / "cloudbuild.yaml").exists()
    assert (project / "scripts" / "docker-buildx.sh").exists()


# --- awkward but legal answers ----------------------------------------------------------

AWKWARD = {
    "project_name": "O'Brien's \"Quoted\" $(rm -rf /) `tick` Sérvér ✓",
    "description": 'Says "hi", it\'s $HOME & <b>bold</b> \\ back; ünïcödé 🚀 %s {braces}',
    "author_name": 'Zoë "Z" O\'Neil $(whoami)',
    "author_email": "zoe.o-neil+mcp@example.com",
}


@pytest.fixture(scope="module")
def awkward_project(tmp_path_factory):
    return bake(tmp_path_factory.mktemp("awkward"), **AWKWARD)


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
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"


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
    lockfiles = tmp_path / ".lockfiles"
    lockfiles.mkdir()
    lock = {"name": "x", "version": "0", "lockfileVersion": 3, "packages": {"": {"name": "x", "version": "0"}}}
    (lockfiles / "node22-esbuild.json").write_text(json.dumps(lock))
    (lockfiles / "node24-tsc.json").write_text("{}")
    post_gen.select_lockfile(tmp_path, "22", "esbuild", "my-server", "1.2.3")
    written = json.loads((tmp_path / "package-lock.json").read_text())
    assert written["name"] == written["packages"][""]["name"] == "my-server"
    assert written["version"] == written["packages"][""]["version"] == "1.2.3"
    assert not lockfiles.exists()


@pytest.mark.parametrize(
    ("ci", "kept"), [("github", [".github"]), ("gitlab", [".gitlab", ".gitlab-ci.yml"]), ("none", [])]
)
def test_keep_only_ci(tmp_path, ci, kept):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("x")
    (tmp_path / ".gitlab-ci.yml").write_text("x")
    (tmp_path / ".gitlab").mkdir()
    (tmp_path / ".gitlab" / "ci-variables.yml").write_text("x")
    post_gen.keep_only_ci(tmp_path, ci)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_generation_needs_no_network(tmp_path):
    """Bake inside a fresh network namespace (loopback only, down): hooks and rendering stay offline."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed: cannot cut the network for this test")
    probe = subprocess.run(["unshare", "--net", "--map-root-user", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.strip()}")
    result = bake_with_cli(tmp_path, "bundler=esbuild", "ci=gitlab", prefix=("unshare", "--net", "--map-root-user"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "my-mcp-server" / "package-lock.json").exists()
