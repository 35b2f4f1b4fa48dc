"""checkov, the infrastructure-as-code scanner auditors run, finds nothing in generated projects:
the Dockerfiles, the production overlay as CI deploys it (pinned by digest) and the CI
configuration, with only the checks the project's .checkov.yaml skips and docs/checkov.md
explains. The command is the one docs/checkov.md shows.

checkov pins packaging<24, which pytest cannot share: scripts/machine.sh installs it in a virtual
environment of its own, $VENV/checkov (requirements-checkov.txt).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from support.docs import shell_block
from support.kustomize import build
from support.process import run
from variants import DEFAULTS

CHECKOV = Path(os.environ.get("CHECKOV", Path(sys.prefix) / "checkov/bin/checkov"))
# Three base families (the fourth, bookworm-slim, is trixie-slim's Dockerfile with another
# release), both CI systems, both auth modes, with and without Kubernetes.
VARIANTS = {
    "kubernetes": {"kubernetes": True},
    "kubernetes-distroless-api-key-gitlab": {
        "kubernetes": True,
        "base_image": "distroless",
        "auth_mode": "api_key",
        "ci": "gitlab",
    },
    "alpine-no-kubernetes": {"base_image": "alpine"},
}


def _checkov() -> Path:
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV}: scripts/run-tests.sh installs it (scripts/machine.sh)")
    return CHECKOV


def _documented_command(project: Path) -> str:
    return shell_block(project / "docs/checkov.md", "checkov")


def _summaries(output: str) -> dict[str, dict]:
    reports = json.loads(output)
    reports = reports if isinstance(reports, list) else [reports]
    return {report["check_type"]: report for report in reports if "check_type" in report}


def _failures(report: dict) -> list[str]:
    return [
        f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range']})"
        for check in report["results"]["failed_checks"]
    ]


@pytest.mark.parametrize("name", VARIANTS)
def test_checkov_finds_nothing_beyond_the_documented_false_positives(bake_cached, tmp_path, name):
    checkov = _checkov()
    answers = {**DEFAULTS, **VARIANTS[name]}
    project = tmp_path / "project"
    shutil.copytree(bake_cached(**answers), project, ignore=shutil.ignore_patterns("node_modules", "dist"))
    if answers["kubernetes"]:
        # As CI deploys it: pinned to the pushed image's digest.
        repository = yaml.safe_load(
            (project / "deploy/kubernetes/overlays/production/kustomization.yaml").read_text(encoding="utf-8")
        )["images"][0]["newName"]
        digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
        run(["bash", "scripts/pin-image.sh", f"{repository}@{digest}"], project, timeout=60)
    command = _documented_command(project)
    if answers["kubernetes"] and not shutil.which("kubectl"):
        # No kubectl here: the offline renderer (checked against kubectl where one is installed) writes the file.
        rendered = build(project / "deploy/kubernetes/overlays/production")
        (tmp_path / "overlay.yaml").write_text(yaml.safe_dump_all(rendered), encoding="utf-8")
        command = "\n".join(line for line in command.splitlines() if not line.startswith("kubectl "))
    env = {**os.environ, "TMPDIR": str(tmp_path), "PATH": f"{checkov.parent}:{os.environ['PATH']}"}
    # checkov exits non-zero on a finding: the assertions below name the findings instead.
    result = run(["bash", "-euo", "pipefail", "-c", command.rstrip() + " -o json"], project, env, check=False)
    reports = _summaries(result.stdout)
    failures = {kind: _failures(report) for kind, report in reports.items() if _failures(report)}
    assert not failures, failures
    assert result.returncode == 0, result.stderr[-3000:]
    scanned = {kind for kind, report in reports.items() if report["summary"]["passed"] > 0}
    expected = {"dockerfile"} | ({"kubernetes"} if answers["kubernetes"] else set())
    expected |= {"gitlab_ci"} if answers["ci"] == "gitlab" else set()
    assert scanned == expected, f"checkov scanned {scanned}, expected {expected}: a skipped file proves nothing"
    skipped = {check["check_id"] for report in reports.values() for check in report["results"]["skipped_checks"]}
    listed = set(yaml.safe_load((project / ".checkov.yaml").read_text(encoding="utf-8"))["skip-check"])
    assert skipped <= listed
    docs = (project / "docs/checkov.md").read_text(encoding="utf-8")
    assert all(f"| `{check}` |" in docs for check in listed), "every skipped check is explained"


def test_checkov_scans_the_github_workflow_once_its_schema_accepts_it(bake_cached, tmp_path):
    """checkov skips a workflow its old copy of GitHub's schema refuses (docs/checkov.md): the
    real file is skipped, a copy with the two refused values neutralised is scanned and passes."""
    checkov = _checkov()
    project = bake_cached(**{**DEFAULTS, "ci": "github"})
    workflow = (project / ".github/workflows/ci.yml").read_text(encoding="utf-8")

    def scan(text: str) -> dict:
        folder = tmp_path / f"scan-{len(list(tmp_path.iterdir()))}"
        (folder / ".github/workflows").mkdir(parents=True)
        (folder / ".github/workflows/ci.yml").write_text(text, encoding="utf-8")
        command = [str(checkov), "--config-file", str(project / ".checkov.yaml"), "-d", str(folder), "-o", "json"]
        result = run(command, check=False)  # the report is what is asserted, findings or none
        report = json.loads(result.stdout)
        # With nothing scanned, checkov prints the bare summary.
        return report.get("summary", report)

    assert scan(workflow).get("passed", 0) == 0, "checkov now scans the real workflow: drop the workaround"
    neutralised, replaced = re.subn(r"(?m)^(\s*cancel-in-progress:) \$\{\{.*\}\}$", r"\1 true", workflow)
    neutralised, removed = re.subn(r"(?m)^\s*attestations: write.*\n", "", neutralised)
    assert (replaced, removed) == (1, 1), "the two values docs/checkov.md names are no longer in the workflow"
    summary = scan(neutralised)
    assert summary["passed"] > 0 and summary["failed"] == 0, summary
