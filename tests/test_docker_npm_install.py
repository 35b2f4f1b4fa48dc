"""The Dockerfiles' `npm ci` command lines, run as written against a warm but stale npm cache.

The images install with `--prefer-offline` and the npm cache in a BuildKit cache mount that lives
for weeks. The lockfiles carry no `resolved` URLs, so npm ci reads each package's document
(packument) and, offline-first, never revalidates a cached one: a lockfile that names a version
published after the document was cached (any dependency update) fails with ETARGET ("No matching
version found") on every machine whose cache is warm. Each `npm ci` line of every Dockerfile must
still install such a lockfile: it fetches what the cache lacks.

Needs npm and the npm registry (marker: node); no container engine (the command is the same
shell text the RUN instruction runs; the secret mounts it reads are absent, as in a build
without them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from support.docker_engine import render_file, run_instructions
from support.process import run

pytestmark = pytest.mark.node

# One small dependency: what matters is the state of its document in the cache, not its size.
PACKAGE, VERSION = "is-number", "7.0.0"
ANSWERS = {"bundler": "tsc", "base_image": "trixie-slim", "node_version": "26", "security_scanning": True}

# Replaces the cached document of PACKAGE by one from before VERSION was published (VERSION
# dropped, no validators), as a cache warmed before a dependency update holds it.
MAKE_STALE = """
const [, cacachePath, cache, name, version] = process.argv;
const cacache = require(cacachePath);
(async () => {
  let staled = 0;
  for (const key of Object.keys(await cacache.ls(cache))) {
    if (!key.endsWith(`/${name}`)) continue;
    const { data, metadata } = await cacache.get(cache, key);
    const doc = JSON.parse(data);
    delete doc.versions[version];
    doc["dist-tags"] = { latest: Object.keys(doc.versions).pop() };
    delete metadata.resHeaders.etag;
    delete metadata.resHeaders["last-modified"];
    await cacache.put(cache, key, JSON.stringify(doc), { metadata });
    staled += 1;
  }
  if (!staled) throw new Error(`no cached document for ${name}`);
})();
"""


def npm_ci_commands(dockerfile: str) -> list[str]:
    """The shell text of every RUN instruction that runs `npm ci` (its --mount options dropped)."""
    return [re.sub(r"^RUN\s+(--mount=\S+\s+)*", "", run) for run in run_instructions(dockerfile) if "npm ci" in run]


def all_npm_ci_commands() -> list[tuple[str, str]]:
    found = []
    for dockerfile in ("Dockerfile.production", "Dockerfile.development"):
        for index, command in enumerate(npm_ci_commands(render_file(dockerfile, **ANSWERS))):
            found.append((f"{dockerfile}-{index}", command))
    return found


COMMANDS = all_npm_ci_commands()


def test_every_npm_install_of_the_dockerfiles_is_checked():
    # deps and prod-deps (tsc) in the production image, the development image's one.
    assert [name for name, _ in COMMANDS] == [
        "Dockerfile.production-0",
        "Dockerfile.production-1",
        "Dockerfile.development-0",
    ]


@pytest.fixture(scope="module")
def stale_cache(tmp_path_factory) -> tuple[Path, Path]:
    """(project with a lockfile for PACKAGE@VERSION, npm cache whose document of PACKAGE predates VERSION)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    root = tmp_path_factory.mktemp("npm-stale")
    project, cache = root / "project", root / "cache"
    project.mkdir()
    manifest = {"name": "stale-cache-check", "version": "1.0.0", "dependencies": {PACKAGE: VERSION}}
    (project / "package.json").write_text(json.dumps(manifest), encoding="utf-8")
    env_args = ["--cache", str(cache), "--no-audit", "--no-fund"]
    run([npm, "install", "--package-lock-only", *env_args], project)
    lockfile = json.loads((project / "package-lock.json").read_text(encoding="utf-8"))
    for entry in lockfile["packages"].values():
        entry.pop("resolved", None)  # as the template's lockfiles: no registry URLs
    (project / "package-lock.json").write_text(json.dumps(lockfile, indent=2), encoding="utf-8")
    run([npm, "ci", *env_args], project)  # warm the cache
    npm_root = run([npm, "root", "-g"]).stdout.strip()
    cacache = Path(npm_root) / "npm" / "node_modules" / "cacache"
    run(["node", "-e", MAKE_STALE, str(cacache), str(cache / "_cacache"), PACKAGE, VERSION])
    shutil.rmtree(project / "node_modules")
    return project, cache


@pytest.mark.parametrize("name,command", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_npm_ci_fetches_what_a_stale_cache_lacks(stale_cache, tmp_path, name, command):
    project, cache = stale_cache
    work = tmp_path / "project"
    shutil.copytree(project, work)
    run(["sh", "-c", command], work, {**os.environ, "npm_config_cache": str(cache)}, timeout=300)
    installed = json.loads((work / "node_modules" / PACKAGE / "package.json").read_text(encoding="utf-8"))
    assert installed["version"] == VERSION
