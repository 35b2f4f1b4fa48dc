"""What both generated CI configurations (GitHub Actions, GitLab CI) share: the checks they run,
the files tools update copied verbatim, the Node.js line they follow, and every CI and update-bot
file valid against its published schema (check-jsonschema's vendored, offline schemas).

Fast tier: a few bakes, no network, no container engine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from support.delivery import DELIVERY_VARIANTS, TEMPLATE_WORKFLOWS, check_jsonschema
from support.template import PROJECT_TEMPLATE, TEMPLATE_DIR

# Files that tools update (pre-commit autoupdate, Renovate, Dependabot): copied, never rendered.
COPY_WITHOUT_RENDER = (".github/workflows/ci.yml", ".gitlab-ci.yml", ".pre-commit-config.yaml")


@pytest.mark.parametrize("name", ["defaults", "all-on"])
def test_copy_without_render_files_are_copied_verbatim(delivery_project, name):
    project = delivery_project(name)
    for relative in COPY_WITHOUT_RENDER:
        if (project / relative).exists():
            assert (project / relative).read_bytes() == (PROJECT_TEMPLATE / relative).read_bytes(), relative
    # ...and the template's copies hold no Jinja of their own (GitHub's ${{ }} is not Jinja's {{ }}).
    for relative in COPY_WITHOUT_RENDER:
        text = (PROJECT_TEMPLATE / relative).read_text(encoding="utf-8")
        assert "cookiecutter" not in text and "{%" not in text, relative
        assert not re.search(r"(?<!\$)\{\{", text), relative


def test_node_version_follows_the_answer(delivery_project):
    assert (delivery_project("defaults") / ".nvmrc").read_text(encoding="utf-8").strip() == DELIVERY_VARIANTS[
        "defaults"
    ]["node_version"]
    on = delivery_project("all-on")
    assert (on / ".nvmrc").read_text(encoding="utf-8").strip() == "22"
    gitlab_vars = yaml.safe_load((on / ".gitlab/ci-variables.yml").read_text(encoding="utf-8"))
    assert gitlab_vars["variables"]["NODE_VERSION"] == "22"


def test_ci_configs_run_the_checks(delivery_project):
    github = yaml.safe_load((delivery_project("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = [step.get("run", "") for job in github["jobs"].values() for step in job["steps"]]
    for command in (
        "npm ci",
        "npm run typecheck",
        "npm run lint",
        "npm test",
        "npm run build",
        "scripts/test-docker.sh",
    ):
        assert any(command in s for s in steps), command
    setup_node = [
        s for job in github["jobs"].values() for s in job["steps"] if s.get("uses", "").startswith("actions/setup-node")
    ]
    assert setup_node and all(s["with"]["node-version-file"] == ".nvmrc" for s in setup_node)

    gitlab = yaml.safe_load((delivery_project("all-on") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert gitlab[".node"]["image"].startswith("${IMAGE_PREFIX}node:${NODE_VERSION}-")
    assert any("include" in k for k in gitlab) and gitlab["include"][0]["local"] == ".gitlab/ci-variables.yml"
    scripts = "\n".join(line for job in gitlab.values() if isinstance(job, dict) for line in job.get("script", []))
    for command in (
        "npm run typecheck",
        "npm run lint",
        "npm test",
        "npm run build",
        "scripts/test-docker.sh",
        "scripts/scan-image.sh",
    ):
        assert command in scripts, command
    assert gitlab["scan"]["rules"] == [{"exists": ["scripts/scan-image.sh"]}]

    pins = {
        re.search(r'PRE_COMMIT_VERSION: "([^"]+)"', (PROJECT_TEMPLATE / f).read_text(encoding="utf-8")).group(1)
        for f in (".github/workflows/ci.yml", ".gitlab-ci.yml")
    }
    assert len(pins) == 1, pins


# --- schemas ----------------------------------------------------------------------------------------


def schema_files(delivery_project) -> list[tuple[str, Path, str | None]]:
    github, gitlab = delivery_project("defaults"), delivery_project("all-on")
    return [
        ("vendor.github-workflows", github / ".github/workflows/ci.yml", None),
        ("vendor.dependabot", github / ".github/dependabot.yml", None),
        ("vendor.renovate", github / "renovate.json", None),
        ("vendor.gitlab-ci", gitlab / ".gitlab-ci.yml", "gitlab-ci"),
        ("vendor.gitlab-ci", gitlab / ".gitlab/ci-variables.yml", "gitlab-ci"),
        ("vendor.renovate", gitlab / "renovate.json", None),
        ("vendor.renovate", delivery_project("all-off") / "renovate.json", None),
        *(("vendor.github-workflows", path, None) for path in TEMPLATE_WORKFLOWS),
        ("vendor.dependabot", TEMPLATE_DIR / ".github/dependabot.yml", None),
    ]


def test_every_ci_and_bot_file_validates_against_its_schema(delivery_project):
    files = schema_files(delivery_project)
    assert len(TEMPLATE_WORKFLOWS) >= 2  # ci.yml and update.yml
    by_schema: dict[tuple[str, str | None], list[Path]] = {}
    for schema, path, transform in files:
        by_schema.setdefault((schema, transform), []).append(path)
    for (schema, transform), paths in by_schema.items():  # one check-jsonschema run per schema
        result = check_jsonschema(schema, *paths, transform=transform)
        assert result.returncode == 0, f"{schema}: {result.stdout}{result.stderr}"


def test_schema_check_rejects_a_broken_file(tmp_path):
    """The validation above can fail: a wrong ecosystem, a misspelled job key, a wrong type."""
    bad_dependabot = tmp_path / "dependabot.yml"
    bad_dependabot.write_text("version: 2\nupdates:\n  - package-ecosystem: npmjs\n    directory: /\n")
    bad_workflow = tmp_path / "ci.yml"
    bad_workflow.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    bad_renovate = tmp_path / "renovate.json"
    bad_renovate.write_text(json.dumps({"enabledManagers": "npm", "customManagers": [{"customType": "nope"}]}))
    for schema, path in (
        ("vendor.dependabot", bad_dependabot),
        ("vendor.github-workflows", bad_workflow),
        ("vendor.renovate", bad_renovate),
    ):
        assert check_jsonschema(schema, path).returncode != 0, path
