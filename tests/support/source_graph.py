"""The generated project's TypeScript import graph, read from the raw template files (no Node needed).

Static imports in that codebase are simple (`import [type] {a, b as c} from "./x.js";`, a default
or `* as` import, `export ... from`), so a regular expression over each line start reads them; a
relative specifier is resolved to the file it names ("./x.js" -> x.ts, "./d/index.js").

Three checks, each returning messages that name the file and the rule:
  - `cycles`: files that import each other, directly or around a circle (type-only imports count:
    a circle of types is still two files that cannot be read one without the other);
  - `layer_violations`: an import from a layer above the importer's own, given a layer table
    (top first); a `shared` layer may be imported from any layer, its own imports are checked
    like anyone's; a file of the checked folder in no layer, and an import of a folder outside
    the layered ones (src/ importing dev/ or test/), are violations too;
  - `unused_exports`: an exported name no other module imports (a namespace import or
    `export *` counts as using every name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_SUFFIXES = (".ts", ".mts")

# An import or re-export with a `from` clause, at a line start (so comments and strings that
# merely mention one do not count). The clause may span lines: `import {\n  a,\n  b,\n} from "./x.js";`
_FROM = re.compile(
    r"""^[ \t]*(?P<kind>import|export)[ \t]+(?P<type>type[ \t]+)?
        (?P<clause>\{[^}]*\}|\*(?:[ \t]+as[ \t]+[\w$]+)?|[\w$]+(?:[ \t]*,[ \t]*(?:\{[^}]*\}|\*[ \t]+as[ \t]+[\w$]+))?)
        \s*from\s*["'](?P<spec>[^"']+)["']""",
    re.MULTILINE | re.VERBOSE,
)
# `import "./x.js";` (for its effects) and `await import("./x.js")`.
_BARE = re.compile(r"""^[ \t]*import[ \t]*["'](?P<spec>[^"']+)["']""", re.MULTILINE)
_DYNAMIC = re.compile(r"""\bimport\(\s*["'](?P<spec>[^"']+)["']\s*\)""")
# A declaration exported by name.
_EXPORT_DECL = re.compile(
    r"""^[ \t]*export[ \t]+(?:declare[ \t]+)?(?:async[ \t]+)?(?:abstract[ \t]+)?
        (?:function\*?|const|let|var|class|interface|type|enum)[ \t]+(?P<name>[A-Za-z_$][\w$]*)""",
    re.MULTILINE | re.VERBOSE,
)
_EXPORT_DEFAULT = re.compile(r"^[ \t]*export[ \t]+default\b", re.MULTILINE)
# `export { a, b as c };` without a `from`: local names exported.
_EXPORT_LIST = re.compile(r"^[ \t]*export[ \t]+(?:type[ \t]+)?\{(?P<names>[^}]*)\}[ \t]*;", re.MULTILINE)


@dataclass(frozen=True)
class Import:
    source: str  # the importing file, relative to the root ("src/app.ts")
    target: str  # the imported file, relative to the root
    names: frozenset[str]  # the names it takes ("*" = all of them, "default" = the default export)
    line: int


@dataclass
class Module:
    path: str
    exports: set[str] = field(default_factory=set)
    # What this module re-exports: (its name here, the file it comes from, its name there);
    # ("*", file, "*") for `export * from`.
    reexports: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Graph:
    root: Path
    modules: dict[str, Module]
    imports: list[Import]
    unresolved: list[str]  # messages: relative specifiers naming no file

    def edges(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {path: set() for path in self.modules}
        for imp in self.imports:
            out[imp.source].add(imp.target)
        return out


def _names(clause: str) -> tuple[frozenset[str], dict[str, str]]:
    """The names an import clause takes (as the exporter calls them), and local alias -> name."""
    names: set[str] = set()
    aliases: dict[str, str] = {}
    head, brace, rest = clause.strip().partition("{")
    for part in head.split(","):
        part = part.strip()
        if part:
            names.add("*" if part.startswith("*") else "default")
    if brace:
        for entry in rest[: rest.rindex("}")].split(","):
            entry = re.sub(r"^\s*type\s+", "", entry).strip()
            if entry:
                original, _, alias = entry.partition(" as ")
                names.add(original.strip())
                aliases[(alias or original).strip()] = original.strip()
    return frozenset(names), aliases


def _resolve(root: Path, source: Path, spec: str) -> Path | None:
    base = (source.parent / spec).resolve()
    stem = base.with_suffix("") if base.suffix in (".js", ".mjs", ".ts", ".mts") else base
    candidates = [stem.with_suffix(suffix) for suffix in SOURCE_SUFFIXES]
    candidates += [base / f"index{suffix}" for suffix in SOURCE_SUFFIXES]
    for candidate in candidates:
        if candidate.is_file() and candidate.is_relative_to(root):
            return candidate
    return None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def read_graph(root: Path, folders: Sequence[str] = ("src", "test", "dev")) -> Graph:
    """Every .ts file under `root`/<folder> (declaration files aside), its exports and its imports."""
    root = root.resolve()
    files = sorted(
        path
        for folder in folders
        if (root / folder).is_dir()
        for path in (root / folder).rglob("*")
        if path.suffix in SOURCE_SUFFIXES and not path.name.endswith(".d.ts") and "node_modules" not in path.parts
    )
    modules = {path.relative_to(root).as_posix(): Module(path.relative_to(root).as_posix()) for path in files}
    imports: list[Import] = []
    unresolved: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        module = modules[rel]
        module.exports.update(match["name"] for match in _EXPORT_DECL.finditer(text))
        if _EXPORT_DEFAULT.search(text):
            module.exports.add("default")
        for match in _EXPORT_LIST.finditer(text):
            for entry in match["names"].split(","):
                entry = re.sub(r"^\s*type\s+", "", entry).strip()
                if entry:
                    module.exports.add(entry.partition(" as ")[2].strip() or entry)
        found: list[tuple[str, frozenset[str], dict[str, str], bool, int]] = []
        for match in _FROM.finditer(text):
            names, aliases = _names(match["clause"])
            found.append((match["spec"], names, aliases, match["kind"] == "export", match.start()))
        for pattern in (_BARE, _DYNAMIC):
            for match in pattern.finditer(text):
                # Nothing named: a bare import uses no export; a dynamic one may use any.
                names = frozenset({"*"}) if pattern is _DYNAMIC else frozenset()
                found.append((match["spec"], names, {}, False, match.start()))
        for spec, names, aliases, is_export, offset in found:
            if not spec.startswith("."):
                continue  # a package or node: builtin
            line = _line_of(text, offset)
            target = _resolve(root, path, spec)
            if target is None or target.relative_to(root).as_posix() not in modules:
                unresolved.append(f"{rel}:{line}: imports {spec!r}, which names no source file")
                continue
            target_rel = target.relative_to(root).as_posix()
            if not is_export:
                imports.append(Import(rel, target_rel, names, line))
                continue
            # A re-export is an edge of the graph but no use: the use is passed on to the
            # origin when another module imports the name (unused_exports).
            imports.append(Import(rel, target_rel, frozenset(), line))
            if "*" in names:
                module.reexports.append(("*", target_rel, "*"))
            for alias, original in aliases.items():
                module.exports.add(alias)
                module.reexports.append((alias, target_rel, original))
    return Graph(root, modules, imports, unresolved)


def cycles(graph: Graph) -> list[str]:
    """One message per set of files that import each other (Tarjan's strongly connected components)."""
    edges = graph.edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:  # recursion depth is bounded by the file count (tens)
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    messages = []
    for component in components:
        path = _circle(edges, component)
        messages.append(
            "import cycle (rule: no module imports itself around a circle; move what both need into "
            f"a module of its own below them): {' -> '.join(path)}"
        )
    return messages


def _circle(edges: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete circle through the component's first file, for the message."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(edges[node] & members):
            if succ == start:
                return [*paths[node], start]
            if succ not in paths:
                paths[succ] = [*paths[node], succ]
                queue.append(succ)
    return [*component, start]


@dataclass(frozen=True)
class Layer:
    name: str
    paths: tuple[str, ...]  # files ("src/app.ts") or folders ("src/http/"), relative to the root
    shared: bool = False  # may be imported from any layer
    why: str = ""


def layer_of(layers: Sequence[Layer], path: str) -> tuple[int, Layer] | None:
    """The layer whose entry names `path` most specifically (a file before its folder)."""
    best: tuple[int, int, Layer] | None = None
    for rank, layer in enumerate(layers):
        for entry in layer.paths:
            hit = path == entry if not entry.endswith("/") else path.startswith(entry)
            if hit and (best is None or len(entry) > best[0]):
                best = (len(entry), rank, layer)
    return None if best is None else (best[1], best[2])


def layer_violations(
    graph: Graph, layers: Sequence[Layer], checked: str = "src/", table: str = "the layer table"
) -> list[str]:
    """Imports from a higher layer, files in no layer, and imports out of the checked folder."""
    messages = [
        f"{path}: in no layer of {table}: add a line for it"
        for path in graph.modules
        if path.startswith(checked) and layer_of(layers, path) is None
    ]
    for imp in graph.imports:
        if not imp.source.startswith(checked):
            continue
        if not imp.target.startswith(checked):
            messages.append(
                f"{imp.source}:{imp.line}: imports {imp.target}, outside {checked} "
                f"(rule: {checked} never imports development or test code)"
            )
            continue
        source, target = layer_of(layers, imp.source), layer_of(layers, imp.target)
        if source is None or target is None:
            continue  # reported above
        (source_rank, source_layer), (target_rank, target_layer) = source, target
        if target_rank < source_rank and not target_layer.shared:
            messages.append(
                f"{imp.source}:{imp.line}: imports {imp.target}: layer '{source_layer.name}' imports from "
                f"'{target_layer.name}', a layer above its own (rule: a module imports only its own layer, "
                f"the layers below it in {table}, and the shared ones)"
            )
    return messages


def unused_exports(graph: Graph, checked: Iterable[str] = ("src/", "dev/", "test/")) -> list[str]:
    """Exported names of modules under `checked` that no other module imports."""
    used: dict[str, set[str]] = {path: set() for path in graph.modules}
    for imp in graph.imports:
        if imp.target != imp.source:
            used[imp.target].update(imp.names)
    # A re-export passes the use on: `export { a } from "./x.js"` used by someone uses x's `a`;
    # whatever is used of a module with `export * from "./x.js"` may come from x.
    changed = True
    while changed:
        changed = False
        for module in graph.modules.values():
            for alias, origin, original in module.reexports:
                if alias == "*":
                    wanted = set(used[module.path])
                elif alias in used[module.path] or "*" in used[module.path]:
                    wanted = {original}
                else:
                    wanted = set()
                if not wanted <= used[origin]:
                    used[origin] |= wanted
                    changed = True
    messages = []
    checked = tuple(checked)
    for path, module in sorted(graph.modules.items()):
        if not path.startswith(checked) or "*" in used[path]:
            continue
        for name in sorted(module.exports - used[path]):
            messages.append(
                f"{path}: exports {name!r}, which no other module imports "
                "(rule: export only what another module uses; drop the export or the dead code)"
            )
    return messages
