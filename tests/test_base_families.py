"""Adding a base family is one entry in cookiecutter.json's _base_families, the base_image value and
its prompt label: nothing else (docs/maintaining/base-family.md).

- In a copy of the template, the family that page shows, and one more family shaped like each
  existing one (other images, another uid), are added exactly that way, and nothing else of the
  copy differs from the template. Each bakes: its Dockerfiles and its Kubernetes Deployment carry
  its images and uid, the README says what it is built on, its Dockerfiles differ from those of
  the existing family of its shape only in the lines naming images and the uid, and hadolint
  passes on every variant of them (the images are fictional: nothing is pulled or built).
- No file of the project template branches on a family's name (test_exhaustive_branches' parser):
  the files read the entry's fields.
- The pre-gen hook accepts every real entry, and refuses a bad entry naming the field, and a
  base_image value without an entry naming _base_families, before any file is written.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from support.bake import project_of
from support.docs import blocks
from support.template import PROJECT_TEMPLATE, TEMPLATE_DIR, render_file
from support.tools import find_tool
from variants import BASE_FAMILIES, OPTIONS

PAGE = TEMPLATE_DIR / "docs" / "maintaining" / "base-family.md"
SKIPPED_IN_COPY = {".git", ".venv", "build", "site", "__pycache__", ".pytest_cache", ".ruff_cache"}
# The template's own tests and docs site are not part of what a bake reads (the project has a docs/ too).
SKIPPED_AT_THE_ROOT = {"tests", "docs"}
SHAPE_FIELDS = ("node", "init", "package_manager")


def documented_family() -> tuple[str, dict]:
    """The entry the page shows (its one json block)."""
    [block] = [block for block in blocks(PAGE) if block.fence == "json"]
    [(name, entry)] = json.loads(block.text).items()
    return name, entry


def shaped_like(base: str) -> tuple[str, dict]:
    """A family of `base`'s shape with facts of its own: other images, notes and uid."""
    family = BASE_FAMILIES[base]
    registry = f"registry.example/like-{base}"
    build = f"{registry}/node:${{NODE_VERSION}}-build"
    runtime = build if family["runtime_image"] == family["build_image"] else f"{registry}/runtime:1"
    return f"like-{base}", {
        **family,
        "build_image": build,
        "runtime_image": runtime,
        "uid": 20000 + list(BASE_FAMILIES).index(base) + 10,
        "runtime_note": f"a family shaped like {base}.",
        "development_note": f"The Node image of the production build stage (shaped like {base}).",
        "summary": f"`${{RUNTIME_IMAGE}}` (shaped like {base})",
    }


NEW_FAMILIES: dict[str, dict] = dict([documented_family(), *(shaped_like(base) for base in BASE_FAMILIES)])


def shape(family: dict) -> tuple:
    return tuple(family[field] for field in SHAPE_FIELDS)


def copy_template(destination: Path) -> Path:
    def skipped(folder: str, names: list[str]) -> list[str]:
        at_root = Path(folder) == TEMPLATE_DIR
        return [n for n in names if n in SKIPPED_IN_COPY or (at_root and n in SKIPPED_AT_THE_ROOT)]

    shutil.copytree(TEMPLATE_DIR, destination, ignore=skipped)
    return destination


