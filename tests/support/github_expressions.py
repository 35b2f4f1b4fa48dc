"""A port of GitHub Actions' expression evaluation, for the subset the workflows' `if:` use.

What it reproduces: how GitHub's runner evaluates `${{ ... }}` (docs.github.com, "Evaluate
expressions in workflows and actions"): contexts (`github.*`, `vars.*`), literals, `==`, `!=`, `!`,
`&&`, `||`, parentheses and the functions `startsWith`, `contains` and `format`, with GitHub's
semantics: string comparison ignores case, `&&` and `||` return an operand (not a boolean), a
missing property is null.

Why a port: the only real evaluator is GitHub's own runner, and GitHub is unreachable from
where these tests run (actionlint checks an expression's syntax and types, not its value on a
given event). The tests use it to prove when a job or step runs (publish only for pushes to the
default branch and version tags, attestations only where GitHub offers them);
test_github_workflow.py::test_the_expression_evaluator_follows_github_semantics pins the semantics.
"""

from __future__ import annotations

import re

EXPRESSION_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!(),])"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)


def github_expression(source: str, context: dict):
    """The value of an expression (with or without `${{ }}`) in `context` (e.g. github_event(...));
    an AssertionError names what it cannot read (outside the subset above)."""
    source = source.strip()
    if source.startswith("${{") and source.endswith("}}"):
        source = source[3:-2]
    tokens, position = [], 0
    while position < len(source.rstrip()):
        match = EXPRESSION_TOKEN.match(source, position)
        assert match and match.end() > position, f"cannot read {source[position:]!r}"
        tokens.append({k: v for k, v in match.groupdict().items() if v is not None})
        position = match.end()
    tokens.append({"end": ""})
    index = 0

    def peek(kind: str, value: str | None = None) -> bool:
        return kind in tokens[index] and (value is None or tokens[index][kind] == value)

    def take(kind: str, value: str | None = None) -> str:
        nonlocal index
        assert peek(kind, value), f"expected {value or kind} in {source!r}"
        index += 1
        return tokens[index - 1][kind]

    def equal(left, right) -> bool:
        if isinstance(left, str) and isinstance(right, str):
            return left.lower() == right.lower()
        return left == right

    def primary():
        if peek("op", "!"):
            take("op")
            return not primary()
        if peek("op", "("):
            take("op")
            value = either()
            take("op", ")")
            return value
        if peek("string"):
            return take("string")[1:-1].replace("''", "'")
        if peek("number"):
            return float(take("number"))
        name = take("name")
        if peek("op", "("):
            take("op")
            args = [] if peek("op", ")") else [either()]
            while peek("op", ","):
                take("op")
                args.append(either())
            take("op", ")")
            functions = {
                "startswith": lambda text, prefix: str(text or "").lower().startswith(str(prefix).lower()),
                "contains": lambda text, part: str(part).lower() in str(text or "").lower(),
                "format": lambda pattern, *values: re.sub(r"\{(\d+)\}", lambda m: str(values[int(m[1])]), pattern),
            }
            return functions[name.lower()](*args)
        literals = {"true": True, "false": False, "null": None}
        if name in literals:
            return literals[name]
        value = context
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def comparison():
        left = primary()
        while peek("op", "==") or peek("op", "!="):
            operator, right = take("op"), primary()
            left = equal(left, right) if operator == "==" else not equal(left, right)
        return left

    def both():
        left = comparison()
        while peek("op", "&&"):
            take("op")
            right = comparison()
            left = right if left else left
        return left

    def either():
        left = both()
        while peek("op", "||"):
            take("op")
            right = both()
            left = left if left else right
        return left

    value = either()
    take("end")
    return value


def github_event(event: str, ref: str, default_branch: str = "main", private: bool = False, **variables) -> dict:
    """The contexts a workflow's expressions see on `event` for `ref`; `variables` are the
    repository's configuration variables (`vars.*`)."""
    return {
        "github": {
            "event_name": event,
            "ref": ref,
            "event": {"repository": {"default_branch": default_branch, "private": private}},
        },
        "vars": variables,
    }
