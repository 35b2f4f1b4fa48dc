"""The `kubernetes` option: manifests that validate, are hardened, agree with the image and
the server, and a server that really is stateless behind round-robin load balancing.

Rendering: tests/support/kustomize.py (offline; checked against a real `kubectl kustomize`
where one is installed). Validation: kubernetes-validate's bundled schemas of the newest
Kubernetes release it ships, in strict mode (unknown fields are errors).
"""

from __future__ import annotations

import collections
import contextlib
import copy
import hashlib
import itertools
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import anyio
import httpx2
import kubernetes_validate
import pytest
import yaml
from cookiecutter.environment import StrictEnvironment
from jinja2 import UndefinedError
from kubernetes_validate.utils import latest_version
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from support import docker_engine
from support.bake import TEMPLATE_DIR, bake_with_cli
from support.docs import shown_commands
from support.haproxy import HAProxy
from support.kustomize import Unsupported, build
from support.mcp_client import EXAMPLE_TOOLS, run_session
from support.process import run
from support.server_process import ServerProcess, free_port
from support.tokens import JwksIssuer
from variants import BASE_FAMILIES, DEFAULTS, OPTIONS, PROJECT_VARIANTS, variant_id

KUBERNETES_DIR = Path("deploy/kubernetes")
BASE = KUBERNETES_DIR / "base"
PRODUCTION = KUBERNETES_DIR / "overlays/production"
TEMPLATE_KUBERNETES = TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / KUBERNETES_DIR

# The numeric user each runtime base image runs the server as: its family's `uid` in
# cookiecutter.json's _base_families, read by Dockerfile.production's APP_UID and the Deployment.
# Above 10000 on purpose: no host account has such a uid, so a container escape does not land in
# one. A new base_image value needs its entry (the pre-gen hook refuses a value without one).
EXPECTED_UID = {base: family["uid"] for base, family in BASE_FAMILIES.items()}
assert min(EXPECTED_UID.values()) >= 10000

