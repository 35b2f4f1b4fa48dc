#!/usr/bin/env python3
"""The tools generated CI installs, pinned in one place: .github/versions.json.

Each key of versions.json is the name of a variable in the generated CI files
(`TRIVY_VERSION: "0.74.0"` in the GitHub workflow's env and in .gitlab-ci.yml's
variables). This script copies the pins into those files, checks them, or
refreshes them from the tools' latest releases:

    python .github/scripts/update_pins.py            # write versions.json into the CI files
    python .github/scripts/update_pins.py --check    # fail if a CI file differs from versions.json
    python .github/scripts/update_pins.py --refresh  # latest releases + their published checksums, then write

--refresh reads GitHub's API (GITHUB_TOKEN if set) and each release's own
checksums file; the scheduled update workflow runs it and opens a pull request
with the result for review. Actions are not pinned here: Dependabot moves their
commit SHAs in the workflow files themselves. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO / ".github" / "versions.json"
CI_FILES = (
    REPO / "{{cookiecutter.project_slug}}" / ".github" / "workflows" / "ci.yml",
    REPO / "{{cookiecutter.project_slug}}" / ".gitlab-ci.yml",
)


def pin_line(key: str) -> re.Pattern[str]:
    """`  KEY: "value"` as a YAML mapping entry (env: or variables:)."""
    return re.compile(rf'^(?P<lead>\s+{re.escape(key)}: ")(?P<value>[^"]*)(?P<tail>".*)$', re.MULTILINE)


def load_versions() -> dict[str, str]:
    return json.loads(VERSIONS_FILE.read_text(encoding="utf-8"))


def apply(versions: dict[str, str], text: str) -> str:
    for key, value in versions.items():
        text = pin_line(key).sub(lambda m, v=value: m["lead"] + v + m["tail"], text)
    return text


def drift(versions: dict[str, str], files: tuple[Path, ...] = CI_FILES) -> list[str]:
    """Every pin in a CI file that differs from versions.json, as 'file: KEY is X, versions.json says Y'."""
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for key, value in versions.items():
            for match in pin_line(key).finditer(text):
                if match["value"] != value:
                    where = path.relative_to(REPO)
                    problems.append(f"{where}: {key} is {match['value']!r}, versions.json says {value!r}")
    return problems


def checksum_for(checksums: str, asset: str) -> str:
    """The sha256 of `asset` in a release's `<sha256>  <file>` checksums file."""
    for line in checksums.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == asset and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            return parts[0]
    raise LookupError(f"{asset} is not in the checksums file")


def github_get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.github+json"})
    token = os.environ.get("GITHUB_TOKEN")
    if token and url.startswith("https://api.github.com/"):
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def latest_tag(repository: str) -> str:
    release = json.loads(github_get(f"https://api.github.com/repos/{repository}/releases/latest"))
    return release["tag_name"]


def release_file(repository: str, tag: str, name: str) -> str:
    return github_get(f"https://github.com/{repository}/releases/download/{tag}/{name}").decode()


def refreshed(versions: dict[str, str]) -> dict[str, str]:
    new = dict(versions)
    trivy_tag = latest_tag("aquasecurity/trivy")
    trivy = trivy_tag.removeprefix("v")
    new["TRIVY_VERSION"] = trivy
    trivy_checksums = release_file("aquasecurity/trivy", trivy_tag, f"trivy_{trivy}_checksums.txt")
    new["TRIVY_SHA256"] = checksum_for(trivy_checksums, f"trivy_{trivy}_Linux-64bit.tar.gz")
    cosign = latest_tag("sigstore/cosign")
    new["COSIGN_VERSION"] = cosign
    new["COSIGN_SHA256"] = checksum_for(
        release_file("sigstore/cosign", cosign, "cosign_checksums.txt"), "cosign-linux-amd64"
    )
    new["ACTIONLINT_VERSION"] = latest_tag("rhysd/actionlint").removeprefix("v")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if a CI file differs from versions.json")
    mode.add_argument("--refresh", action="store_true", help="move versions.json to the latest releases first")
    args = parser.parse_args(argv)

    versions = load_versions()
    if args.check:
        problems = drift(versions)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    if args.refresh:
        versions = refreshed(versions)
        VERSIONS_FILE.write_text(json.dumps(versions, indent=2) + "\n", encoding="utf-8")
    for path in CI_FILES:
        path.write_text(apply(versions, path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
