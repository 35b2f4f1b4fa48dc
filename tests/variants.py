"""The variant space in one place: every option value, and the covering sets each tier uses.

All values come from cookiecutter.json, so adding a choice there widens every
covering set below without touching a test.
"""

from __future__ import annotations

import itertools

from support.template import cookiecutter_json

COOKIECUTTER_JSON = cookiecutter_json()

# The options whose answer selects a variant (free-text answers do not).
# A yes/no option lists its cookiecutter.json default first, like a choice does.
OPTIONS: dict[str, list] = {
    key: (value if isinstance(value, list) else [value, not value])
    for key, value in COOKIECUTTER_JSON.items()
    if not key.startswith("_") and isinstance(value, (list, bool))
}
DEFAULTS: dict = {key: values[0] for key, values in OPTIONS.items()}
# The options answered by picking from a list (the ones Jinja branches name value by value).
CHOICE_OPTIONS: dict[str, list[str]] = {key: values for key, values in OPTIONS.items() if isinstance(values[0], str)}


def variant_id(answers: dict) -> str:
    """A short readable id: only the answers that differ from the defaults."""
    parts = [
        f"{key}={'yes' if value is True else 'no' if value is False else value}"
        for key, value in answers.items()
        if key in OPTIONS and value != DEFAULTS[key]
    ]
    return ",".join(parts) or "defaults"


def all_pairs(options: dict[str, list]) -> list[dict]:
    """A small set of variants in which every pair of values of every two options appears.

    Greedy construction (the classic AETG idea): repeatedly pick the candidate that
    covers the most not-yet-covered pairs. Deterministic, so test ids are stable.
    """
    keys = list(options)
    uncovered = {(a, va, b, vb) for a, b in itertools.combinations(keys, 2) for va in options[a] for vb in options[b]}
    chosen: list[dict] = []
    while uncovered:
        # Seed the row from the first uncovered pair, then fill the other options greedily.
        a, va, b, vb = min(uncovered, key=lambda p: (keys.index(p[0]), keys.index(p[2]), str(p)))
        row = {a: va, b: vb}
        for key in keys:
            if key in row:
                continue
            row[key] = max(
                options[key],
                key=lambda value: sum(
                    1
                    for other, other_value in row.items()
                    if (other, other_value, key, value) in uncovered or (key, value, other, other_value) in uncovered
                ),
            )
        ordered = {key: row[key] for key in keys}
        uncovered -= {(x, ordered[x], y, ordered[y]) for x, y in itertools.combinations(keys, 2)}
        chosen.append(ordered)
    return chosen


# Render tier: every pair of option values at least once (so every value, and every
# interaction such as base image x init system or bundler x Node version).
RENDER_VARIANTS: list[dict] = [DEFAULTS, *all_pairs(OPTIONS)]

# Node tier: every bundler, auth mode and Node version at least once, built and run for real
# (the default Node line with the default bundler first).
PROJECT_VARIANTS: list[dict] = [
    {**DEFAULTS, "node_version": "26", "bundler": "tsc", "auth_mode": "jwt"},
    {**DEFAULTS, "node_version": "24", "bundler": "esbuild", "auth_mode": "api_key"},
    {**DEFAULTS, "node_version": "22", "bundler": "esbuild", "auth_mode": "jwt"},
    {**DEFAULTS, "node_version": "20", "bundler": "tsc", "auth_mode": "api_key"},
]
assert {v["node_version"] for v in PROJECT_VARIANTS} == set(OPTIONS["node_version"]), "a Node line lacks a variant"

# The project's own test suite (node's test runner over the TypeScript sources: the bundler plays
# no part) on the newest and the oldest Node line offered, which bracket the lines between them;
# every line still gets type-check, lint, build and an MCP session here, and its image built and
# run in the docker tier. (Each run costs ~8 s of CPU: all four would take the fast tier past a minute.)
_NODE_LINES = sorted(OPTIONS["node_version"], key=int)
OWN_SUITE_VARIANTS: list[dict] = [v for v in PROJECT_VARIANTS if v["node_version"] in (_NODE_LINES[0], _NODE_LINES[-1])]
