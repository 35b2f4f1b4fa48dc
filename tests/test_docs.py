"""The documentation holds together: the site builds, links land, every shown command is tested.

- The template's site (mkdocs.yml, docs/) builds with `mkdocs build --strict`: every page in the
  nav, every link between pages and every anchor they name found.
- Every relative link of every Markdown file (the template repository's, and a baked default
  project's) reaches an existing file or folder, and its `#fragment` a heading of that file.
- Every shell block (fenced bash, sh or shell) of every page is read by some test through
  tests/support/docs.py: a call to `shown_commands` or `shell_block` naming its heading, or a
  call to `shown_line` naming the start of one of its commands. Found statically, in the test
  modules' syntax trees, so a command added to a page without its test fails here at once.
  Generated pages (the project template's README, its AGENTS file where there is one, and its
  docs/) are held to the same rule.

Fast tier: no Node, no engine; one mkdocs build (about a second) and one cached bake.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.docs import Block, blocks, commands, prose
from support.template import PROJECT_TEMPLATE, TEMPLATE_DIR
from variants import DEFAULTS

TESTS = TEMPLATE_DIR / "tests"
# Folders that hold no documentation of this repository (tools' caches, build output, the
# raw project template: its pages are checked as a baked project renders them).
NOT_DOCS = {".git", ".venv", "build", "site", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".cache"}
READERS = {"shown_commands": "heading", "shell_block": "heading", "shown_line": "start"}


def template_pages() -> list[Path]:
    """The template's own pages: the front door and the site."""
    return [TEMPLATE_DIR / "README.md", *sorted((TEMPLATE_DIR / "docs").rglob("*.md"))]


def generated_pages(project: Path) -> list[Path]:
    """A project's pages: its README, AGENTS.md where there is one, its docs/."""
    pages = [project / "README.md", project / "AGENTS.md"]
    return [page for page in pages if page.exists()] + sorted((project / "docs").rglob("*.md"))


def markdown_files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.md")):
        parts = path.relative_to(root).parts
        if not (set(parts[:-1]) & NOT_DOCS or parts[0] == PROJECT_TEMPLATE.name):
            found.append(path)
    return found


# --- the site --------------------------------------------------------------------------------


def test_the_site_builds_strict(tmp_path):
    """mkdocs.yml's own validation (strict: a warning fails): every file in the nav, every link
    and anchor between pages found."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=TEMPLATE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "maintaining" / "base-family" / "index.html").exists()


def test_the_readme_is_a_front_door():
    """About 200 lines at most: the two commands first, then links into the site."""
    readme = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200, "the README grows past a front door: move the detail into docs/"
    sections = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    assert sections[0] == "The two commands", sections


# --- links -----------------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1")
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_EXPLICIT_ID = re.compile(r"\s*\{:?\s*#([\w-]+)[^}]*\}\s*$")


def links(text: str) -> list[str]:
    body = "\n".join(_CODE_SPAN.sub(lambda span: "`" * len(span.group(0)), line) for line in prose(text))
    return _INLINE_LINK.findall(body) + _REFERENCE_LINK.findall(body)


def _plain(heading: str) -> str:
    heading = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    return heading.replace("`", "").replace("*", "")


def anchors(text: str) -> set[str]:
    """Heading ids as GitHub and Python-Markdown's toc extension (MkDocs) make them."""
    found = set()
    for line in prose(text):
        match = _HEADING.match(line)
        if not match:
            continue
        heading = match.group(1)
        explicit = _EXPLICIT_ID.search(heading)
        if explicit:
            found.add(explicit.group(1))
            heading = heading[: explicit.start()]
        plain = _plain(heading).strip().lower()
        found.add(re.sub(r"[^\w\- ]", "", plain).replace(" ", "-"))  # GitHub
        ascii_only = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
        found.add(re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", ascii_only).strip()))  # Python-Markdown
    return found


def broken_links(page: Path, root: Path) -> list[str]:
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("/"):
            continue  # a URL (https:, mailto:) or a site-absolute path: not a file of this tree
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        where = f"{page.relative_to(root)}: {target}"
        if not resolved.exists():
            broken.append(f"{where} (no such file)")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text(encoding="utf-8")):
            broken.append(f"{where} (no heading #{fragment})")
    return broken


def test_every_relative_link_in_the_repository_resolves():
    pages = markdown_files(TEMPLATE_DIR)
    expected = {TEMPLATE_DIR / "README.md", TEMPLATE_DIR / "CONVENTIONS.md", TEMPLATE_DIR / "docs" / "index.md"}
    assert expected <= set(pages), pages
    broken = [problem for page in pages for problem in broken_links(page, TEMPLATE_DIR)]
    assert not broken, "\n".join(broken)


def test_every_relative_link_in_a_generated_project_resolves(bake_cached):
    project = bake_cached(**DEFAULTS)
    pages = markdown_files(project)
    assert project / "README.md" in pages and any(page.parent.name == "docs" for page in pages), pages
    broken = [problem for page in pages for problem in broken_links(page, project)]
    assert not broken, "\n".join(broken)


def test_the_link_checker_finds_what_is_broken(tmp_path):
    """The checker itself: a missing file, a missing heading, links in code ignored."""
    (tmp_path / "other.md").write_text("# Other page\n\n## A `code` heading: yes\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#a-code-heading-yes) [ok](#page) [ok](https://example.com/x.md)\n"
        "[gone](missing.md) [bad anchor](other.md#nowhere)\n`[not a link](nowhere.md)`\n"
        "```text\n[not a link](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page, tmp_path) == [
        "page.md: missing.md (no such file)",
        "page.md: other.md#nowhere (no heading #nowhere)",
    ]


