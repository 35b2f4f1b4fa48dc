"""The generated project's source reads one way: no import cycle, no import from a higher layer, no
export nobody imports. Read from the raw template files (tests/support/source_graph.py), no Node.

The rule (LAYERS below, top first, one line per folder or file; a file's own line beats its folder's):
a module under src/ imports from its own layer and the layers below it, never from one above, and
never from dev/ or test/; a file under src/ that no line names fails too, so a new module is placed
on purpose. The order follows a request down its path: the entry points wire the routes, the MCP
route checks and authenticates, the handler runs the SDK, which calls the tools, which see the
caller through the item context; the authenticator reads the configuration, which is built from
the auth building blocks (provider presets, key fetching, result types) and the environment. http/
is plumbing beneath all of them: it knows nothing of MCP, auth or configuration (its settings are
passed in; config.ts uses its Host parser and its settings types). logger.ts and telemetry/ are
shared: any layer may import them, and they import from auth/ and below.

The last tests plant each kind of violation in a tiny fake tree, and one in a copy of the real
source, and check that the checker fails naming the file and the rule.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from support.source_graph import Layer, cycles, layer_of, layer_violations, read_graph, unused_exports
from support.template import PROJECT_TEMPLATE

LAYERS = (
    Layer("entry", ("src/index.ts", "src/app.ts", "src/healthcheck.ts"), why="the process, listeners, route table"),
    Layer("MCP route", ("src/mcp/route.ts",), why="/mcp and its metadata: guards, auth, limits, body, scopes"),
    Layer(
        "MCP handler",
        ("src/mcp/handler.ts", "src/mcp/server.ts", "src/mcp/node-adapter.ts"),
        why="the SDK's handler, the per-request server, node:http to the SDK's web Request",
    ),
    Layer("tools, resources, prompts", ("src/tools/", "src/resources/", "src/prompts/")),
    Layer(
        "item context",
        ("src/mcp/context.ts", "src/mcp/schema.ts"),
        why="what every item receives and builds its schemas with: items never import each other",
    ),
    Layer("shared", ("src/logger.ts", "src/telemetry/"), shared=True, why="logging and tracing, from any layer"),
    Layer("auth", ("src/auth/",), why="the authenticator, challenges, scopes, metadata: an identity, never a token"),
    Layer("configuration", ("src/config.ts",), why="the environment, parsed and validated once"),
    Layer(
        "auth building blocks",
        (
            "src/auth/modes/",
            "src/auth/mode.ts",
            "src/auth/credentials.ts",
            "src/auth/presets.ts",
            "src/auth/jwks.ts",
            "src/auth/types.ts",
        ),
        why="each mode's settings parser and verifier, provider facts, keys, result types: config.ts is built on them",
    ),
    Layer("environment", ("src/env.ts",), why="raw variables, typed; the bottom of the configuration"),
    Layer("http plumbing", ("src/http/",), why="headers, body, answers, limits, deadlines; settings passed in"),
)

LAYERED = "src/"
TABLE = "LAYERS in tests/test_source_layers.py"


@pytest.fixture(scope="module")
def graph():
    return read_graph(PROJECT_TEMPLATE)


def test_every_relative_import_names_a_source_file(graph):
    assert graph.imports, "no imports read: the parser no longer matches the source"
    assert not graph.unresolved, "\n".join(graph.unresolved)


def test_no_import_cycle(graph):
    problems = cycles(graph)
    assert not problems, "\n".join(problems)


def test_no_import_from_a_higher_layer(graph):
    problems = layer_violations(graph, LAYERS, LAYERED, TABLE)
    assert not problems, "\n".join(problems)


def test_every_export_is_imported_by_another_module(graph):
    problems = unused_exports(graph)
    assert not problems, "\n".join(problems)


def test_app_ts_states_the_layer_order_of_the_table():
    """The generated project says its rule where a reader starts (src/app.ts): the same layers, in
    the same order, as the table this test checks."""
    text = (PROJECT_TEMPLATE / "src/app.ts").read_text(encoding="utf-8")
    chain = re.search(r"Imports point one way[^\n]*\n(?: \* \S[^\n]*\n)*((?: \*   [^\n]*\n)+)", text)
    assert chain, "src/app.ts no longer states the import rule"
    paths = re.findall(r"[\w.-]+(?:/[\w.-]+)*(?:\.ts|/)", chain.group(1))
    placed = [(path, layer_of(LAYERS, f"src/{path}")) for path in paths]
    assert all(layer is not None for _, layer in placed), placed
    ranks = [layer[0] for _, layer in placed]
    assert ranks == sorted(ranks), f"src/app.ts names the layers out of the table's order: {placed}"
    unshared = {rank for rank, layer in enumerate(LAYERS) if not layer.shared}
    assert set(ranks) == unshared, f"src/app.ts leaves out layers: {[LAYERS[r].name for r in unshared - set(ranks)]}"


# --- the checker itself, on planted violations ---

FAKE_LAYERS = (
    Layer("top", ("src/top.ts",)),
    Layer("middle", ("src/middle/",)),
    Layer("shared", ("src/log.ts",), shared=True),
    Layer("bottom", ("src/bottom.ts",)),
)


def fake_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


CLEAN = {
    "src/top.ts": 'import { middle } from "./middle/index.js";\nimport { log } from "./log.js";\n',
    "src/middle/index.ts": (
        'import {\n  bottom,\n  type Bottom,\n} from "../bottom.js";\nexport const middle = (b: Bottom) => bottom(b);\n'
    ),
    "src/log.ts": 'import type { Bottom } from "./bottom.js";\nexport function log(b: Bottom) {}\n',
    "src/bottom.ts": "export type Bottom = number;\nexport function bottom(b: Bottom) {\n  return b;\n}\n",
    "test/top.test.ts": 'import "../src/top.js";\n',
}


def test_the_checker_passes_a_clean_tree(tmp_path):
    graph = read_graph(fake_tree(tmp_path, CLEAN))
    assert len(graph.imports) == 5
    assert (cycles(graph), layer_violations(graph, FAKE_LAYERS), unused_exports(graph), graph.unresolved) == (
        [],
        [],
        [],
        [],
    )


def test_the_checker_names_an_import_from_a_higher_layer(tmp_path):
    files = dict(CLEAN)
    files["src/bottom.ts"] = 'import { middle } from "./middle/index.js";\n' + CLEAN["src/bottom.ts"]
    problems = layer_violations(read_graph(fake_tree(tmp_path, files)), FAKE_LAYERS)
    assert len(problems) == 1, problems
    assert problems[0].startswith("src/bottom.ts:1: imports src/middle/index.ts: layer 'bottom' imports from 'middle'")
    assert "a layer above its own" in problems[0]


def test_the_checker_lets_any_layer_import_a_shared_one_and_checks_the_shared_ones_imports(tmp_path):
    files = dict(CLEAN)
    files["src/bottom.ts"] = 'import { log } from "./log.js";\n' + CLEAN["src/bottom.ts"]
    files["src/log.ts"] = 'import { middle } from "./middle/index.js";\n' + CLEAN["src/log.ts"]
    graph = read_graph(fake_tree(tmp_path, files))
    assert [p.split(": layer")[0] for p in layer_violations(graph, FAKE_LAYERS)] == [
        "src/log.ts:1: imports src/middle/index.ts"
    ]


def test_the_checker_names_a_file_in_no_layer_and_an_import_of_test_code(tmp_path):
    files = dict(CLEAN)
    files["src/stray.ts"] = 'import { helper } from "../test/helper.js";\nexport const stray = helper;\n'
    files["test/helper.ts"] = "export const helper = 1;\n"
    files["src/top.ts"] = CLEAN["src/top.ts"] + 'import { stray } from "./stray.js";\n'
    problems = layer_violations(read_graph(fake_tree(tmp_path, files)), FAKE_LAYERS)
    assert any(p.startswith("src/stray.ts: in no layer") for p in problems), problems
    assert any(p.startswith("src/stray.ts:1: imports test/helper.ts, outside src/") for p in problems), problems


def test_the_checker_names_an_import_cycle(tmp_path):
    files = dict(CLEAN)
    # A type-only circle is still a circle.
    files["src/bottom.ts"] = 'import type { Bottom2 } from "./bottom2.js";\n' + CLEAN["src/bottom.ts"]
    files["src/bottom2.ts"] = 'import { bottom } from "./bottom.js";\nexport type Bottom2 = typeof bottom;\n'
    problems = cycles(read_graph(fake_tree(tmp_path, files)))
    assert problems == [
        "import cycle (rule: no module imports itself around a circle; move what both need into a module of "
        "its own below them): src/bottom.ts -> src/bottom2.ts -> src/bottom.ts"
    ]


def test_the_checker_names_an_export_nobody_imports(tmp_path):
    files = dict(CLEAN)
    files["src/bottom.ts"] = CLEAN["src/bottom.ts"] + "export const unused = 1;\nexport interface Lonely {}\n"
    problems = unused_exports(read_graph(fake_tree(tmp_path, files)))
    assert [p.split(", which")[0] for p in problems] == [
        "src/bottom.ts: exports 'Lonely'",
        "src/bottom.ts: exports 'unused'",
    ]
    assert all("rule: export only what another module uses" in p for p in problems)


def test_the_checker_follows_re_exports_and_aliases(tmp_path):
    files = {
        "src/a.ts": "export const used = 1;\nexport const passedOn = 2;\nexport const dropped = 3;\n",
        "src/index.ts": 'export { passedOn as renamed, dropped } from "./a.js";\n',
        "src/main.ts": 'import { used } from "./a.js";\nimport { renamed as mine } from "./index.js";\n',
    }
    problems = unused_exports(read_graph(fake_tree(tmp_path, files)))
    assert [p.split(", which")[0] for p in problems] == [
        "src/a.ts: exports 'dropped'",
        "src/index.ts: exports 'dropped'",
    ]


def test_the_checker_names_a_relative_import_of_a_missing_file(tmp_path):
    graph = read_graph(fake_tree(tmp_path, {"src/a.ts": 'import { gone } from "./gone.js";\n'}))
    assert graph.unresolved == ["src/a.ts:1: imports './gone.js', which names no source file"]


def test_a_violation_planted_in_the_real_source_fails_with_the_file_and_the_rule(tmp_path):
    """What the lead sees after a merge: auth reaching up into the tools, in a copy of the source."""
    root = tmp_path / "project"
    for folder in ("src", "test", "dev"):
        shutil.copytree(PROJECT_TEMPLATE / folder, root / folder)
    middleware = root / "src/auth/middleware.ts"
    middleware.write_text(
        'import { toolScopes } from "../tools/index.js";\n' + middleware.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    problems = layer_violations(read_graph(root), LAYERS, LAYERED, TABLE)
    assert problems == [
        "src/auth/middleware.ts:1: imports src/tools/index.ts: layer 'auth' imports from "
        "'tools, resources, prompts', a layer above its own (rule: a module imports only its own layer, "
        "the layers below it in LAYERS in tests/test_source_layers.py, and the shared ones)"
    ]
