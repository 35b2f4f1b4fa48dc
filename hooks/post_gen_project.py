"""Shape the generated project to the answers: keep or remove whole files.

Lines that differ a little between variants live as Jinja blocks inside the files
(a Dockerfile's base-specific lines); files that exist or not per answer are
handled here, one small function per option. `main()` reads like the option list.

Runs with the generated project as the working directory. Needs no network.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

RENDERED_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

LOCKFILES_DIR = ".lockfiles"

CLOUD_RUN_FILES = ("deploy/cloud-run", "cloudbuild.yaml", ".gcloudignore", "scripts/deploy-cloud-run.sh")
SECURITY_SCANNING_FILES = ("scripts/scan-image.sh",)
MULTI_PLATFORM_FILES = ("scripts/docker-buildx.sh",)
KUBERNETES_FILES = ("deploy/kubernetes",)
ESBUILD_FILES = ("esbuild.config.mjs",)
GITHUB_CI_FILES = (".github",)
GITLAB_CI_FILES = (".gitlab-ci.yml", ".gitlab")


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
    project's own name and version differ per project.
    """
    lockfiles = project / LOCKFILES_DIR
    source = lockfiles / f"node{node_version}-{bundler}.json"
    lock = json.loads(source.read_text(encoding="utf-8"))
    lock["name"] = name
    lock["version"] = version
    lock["packages"][""]["name"] = name
    lock["packages"][""]["version"] = version
    (project / "package-lock.json").write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.rmtree(lockfiles)


def remove_esbuild_files(project: Path) -> None:
    remove_paths(project, ESBUILD_FILES)


def remove_cloud_run_files(project: Path) -> None:
    remove_paths(project, CLOUD_RUN_FILES)


def remove_security_scanning_files(project: Path) -> None:
    remove_paths(project, SECURITY_SCANNING_FILES)


def remove_multi_platform_files(project: Path) -> None:
    remove_paths(project, MULTI_PLATFORM_FILES)


def remove_kubernetes_files(project: Path) -> None:
    remove_paths(project, KUBERNETES_FILES)


def keep_only_ci(project: Path, ci: str) -> None:
    if ci != "github":
        remove_paths(project, GITHUB_CI_FILES)
    if ci != "gitlab":
        remove_paths(project, GITLAB_CI_FILES)


def main(answers: dict, project: Path) -> None:
    select_lockfile(project, answers["node_version"], answers["bundler"], answers["project_slug"], answers["version"])
    if answers["bundler"] != "esbuild":
        remove_esbuild_files(project)
    if not answers["cloud_run"]:
        remove_cloud_run_files(project)
    if not answers["security_scanning"]:
        remove_security_scanning_files(project)
    if not answers["multi_platform"]:
        remove_multi_platform_files(project)
    if not answers["kubernetes"]:
        remove_kubernetes_files(project)
    keep_only_ci(project, answers["ci"])


if __name__ == "__main__":
    main(json.loads(RENDERED_ANSWERS), Path.cwd())
    sys.exit(0)
