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
# The facts of each base family (images, uid, how node and the init get in...), one entry per
# base_image value: what the Dockerfiles, the Kubernetes files and the README read, and the tests too.
BASE_FAMILIES: dict[str, dict] = COOKIECUTTER_JSON["_base_families"]
assert set(BASE_FAMILIES) == set(OPTIONS["base_image"]), "one _base_families entry per base_image value"


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

    The IPOG construction: every combination of the two options with the most values, then
    each further option in turn, first as a value in every row (the one covering the most
    pairs not yet covered), then in new rows for the pairs still missing; answers no pair
    needs take the option's first value (its default). Deterministic, so test ids are stable.
    """
    keys = list(options)
    order = sorted(keys, key=lambda key: -len(options[key]))  # stable: ties keep their order
    first, second = order[:2]
    rows: list[dict] = [{first: a, second: b} for a in options[first] for b in options[second]]
    for position, key in enumerate(order[2:], start=2):
        earlier = order[:position]
        uncovered = {(other, value, mine) for other in earlier for value in options[other] for mine in options[key]}
        for row in rows:
            newly_covered = {
                mine: sum((other, row[other], mine) in uncovered for other in earlier if other in row)
                for mine in options[key]
            }
            row[key] = max(options[key], key=newly_covered.__getitem__)
            uncovered -= {(other, row[other], row[key]) for other in earlier if other in row}
        added: list[dict] = []
        for other in earlier:
            for value in options[other]:
                for mine in options[key]:
                    if (other, value, mine) in uncovered:
                        row = next((r for r in added if r[key] == mine and other not in r), None)
                        if row is None:
                            row = {key: mine}
                            added.append(row)
                        row[other] = value
        rows += added
    chosen = [{key: row.get(key, options[key][0]) for key in keys} for row in rows]
    needed = {(a, va, b, vb) for a, b in itertools.combinations(keys, 2) for va in options[a] for vb in options[b]}
    covered = {(a, row[a], b, row[b]) for row in chosen for a, b in itertools.combinations(keys, 2)}
    assert needed <= covered, f"pairs left out: {sorted(needed - covered, key=str)[:5]}"
    return chosen


# Render tier: every pair of option values at least once (so every value, and every
# interaction such as base image x init system or bundler x Node version).
RENDER_VARIANTS: list[dict] = [DEFAULTS, *(row for row in all_pairs(OPTIONS) if row != DEFAULTS)]

# Node tier: built (npm ci, npm run build) and run for real on the newest and the oldest Node line
# offered, between them every bundler and auth mode (the newest line with the default answers first).
# The lines between are not built here: test_docker's matrix builds each of them into an image on
# every base and serves an authenticated MCP session from it, which is this tier's build and session
# again; their type-check is bracketed by the oldest and newest line's, as the per-line lockfiles
# differ only in @types/node (test_render checks that premise).
NODE_LINES: list[str] = sorted(OPTIONS["node_version"], key=int)
PROJECT_VARIANTS: list[dict] = [
    {**DEFAULTS, "node_version": NODE_LINES[-1], "bundler": "tsc", "auth_mode": "jwt"},
    {**DEFAULTS, "node_version": NODE_LINES[0], "bundler": "esbuild", "auth_mode": "api_key"},
]
for _option in ("bundler", "auth_mode"):
    assert {v[_option] for v in PROJECT_VARIANTS} == set(OPTIONS[_option]), f"a {_option} value lacks a variant"

# The project's own test suite (node's test runner over the TypeScript sources: the bundler plays
# no part) runs once here, on the newest line, as test_project's add-a-tool test: the whole suite
# with one tool added, a superset of the plain run. On the oldest line the built server is
# type-checked, linted, served to the Python SDK in every protocol mode and to the client recipes,
# and its images are built and run in the docker tier. (Each run of the suite costs ~10 s of CPU:
# a second one would take this tier past its minute.)
ADD_A_TOOL_VARIANT: dict = PROJECT_VARIANTS[0]
