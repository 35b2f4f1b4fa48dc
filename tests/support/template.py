"""The template under test, in one place: where it is, what cookiecutter.json says, rendering one file.

Test modules and support modules take these from here rather than working them out
again, so a template moved or a cookiecutter.json key renamed is one edit.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from jinja2 import BytecodeCache, Template
from jinja2.bccache import Bucket

TEMPLATE_DIR = Path(__file__).resolve().parents[2]
PROJECT_FOLDER_NAME = "{{cookiecutter.project_slug}}"
PROJECT_TEMPLATE = TEMPLATE_DIR / PROJECT_FOLDER_NAME


def cookiecutter_json(template: Path = TEMPLATE_DIR) -> dict:
    return json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))


def template_context(*, template: Path = TEMPLATE_DIR, **answers) -> dict:
    """The `cookiecutter` dict that a no-input bake with these answers renders files with."""
    return dict(_template_context(template, tuple(sorted(answers.items()))))


@functools.lru_cache(maxsize=1024)
def _template_context(template: Path, answers: tuple[tuple[str, object], ...]) -> dict:
    # Cached: the render tests render hundreds of files with the same few answer sets.
    context = generate_context(context_file=str(template / "cookiecutter.json"), extra_context=dict(answers))
    return dict(prompt_for_config(context, no_input=True))


def render_file(relpath: str, *, template: Path = TEMPLATE_DIR, **answers) -> str:
    """Render one file of the project template the way cookiecutter does, without baking a project.

    Raises jinja2's UndefinedError where the file uses a name the context lacks (the
    `unknown_<field>_choice` sentinels of exhaustive branches rely on that).
    """
    config = template_context(template=template, **answers)
    source = (template / PROJECT_FOLDER_NAME / relpath).read_text(encoding="utf-8")
    return _compiled(template, source).render(cookiecutter=config)


@functools.lru_cache(maxsize=256)
def _compiled(template: Path, source: str) -> Template:
    # Compiled once per source text (an edited file is a new key), rendered with any answers:
    # compiling is most of the cost of rendering a file, and hundreds of renders share a few files.
    config = template_context(template=template)
    env = StrictEnvironment(context={"cookiecutter": config}, keep_trailing_newline=True)
    return env.from_string(source)


class CompiledTemplateCache(BytecodeCache):
    """Jinja's own bytecode cache, in memory: each template file is compiled once per test process.

    Compiling the project's templates is two thirds of a bake. Jinja checks every cached entry
    against its source's checksum, so an edited template is compiled afresh; the rendered files
    are the same as without the cache. See `cache_compiled_templates_in_bakes`.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


def cache_compiled_templates_in_bakes() -> None:
    """Give every cookiecutter Jinja environment of this process one `CompiledTemplateCache`.

    For the test session only (conftest calls it): the hundreds of bakes of a run render
    the same few dozen files. Bakes in other processes (the `cookiecutter` command line
    tests, cruft) keep cookiecutter's uncached path.
    """
    if getattr(StrictEnvironment.__init__, "caches_compiled_templates", False):
        return
    shared = CompiledTemplateCache()
    uncached_init = StrictEnvironment.__init__

    @functools.wraps(uncached_init)
    def init(self, **kwargs) -> None:
        kwargs.setdefault("bytecode_cache", shared)
        uncached_init(self, **kwargs)

    init.caches_compiled_templates = True
    StrictEnvironment.__init__ = init
