"""scripts/update_npm_pins.py: the generated package.json's pins move within the policy (same major,
0.x: same minor, stable only, at least 7 days old), run offline on `npm view <name> time --json`
answers recorded in the shape npm gives them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.process import run
from support.template import TEMPLATE_DIR

SCRIPT = TEMPLATE_DIR / "scripts" / "update_npm_pins.py"
PACKAGE_JSON = TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "package.json"
NOW = "2026-12-01T00:00:00Z"
OLD, FRESH = "2026-11-01T10:00:00.000Z", "2026-11-28T10:00:00.000Z"  # 30 days and 3 days before NOW


def npm_time_answer(current: str, *extra: tuple[str, str]) -> dict[str, str]:
    """What `npm view <name> time --json` prints: created/modified plus one entry per version."""
    return {
        "created": "2020-01-01T00:00:00.000Z",
        "modified": FRESH,
        current: "2026-01-01T00:00:00.000Z",
        **dict(extra),
    }


def run_update(tmp_path: Path, recorded: dict, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    package_json = tmp_path / "package.json"
    if not package_json.exists():
        package_json.write_text(PACKAGE_JSON.read_text(encoding="utf-8"), encoding="utf-8")
    answers = tmp_path / "recorded.json"
    answers.write_text(json.dumps(recorded), encoding="utf-8")
    command = [sys.executable, str(SCRIPT), "--recorded", str(answers), "--package-json", str(package_json)]
    # `--check` exits non-zero when a pin can move: the tests assert the exit code.
    result = run([*command, "--now", NOW, *args], timeout=60, check=False)
    return result, package_json


def current_pins() -> dict[str, list[str]]:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import update_npm_pins
    finally:
        sys.path.pop(0)
    pins: dict[str, list[str]] = {}
    for name, version in update_npm_pins.pins(PACKAGE_JSON.read_text(encoding="utf-8")):
        pins.setdefault(name, []).append(version)
    return pins


def test_every_pin_is_seen_including_each_node_lines_types():
    pins = current_pins()
    assert {"@modelcontextprotocol/server", "zod", "typescript", "esbuild", "@types/node"} <= set(pins)
    assert len(pins["@types/node"]) == 3, "one @types/node per Node line (26, 24, 22)"


def test_nothing_to_move_passes_the_check(tmp_path):
    recorded = {name: npm_time_answer(versions[0]) for name, versions in current_pins().items()}
    for version in current_pins()["@types/node"]:
        recorded["@types/node"][version] = OLD
    result, _ = run_update(tmp_path, recorded, "--check")
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_the_policy_moves_within_the_line_stable_and_aged_only(tmp_path):
    pins = current_pins()
    recorded = {name: npm_time_answer(versions[0]) for name, versions in pins.items()}
    (zod,) = pins["zod"]
    major, minor, patch = map(int, zod.split("."))
    recorded["zod"].update({
        f"{major}.{minor}.{patch + 1}": OLD,          # moves here
        f"{major}.{minor + 1}.0": OLD,                # ... and further: the newest aged one wins
        f"{major}.{minor + 2}.0": FRESH,              # too young (3 days)
        f"{major}.{minor + 3}.0-beta.1": OLD,         # prerelease
        f"{major + 1}.0.0": OLD,                      # another major
    })  # fmt: skip
    (esbuild,) = pins["esbuild"]
    _, e_minor, e_patch = map(int, esbuild.split("."))
    recorded["esbuild"].update({f"0.{e_minor}.{e_patch + 3}": OLD, f"0.{e_minor + 1}.0": OLD})
    types_26 = next(v for v in pins["@types/node"] if v.startswith("26."))
    for version in pins["@types/node"]:
        recorded["@types/node"][version] = OLD
    recorded["@types/node"]["26.99.0"] = OLD
    recorded["@types/node"]["27.0.0"] = OLD

    check, package_json = run_update(tmp_path, recorded, "--check")
    assert check.returncode == 1
    # In the file's order: dependencies, then devDependencies.
    assert check.stdout.splitlines() == [
        f"zod: {zod} -> {major}.{minor + 1}.0",
        f"@types/node: {types_26} -> 26.99.0",
        f"esbuild: {esbuild} -> 0.{e_minor}.{e_patch + 3}",
    ], check.stdout
    assert package_json.read_text() == PACKAGE_JSON.read_text(), "--check changed the file"

    write, package_json = run_update(tmp_path, recorded)
    assert write.returncode == 0, write.stderr
    text = package_json.read_text(encoding="utf-8")
    assert f'"zod": "{major}.{minor + 1}.0"' in text and f'"esbuild": "0.{e_minor}.{e_patch + 3}"' in text
    assert '"@types/node": "26.99.0"' in text and '"@types/node": "27.0.0"' not in text
    # Only the pins moved: the Jinja around them is untouched.
    changed = [(a, b) for a, b in zip(PACKAGE_JSON.read_text().splitlines(), text.splitlines(), strict=True) if a != b]
    assert len(changed) == 3, changed
    again, _ = run_update(tmp_path, recorded, "--check")
    assert again.returncode == 0, again.stdout
