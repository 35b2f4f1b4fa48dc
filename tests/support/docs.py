"""Commands as the documentation shows them.

Tests never copy a command out of a page: they read it from the page with `shell_block`,
`shown_commands` or `shown_line`, so a page and its test cannot drift apart. A page is any
Markdown file of the template (README.md, docs/**) or of a generated project (its README.md,
AGENTS.md, docs/**); pass the file's path (a baked project's file for the rendered text).

Shell blocks are fenced ```bash, ```sh or ```shell; output and file contents use other fences
(```text, ```console, ```yaml, ...), so every shell block on a page is a command a reader may run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL_FENCES = frozenset({"bash", "sh", "shell"})

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass(frozen=True)
class Block:
    """One fenced block: the page it is on, the nearest heading above it (its text, no #)."""

    page: Path
    heading: str
    fence: str
    text: str

    @property
    def is_shell(self) -> bool:
        return self.fence in SHELL_FENCES


def blocks(page: Path) -> list[Block]:
    """Every fenced block of the page, in order, each with the heading it sits under."""
    found: list[Block] = []
    heading = ""
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            indent, marker, language = fence.groups()
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
                i += 1
            found.append(Block(page, heading, language.lower(), "\n".join(body) + "\n"))
        else:
            title = _HEADING.match(line)
            if title:
                heading = title.group(2)
        i += 1
    return found


def shell_block(page: Path, heading: str, index: int = 0) -> str:
    """The text of the `index`-th shell block under `heading` (its text, without the #s)."""
    under = [block for block in blocks(page) if block.is_shell and block.heading == heading]
    assert len(under) > index, f"{page.name}: no shell block #{index} under the heading {heading!r}"
    return under[index].text


def commands(text: str) -> list[str]:
    """The commands of a shell block: a line continued with `\\` joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def shown_commands(page: Path, heading: str, index: int = 0) -> list[str]:
    """The commands of the `index`-th shell block under `heading`, as a reader would type them."""
    return commands(shell_block(page, heading, index))


def shown_line(page: Path, start: str) -> str:
    """The command of a shell block that begins with `start` (continuations joined)."""
    for block in blocks(page):
        if block.is_shell:
            for command in commands(block.text):
                if command.startswith(start):
                    return command
    raise AssertionError(f"{page.name}: no shell command starts with {start!r}")


def prose(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced blocks (a `#` or `[x](y)` in a code block is
    not Markdown)."""
    kept: list[str] = []
    closing: str | None = None
    for line in text.splitlines():
        opened = _FENCE.match(line)
        if closing is None and opened:
            closing = opened.group(2)
        elif closing is not None and line.strip().startswith(closing):
            closing = None
        elif closing is None:
            kept.append(line)
    return kept