def add_family(template: Path, name: str, entry: dict | None) -> None:
    """What the page's checklist says, and only that: the value, its label, its entry."""
    path = template / "cookiecutter.json"
    options = json.loads(path.read_text(encoding="utf-8"))
    options["base_image"].append(name)
    options["__prompts__"]["base_image"][name] = f"{name} (a family added by tests/test_base_families.py)"
    if entry is not None:
        options["_base_families"][name] = entry
    path.write_text(json.dumps(options, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> Path:
    """A copy of the template with every family of NEW_FAMILIES added."""
    template = copy_template(tmp_path_factory.mktemp("base-families") / "template")
    for name, entry in NEW_FAMILIES.items():
        add_family(template, name, entry)
    return template


def test_adding_the_families_changed_cookiecutter_json_alone(extended):
    changed = [
        str(path.relative_to(extended))
        for path in sorted(extended.rglob("*"))
        if path.is_file() and path.read_bytes() != (TEMPLATE_DIR / path.relative_to(extended)).read_bytes()
    ]
    assert changed == ["cookiecutter.json"]
    before = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    after = json.loads((extended / "cookiecutter.json").read_text(encoding="utf-8"))
    differing = sorted(key for key in after if after[key] != before.get(key))
    assert differing == ["__prompts__", "_base_families", "base_image"]
    assert after["base_image"] == [*before["base_image"], *NEW_FAMILIES]
    assert {k: v for k, v in after["_base_families"].items() if k not in NEW_FAMILIES} == before["_base_families"]


def facts_of(family: dict) -> list[str]:
    return [family[field] for field in ("build_image", "runtime_image", "runtime_note", "development_note")] + [
        str(family["uid"])
    ]


def without_facts(text: str, *families: dict) -> list[str]:
    facts = [fact for family in families for fact in facts_of(family)]
    return [line for line in text.splitlines() if not any(fact in line for fact in facts)]


@pytest.mark.parametrize("name", list(NEW_FAMILIES))
def test_a_new_family_bakes_with_its_images_and_uid(cookies, extended, name):
    family = NEW_FAMILIES[name]
    node = OPTIONS["node_version"][0]
    answers = {"base_image": name, "node_version": node, "kubernetes": True, "init_system": "tini"}
    answers["container_registry"] = ""  # the public names, whatever a fork's default
    project = project_of(cookies.bake(extra_context=answers, template=str(extended)))
    uid = family["uid"]

    production = (project / "Dockerfile.production").read_text(encoding="utf-8")
    development = (project / "Dockerfile.development").read_text(encoding="utf-8")
    for line in (
        f"ARG BUILD_IMAGE={family['build_image']}",
        f"# {name}: {family['runtime_note']}",
        f"ARG RUNTIME_IMAGE={family['runtime_image']}",
        f"ARG APP_UID={uid}",
    ):
        assert line in production.splitlines(), line
    for line in (f"# {family['development_note']}", f"ARG DEV_IMAGE={family['build_image']}", f"USER {uid}:{uid}"):
        assert line in development.splitlines(), line
    assert ("AS node-files" in production) == (family["node"] == "copied")

    deployment = yaml.safe_load((project / "deploy/kubernetes/base/deployment.yaml").read_text(encoding="utf-8"))
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"], security["fsGroup"]) == (uid, uid, uid)

    summary = family["summary"].replace("${RUNTIME_IMAGE}", family["runtime_image"]).replace("${NODE_VERSION}", node)
    pages = [path for path in project.rglob("*.md") if summary in path.read_text(encoding="utf-8")]
    assert pages, f"no page of the project says the image is built on {summary!r}"

    # The existing family of the same shape renders the same files, but for the lines naming its facts.
    [mate] = [base for base, other in BASE_FAMILIES.items() if shape(other) == shape(family)][:1]
    for dockerfile, text in (("Dockerfile.production", production), ("Dockerfile.development", development)):
        theirs = render_file(dockerfile, **{**answers, "base_image": mate})
        assert without_facts(text, family, BASE_FAMILIES[mate]) == without_facts(theirs, family, BASE_FAMILIES[mate])


def test_hadolint_passes_on_every_variant_of_the_new_families(extended, tmp_path):
    hadolint = find_tool("hadolint")
    config = tmp_path / ".hadolint.yaml"
    config.write_text(render_file(".hadolint.yaml"), encoding="utf-8")
    files: dict[str, Path] = {}
    variants = itertools.product(NEW_FAMILIES, OPTIONS["init_system"], OPTIONS["security_scanning"], OPTIONS["bundler"])
    for name, init, scanning, bundler in variants:
        answers = {"base_image": name, "init_system": init, "security_scanning": scanning, "bundler": bundler}
        for dockerfile in ("Dockerfile.production", "Dockerfile.development"):
            text = render_file(dockerfile, template=extended, **answers)
            if text not in files:
                files[text] = tmp_path / f"{dockerfile}.{name}.{init}.{scanning}.{bundler}"
                files[text].write_text(text, encoding="utf-8")
    result = subprocess.run(
        [hadolint, "--config", str(config), "--no-color", *map(str, files.values())], capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_no_template_file_branches_on_a_family_name():
    from test_exhaustive_branches import BRANCH_SITES

    assert [relpath for relpath, field in BRANCH_SITES if field == "base_image"] == []
    for path in PROJECT_TEMPLATE.rglob("*"):
        if path.is_file() and ".lockfiles" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "cookiecutter.base_image ==" not in text and "cookiecutter.base_image in" not in text, path


# --- the pre-gen hook's check of the table ------------------------------------------------------


def load_pre_gen():
    spec = importlib.util.spec_from_file_location("pre_gen_project", TEMPLATE_DIR / "hooks" / "pre_gen_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_pre_gen()


@pytest.mark.parametrize("name", [*BASE_FAMILIES, *NEW_FAMILIES])
def test_the_hook_accepts_every_family(name):
    family = BASE_FAMILIES.get(name) or NEW_FAMILIES[name]
    assert pre_gen.validate_base_family(name, family) == []


BASE = next(iter(BASE_FAMILIES.values()))
BAD_ENTRIES = [
    ({k: v for k, v in BASE.items() if k != "uid"}, "x.uid: missing"),
    ({**BASE, "colour": "blue"}, "x.colour: not a field of a base family"),
    ({**BASE, "uid": 1000}, "x.uid: 1000 is not a whole number from 10000"),
    ({**BASE, "uid": "10001"}, "x.uid: '10001' is not a whole number"),
    ({**BASE, "build_image": "node:26-trixie-slim"}, "x.build_image: must name the Node line as ${NODE_VERSION}"),
    ({**BASE, "runtime_image": "debian trixie"}, "x.runtime_image: 'debian trixie' is not an image reference"),
    ({**BASE, "summary": ""}, "x.summary: '' is not a one-line text"),
    ({**BASE, "uid_account": "Non Root"}, "x.uid_account: 'Non Root' is not an account name"),
    ({**BASE, "package_manager": "dnf"}, "package_manager='dnf' is no shape Dockerfile.production implements"),
    ({**BASE, "node": "in-runtime-image", "init": "copied"}, "node='in-runtime-image', init='copied'"),
    ({**BASE, "package_manager": "apt", "shell": False}, "x.shell: a runtime with a package manager"),
]


@pytest.mark.parametrize(("entry", "message"), BAD_ENTRIES, ids=[m[:30] for _, m in BAD_ENTRIES])
def test_the_hook_refuses_a_bad_entry_naming_the_field(entry, message):
    problems = pre_gen.validate_base_family("x", entry)
    assert any(message in problem for problem in problems), problems


def test_a_base_image_without_an_entry_or_with_a_bad_one_is_refused_before_any_file(
    cookies, tmp_path, tmp_path_factory, capfd
):
    template = copy_template(tmp_path_factory.mktemp("base-family-refused") / "template")
    add_family(template, "no-entry", None)
    add_family(template, "no-uid", {k: v for k, v in BASE.items() if k != "uid"})
    for name, said in (
        ("no-entry", "_base_families: no entry for base_image='no-entry'"),
        ("no-uid", "_base_families: no-uid.uid: missing"),
    ):
        result = cookies.bake(extra_context={"base_image": name}, template=str(template))
        assert isinstance(result.exception, FailedHookException), result
        assert said in capfd.readouterr().err
    # Nothing on disk but pytest-cookies' own empty output folders.
    left = [p for p in tmp_path.rglob("*") if not (p.is_dir() and (p.name == "cookies" or p.name.startswith("bake")))]
    assert left == []
