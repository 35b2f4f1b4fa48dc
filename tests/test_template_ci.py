"""The template repository's own CI: the GitHub workflows (the full suite, the scheduled update
job) and Dependabot, and its GitLab CI, each running scripts/run-tests.sh and naming no
repository or registry, so a fork runs them unchanged."""

from __future__ import annotations

import fnmatch
import re

import yaml

from support.delivery import TEMPLATE_WORKFLOWS, check_jsonschema
from support.template import TEMPLATE_DIR


def test_template_repository_ci_update_workflow_and_dependabot():
    ci = yaml.safe_load((TEMPLATE_DIR / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert "scripts/run-tests.sh" in runs  # the README's test command, the full suite
    # GitHub's Ubuntu runners restrict user namespaces; the offline-generation test needs one.
    hooks_test = (TEMPLATE_DIR / "tests/test_hooks.py").read_text(encoding="utf-8")
    if '"unshare", "--net", "--map-root-user"' in hooks_test:
        before = runs[: runs.index("scripts/run-tests.sh")]
        assert any("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in run for run in before)
    # No repository names or registry paths: a fork runs it unchanged.
    for path in TEMPLATE_WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "ghcr.io" not in text and "github.repository" not in text, path.name
    assert ci["permissions"] == {} and all(job["permissions"] == {"contents": "read"} for job in ci["jobs"].values())

    update = yaml.safe_load((TEMPLATE_DIR / ".github/workflows/update.yml").read_text(encoding="utf-8"))
    assert update[True]["schedule"]  # PyYAML reads the `on:` key as True
    (job,) = update["jobs"].values()
    runs = [s.get("run", "") for s in job["steps"]]
    assert "python scripts/update_lockfiles.py" in runs
    assert "python .github/scripts/update_pins.py --refresh" in runs
    assert job["steps"][-1]["uses"].startswith("peter-evans/create-pull-request@")
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}

    dependabot = yaml.safe_load((TEMPLATE_DIR / ".github/dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"]: u for u in dependabot["updates"]}
    assert ecosystems["pip"]["directory"] == "/"
    directories = ecosystems["github-actions"]["directories"]
    assert "/" in directories
    # The generated project's workflows are found, by a glob without braces (Dependabot's glob
    # matching may read {..} as alternatives): fnmatch here, as Dependabot matches folder names.
    folders = [path.name for path in TEMPLATE_DIR.iterdir() if path.is_dir()]
    (project_glob,) = [d for d in directories if d != "/"]
    assert "{" not in project_glob and "}" not in project_glob, project_glob
    assert fnmatch.filter(folders, project_glob.lstrip("/")) == ["{{cookiecutter.project_slug}}"]
    assert (TEMPLATE_DIR / "{{cookiecutter.project_slug}}/.github/workflows/ci.yml").exists()


def test_template_gitlab_ci_runs_the_suite_and_names_no_repository():
    path = TEMPLATE_DIR / ".gitlab-ci.yml"
    result = check_jsonschema("vendor.gitlab-ci", path, transform="gitlab-ci")
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    assert "scripts/run-tests.sh" in [line for job in jobs.values() for line in job["script"]]
    for job in jobs.values():
        image = job["image"]
        assert image.startswith("${IMAGE_PREFIX}") and re.fullmatch(r"[\w${}./-]+:[\w.-]+", image), image
        assert not image.endswith(":latest"), image
    assert config["variables"]["IMAGE_PREFIX"] == ""
    # No repository names or registry paths: a fork runs it unchanged (GitHub's, too).
    text = path.read_text(encoding="utf-8")
    for hard_coded in ("gitlab.com/", "registry.gitlab", "ghcr.io", "docker.io/", "CI_PROJECT_PATH", "github.com/"):
        assert hard_coded not in text, hard_coded
