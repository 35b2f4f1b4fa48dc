#!/usr/bin/env python3
"""Regenerate the generated project's lockfiles, one per (node_version, bundler).

The generated project's package.json differs with the Node.js major version
(@types/node) and the bundler (esbuild is a devDependency only in the esbuild
variant), so each combination needs its own package-lock.json for `npm ci` to
work. They live in the template at

    {{cookiecutter.project_slug}}/.lockfiles/node<N>-<bundler>.json

and the post-gen hook installs the selected one as package-lock.json (setting
the project's own name and version in it).

For each combination this script bakes the template with default answers into
a temporary directory (hooks disabled: the hook needs the lockfile this script
is producing), runs `npm install --package-lock-only --ignore-scripts` there
(resolves the dependency tree without installing anything) and copies the
resulting package-lock.json back into the template.

Run it after changing dependencies in the template's package.json:

    python scripts/update_lockfiles.py            # all combinations
    python scripts/update_lockfiles.py --only node24-tsc node26-esbuild
    python scripts/update_lockfiles.py --check    # fail if a lockfile is stale

Needs: Python 3.11+ with cookiecutter importable, npm on PATH, registry access.
Standard library only otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = REPO / "{{cookiecutter.project_slug}}"
LOCKFILES_DIR = TEMPLATE_DIR / ".lockfiles"


def combinations() -> list[tuple[str, str]]:
    """Every (node_version, bundler) pair offered by cookiecutter.json."""
    options = json.loads((REPO / "cookiecutter.json").read_text(encoding="utf-8"))
    return [(node, bundler) for node in options["node_version"] for bundler in options["bundler"]]


def label(node: str, bundler: str) -> str:
    return f"node{node}-{bundler}"


def resolve_lockfile(node: str, bundler: str) -> str:
    """Bake one variant and return the text of the package-lock.json npm resolves for it."""
    with tempfile.TemporaryDirectory(prefix=f"lock-{label(node, bundler)}-") as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cookiecutter",
                "--no-input",
                "--accept-hooks",
                "no",
                "--output-dir",
                tmp,
                str(REPO),
                f"node_version={node}",
                f"bundler={bundler}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (project,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        shutil.rmtree(project / ".lockfiles", ignore_errors=True)
        # Without an npm_registry answer the post-gen hook removes .npmrc; hooks are off here,
        # and its "registry=/" would fail every resolution (ERR_INVALID_URL).
        (project / ".npmrc").unlink(missing_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                # Same output whatever the maintainer's ~/.npmrc says: no registry
                # URLs in the lockfile, so `npm ci` uses the user's configured registry.
                "--omit-lockfile-registry-resolved=true",
                "--lockfile-version=3",
                "--loglevel=error",
            ],
            cwd=project,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        lock = json.loads((project / "package-lock.json").read_text(encoding="utf-8"))
    # The post-gen hook sets these to the baked project's; keep a stable placeholder.
    lock["name"] = lock["packages"][""]["name"] = "my-mcp-server"
    lock["version"] = lock["packages"][""]["version"] = "0.1.0"
    return json.dumps(lock, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", metavar="nodeN-BUNDLER", help="combinations to update")
    parser.add_argument("--check", action="store_true", help="report stale lockfiles, change nothing")
    parser.add_argument("--jobs", type=int, default=4, help="parallel npm resolutions (default 4)")
    args = parser.parse_args(argv)

    selected = combinations()
    if args.only:
        unknown = set(args.only) - {label(*c) for c in selected}
        if unknown:
            parser.error(f"unknown combination(s): {', '.join(sorted(unknown))}")
        selected = [c for c in selected if label(*c) in args.only]

    if shutil.which("npm") is None:
        print("npm not found on PATH", file=sys.stderr)
        return 2

    LOCKFILES_DIR.mkdir(exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda c: (c, resolve_lockfile(*c)), selected))

    stale = []
    for (node, bundler), text in results:
        target = LOCKFILES_DIR / f"{label(node, bundler)}.json"
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            print(f"{target.relative_to(REPO)}: up to date")
            continue
        stale.append(target)
        if args.check:
            print(f"{target.relative_to(REPO)}: STALE")
        else:
            target.write_text(text, encoding="utf-8")
            print(f"{target.relative_to(REPO)}: written")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
