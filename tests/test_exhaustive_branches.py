"""Every Jinja branch on a choice names each value and fails loudly on any other (CONVENTIONS.md).

A new auth mode or base image must never land silently in another value's branch. Two
checks, over every file of the project template:

- statically, every `if`/`elif`/`else` chain (and inline `x if c else y`) whose condition
  reads a choice compares it only with `==` or `in [...]` against values that exist, and
  ends with `{%- else %}{{ unknown_<field>_choice }}{%- endif %}`;
- for real, in a copy of the template whose cookiecutter.json offers one more value for
  every choice, rendering each file that branches on that choice with the new value fails
  naming the sentinel, and baking the whole copy with it fails (the pre-gen hook, which
  reads the choices from cookiecutter.json, lets the value through to the branches).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cookiecutter.environment import StrictEnvironment
from jinja2 import UndefinedError, nodes

from support.template import PROJECT_TEMPLATE, TEMPLATE_DIR, render_file
from variants import CHOICE_OPTIONS, COOKIECUTTER_JSON, OPTIONS

FAKE_VALUE = "fake-choice-for-tests"
COPIED_VERBATIM = set(COOKIECUTTER_JSON["_copy_without_render"])


def sentinel(field: str) -> str:
    return f"unknown_{field}_choice"


def template_files() -> list[str]:
    """Every rendered file of the project template (not the lockfiles, not the verbatim copies)."""
    return sorted(
        str(path.relative_to(PROJECT_TEMPLATE))
        for path in PROJECT_TEMPLATE.rglob("*")
        if path.is_file()
        and ".lockfiles" not in path.parts
        and not any(path.relative_to(PROJECT_TEMPLATE).match(p) for p in COPIED_VERBATIM)
    )


# --- reading the branch sites out of the Jinja syntax tree -----------------------------------


class Alias:
    """A `{% set name = ... %}` that reads choices: a plain copy of one, or a value derived from them."""

    def __init__(self, fields: set[str], plain: bool):
        self.fields, self.plain = fields, plain


def parse(source: str) -> nodes.Template:
    return StrictEnvironment(context={"cookiecutter": {}}, keep_trailing_newline=True).parse(source)


def is_choice(node: nodes.Node) -> str | None:
    """The choice `node` is, if it is `cookiecutter.<choice>`."""
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "cookiecutter":
        return node.attr if node.attr in CHOICE_OPTIONS else None
    return None


def is_table_lookup(node: nodes.Node) -> bool:
    """`cookiecutter._<table>[...]` (e.g. `_base_families[cookiecutter.base_image]`), or a field of one:
    the facts of the chosen value, not a branch on it. A branch on such a field reads the table
    (whose entries the pre-gen hook checks), so a new value needs no new branch."""
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        inner = node.node
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(inner, nodes.Getattr)
            and isinstance(inner.node, nodes.Name)
            and inner.node.name == "cookiecutter"
            and inner.attr.startswith("_")
        ):
            return True
        node = inner
    return False


def find_aliases(tree: nodes.Template) -> dict[str, Alias]:
    aliases: dict[str, Alias] = {}
    for assign in tree.find_all(nodes.Assign):
        if not isinstance(assign.target, nodes.Name) or is_table_lookup(assign.node):
            continue
        if field := is_choice(assign.node):
            aliases[assign.target.name] = Alias({field}, plain=True)
        elif fields := fields_read(assign.node, aliases):
            aliases[assign.target.name] = Alias(fields, plain=False)
    return aliases


def plain_choice(node: nodes.Node, aliases: dict[str, Alias]) -> str | None:
    """The choice an expression is exactly (`cookiecutter.x`, or a name set to it)."""
    if field := is_choice(node):
        return field
    if isinstance(node, nodes.Name) and node.name in aliases and aliases[node.name].plain:
        return next(iter(aliases[node.name].fields))
    return None


def fields_read(node: nodes.Node, aliases: dict[str, Alias]) -> set[str]:
    fields: set[str] = set()
    for sub in [node, *node.find_all((nodes.Getattr, nodes.Name))]:
        if field := is_choice(sub):
            fields.add(field)
        elif isinstance(sub, nodes.Name) and sub.name in aliases:
            fields |= aliases[sub.name].fields
    return fields


def literal_values(node: nodes.Node) -> list | None:
    if isinstance(node, nodes.Const):
        return [node.value]
    if isinstance(node, (nodes.List, nodes.Tuple)) and all(isinstance(i, nodes.Const) for i in node.items):
        return [i.value for i in node.items]
    return None


def is_blank(node: nodes.Node) -> bool:
    return isinstance(node, nodes.TemplateData) and not node.data.strip()


def ends_in_sentinel(body: list[nodes.Node], name: str) -> bool:
    """Whether an else body is only `{{ name }}` (whitespace aside), or `{% set x = name %}`
    (the sentinel then fails where x is used; the rendering test below proves it does)."""
    parts = [n for output in body if isinstance(output, nodes.Output) for n in output.nodes if not is_blank(n)]
    others = [n for n in body if not isinstance(n, nodes.Output)]
    if not others:
        return len(parts) == 1 and isinstance(parts[0], nodes.Name) and parts[0].name == name
    return (
        not parts
        and len(others) == 1
        and isinstance(others[0], nodes.Assign)
        and isinstance(others[0].node, nodes.Name)
        and others[0].node.name == name
    )


def condition_problems(test: nodes.Node, aliases: dict[str, Alias]) -> list[tuple[str, str]]:
    """(choice, problem) for one condition: how it reads each choice."""
    problems = []
    compared = set()
    for compare in [test, *test.find_all(nodes.Compare)]:
        if not isinstance(compare, nodes.Compare) or not (field := plain_choice(compare.expr, aliases)):
            continue
        compared.add(id(compare.expr))
        for operand in compare.ops:
            named = literal_values(operand.expr)
            if operand.op not in ("eq", "in") or named is None:
                problems.append((field, f"`{operand.op}` does not name the values it means (use == or in [...])"))
            elif unknown := [v for v in named if v not in CHOICE_OPTIONS[field]]:
                problems.append((field, f"{unknown} are not values of {field}"))
    for sub in [test, *test.find_all((nodes.Getattr, nodes.Name))]:
        if (field := plain_choice(sub, aliases)) and id(sub) not in compared:
            problems.append((field, "tested for truth instead of compared with its values"))
        elif isinstance(sub, nodes.Name) and sub.name in aliases and not aliases[sub.name].plain:
            for field in aliases[sub.name].fields:
                problems.append((field, f"branches on `{sub.name}`, derived from {field}: compare {field} itself"))
    return problems


def branch_problems(relpath: str) -> dict[str, list[str]]:
    """For each choice the file branches on, what is wrong with its branch sites (empty: all fine)."""
    return branch_problems_in((PROJECT_TEMPLATE / relpath).read_text(encoding="utf-8"))


def branch_problems_in(source: str) -> dict[str, list[str]]:
    tree = parse(source)
    aliases = find_aliases(tree)
    problems: dict[str, list[str]] = {}
    elifs = {id(elif_) for node in tree.find_all(nodes.If) for elif_ in node.elif_}
    for node in tree.find_all(nodes.If):
        if id(node) in elifs:
            continue  # part of the chain of the `if` it follows
        tests = [node.test, *(elif_.test for elif_ in node.elif_)]
        fields = set().union(*(fields_read(test, aliases) for test in tests))
        for field in fields:
            problems.setdefault(field, [])
        for test in tests:
            for field, problem in condition_problems(test, aliases):
                problems[field].append(f"line {test.lineno}: {problem}")
        for field in sorted(fields):
            if not ends_in_sentinel(node.else_, sentinel(field)):
                ending = f"{{%- else %}}{{{{ {sentinel(field)} }}}}{{%- endif %}}"
                problems[field].append(f"line {node.lineno}: the chain does not end in {ending}")
    for node in tree.find_all(nodes.CondExpr):
        for field in fields_read(node.test, aliases):
            problems.setdefault(field, []).append(
                f"line {node.lineno}: inline `x if ... else y` on {field}: use an if/elif/else block"
            )
    return problems


def branching_files() -> list[tuple[str, str]]:
    """(file, choice) for every file whose Jinja branches read that choice."""
    return [(relpath, field) for relpath in template_files() for field in sorted(branch_problems(relpath))]


def param(relpath: str, field: str):
    return pytest.param(relpath, field, id=f"{relpath}:{field}")


BRANCH_SITES = branching_files()


def test_the_checks_find_the_branch_sites_known_today():
    """Guard against a parser that finds nothing (every test below would then pass vacuously)."""
    for site in [
        ("package.json", "node_version"),
        ("package.json", "bundler"),
        ("docs/docker.md", "init_system"),
        ("docs/deployment.md", "ci"),
        ("deploy/cloud-run/service.yaml", "auth_mode"),
        ("deploy/cloud-run/README.md", "auth_mode"),
        ("Dockerfile.production", "init_system"),
    ]:
        assert site in BRANCH_SITES


@pytest.mark.parametrize(
    ("source", "field", "problem"),
    [
        ('{% if cookiecutter.bundler != "tsc" %}a{% else %}b{% endif %}', "bundler", "`ne` does not name"),
        ('{% if cookiecutter.bundler == "tsc" %}a{% else %}b{% endif %}', "bundler", "does not end in"),
        ('{% if cookiecutter.ci == "github" %}a{% endif %}', "ci", "does not end in"),
        ('{{ "x" if cookiecutter.ci == "none" else "y" }}', "ci", "inline"),
        ('{% set tsc = cookiecutter.bundler == "tsc" %}{% if tsc %}a{% endif %}', "bundler", "derived from bundler"),
        ("{% set b = cookiecutter.base_image %}{% if b %}a{% endif %}", "base_image", "tested for truth"),
        ('{% if cookiecutter.ci == "jenkins" %}a{% else %}{{ unknown_ci_choice }}{% endif %}', "ci", "not values"),
    ],
)
def test_the_static_check_catches_else_means_the_other_one(source, field, problem):
    assert any(problem in found for found in branch_problems_in(source)[field]), branch_problems_in(source)


@pytest.mark.parametrize(
    "source",
    [
        '{%- if cookiecutter.ci == "github" %}g{%- elif cookiecutter.ci in ["gitlab", "none"] %}o'
        "{%- else %}{{ unknown_ci_choice }}{%- endif %}",
        '{%- set ci = cookiecutter.ci %}{%- if ci == "github" or ci == "gitlab" %}{%- set x = 1 %}'
        '{%- elif ci == "none" %}{%- set x = 2 %}{%- else %}{%- set x = unknown_ci_choice %}{%- endif %}{{ x }}',
    ],
)
def test_the_static_check_accepts_the_convention(source):
    assert branch_problems_in(source) == {"ci": []}


@pytest.mark.parametrize(("relpath", "field"), [param(*site) for site in BRANCH_SITES])
def test_every_branch_on_a_choice_names_each_value_and_ends_in_its_sentinel(relpath, field):
    problems = branch_problems(relpath).get(field, [])
    assert problems == [], f"{relpath}:\n  " + "\n  ".join(problems)


# --- for real: a template with one more value for every choice ---------------------------------


@pytest.fixture(scope="module")
def template_with_fake_choices(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("fake-choices") / "template"
    skip = {".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache", "tests"}
    shutil.copytree(TEMPLATE_DIR, copy, ignore=lambda _dir, names: [n for n in names if n in skip])
    options = json.loads((copy / "cookiecutter.json").read_text(encoding="utf-8"))
    for field in CHOICE_OPTIONS:
        options[field] = [*options[field], FAKE_VALUE]
    (copy / "cookiecutter.json").write_text(json.dumps(options, indent=2), encoding="utf-8")
    return copy


def true_and_false_answers() -> list[dict]:
    """Every yes/no option on, then off: between them every boolean-guarded block renders."""
    booleans = [key for key, values in OPTIONS.items() if isinstance(values[0], bool)]
    return [dict.fromkeys(booleans, True), dict.fromkeys(booleans, False)]


@pytest.mark.parametrize(("relpath", "field"), [param(*site) for site in BRANCH_SITES])
def test_rendering_an_unknown_choice_fails_naming_its_sentinel(template_with_fake_choices, relpath, field):
    failures = []
    for booleans in true_and_false_answers():
        try:
            render_file(relpath, template=template_with_fake_choices, **booleans, **{field: FAKE_VALUE})
        except UndefinedError as error:
            assert sentinel(field) in str(error), f"{relpath} failed, but not on {sentinel(field)}: {error}"
            failures.append(booleans)
    assert failures, f"{relpath} rendered {field}={FAKE_VALUE!r} without complaint"


@pytest.mark.parametrize("field", list(CHOICE_OPTIONS))
def test_baking_an_unknown_choice_fails_naming_the_field(cookies, template_with_fake_choices, capfd, field):
    result = cookies.bake(extra_context={field: FAKE_VALUE}, template=str(template_with_fake_choices))
    assert result.exception is not None, f"{field}={FAKE_VALUE!r} generated a project"
    said = f"{result.exception} {getattr(result.exception, 'message', '')} {capfd.readouterr().err}"
    assert sentinel(field) in said or f"{field}={FAKE_VALUE!r}" in said, said
    assert "is not one of" not in said, "the pre-gen hook must take its choices from cookiecutter.json"
