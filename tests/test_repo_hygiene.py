"""The template repository's own pre-commit checks pass (ruff, shellcheck, JSON/YAML hygiene), and its
documents name only files that exist."""

from __future__ import annotations

import ast
import re
import shutil
import sys
from pathlib import Path

import pytest

from support.process import run
from support.template import PROJECT_TEMPLATE, TEMPLATE_DIR


def test_template_repository_passes_its_pre_commit_hooks():
    if not (TEMPLATE_DIR / ".git").exists():
        pytest.skip("not a git checkout: pre-commit reads the files git tracks")
    pre_commit = Path(sys.executable).with_name("pre-commit")
    command = [str(pre_commit)] if pre_commit.exists() else [shutil.which("pre-commit") or "pre-commit"]
    run([*command, "run", "--all-files", "--show-diff-on-failure", "--color", "never"], TEMPLATE_DIR)


# A file name in prose: a path of word characters ending in one of these extensions.
FILE_NAME = re.compile(r"(?<![\w./<{-])((?:[\w.-]+/)*[\w.-]+\.(?:md|py|sh|json|ya?ml|ts))(?![\w/])")
# Named in the documents but made by the reader or by generation, not kept in the repository.
MADE_LATER = {
    "team-defaults.yaml": "the defaults file docs/teams.md has a team write",
    "rows.json": "scripts/benchmark.sh --json output",
    "package-lock.json": "the post-gen hook installs it from .lockfiles/",
}


def documents() -> list[Path]:
    """The template's own documents: the front door, the conventions and every page of the site."""
    pages = sorted((TEMPLATE_DIR / "docs").rglob("*.md"))
    assert pages, "docs/ has no pages"
    return [TEMPLATE_DIR / "README.md", TEMPLATE_DIR / "CONVENTIONS.md", TEMPLATE_DIR / "mkdocs.yml", *pages]


def test_the_documents_and_test_docstrings_name_only_files_that_exist():
    """README.md, CONVENTIONS.md, mkdocs.yml, docs/** and every test module's docstring: each file
    they name is in the repository (beside the document, at the root, under docs/, in the project
    template, or under tests/)."""
    texts = {path: path.read_text(encoding="utf-8") for path in documents()}
    for module in sorted((TEMPLATE_DIR / "tests").glob("*.py")):
        texts[module] = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))) or ""
    bases = (TEMPLATE_DIR, TEMPLATE_DIR / "docs", PROJECT_TEMPLATE, TEMPLATE_DIR / "tests")
    missing = {
        (str(source.relative_to(TEMPLATE_DIR)), name)
        for source, text in texts.items()
        for name in FILE_NAME.findall(text)
        if name not in MADE_LATER
        and not any((base / name).exists() for base in (source.parent, *bases))
        and not ("/" not in name and any(TEMPLATE_DIR.rglob(name)))
    }
    assert not missing, sorted(missing)


def test_conventions_names_fixtures_conftest_defines():
    conventions = (TEMPLATE_DIR / "CONVENTIONS.md").read_text(encoding="utf-8")
    conftest = (TEMPLATE_DIR / "tests" / "conftest.py").read_text(encoding="utf-8")
    named = re.findall(r"^\| `(\w+)[(`]", conventions, re.MULTILINE)
    assert len(named) >= 5, named
    for name in named:
        assert re.search(rf"^\s*def {name}\(", conftest, re.MULTILINE), f"CONVENTIONS.md: no fixture {name}"
