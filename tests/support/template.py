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
    env = StrictEnvironment(context={"cookiecutter": config}, keep_trailing_newline=True)
    source = (template / PROJECT_FOLDER_NAME / relpath).read_text(encoding="utf-8")
    return env.from_string(source).render(cookiecutter=config)
