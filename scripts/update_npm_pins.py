#!/usr/bin/env python3
"""Move the exact npm versions the generated package.json pins to their newest releases, within a policy.

Policy (the same for every pin, dependencies and devDependencies alike):
- the same major version (for 0.x, the same minor: there a minor may break): a new major changes
  APIs and gets a person's pull request, not this one (it also keeps each Node line's
  @types/node on that line: 26.x stays 26.x);
- stable releases only (no prerelease such as 2.0.0-beta.1);
- published at least --min-age-days ago (default 7, as Dependabot's cooldown and Renovate's
  minimumReleaseAge): most hijacked releases are found and pulled within days.

    python scripts/update_npm_pins.py            # rewrite the pins in {{cookiecutter.project_slug}}/package.json
    python scripts/update_npm_pins.py --check    # list what would move; exit 1 if anything would

Publish dates come from `npm view <name> time --json` (the registry npm is configured with);
--recorded FILE reads them from a JSON file instead ({name: that command's answer}), which is how
the tests run it offline. Then run scripts/update_lockfiles.py: the lockfiles follow the pins.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE_JSON = REPO / "{{cookiecutter.project_slug}}" / "package.json"
# `    "name": "1.2.3",` inside dependencies/devDependencies (the file is Jinja: not parsed as JSON).
PIN = re.compile(
    r'^(?P<lead>\s*"(?P<name>(?:@[a-z0-9._-]+/)?[a-z0-9._-]+)": ")(?P<version>\d+\.\d+\.\d+)(?P<tail>",?)$'
)
STABLE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def pins(text: str) -> list[tuple[str, str]]:
    """(name, version) of every exact pin in the dependency sections, in file order."""
    found, section = [], None
    for line in text.splitlines():
        if re.match(r'^\s*"(dependencies|devDependencies)": \{', line):
            section = True
        elif section and re.match(r"^\s*\}", line):
            section = None
        elif section and (match := PIN.match(line)):
            found.append((match["name"], match["version"]))
    return found


def compatible_line(version: str) -> tuple[str, ...]:
    """The versions that may replace each other: the major, or 0.minor below 1.0.0."""
    major, minor, _ = STABLE.match(version).groups()
    return (major,) if major != "0" else (major, minor)


def newest_allowed(current: str, times: dict[str, str], now: datetime, min_age: timedelta) -> str:
    """The newest stable version of `current`'s line published at least `min_age` before `now`."""
    line = compatible_line(current)
    candidates = []
    for version, published in times.items():
        match = STABLE.match(version)
        if not match or compatible_line(version) != line:
            continue
        if now - datetime.fromisoformat(published.replace("Z", "+00:00")) < min_age:
            continue
        candidates.append(tuple(int(part) for part in match.groups()))
    best = max(candidates, default=None)
    current_key = tuple(int(part) for part in STABLE.match(current).groups())
    return ".".join(map(str, best)) if best and best > current_key else current


def npm_times(name: str) -> dict[str, str]:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not on PATH (or pass --recorded FILE)")
    out = subprocess.run([npm, "view", name, "time", "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def proposals(
    text: str, lookup: Callable[[str], dict[str, str]], now: datetime, min_age: timedelta
) -> dict[tuple[str, str], str]:
    """{(name, current): newer} for every pin that the policy moves."""
    moves = {}
    for name, current in dict.fromkeys(pins(text)):
        newer = newest_allowed(current, lookup(name), now, min_age)
        if newer != current:
            moves[(name, current)] = newer
    return moves


def apply(text: str, moves: dict[tuple[str, str], str]) -> str:
    def replace(match: re.Match[str]) -> str:
        newer = moves.get((match["name"], match["version"]))
        return f"{match['lead']}{newer}{match['tail']}" if newer else match[0]

    return "\n".join(PIN.sub(replace, line) for line in text.split("\n"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list what would move; exit 1 if anything would")
    parser.add_argument("--recorded", type=Path, help="JSON {name: `npm view <name> time --json`} instead of npm")
    parser.add_argument("--package-json", type=Path, default=PACKAGE_JSON)
    parser.add_argument("--min-age-days", type=int, default=7)
    parser.add_argument("--now", help="ISO 8601 time to measure release ages from (default: now)")
    args = parser.parse_args(argv)

    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now else datetime.now(UTC)
    recorded = json.loads(args.recorded.read_text(encoding="utf-8")) if args.recorded else None
    lookup = recorded.__getitem__ if recorded is not None else npm_times
    text = args.package_json.read_text(encoding="utf-8")
    moves = proposals(text, lookup, now, timedelta(days=args.min_age_days))
    for (name, current), newer in moves.items():
        print(f"{name}: {current} -> {newer}")
    if args.check:
        return 1 if moves else 0
    args.package_json.write_text(apply(text, moves), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
