"""Shape the generated project to the answers: keep or remove whole files.

Lines that differ a little between variants live as Jinja blocks inside the files
(a Dockerfile's base-specific lines); files that exist or not per answer are
handled here, one small function per option. `main()` reads like the option list.

Runs with the generated project as the working directory. Needs no network.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import sys
from pathlib import Path

RENDERED_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

LOCKFILES_DIR = ".lockfiles"

CLOUD_RUN_FILES = ("deploy/cloud-run", "cloudbuild.yaml", ".gcloudignore", "scripts/deploy-cloud-run.sh")
SECURITY_SCANNING_FILES = ("scripts/scan-image.sh",)
MULTI_PLATFORM_FILES = ("scripts/docker-buildx.sh",)
KUBERNETES_FILES = ("deploy/kubernetes", "scripts/pin-image.sh", "docs/kubernetes.md")
NPM_REGISTRY_FILES = (".npmrc",)
# The files that only one value of a choice keeps. Every value is named, even one that
# keeps nothing, so a value added to cookiecutter.json stops generation here until
# someone says which files it keeps (instead of silently getting another value's).
FILES_KEPT_BY_BUNDLER: dict[str, tuple[str, ...]] = {
    "tsc": (),
    "esbuild": ("esbuild.config.mjs",),
}
FILES_KEPT_BY_CI: dict[str, tuple[str, ...]] = {
    "github": (".github",),
    "gitlab": (".gitlab-ci.yml", ".gitlab"),
    "none": (),
}


class UnknownChoice(Exception):
    """A choice value this hook has no entry for."""


# Development credentials: made here, per project, never the same twice. The prefix makes them
# recognisable: src/config.ts refuses to start with one unless NODE_ENV is development or test.
DEVELOPMENT_CREDENTIAL_PREFIX = "dev_"
DEVELOPMENT_ENV_FILE = ".env.development"
DEVELOPMENT_CREDENTIALS = ("AUTH_API_KEYS", "AUTH_JWT_SECRET")


def development_credential() -> str:
    """dev_ + 256 random bits, base64url: a valid API key (letters, digits, - _) and HS256 secret (>= 32 bytes)."""
    return DEVELOPMENT_CREDENTIAL_PREFIX + secrets.token_urlsafe(32)


def write_development_credentials(project: Path) -> None:
    """Fill the empty credential lines of .env.development with fresh random values."""
    path = project / DEVELOPMENT_ENV_FILE
    text = path.read_text(encoding="utf-8")
    for variable in DEVELOPMENT_CREDENTIALS:
        line = re.compile(rf"^{variable}=$", re.MULTILINE)
        if len(line.findall(text)) != 1:
            raise UnknownChoice(f"{DEVELOPMENT_ENV_FILE} has no single empty `{variable}=` line to fill")
        text = line.sub(f"{variable}={development_credential()}", text)
    path.write_text(text, encoding="utf-8")


def remove_paths(project: Path, paths: tuple[str, ...]) -> None:
    """Remove files or folders; a path that is already gone is fine."""
    for relative in paths:
        target = project / relative
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        parent = target.parent
        # Leave no empty folder behind (e.g. deploy/ once deploy/cloud-run/ is gone).
        while parent != project and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def select_lockfile(project: Path, node_version: str, bundler: str, name: str, version: str) -> None:
    """Install the lockfile resolved for this Node version and bundler as package-lock.json.

    The lockfiles are resolved ahead of time (scripts/update_lockfiles.py in the
    template repository) so `npm ci` works offline-deterministically; only the
    project's own name, version and license differ per project.
    """
    lockfiles = project / LOCKFILES_DIR
    source = lockfiles / f"node{node_version}-{bundler}.json"
    if not source.is_file():
        raise UnknownChoice(
            f"node_version={node_version!r}, bundler={bundler!r}: the template has no {LOCKFILES_DIR}/{source.name} "
            "(resolve it with scripts/update_lockfiles.py in the template repository)"
        )
    lock = json.loads(source.read_text(encoding="utf-8"))
    lock["name"] = name
    lock["version"] = version
    lock["packages"][""]["name"] = name
    lock["packages"][""]["version"] = version
    # The license as the rendered package.json says it (what `npm install` would write).
    lock["packages"][""]["license"] = json.loads((project / "package.json").read_text(encoding="utf-8"))["license"]
    (project / "package-lock.json").write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.rmtree(lockfiles)


def keep_files_of(project: Path, field: str, chosen: str, files_kept_by: dict[str, tuple[str, ...]]) -> None:
    """Keep the files of the chosen value; remove those every other value keeps."""
    if chosen not in files_kept_by:
        raise UnknownChoice(f"{field}={chosen!r}: the post-gen hook does not say which files it keeps")
    for value, paths in files_kept_by.items():
        if value != chosen:
            remove_paths(project, paths)


def keep_bundler_files(project: Path, bundler: str) -> None:
    keep_files_of(project, "bundler", bundler, FILES_KEPT_BY_BUNDLER)


def remove_cloud_run_files(project: Path) -> None:
    remove_paths(project, CLOUD_RUN_FILES)


def remove_security_scanning_files(project: Path) -> None:
    remove_paths(project, SECURITY_SCANNING_FILES)


def remove_multi_platform_files(project: Path) -> None:
    remove_paths(project, MULTI_PLATFORM_FILES)


def remove_npm_registry_files(project: Path) -> None:
    remove_paths(project, NPM_REGISTRY_FILES)


def remove_kubernetes_files(project: Path) -> None:
    remove_paths(project, KUBERNETES_FILES)


def keep_ci_files(project: Path, ci: str) -> None:
    keep_files_of(project, "ci", ci, FILES_KEPT_BY_CI)


def main(answers: dict, project: Path) -> None:
    write_development_credentials(project)
    select_lockfile(project, answers["node_version"], answers["bundler"], answers["project_slug"], answers["version"])
    keep_bundler_files(project, answers["bundler"])
    if not answers["cloud_run"]:
        remove_cloud_run_files(project)
    if not answers["security_scanning"]:
        remove_security_scanning_files(project)
    if not answers["multi_platform"]:
        remove_multi_platform_files(project)
    if not answers["kubernetes"]:
        remove_kubernetes_files(project)
    keep_ci_files(project, answers["ci"])
    if not answers.get("npm_registry"):
        remove_npm_registry_files(project)


def next_steps(answers: dict, project: Path, shell_dir: Path | None) -> str | None:
    """What to run first, printed once the project is generated; `shell_dir` is the folder the
    command was run from (the shell's PWD: the hook itself runs inside the project).

    None when cruft renders the template into a temporary folder to update a project (it is run
    from inside a project that records its template in .cruft.json): that copy is not the user's.
    Every command here is one the generated README shows, and its tests run.
    """
    project = project.resolve()
    where = str(project)
    if shell_dir is not None:
        shell_dir = shell_dir.resolve()
        if project.is_relative_to(shell_dir):
            where = str(project.relative_to(shell_dir))
        elif (shell_dir / ".cruft.json").is_file():
            return None
    return "\n".join(
        [
            f'Generated {answers["project_name"]} in {where}. First steps (README.md, "Run locally"):',
            f"  cd {shlex.quote(where)}",
            "  npm ci",
            f"  npm run dev                             # http://localhost:{answers['port']}, reloads on change",
            "  NODE_ENV=development npm run -s token   # in a second terminal: a credential it accepts",
            "README.md says how to connect a client; docs/ covers the image, deployment and the rest.",
        ]
    )


def shell_dir() -> Path | None:
    """The folder the user ran cookiecutter (or cruft) from, as the shell's PWD says."""
    pwd = os.environ.get("PWD")
    return Path(pwd) if pwd and Path(pwd).is_dir() else None


def remove_this_rendered_copy() -> None:
    """cookiecutter runs each hook from a rendered copy in the temporary folder and leaves it
    there, every answer in it: the copy removes itself (best effort), so generating leaves nothing
    behind. The template's own file is never removed."""
    here = Path(__file__)
    if here.name != "post_gen_project.py":
        with contextlib.suppress(OSError):
            here.unlink()


if __name__ == "__main__":
    try:
        answers = json.loads(RENDERED_ANSWERS)
        main(answers, Path.cwd())
        steps = next_steps(answers, Path.cwd(), shell_dir())
        if steps is not None:
            print(steps)
    except UnknownChoice as error:
        print(f"ERROR: {error}; nothing was generated.", file=sys.stderr)
        sys.exit(1)
    finally:
        remove_this_rendered_copy()
    sys.exit(0)
