"""The generated project's pages (README.md, AGENTS.md, docs/**): every relative link resolves in
a baked project, and every shell block is one a test reads through tests/support/docs.py.

Bake only, no npm: these run in the fast tier.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.docs import blocks, commands, prose
from support.template import PROJECT_TEMPLATE
from variants import DEFAULTS, variant_id

TESTS_DIR = Path(__file__).parent

# The default variant, one with every deployment page and the other CI and auth mode, and one
# without the optional pages (their links must go with them).
LINK_VARIANTS = [
    DEFAULTS,
    {**DEFAULTS, "cloud_run": True, "kubernetes": True, "ci": "gitlab", "auth_mode": "api_key"},
    {**DEFAULTS, "cloud_run": False, "kubernetes": False, "ci": "none", "security_scanning": False},
]

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def pages(root: Path) -> list[Path]:
    """The project's Markdown pages that newcomers and agents read."""
    found = [root / "README.md", root / "AGENTS.md", *sorted((root / "docs").rglob("*.md"))]
    return [page for page in found if page.is_file()]


def prose_lines(page: Path) -> list[str]:
    return prose(page.read_text(encoding="utf-8"))


def anchors(page: Path) -> set[str]:
    """The heading anchors GitHub and GitLab make: lower case, punctuation dropped, spaces to -."""
    made: set[str] = set()
    for line in prose_lines(page):
        heading = _HEADING.match(line)
        if heading:
            text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1))
            slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
            candidate, n = slug, 0
            while candidate in made:
                n += 1
                candidate = f"{slug}-{n}"
            made.add(candidate)
    return made


def links(page: Path) -> list[str]:
    return [target for line in prose_lines(page) for target in _LINK.findall(line)]


@pytest.mark.parametrize("answers", LINK_VARIANTS, ids=variant_id)
def test_every_relative_link_of_the_generated_pages_resolves(bake_cached, answers):
    project = bake_cached(**answers)
    checked, broken = 0, []
    for page in pages(project):
        for target in links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not a file of the project
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(project)} -> {target}"
            checked += 1
            if not resolved.is_relative_to(project.resolve()) or not resolved.exists():
                broken.append(f"{where}: no such file")
            elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
                broken.append(f"{where}: no heading #{anchor}")
    assert checked > 40, f"only {checked} relative links found: the link pattern is broken"
    assert not broken, "\n".join(broken)


def test_the_optional_pages_go_with_their_option(bake_cached):
    """A page about Kubernetes is not generated without the manifests (the hook removes it with
    them), and the pages of the kept options are there."""
    without = bake_cached(**LINK_VARIANTS[2])
    with_all = bake_cached(**LINK_VARIANTS[1])
    assert not (without / "docs/kubernetes.md").exists() and (with_all / "docs/kubernetes.md").is_file()
    for page in pages(without):
        text = page.read_text(encoding="utf-8")
        assert "kubectl" not in text or page.name == "checkov.md", page
        assert "deploy/cloud-run" not in text, page


# --- every shell block is read by a test --------------------------------------------------------

_READ = re.compile(r"\b(shell_block|shown_commands|shown_line)\(\s*[^,()]+(?:\([^()]*\))?[^,()]*,\s*(['\"])(.*?)\2")


def reads_in_tests() -> tuple[set[str], set[str]]:
    """(headings passed to shell_block/shown_commands, starts passed to shown_line) in tests/."""
    headings, starts = set(), set()
    for source in TESTS_DIR.rglob("*.py"):
        for function, _, text in _READ.findall(source.read_text(encoding="utf-8")):
            (starts if function == "shown_line" else headings).add(text)
    return headings, starts


def test_every_shell_block_of_the_generated_pages_is_read_by_a_test():
    """From the raw template pages: a shell block counts as tested when a test reads it by its
    heading, or one of its commands by its start (tests/support/docs.py)."""
    headings, starts = reads_in_tests()
    assert headings and starts, "no test reads a page through tests/support/docs.py"
    unread = []
    for page in pages(PROJECT_TEMPLATE):
        for block in blocks(page):
            if not block.is_shell or block.heading in headings:
                continue
            if any(command.startswith(start) for command in commands(block.text) for start in starts):
                continue
            unread.append(f"{page.relative_to(PROJECT_TEMPLATE)} under {block.heading!r}: {block.text[:60]!r}")
    assert not unread, "shell blocks no test reads:\n" + "\n".join(unread)


def test_every_fenced_block_of_the_generated_pages_names_its_language():
    """A bare fence would hide whether a block is a command (sh, bash, shell) or output and file
    contents (text, console, dotenv, yaml, json...): every block says which."""
    bare = [
        f"{page.relative_to(PROJECT_TEMPLATE)} under {block.heading!r}"
        for page in pages(PROJECT_TEMPLATE)
        for block in blocks(page)
        if not block.fence
    ]
    assert not bare, "blocks without a language:\n" + "\n".join(bare)
