"""Dependency updates: Dependabot and Renovate cover npm, the base images and the actions, wait a
cooldown before proposing anything, and Renovate sees every base image the Dockerfiles declare
through an ARG and can write its pin, digest refresh and new tag back (support/renovate.py, a
port of Renovate's managers: the real bot needs GitHub and the registries)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from support.delivery import VERSIONS
from support.renovate import renovate_docker_deps, renovate_dockerfile_deps, renovate_matches, renovate_write_update
from support.template import TEMPLATE_DIR
from variants import OPTIONS, RENDER_VARIANTS

GITHUB_VARIANTS = [answers for answers in RENDER_VARIANTS if answers["ci"] == "github"]


def test_update_bots_cover_npm_images_and_actions(delivery_project):
    github = delivery_project("defaults")
    dependabot = yaml.safe_load((github / ".github/dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {u["package-ecosystem"]: u for u in dependabot["updates"]}
    assert set(ecosystems) == {"npm", "github-actions"}
    assert all(u.get("groups") for u in ecosystems.values())
    renovate_github = json.loads((github / "renovate.json").read_text(encoding="utf-8"))
    # Dependabot does npm and actions; Renovate the base images (dockerfile) and the Node.js major (regex).
    assert set(renovate_github["enabledManagers"]) == {"dockerfile", "custom.regex"}
    renovate_gitlab = json.loads((delivery_project("all-on") / "renovate.json").read_text(encoding="utf-8"))
    assert set(renovate_gitlab["enabledManagers"]) == {"npm", "gitlabci", "dockerfile", "custom.regex"}
    groups = {rule.get("groupName") for rule in renovate_gitlab["packageRules"]}
    assert {"Node.js", "base images", "CI images", "npm minor and patch"} <= groups
    assert not (delivery_project("all-on") / ".github").exists()


# --- updates wait before they are proposed ----------------------------------------------------------


@pytest.mark.parametrize("answers", GITHUB_VARIANTS[:1] + [{"ci": None}], ids=["generated", "template"])
def test_dependabot_waits_a_cooldown_on_every_ecosystem(bake_cached, answers):
    root = TEMPLATE_DIR if answers["ci"] is None else bake_cached(**answers)
    config = yaml.safe_load((root / ".github/dependabot.yml").read_text(encoding="utf-8"))
    for update in config["updates"]:
        assert update["cooldown"]["default-days"] >= 7, update["package-ecosystem"]


@pytest.mark.parametrize("ci", ["github", "gitlab", "none"])
def test_renovate_waits_a_minimum_release_age(bake_cached, ci):
    config = json.loads((bake_cached(ci=ci) / "renovate.json").read_text(encoding="utf-8"))
    assert config["minimumReleaseAge"] == "7 days"


# --- Renovate and the Dockerfiles' base images ------------------------------------------------------


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
