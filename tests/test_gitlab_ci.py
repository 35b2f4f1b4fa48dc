"""The generated project's GitLab CI (.gitlab-ci.yml): signed images published from the default
branch and version tags only, a release candidate tested before it is pushed, install scripts
that never see the registry credential, and every script line clean under shellcheck (POSIX sh)."""

from __future__ import annotations

import re

import yaml

from support.delivery import code, shellcheck


def test_gitlab_ci_publishes_signed_images(delivery_project):
    gitlab = yaml.safe_load((delivery_project("all-on") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
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


def test_gitlab_publish_builds_without_a_shared_cache_then_tests_then_pushes_and_signs(bake_cached):
    ci = yaml.safe_load((bake_cached(ci="gitlab") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    script = code("\n".join(ci["publish"]["script"]))
    for cache in ("--cache-from", "--cache-to", "type=registry"):
        assert cache not in script
    order = ["--load", "scripts/test-docker.sh", "--push", "cosign sign"]
    positions = [script.index(marker) for marker in order]
    assert positions == sorted(positions), dict(zip(order, positions, strict=True))
    assert ci["publish"]["variables"]["TEST_HOST"] == "docker"


def test_gitlab_ci_install_scripts_never_see_the_registry_credential(bake_cached):
    ci = yaml.safe_load((bake_cached(ci="gitlab") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    before = ci[".node"]["before_script"]
    install = next(i for i, line in enumerate(before) if line.startswith("npm ci"))
    assert "--ignore-scripts" in before[install]
    rebuild = before.index("npm rebuild")
    between = before[install + 1 : rebuild]
    assert any('rm -f "$NPM_CONFIG_USERCONFIG"' in line for line in between)
    assert "unset NPM_CONFIG_USERCONFIG" in between


def test_gitlab_scripts_are_clean_under_shellcheck(delivery_project):
    """GitLab runs each script line in the image's sh (busybox ash on docker:cli): POSIX sh."""
    gitlab = yaml.safe_load((delivery_project("all-on") / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    jobs = [job for job in gitlab.values() if isinstance(job, dict)]
    scripts = [line for job in jobs for key in ("before_script", "script") for line in job.get(key, [])]
    assert len(scripts) > 10
    for script in scripts:
        result = shellcheck(script, "sh")
        assert result.returncode == 0, script + result.stdout
