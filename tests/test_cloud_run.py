"""The `cloud_run` option: the Knative service file, cloudbuild.yaml, and
scripts/deploy-cloud-run.sh, run in its dry-run mode and against a stub gcloud that records its
calls (no Google Cloud account, no network)."""

from __future__ import annotations

import os

import pytest
import yaml

from support.delivery import DELIVERY_VARIANTS, clean_env, stub
from support.process import run


@pytest.mark.parametrize(("name", "port"), [("defaults", 8080), ("all-on", 9090)])
def test_cloud_run_service(delivery_project, name, port):
    project = delivery_project(name)
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
    if DELIVERY_VARIANTS[name].get("auth_mode") == "api_key":
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


def test_deploy_cloud_run_script(delivery_project, tmp_path):
    project = delivery_project("all-on")
    script = project / "scripts/deploy-cloud-run.sh"
    path = os.environ["PATH"]

    missing = run([str(script)], project, clean_env(path, REGION="europe-west1"), check=False)
    assert missing.returncode == 2 and "PROJECT_ID is not set" in missing.stderr

    result = run(
        [str(script), "--dry-run"],
        project,
        clean_env(path, PROJECT_ID="demo-project", REGION="europe-west1", TAG="1.2.3"),
    )
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
    project = bake_cached(**{**DELIVERY_VARIANTS["defaults"], "image_repository": repository})
    result = run(
        [str(project / "scripts/deploy-cloud-run.sh"), "--dry-run"],
        project,
        clean_env(os.environ["PATH"], PROJECT_ID="demo-project", REGION="europe-west1", TAG="1.2.3"),
    )
    assert f",_IMAGE_REPOSITORY={repository}" in result.stdout
    rendered = result.stdout.split("==> Deploying", 1)[1].split("\n", 1)[1].split("+ gcloud run services replace", 1)[0]
    assert yaml.safe_load(rendered)["spec"]["template"]["spec"]["containers"][0]["image"] == f"{repository}:1.2.3"
    build = yaml.safe_load((project / "cloudbuild.yaml").read_text(encoding="utf-8"))
    assert build["substitutions"]["_IMAGE_REPOSITORY"] == repository


def test_deploy_cloud_run_script_calls_gcloud(delivery_project, tmp_path):
    """The real (not dry-run) path, against a stub gcloud that records its calls."""
    project = delivery_project("defaults")
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