# --- every shell block is read by a test -----------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A call of a tests/support/docs.py reader: which pages it may mean, what it names."""

    reader: str
    pages: frozenset[str]  # the .md file names in its page argument; empty where none is spelled
    text: str


def _strings(node: ast.AST, names: dict[str, ast.AST], seen: frozenset[str] = frozenset()) -> set[str]:
    """Every string constant in an expression, following module-level names."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.add(child.value)
        elif isinstance(child, ast.Name) and child.id in names and child.id not in seen:
            found |= _strings(names[child.id], names, seen | {child.id})
    return found


def readings(source: str) -> list[Reading]:
    """The reader calls of a module whose page and heading (or start) are constants."""
    tree = ast.parse(source)
    names: dict[str, ast.AST] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
            names[statement.target.id] = statement.value
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if function not in READERS:
            continue
        arguments = dict(zip(("page", READERS[function]), node.args, strict=False))
        arguments |= {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
        if READERS[function] not in arguments:
            continue
        named = arguments[READERS[function]]
        texts = {named.value} if isinstance(named, ast.Constant) and isinstance(named.value, str) else set()
        if isinstance(named, ast.Name) and isinstance(names.get(named.id), ast.Constant):
            texts = {names[named.id].value}
        page = arguments.get("page")
        pages = frozenset(Path(s).name for s in _strings(page, names) if s.endswith(".md")) if page else frozenset()
        found += [Reading(function, pages, text) for text in texts if isinstance(text, str)]
    return found


def all_readings() -> list[Reading]:
    modules = sorted(TESTS.rglob("*.py"))
    return [reading for module in modules for reading in readings(module.read_text(encoding="utf-8"))]


def could_start(command: str, start: str) -> bool:
    """Whether `start` begins the command as some rendering shows it: a raw template page's
    command is taken as written up to its first Jinja tag (a test reads the rendered page)."""
    literal = re.split(r"\{[{%#]", command, maxsplit=1)[0]
    return command.startswith(start) or (literal != command and start.startswith(literal) and bool(literal.strip()))


def is_read(block: Block, found: list[Reading]) -> bool:
    shown = commands(block.text)
    for reading in found:
        if reading.pages and block.page.name not in reading.pages:
            continue
        if reading.reader == "shown_line":
            if any(could_start(command, reading.text) for command in shown):
                return True
        elif reading.text == block.heading:
            return True
    return False


def unread_blocks(pages: list[Path], root: Path) -> list[str]:
    found = all_readings()
    return [
        f"{block.page.relative_to(root)}, under {block.heading!r}: {commands(block.text)[:1]}"
        for page in pages
        for block in blocks(page)
        if block.is_shell and not is_read(block, found)
    ]


def test_every_shell_block_of_the_template_pages_is_read_by_a_test():
    """README.md and docs/**: each command shown is one a test reads through tests/support/docs.py
    (fence output and file contents as text, console, yaml, ...)."""
    pages = template_pages()
    assert any(block.is_shell for page in pages for block in blocks(page)), "no shell block found at all"
    unread = unread_blocks(pages, TEMPLATE_DIR)
    assert not unread, "shell blocks no test reads:\n" + "\n".join(unread)


def test_every_shell_block_of_the_generated_pages_is_read_by_a_test():
    """The project template's README.md, AGENTS.md and docs/**, read as written (Jinja and all)."""
    unread = unread_blocks(generated_pages(PROJECT_TEMPLATE), TEMPLATE_DIR)
    assert not unread, "shell blocks no test reads:\n" + "\n".join(unread)


def test_the_reader_scan_sees_constants_and_pages():
    """The static scan itself: constant headings and starts, module-level names, page names."""
    source = """
TEAMS = TEMPLATE_DIR / "docs" / "teams.md"
HEADING = "Updates both ways"
shown_commands(TEAMS, HEADING)
docs.shown_line(TEMPLATE_DIR / "README.md", start="scripts/quickstart.sh")
shell_block(page, heading)
"""
    assert readings(source) == [
        Reading("shown_commands", frozenset({"teams.md"}), "Updates both ways"),
        Reading("shown_line", frozenset({"README.md"}), "scripts/quickstart.sh"),
    ]
    teams = Block(Path("teams.md"), "Updates both ways", "bash", "git diff\n")
    other = Block(Path("other.md"), "Updates both ways", "bash", "git diff\n")
    assert is_read(teams, readings(source)) and not is_read(other, readings(source))
    raw = "claude mcp add --transport http {{ cookiecutter.project_slug }} http://localhost"
    assert could_start(raw, "claude mcp add --transport http my-mcp-server")
    assert could_start(raw, "claude mcp add") and not could_start(raw, "claude mcp list")


@pytest.mark.parametrize("page", template_pages(), ids=lambda page: str(page.relative_to(TEMPLATE_DIR)))
def test_template_pages_fence_every_block_with_a_language(page):
    """An unlabelled fence hides whether a block is a command: each says bash/sh/shell or what it is."""
    unlabelled = [block.heading for block in blocks(page) if not block.fence]
    assert not unlabelled, f"{page.name}: unlabelled fences under {unlabelled}"
