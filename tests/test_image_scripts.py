"""The generated project's image scripts: scripts/scan-image.sh (an image scanner, then npm audit)
and scripts/docker-buildx.sh (multi-platform builds), run with stub tools on a restricted PATH
where a real one (trivy, npm, docker) would be needed."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from support.delivery import clean_env, restricted_bin, stub
from support.process import run

BASIC_TOOLS = ("bash", "dirname", "sed", "tr", "cat")


def test_scan_image_fails_clearly_without_a_scanner(delivery_project, tmp_path):
    project = delivery_project("defaults")
    folder = restricted_bin(tmp_path, BASIC_TOOLS)
    result = run(
        [str(project / "scripts/scan-image.sh"), "my-mcp-server:latest"], project, clean_env(str(folder)), check=False
    )
    assert result.returncode == 2
    assert "no image scanner found" in result.stderr
    for name in ("trivy", "grype", "docker scout", "docker scan"):
        assert name in result.stderr, name


def test_scan_image_runs_the_scanner_then_npm_audit(delivery_project, tmp_path):
    project = delivery_project("defaults")
    folder = restricted_bin(tmp_path, BASIC_TOOLS)
    log = tmp_path / "calls.log"
    stub(folder, "trivy", f'echo "trivy $*" >> "{log}"; exit "${{FAKE_TRIVY_RC:-0}}"')
    stub(folder, "npm", f'echo "npm $*" >> "{log}"')
    script = str(project / "scripts/scan-image.sh")

    run([script, "example:1"], project, clean_env(str(folder)))
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls[0].startswith("trivy image --exit-code 1 --severity HIGH,CRITICAL")
    assert calls[0].endswith(" example:1")
    assert calls[1] == "npm audit --omit=dev --audit-level=high"

    log.unlink()
    found = run([script, "--skip-audit", "example:1"], project, clean_env(str(folder), FAKE_TRIVY_RC="1"), check=False)
    assert found.returncode == 1
    assert [c.split()[0] for c in log.read_text(encoding="utf-8").splitlines()] == ["trivy"]

    log.unlink()
    run([script], project, clean_env(str(folder), SKIP_IMAGE_SCAN="1"))
    assert log.read_text(encoding="utf-8").splitlines() == ["npm audit --omit=dev --audit-level=high"]


def test_docker_buildx_dry_run(delivery_project, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: docker-buildx.sh reads package.json with it")
    project = delivery_project("all-on")
    script = str(project / "scripts/docker-buildx.sh")
    path = os.environ["PATH"]

    push = run([script, "--push"], project, clean_env(path, DRY_RUN="1", REGISTRY="registry.example/team"))
    command = push.stdout.strip()
    assert command.startswith("docker buildx build ")
    assert "--platform linux/amd64,linux/arm64" in command
    assert "--file Dockerfile.production" in command
    assert "--tag registry.example/team/my-mcp-server:latest" in command
    assert "--tag registry.example/team/my-mcp-server:0.1.0" in command
    for arg in ("NODE_VERSION=22", "VERSION=0.1.0", "REVISION=", "CREATED=", "SOURCE="):
        assert f"--build-arg {arg}" in command, arg
    assert "--secret" not in command
    assert command.endswith(" --push .")

    npmrc = tmp_path / "npmrc"
    npmrc.write_text("//registry.example/:_authToken=x\n", encoding="utf-8")
    load = run([script, "--load", "--dry-run"], project, clean_env(path, NPMRC_FILE=str(npmrc)))
    assert f"--secret id=npmrc,src={npmrc}" in load.stdout
    assert "--load ." in load.stdout
    assert re.search(r"--platform linux/(amd64|arm64) ", load.stdout)

    multi_load = run(
        [script, "--load", "--platform", "linux/amd64,linux/arm64", "--dry-run"], project, clean_env(path), check=False
    )
    assert multi_load.returncode == 2
    assert "multi-platform" in multi_load.stderr and "--push" in multi_load.stderr

    help_text = run([script, "--help"], project, clean_env(path))
    assert "--push" in help_text.stdout