# Every base image, and every auth mode with the default and a non-default port. The base image
# sets one thing in the manifests, the pod's uid (EXPECTED_UID), whatever the other answers are,
# so each base appears once rather than once per auth mode and port.
_BASES, _AUTH_MODES, _PORTS = OPTIONS["base_image"], OPTIONS["auth_mode"], ("8080", "9090")
VARIANTS = [
    {
        **DEFAULTS,
        "kubernetes": True,
        "base_image": _BASES[i % len(_BASES)],
        "auth_mode": _AUTH_MODES[i % len(_AUTH_MODES)],
        "port": _PORTS[(i // len(_AUTH_MODES)) % len(_PORTS)],
    }
    for i in range(max(len(_BASES), len(_AUTH_MODES) * len(_PORTS)))
]
assert {v["base_image"] for v in VARIANTS} == set(_BASES)
assert {(v["auth_mode"], v["port"]) for v in VARIANTS} == set(itertools.product(_AUTH_MODES, _PORTS))
# Both eras of the protocol: the handshake-era client ("legacy") and the sessionless 2026-07-28 one.
PROTOCOL_MODES = ["legacy", "2026-07-28"]


def _id(answers: dict) -> str:
    return f"{variant_id(answers)},port={answers['port']}"


@pytest.fixture(params=VARIANTS, ids=_id)
def rendered(request, bake_cached):
    answers = request.param
    project = bake_cached(**answers)
    return answers, project, build(project / PRODUCTION)


def by_kind(resources: list[dict]) -> dict[str, dict]:
    kinds = [resource["kind"] for resource in resources]
    assert len(kinds) == len(set(kinds)), f"one resource of each kind expected, got {kinds}"
    return {resource["kind"]: resource for resource in resources}


def pod_spec(resources: list[dict]) -> dict:
    return by_kind(resources)["Deployment"]["spec"]["template"]["spec"]


def server_container(resources: list[dict]) -> dict:
    (container,) = pod_spec(resources)["containers"]
    return container


# ------------------------------------------------------------------ files and rendering


def test_without_the_option_there_are_no_manifests(bake_cached):
    project = bake_cached(**{**DEFAULTS, "kubernetes": False})
    assert not (project / KUBERNETES_DIR).exists()
    assert not (project / "docs/kubernetes.md").exists()
    for page in [project / "README.md", *(project / "docs").rglob("*.md")]:
        assert "deploy/kubernetes" not in page.read_text(encoding="utf-8"), page


def test_overlay_holds_exactly_the_expected_resources(rendered):
    _, project, resources = rendered
    base_kinds = [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    assert sorted(r["kind"] for r in build(project / BASE)) == base_kinds
    # The Ingress names the public host: environment-specific, so it lives in the overlay.
    assert sorted(r["kind"] for r in resources) == sorted([*base_kinds, "Ingress"])


def _kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def _overlay_with(project: Path, tmp_path: Path, field: str, name: str, document: dict) -> Path:
    """A copy of the project's production overlay with `document` saved as `name` and listed
    under `field` of its kustomization (`patches` or `resources`)."""
    tree = tmp_path / "kubernetes"
    shutil.copytree(project / KUBERNETES_DIR, tree)
    overlay = tree / "overlays/production"
    (overlay / name).write_text(yaml.safe_dump(document), encoding="utf-8")
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text(encoding="utf-8"))
    kustomization[field].append({"path": name} if field == "patches" else name)
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return overlay


def _same_resources(offline: list[dict], rendered_by_kustomize: str) -> bool:
    real = [doc for doc in yaml.safe_load_all(rendered_by_kustomize) if doc]
    key = lambda resource: (resource["kind"], resource["metadata"]["name"])  # noqa: E731
    return sorted(offline, key=key) == sorted(real, key=key)


@pytest.mark.parametrize("folder", [BASE, PRODUCTION], ids=str)
def test_offline_renderer_matches_real_kustomize(rendered, folder):
    """The tests' renderer gives what kustomize gives, so validating its output validates the real one."""
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is on PATH: the offline renderer is not cross-checked here")
    _, project, _ = rendered
    result = run([*command, str(project / folder)], timeout=120)
    assert _same_resources(build(project / folder), result.stdout)


# The oldest Kubernetes the manifests support (the preStop sleep action is on by default from
# 1.30; in 1.29 it is an alpha field the API server drops, leaving a preStop with no handler).
OLDEST_KUBERNETES = "1.30.0"


@pytest.mark.parametrize("which", ["newest", "oldest supported"])
def test_every_manifest_validates_against_the_kubernetes_schemas(rendered, which):
    _, project, overlay = rendered
    version = latest_version() if which == "newest" else OLDEST_KUBERNETES
    assert tuple(int(part) for part in latest_version().split(".")[:2]) >= (1, 35), "bundled schemas are old"
    page = (project / "docs/kubernetes.md").read_text(encoding="utf-8")
    assert f"Kubernetes {OLDEST_KUBERNETES.rsplit('.', 1)[0]} or newer" in page, "docs/kubernetes.md states the minimum"
    for resource in [*build(project / BASE), *overlay]:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{resource['kind']}/{resource['metadata']['name']}"
            pytest.fail(f"{name} is invalid for Kubernetes {version}: {error.message}")


def test_validation_catches_a_broken_manifest(rendered):
    """The validator is not a no-op: a misspelled field and a wrong type are both refused."""
    _, _, resources = rendered
    deployment = by_kind(resources)["Deployment"]
    misspelled = copy.deepcopy(deployment)
    misspelled["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = "yes"
    for broken in (misspelled, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, latest_version(), strict=True)


# ------------------------------------------------------------------ the Deployment


def _image_uid(project: Path) -> int:
    dockerfile = (project / "Dockerfile.production").read_text(encoding="utf-8")
    match = re.search(r"^ARG APP_UID=(\d+)$", dockerfile, re.MULTILINE) or re.search(
        r"^USER (\d+)", dockerfile, re.MULTILINE
    )
    assert match, "Dockerfile.production names no numeric user (ARG APP_UID=... or USER <uid>)"
    return int(match.group(1))


def test_pod_runs_as_the_images_numeric_non_root_user_hardened(rendered):
    answers, project, resources = rendered
    assert answers["base_image"] in EXPECTED_UID, f"decide the uid of base_image={answers['base_image']}"
    uid = EXPECTED_UID[answers["base_image"]]
    assert _image_uid(project) == uid, "the Deployment's user must be the one the image was built for"
    spec = pod_spec(resources)
    pod_security = spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == pod_security["runAsGroup"] == uid
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    container = server_container(resources)
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert "add" not in security["capabilities"] and security.get("privileged") is False
    tmp = next(mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp")
    volume = next(volume for volume in spec["volumes"] if volume["name"] == tmp["name"])
    assert "emptyDir" in volume, "/tmp must be an emptyDir: the root filesystem is read-only"


def test_probes_hit_health_and_ready_on_the_probe_port(rendered):
    """The probes use the probe listener (PROBE_PORT, port + 1), which a flood of the serving
    port cannot starve (docs/limits.md)."""
    answers, _, resources = rendered
    container = server_container(resources)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    probe_port = int(answers["port"]) + 1 if int(answers["port"]) < 65535 else int(answers["port"]) - 1
    assert ports == {"http": int(answers["port"]), "probe": probe_port}
    assert {"name": "PORT", "value": answers["port"]} in container["env"]
    assert {"name": "PROBE_PORT", "value": str(probe_port)} in container["env"]
    expected = {"startupProbe": "/health", "livenessProbe": "/health", "readinessProbe": "/ready"}
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, probe
        port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
        assert port == probe_port, probe
    # A slow start gets the startup probe's whole budget before liveness may restart it.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 30


def _drain_seconds(project: Path, config_map: dict) -> float:
    """How long the server may take after SIGTERM: the drain timeout plus its last-resort exit margin."""
    config_ts = (project / "src/config.ts").read_text(encoding="utf-8")
    # integer(env, "SHUTDOWN_TIMEOUT_MS", min, max, default): the default is the last argument.
    default = re.search(r'"SHUTDOWN_TIMEOUT_MS"[^)]*?,\s*([\d_]+)\)', config_ts)
    assert default, "src/config.ts no longer reads SHUTDOWN_TIMEOUT_MS with a default: update this test"
    index_ts = (project / "src/index.ts").read_text(encoding="utf-8")
    margin = re.search(r"shutdownTimeoutMs \+ ([\d_]+)", index_ts)
    assert margin, "src/index.ts no longer has its last-resort exit after the drain timeout: update this test"
    timeout_ms = int(config_map["data"].get("SHUTDOWN_TIMEOUT_MS", default.group(1).replace("_", "")))
    return (timeout_ms + int(margin.group(1).replace("_", ""))) / 1000


def test_grace_period_outlasts_pre_stop_and_drain(rendered):
    _, project, resources = rendered
    spec = pod_spec(resources)
    pre_stop = server_container(resources)["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = _drain_seconds(project, by_kind(resources)["ConfigMap"])
    assert spec["terminationGracePeriodSeconds"] > pre_stop + drain, (
        spec["terminationGracePeriodSeconds"],
        pre_stop,
        drain,
    )


def test_resources_and_topology_spread(rendered):
    _, _, resources = rendered
    container = server_container(resources)
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]), "the HPA's CPU target needs a CPU request"
    assert "memory" in container["resources"]["limits"]
    selector = by_kind(resources)["Deployment"]["spec"]["selector"]["matchLabels"]
    keys = {constraint["topologyKey"] for constraint in pod_spec(resources)["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in pod_spec(resources)["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"] == selector


def test_labels_and_selectors_agree_across_resources(rendered):
    _, _, resources = rendered
    kinds = by_kind(resources)
    deployment = kinds["Deployment"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector, "the Deployment selects by label"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items(), "the Deployment's selector must match its own pods"
    assert kinds["Service"]["spec"]["selector"] == selector
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    assert kinds["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"] == selector
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        deployment["metadata"]["name"],
    )
    assert pod_spec(resources)["serviceAccountName"] == kinds["ServiceAccount"]["metadata"]["name"]
    # The Service and the NetworkPolicy point at the container's named port.
    port_names = {port["name"] for port in server_container(resources)["ports"]}
    assert {port["targetPort"] for port in kinds["Service"]["spec"]["ports"]} <= port_names
    for rule in kinds["NetworkPolicy"]["spec"]["ingress"]:
        assert {port["port"] for port in rule["ports"]} <= port_names


def _admits(rules: list[dict], port: int, protocol: str, named: dict[str, int]) -> bool:
    """Whether any NetworkPolicy rule lets (port, protocol) through to or from anywhere."""
    for rule in rules:
        peers = rule.get("to", rule.get("from"))
        if peers:  # restricted to some peers: not "anywhere"
            continue
        for allowed in rule.get("ports") or [{}]:
            number = named.get(allowed.get("port"), allowed.get("port"))
            if allowed.get("protocol", "TCP") == protocol and number in (None, port):
                return True
    return False


def test_network_policy_admits_the_server_port_dns_and_the_identity_provider_only(rendered):
    """Evaluated, not string-matched: ingress to the server's port; egress to DNS and, for JWT,
    to the JWKS URL's port; nothing else (API keys are checked locally)."""
    answers, _, resources = rendered
    kinds = by_kind(resources)
    policy = kinds["NetworkPolicy"]["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}, "without both types, the other direction is open"
    named = {port["name"]: port["containerPort"] for port in server_container(resources)["ports"]}
    server_port = int(answers["port"])
    assert _admits(policy["ingress"], server_port, "TCP", named)
    assert not _admits(policy["ingress"], server_port + 1, "TCP", named), "only the server's port"
    egress = policy["egress"]
    assert _admits(egress, 53, "UDP", named) and _admits(egress, 53, "TCP", named), "DNS"
    jwks = kinds["ConfigMap"]["data"].get("AUTH_JWKS_URL")
    if answers["auth_mode"] == "jwt":
        url = urllib.parse.urlsplit(jwks)
        assert _admits(egress, url.port or {"https": 443, "http": 80}[url.scheme], "TCP", named), jwks
    elif answers["auth_mode"] == "api_key":
        assert jwks is None
        assert not _admits(egress, 443, "TCP", named), "API keys need no egress beyond DNS"
    else:
        pytest.fail(f"unhandled auth_mode {answers['auth_mode']}")
    assert not _admits(egress, 25, "TCP", named) and not _admits(egress, 5432, "TCP", named), "no open egress"


# ------------------------------------------------------------------ configuration and secrets


def test_auth_configuration_comes_from_a_config_map_and_a_secret_never_the_image(rendered):
    answers, project, resources = rendered
    kinds = by_kind(resources)
    assert "Secret" not in kinds, "no Secret is rendered: the real one is created out of band"
    config_map = kinds["ConfigMap"]
    container = server_container(resources)
    assert container["envFrom"] == [{"configMapRef": {"name": config_map["metadata"]["name"]}}]
    assert re.fullmatch(rf"{project.name}-config-[a-z0-9]{{10}}", config_map["metadata"]["name"])
    assert config_map["data"]["AUTH_MODE"] == answers["auth_mode"]
    assert config_map["data"]["NODE_ENV"] == "production"
    secret_name = f"{project.name}-auth"
    env = {variable["name"]: variable for variable in container["env"]}
    # The Secret is a read-only volume of files, mode 0400 (kubelet adds group read for fsGroup,
    # the server's own gid): credentials never pass through environment variables.
    (volume,) = [v for v in pod_spec(resources)["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == secret_name
    assert volume["secret"]["defaultMode"] == 0o400
    assert pod_spec(resources)["securityContext"]["fsGroup"] == pod_spec(resources)["securityContext"]["runAsUser"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount.get("readOnly") is True
    assert not [v for v in env.values() if "secretKeyRef" in v.get("valueFrom", {})], "no Secret as a variable"
    if answers["auth_mode"] == "api_key":
        keys_file = Path(env["AUTH_API_KEYS_FILE"]["value"])
        assert keys_file == Path(mount["mountPath"]) / "api-keys"
        assert volume["secret"].get("optional") is not True, "API keys are required: no pod starts without them"
        assert "AUTH_API_KEYS" not in config_map["data"] and "AUTH_API_KEYS" not in env
    elif answers["auth_mode"] == "jwt":
        # HS256 only: the Secret is optional and the overlay shows the *_FILE line to uncomment.
        assert volume["secret"]["optional"] is True
        overlay = (project / PRODUCTION / "kustomization.yaml").read_text(encoding="utf-8")
        expected = f"# - AUTH_JWT_SECRET_FILE={Path(mount['mountPath']) / 'jwt-secret'}"
        assert expected in overlay, "the overlay shows how to read an HS256 secret from the mounted file"
        assert "AUTH_JWT_SECRET" not in env and "AUTH_JWT_SECRET" not in config_map["data"]
        assert config_map["data"]["AUTH_JWKS_URL"].startswith("https://")
        assert config_map["data"]["AUTH_ISSUER"]
    else:
        pytest.fail(f"unhandled auth_mode {answers['auth_mode']}")
    # A *_FILE variable holds a path, not a secret.
    secretish = re.compile(r"SECRET(?!_FILE$)|KEYS$|PASSWORD|TOKEN")
    assert not [name for name in config_map["data"] if secretish.search(name)], "secrets never go in the ConfigMap"
    assert not [name for name, variable in env.items() if secretish.search(name) and "value" in variable]
    assert "deploy/" in (project / ".dockerignore").read_text(encoding="utf-8"), "manifests never enter the image"


# Patches a user may add to the overlay. Each one: the offline renderer gives what kustomize gives,
# or refuses it with Unsupported; it never renders something else in silence.
USER_PATCHES = {
    "env-added": {"env": [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "EXTRA", "value": "1"}]},
    "env-changed": {"env": [{"name": "PORT", "value": "9999"}]},
    "env-mixed": {"env": [{"name": "EXTRA", "value": "1"}, {"name": "PORT", "value": "9999"}]},
    "volume-mount-by-mount-path": {"volumeMounts": [{"name": "tmp", "mountPath": "/var/tmp"}]},
    "container-port-by-number": {"ports": [{"name": "metrics", "containerPort": 9464}]},
    "resources": {"resources": {"limits": {"memory": "1Gi"}}},
    "delete-directive": {"$patch": "delete"},
}


@pytest.mark.parametrize("patch_name", USER_PATCHES)
def test_offline_renderer_matches_kustomize_or_refuses_a_patch(bake_cached, tmp_path, patch_name):
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is on PATH: nothing to compare the renderer with")
    project = bake_cached(**VARIANTS[0])
    container = {"name": "server", **USER_PATCHES[patch_name]}
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": project.name},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }
    overlay = _overlay_with(project, tmp_path, "patches", "user-patch.yaml", patch)

    # Asserted only where the offline renderer accepts the overlay (kustomize may refuse it too).
    result = run([*command, str(overlay)], timeout=120, check=False)
    try:
        offline = build(overlay)
    except Unsupported:
        return  # refused, which is honest
    assert result.returncode == 0, f"kustomize refused what the renderer accepted: {result.stderr}"
    assert _same_resources(offline, result.stdout)


def test_offline_renderer_matches_kustomize_or_refuses_a_cron_job(bake_cached, tmp_path):
    """A CronJob added to the overlay: kustomize sets its image and renames its ConfigMap
    reference; the renderer must do the same or refuse it."""
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is on PATH: nothing to compare the renderer with")
    project = bake_cached(**VARIANTS[0])
    container = {
        "name": "job",
        "image": project.name,
        "envFrom": [{"configMapRef": {"name": f"{project.name}-config"}}],
    }
    cron_job = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}},
        },
    }
    overlay = _overlay_with(project, tmp_path, "resources", "cron-job.yaml", cron_job)
    result = run([*command, str(overlay)], timeout=120)
    try:
        offline = build(overlay)
    except Unsupported:
        return
    assert _same_resources(offline, result.stdout)


def test_commented_secret_generator_works_once_uncommented(rendered, tmp_path):
    """The overlay's declarative alternative to `kubectl create secret`: uncommented, with the file
    it names created (and git-ignored), kustomize generates the Secret the pods reference."""
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is on PATH: secretGenerator is not implemented offline")
    answers, project, _ = rendered
    tree = tmp_path / "kubernetes"
    shutil.copytree(project / KUBERNETES_DIR, tree)
    overlay = tree / "overlays/production"
    text = (overlay / "kustomization.yaml").read_text(encoding="utf-8")
    head, marker, commented = text.partition("# secretGenerator:")
    assert marker, "the overlay shows a commented secretGenerator"
    uncommented = "\n".join(line[2:] for line in (marker + commented).splitlines())
    (overlay / "kustomization.yaml").write_text(head + uncommented + "\n", encoding="utf-8")
    (source,) = re.findall(r"=(secrets/[\w.-]+)", uncommented)
    assert (overlay / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "secrets/"
    (overlay / source).parent.mkdir()
    (overlay / source).write_text("not-a-real-secret-only-for-this-test\n", encoding="utf-8")

    result = run([*command, str(overlay)], timeout=120)
    resources = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    secret = by_kind(resources)["Secret"]
    assert secret["metadata"]["name"].startswith(f"{project.name}-auth-"), "hash-named: a change rolls the pods"
    (volume,) = [v for v in pod_spec(resources)["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert secret["metadata"]["namespace"] == by_kind(resources)["Namespace"]["metadata"]["name"]
    if answers["auth_mode"] == "api_key":
        assert list(secret["data"]) == ["api-keys"]
    elif answers["auth_mode"] == "jwt":
        assert list(secret["data"]) == ["jwt-secret"]
    else:
        pytest.fail(f"unhandled auth_mode {answers['auth_mode']}")


def test_production_overlay_sets_image_bounds_and_public_url(rendered):
    answers, project, resources = rendered
    base = by_kind(build(project / BASE))
    kinds = by_kind(resources)
    image = server_container(resources)["image"]
    version = json.loads((project / "package.json").read_text(encoding="utf-8"))["version"]
    # image_repository's default for ci=github and the default author_name ("Your Name").
    assert image == f"ghcr.io/your-name/{project.name}:{version}", "image_repository, with the version until pinned"
    assert server_container(list(base.values()))["image"] != image, "the overlay replaces the image"
    assert "replicas" not in kinds["Deployment"]["spec"], "the HPA owns the replica count"
    hpa = kinds["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    assert (
        base["HorizontalPodAutoscaler"]["spec"]["minReplicas"],
        base["HorizontalPodAutoscaler"]["spec"]["maxReplicas"],
    ) == (2, 5)
    assert hpa["minReplicas"] >= 2, "one replica would make every rollout and node drain an outage"
    assert kinds["ConfigMap"]["data"]["PUBLIC_URL"].startswith("https://")
    assert "PUBLIC_URL" not in base["ConfigMap"]["data"]
    assert kinds["PodDisruptionBudget"]["spec"]["maxUnavailable"] < hpa["minReplicas"]


def test_everything_goes_into_a_namespace_that_enforces_the_restricted_pod_security_standard(rendered):
    _, project, resources = rendered
    namespace = by_kind(resources)["Namespace"]
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", mode
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest", mode
    name = namespace["metadata"]["name"]
    assert name == project.name
    outside = [r["kind"] for r in resources if r["kind"] != "Namespace" and r["metadata"].get("namespace") != name]
    assert not outside, f"resources left to the kubectl context's namespace: {outside}"


def test_ingress_terminates_tls_for_public_url_and_streams_to_the_service(rendered):
    """The public front: PUBLIC_URL's host, TLS from a cert-manager-issued Secret, every path to
    the Service's named port, and event streams neither buffered nor cut by a short timeout."""
    _, project, resources = rendered
    kinds = by_kind(resources)
    ingress = kinds["Ingress"]
    host = urllib.parse.urlsplit(kinds["ConfigMap"]["data"]["PUBLIC_URL"]).hostname
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == host, "the Ingress host must be PUBLIC_URL's (the token audience and Host check)"
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [host] and tls["secretName"] == f"{project.name}-tls"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"], "cert-manager issues the certificate"
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off", "SSE events pass at once"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 300, timeout
    # The server sees the controller's address only: its per-address limit would be one bucket
    # for all clients (bad tokens from one would get every caller 429), so it is off and the
    # Ingress limits each client address before any token is verified.
    assert kinds["ConfigMap"]["data"]["RATE_LIMIT_PER_ADDRESS"] == "0"
    assert int(annotations["nginx.ingress.kubernetes.io/limit-rps"]) > 0
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    service = kinds["Service"]
    assert path["backend"]["service"]["name"] == service["metadata"]["name"]
    assert path["backend"]["service"]["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}


HTTPROUTE_SCHEMA = Path(__file__).parent / "schemas/gateway-api-v1-httproute.schema.json"


def _check_httproute(route: dict, folder: Path) -> subprocess.CompletedProcess:
    """check-jsonschema against the vendored Gateway API HTTPRoute schema (tests/schemas/README.md)."""
    path = folder / "httproute.json"
    path.write_text(json.dumps(route), encoding="utf-8")
    command = [sys.executable, "-m", "check_jsonschema", "--schemafile", str(HTTPROUTE_SCHEMA), str(path)]
    return run(command, timeout=120, check=False)  # the callers assert the exit code (a broken route fails)


def test_the_gateway_api_route_replaces_the_ingress_when_listed_instead(rendered, tmp_path):
    """httproute.yaml, listed in place of ingress.yaml as its comment says: the same host and
    Service, an hour-long request timeout for event streams, valid for Gateway API v1."""
    _, project, _ = rendered
    tree = tmp_path / "kubernetes"
    shutil.copytree(project / KUBERNETES_DIR, tree)
    overlay = tree / "overlays/production"
    text = (overlay / "kustomization.yaml").read_text(encoding="utf-8")
    assert text.count("  - ingress.yaml\n") == 1 and "httproute.yaml" in text
    (overlay / "kustomization.yaml").write_text(text.replace("  - ingress.yaml\n", "  - httproute.yaml\n"))
    resources = build(overlay)
    command = _kustomize_command()
    if command is not None:
        real = run([*command, str(overlay)], timeout=120)
        assert _same_resources(resources, real.stdout), real.stderr
    kinds = by_kind(resources)
    assert "Ingress" not in kinds
    route = kinds["HTTPRoute"]
    result = _check_httproute(route, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert route["metadata"]["namespace"] == kinds["Namespace"]["metadata"]["name"]
    assert route["spec"]["hostnames"] == [urllib.parse.urlsplit(kinds["ConfigMap"]["data"]["PUBLIC_URL"]).hostname]
    (rule,) = route["spec"]["rules"]
    (backend,) = rule["backendRefs"]
    service = kinds["Service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"] in {port["port"] for port in service["spec"]["ports"]}
    assert rule["timeouts"]["request"] == rule["timeouts"]["backendRequest"] == "1h", "streams outlive defaults"
    # The schema check is not a no-op: a bad duration and an upper-case host name are refused.
    broken = copy.deepcopy(route)
    broken["spec"]["rules"][0]["timeouts"]["request"] = "an hour"
    broken["spec"]["hostnames"] = ["MCP.Example.com"]
    assert _check_httproute(broken, tmp_path).returncode != 0


def test_pin_image_script_deploys_the_pushed_digest(rendered, tmp_path):
    """scripts/pin-image.sh (what the overlay and the README tell you to run with the digest CI
    prints) makes the overlay deploy that repository by digest; a tag is refused."""
    _, project, _ = rendered
    copy = tmp_path / "project"
    shutil.copytree(project / KUBERNETES_DIR, copy / KUBERNETES_DIR)
    shutil.copytree(project / "scripts", copy / "scripts")
    overlay = (project / PRODUCTION / "kustomization.yaml").read_text(encoding="utf-8")
    (shown,) = set(re.findall(r"`scripts/pin-image\.sh ([^`]+)@sha256:<digest>`", overlay))
    digest = "sha256:" + hashlib.sha256(b"an image").hexdigest()
    result = subprocess.run(
        ["bash", "scripts/pin-image.sh", f"{shown}@{digest}"], cwd=copy, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert server_container(build(copy / PRODUCTION))["image"] == f"{shown}@{digest}"
    images = yaml.safe_load((copy / PRODUCTION / "kustomization.yaml").read_text(encoding="utf-8"))["images"]
    assert images == [{"name": project.name, "newName": shown, "digest": digest}]
    refused = subprocess.run(
        ["bash", "scripts/pin-image.sh", f"{shown}:1.0.0"], cwd=copy, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "sha256" in refused.stderr
    assert yaml.safe_load((copy / PRODUCTION / "kustomization.yaml").read_text(encoding="utf-8"))["images"] == images


def test_the_docs_give_the_deploy_commands(rendered):
    answers, project, _ = rendered
    shown = shown_commands(project / "docs/kubernetes.md", "Deploy")
    assert shown[0].startswith("scripts/pin-image.sh "), shown
    namespace = shown.index("kubectl apply -f deploy/kubernetes/base/namespace.yaml")
    create = f"kubectl -n {project.name} create secret generic {project.name}-auth "
    (secret,) = [i for i, command in enumerate(shown) if command.startswith(create)]
    apply = shown.index("kubectl apply -k deploy/kubernetes/overlays/production")
    assert namespace < secret < apply, "the namespace before its Secret, the Secret before the pods that mount it"
    assert shown[-1] == f"kubectl -n {project.name} rollout status deployment/{project.name}"
    # The files the commands name exist, and the Secret is the one the Deployment mounts.
    assert (project / "deploy/kubernetes/base/namespace.yaml").is_file()
    deployment = (project / "deploy/kubernetes/base/deployment.yaml").read_text(encoding="utf-8")
    assert f"secretName: {project.name}-auth" in deployment


# ------------------------------------------------------------------ answers


MANIFEST_TEMPLATES = sorted(TEMPLATE_KUBERNETES.rglob("*.yaml"))


def test_an_unhandled_base_image_has_no_uid():
    """The uid is the base family's (cookiecutter.json's _base_families, the one place the manifests,
    the Dockerfiles and the README read it from): a base image without an entry has none, and no
    manifest writes a uid of its own."""
    deployment = (TEMPLATE_KUBERNETES / "base" / "deployment.yaml").read_text(encoding="utf-8")
    environment = StrictEnvironment(keep_trailing_newline=True)
    answers = {**DEFAULTS, "project_slug": "probe", "port": "8080", "image_repository": "ghcr.io/acme/probe"}
    answers["_base_families"] = BASE_FAMILIES
    with pytest.raises(UndefinedError, match="unheard-of"):
        environment.from_string(deployment).render(cookiecutter={**answers, "base_image": "unheard-of"})
    for path in MANIFEST_TEMPLATES:
        assert not re.search(r"\b1000\b", path.read_text(encoding="utf-8")), f"{path.name} writes a uid of its own"


@pytest.mark.parametrize(("field", "sentinel"), [("auth_mode", "unknown_auth_mode_choice")])
def test_an_unhandled_choice_fails_rendering_by_name(field, sentinel):
    """Every Jinja branch on a choice ends in a sentinel: a value nobody handled cannot render silently."""
    environment = StrictEnvironment(keep_trailing_newline=True)
    answers = {
        **DEFAULTS,
        "kubernetes": True,
        "project_slug": "probe",
        "port": "8080",
        "version": "0.1.0",
        "_base_families": BASE_FAMILIES,
        "image_repository": "ghcr.io/acme/probe",
        field: "unheard-of",
    }
    failed = []
    for path in MANIFEST_TEMPLATES:
        text = path.read_text(encoding="utf-8")
        # Files that branch on the field (directly, or through a `set` alias); others only print it.
        if not re.search(rf"\{{%-?\s*(?:if|set \w+ =) cookiecutter\.{field}\b", text):
            continue
        with pytest.raises(UndefinedError) as error:
            environment.from_string(text).render(cookiecutter=answers)
        assert sentinel in str(error.value), path
        failed.append(path.name)
    assert failed, f"no manifest branches on {field}?"


def test_a_slug_too_long_for_kubernetes_is_refused(tmp_path):
    slug = "a" + "-b" * 32  # 65 characters: a valid slug, too long for a Service name
    result = bake_with_cli(tmp_path, f"project_slug={slug}", "kubernetes=yes", "cloud_run=no")
    assert result.returncode != 0
    assert "project_slug" in result.stderr and "63" in result.stderr, result.stderr
    assert not any(tmp_path.iterdir()), "nothing half-made is left behind"
    assert bake_with_cli(tmp_path, f"project_slug={slug}", "kubernetes=no", "cloud_run=no").returncode == 0


# ------------------------------------------------------------------ statelessness


# The server is the node tier's build of a JWT variant (the kubernetes answer adds deploy/ and a
# README section, nothing that is built); its settings come from that variant's overlay.
BUILT_VARIANT = next(v for v in PROJECT_VARIANTS if v["auth_mode"] == "jwt")
STATELESS_VARIANT = {**BUILT_VARIANT, "kubernetes": True}
REPLICAS = 3
SESSIONS = 4


async def _drive_session(url: str, token: str, mode: str, number: int, tls: ssl.SSLContext) -> dict:
    """One MCP client session: list the tools, call both; every call must succeed."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=tls) as http,
        Client(
            streamable_http_client(url, http_client=http, terminate_on_close=False), mode=mode, cache=None
        ) as client,
    ):
        tools = await client.list_tools()
        echo = await client.call_tool("echo", {"text": f"call {number}"})
        whoami = await client.call_tool("whoami", {})
        assert not echo.is_error and not whoami.is_error, (echo, whoami)
        return {
            "protocol": client.protocol_version,
            "tools": sorted(tool.name for tool in tools.tools),
            "echo": "".join(getattr(block, "text", "") for block in echo.content),
            "whoami": "".join(getattr(block, "text", "") for block in whoami.content),
        }


async def _drive_concurrent_sessions(url: str, token: str, mode: str, tls: ssl.SSLContext) -> list[dict]:
    """Sessions 1 .. SESSIONS-1 at once, as several clients would."""
    results: dict[int, dict] = {}

    async def one(number: int) -> None:
        results[number] = await _drive_session(url, token, mode, number, tls)

    async with anyio.create_task_group() as group:
        for number in range(1, SESSIONS):
            group.start_soon(one, number)
    return [results[number] for number in range(1, SESSIONS)]


def _wait_for_log(proxy: HAProxy, reached, deadline_seconds: float = 30) -> collections.Counter:
    """HAProxy logs a request once its answer has gone out, a moment after the client has it:
    wait for the log to show `reached(counts)` (a safety-net deadline, not a timing assumption)."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        counts = proxy.served()
        if reached(counts) or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


HAPROXY_CONFIG = Path("deploy/haproxy/haproxy.cfg")


def test_recommended_haproxy_config_is_set_up_for_mcp_streams(bake_cached):
    """The settings docs/load-balancer.md promises, in the file the test below runs."""
    project = bake_cached(**STATELESS_VARIANT)
    config = (project / HAPROXY_CONFIG).read_text(encoding="utf-8")
    lines = [line.split("#", 1)[0].strip() for line in config.splitlines()]
    lines = [line for line in lines if line]
    for expected in (
        "mode http",
        "balance roundrobin",
        "option forwardfor",
        "http-request del-header X-Forwarded-For",
        "http-request set-header X-Forwarded-Proto https",
        "option httpchk",
        "http-check send meth GET uri /ready",
        "http-check expect status 200",
        "timeout tunnel 1h",
    ):
        assert expected in lines, expected
    assert not [line for line in lines if line.startswith(("option http-buffer-request", "compression"))]
    assert not [line for line in lines if "stick" in line or "cookie" in line], "stateless: no affinity"
    seconds = {"m": 60, "h": 3600, "s": 1}
    for side in ("client", "server"):
        (value,) = [line.split()[2] for line in lines if line.startswith(f"timeout {side} ")]
        assert int(value[:-1]) * seconds[value[-1]] >= 300, f"timeout {side} {value}: streams need minutes"
    # The page's command runs this file, and sets every variable the file reads.
    (command,) = shown_commands(project / "docs/load-balancer.md", "HAProxy")
    assert command.endswith(f"haproxy -f {HAPROXY_CONFIG}"), command
    read = set(re.findall(r'"\$\{?(MCP_[A-Z0-9_]+)', (project / HAPROXY_CONFIG).read_text(encoding="utf-8")))
    assert read and read <= {word.split("=")[0] for word in command.split() if "=" in word}, read


@pytest.mark.node
def test_replicas_behind_haproxy_serve_any_request(build_project, bake_cached):
    """Three replicas configured as the production overlay configures them, behind a real HAProxy
    running the project's own deploy/haproxy/haproxy.cfg (TLS, round-robin, health checks on
    /ready): sessions of both protocol eras whose requests land on different replicas work."""
    project, env = build_project(**BUILT_VARIANT)
    baked = bake_cached(**STATELESS_VARIANT)
    config = by_kind(build(baked / PRODUCTION))["ConfigMap"]["data"]
    audience = f"{config['PUBLIC_URL']}/mcp"
    sessions: dict[str, list[dict]] = {}
    with JwksIssuer() as issuer:
        # The ConfigMap's settings, with the placeholder identity provider swapped for the test's.
        extra = {**config, "AUTH_ISSUER": issuer.issuer, "AUTH_JWKS_URL": issuer.jwks_url, "LOG_LEVEL": "warn"}
        replicas = [ServerProcess(project, env, extra) for _ in range(REPLICAS)]
        token = issuer.mint(sub="replica-tester", aud=audience, scopes=["mcp:tools"])
        with contextlib.ExitStack() as running:
            for replica in replicas:
                running.enter_context(replica)
            upstreams = [f"127.0.0.1:{replica.port}" for replica in replicas]
            proxy = running.enter_context(HAProxy(baked / HAPROXY_CONFIG, upstreams))
            names = {f"mcp{number}" for number in range(1, REPLICAS + 1)}
            url = f"{proxy.base_url}/mcp"
            for mode in PROTOCOL_MODES:
                before = proxy.served()

                def new(counts: collections.Counter, before: collections.Counter = before) -> collections.Counter:
                    return counts - before

                # One session on its own: its consecutive requests land on different replicas.
                alone = anyio.run(_drive_session, url, token, mode, 0, proxy.client_context)
                reached = _wait_for_log(proxy, lambda counts: set(new(counts)) >= names)
                assert set(new(reached)) == names, f"{mode}: one session's requests should reach every replica"
                together = anyio.run(_drive_concurrent_sessions, url, token, mode, proxy.client_context)
                sessions[mode] = [alone, *together]
                # Each session makes at least three requests (list + two calls), all answered.
                answered = _wait_for_log(proxy, lambda counts: sum(new(counts).values()) >= 3 * SESSIONS)
                assert sum(new(answered).values()) >= 3 * SESSIONS, (mode, proxy.log()[-3000:])
            # A replica stops (scale-in, a new release): HAProxy's checks take it out of the rotation,
            # and a request that meets its closed port is retried on another replica, so sessions
            # started afterwards all succeed.
            assert replicas[0].stop() == 0
            for mode in PROTOCOL_MODES:
                after = anyio.run(_drive_session, url, token, mode, 0, proxy.client_context)
                assert after["echo"] == "call 0" and "replica-tester" in after["whoami"], (mode, after)
            down = re.compile(r"Server mcp_replicas/mcp1 is DOWN")
            deadline = time.monotonic() + 60
            while not down.search(proxy.log()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert down.search(proxy.log()), f"HAProxy's health checks never took mcp1 out:\n{proxy.log()[-3000:]}"
            logs = "\n".join(replica.log()[-3000:] for replica in replicas)
            served = proxy.served()
            # No request failed at the proxy or a replica (HAProxy logs 502/503/504 for those).
            failed = [line for line in proxy.log().splitlines() if re.search(r" \d+/\d+/\d+/-?\d+/\+?\d+ 5\d\d ", line)]
            assert not failed, f"{failed}\n{logs}"
        codes = [replica.exit_code for replica in replicas]
        assert issuer.requests >= REPLICAS, "every replica verified tokens itself, against the JWKS"

    for mode, results in sessions.items():
        for number, session in enumerate(results):
            assert session["tools"] == EXAMPLE_TOOLS, (mode, session)
            assert session["echo"] == f"call {number}", (mode, session)
            assert "replica-tester" in session["whoami"], (mode, session)
            if mode == "legacy":
                assert session["protocol"] < "2026", session
            else:
                assert session["protocol"] == mode, session
    assert set(served) == names and all(count > 0 for count in served.values()), served
    assert codes == [0] * REPLICAS, f"every replica must exit 0 on SIGTERM, got {codes}"


# ------------------------------------------------------------------ the pod spec on the real image


DOCKER_VARIANT = {
    **DEFAULTS,
    "kubernetes": True,
    "base_image": "bookworm-slim",
    "auth_mode": "api_key",
    "node_version": "24",
}


def _base_image_args(engine, base_image: str, node_version: str) -> tuple[dict[str, str], str]:
    """Build args for the base images: official where pullable, else the offline stand-ins."""
    args, note = docker_engine.base_images(engine, base_image, node_version)
    if args is None:
        pytest.skip(note)
    return args, note


def _wait_for_ok(url: str, running, deadline_seconds: float = 60) -> None:
    """Poll until `url` answers 200; fail at once if `running()` turns false, or at the deadline."""
    deadline = time.monotonic() + deadline_seconds
    last: object = None
    while time.monotonic() < deadline:
        if not running():
            raise AssertionError(f"the container exited before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
                last = response.status
        except OSError as error:
            last = error
        time.sleep(0.25)
    raise AssertionError(f"{url} did not answer 200 within {deadline_seconds} s (last: {last})")


@pytest.mark.docker
def test_the_image_runs_under_the_pod_spec_with_the_secret_mounted(engine, bake_cached, tmp_path):
    """The production image, run with the Deployment's security context translated to docker
    flags, the ConfigMap's environment and the API-key Secret mounted as kubelet mounts it
    (root-owned, group fsGroup, defaultMode 0400 plus kubelet's group read): probes answer, an MCP
    session works, SIGTERM exits 0 inside the grace period."""
    project = bake_cached(**DOCKER_VARIANT)
    resources = build(project / PRODUCTION)
    spec, container = pod_spec(resources), server_container(resources)
    pod_security, security = spec["securityContext"], container["securityContext"]
    base_args, note = _base_image_args(engine, DOCKER_VARIANT["base_image"], DOCKER_VARIANT["node_version"])
    print(f"base images: {note}")
    ca = "/etc/ssl/certs/ca-certificates.crt"
    tag, _ = engine.build(
        project, build_args=base_args, extra=["--secret", f"id=ca,src={ca}"] if Path(ca).is_file() else []
    )
    uid, gid = pod_security["runAsUser"], pod_security["runAsGroup"]
    assert engine.inspect(tag)["Config"]["User"] == f"{uid}:{gid}", "the image's own user is the pod's user"

    flags = ["--user", f"{uid}:{gid}", "--group-add", str(pod_security["fsGroup"])]
    assert security["readOnlyRootFilesystem"] is True and security["capabilities"]["drop"] == ["ALL"]
    flags += ["--read-only", "--cap-drop", "ALL"]
    assert security["allowPrivilegeEscalation"] is False
    flags += ["--security-opt", "no-new-privileges"]
    empty_dirs = {volume["name"] for volume in spec["volumes"] if "emptyDir" in volume}
    flags += [arg for m in container["volumeMounts"] if m["name"] in empty_dirs for arg in ("--tmpfs", m["mountPath"])]

    env = {
        **by_kind(resources)["ConfigMap"]["data"],
        **{v["name"]: v["value"] for v in container["env"] if "value" in v},
    }
    key = os.urandom(24).hex()
    keys_file = tmp_path / "api-keys"
    keys_file.write_text(f"{key}\n", encoding="utf-8")
    secret_volume = next(volume for volume in spec["volumes"] if "secret" in volume)
    if os.geteuid() == 0:
        # As kubelet writes a Secret volume's files: root-owned, defaultMode (0400) plus group read
        # for fsGroup (kubelet's SetVolumeOwnership ORs 0440 into read-only volumes' files).
        os.chown(keys_file, 0, pod_security["fsGroup"])
        keys_file.chmod(secret_volume["secret"]["defaultMode"] | 0o440)
        assert keys_file.stat().st_mode & 0o007 == 0, "no other uid may read it"
    else:
        keys_file.chmod(0o444)  # cannot chown as a normal user: readable by all instead
    mount = next(m for m in container["volumeMounts"] if m["name"] == secret_volume["name"])
    flags += ["--volume", f"{keys_file}:{Path(mount['mountPath']) / 'api-keys'}:ro"]
    assert env["AUTH_API_KEYS_FILE"] == str(Path(mount["mountPath"]) / "api-keys")

    # Containers share the host network here: free ports instead of the configured ones.
    port, probe_port = free_port(), free_port()
    env["PORT"], env["PROBE_PORT"] = str(port), str(probe_port)
    publish = [] if engine.network == "host" else ["--publish", f"127.0.0.1:{port}:{port}"]
    cid = engine.run(tag, *flags, *publish, env=env)
    try:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            path = container[probe]["httpGet"]["path"]
            _wait_for_ok(f"http://127.0.0.1:{probe_port}{path}", lambda: engine.health(cid) != "exited")
        session = run_session(f"http://127.0.0.1:{port}/mcp", key, echo="from the pod spec")
        assert session.echo_text == "from the pod spec"
    except Exception:
        print(engine.logs(cid))
        raise
    code, seconds = engine.stop_with_sigterm(cid, timeout=spec["terminationGracePeriodSeconds"])
    assert code == 0, engine.logs(cid)
