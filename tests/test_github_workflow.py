"""The generated project's GitHub Actions workflow (.github/workflows/ci.yml): least privilege,
publishing only from the default branch and version tags (its `if:` evaluated with
support/github_expressions.py), signed images with provenance, a release candidate tested before
it is pushed, install scripts that never see the registry credential, and `run:` steps clean
under shellcheck (the template's own workflows too)."""

from __future__ import annotations

import re

import yaml

from support.delivery import TEMPLATE_WORKFLOWS, code, shellcheck
from support.github_expressions import github_event, github_expression


def test_github_ci_publishes_signed_images_with_least_privilege(delivery_project):
    workflow = yaml.safe_load((delivery_project("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
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

    # The pushed build (a release candidate is built and tested first:
    # test_github_publish_builds_without_a_shared_cache_then_tests_then_pushes_and_signs).
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


def test_github_publish_builds_without_a_shared_cache_then_tests_then_pushes_and_signs(bake_cached):
    project = bake_cached(ci="github")
    steps = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))["jobs"]["publish"][
        "steps"
    ]
    builds = [i for i, s in enumerate(steps) if s.get("uses", "").startswith("docker/build-push-action@")]
    assert len(builds) == 2, builds
    assert all("cache-from" not in steps[i]["with"] and "cache-to" not in steps[i]["with"] for i in builds)
    candidate, push = (steps[i]["with"] for i in builds)
    assert candidate["load"] is True and candidate["push"] is False and push["push"] is True
    # The pushed build has the tested build's inputs (the same layers, from the job's own builder).
    assert candidate["build-args"] == push["build-args"] and candidate["target"] == push["target"]
    test = next(i for i, s in enumerate(steps) if s.get("run") == "scripts/test-docker.sh")
    assert steps[test]["env"]["IMAGE"] == candidate["tags"] and steps[test]["env"]["SKIP_BUILD"] == "1"
    sign = next(i for i, s in enumerate(steps) if "cosign sign" in s.get("run", ""))
    assert builds[0] < test < builds[1] < sign


def test_github_ci_install_scripts_never_see_the_registry_credential(bake_cached):
    jobs = yaml.safe_load((bake_cached(ci="github") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))["jobs"]
    for name, job in jobs.items():
        for step in job["steps"]:
            run = code(step.get("run", ""))
            assert not re.search(r"NPM_CONFIG_USERCONFIG=.*GITHUB_ENV", run), f"{name}: credential for every later step"
            if "secrets.NPMRC" in str(step.get("env", {})):
                npm_commands = re.findall(r"(?:^|[\s;&|])npm [a-z][^\n]*", run)
                assert npm_commands or not re.search(r"\bnpm\b", run), (name, run)
                assert all("--ignore-scripts" in c for c in npm_commands), (name, npm_commands)
    node = [step.get("run", "") for step in jobs["node"]["steps"]]
    install = next(i for i, run in enumerate(node) if "npm ci" in run)
    assert "--ignore-scripts" in node[install] and "trap 'rm -f \"$userconfig\"' EXIT" in node[install]
    assert node.index("npm rebuild") == install + 1


# --- when the publish job and its steps run ---------------------------------------------------------


def test_the_expression_evaluator_follows_github_semantics():
    context = {"github": {"ref": "refs/heads/Main", "n": None}, "vars": {}}
    assert github_expression("github.ref == 'refs/heads/main'", context) is True  # case-insensitive
    assert github_expression("${{ !github.n && 'x' || 'y' }}", context) == "x"
    assert github_expression("format('refs/heads/{0}', 'a') != github.ref", context) is True
    assert github_expression("startsWith(github.ref, 'refs/tags/') || vars.MISSING", context) is None


def test_publish_runs_only_for_pushes_to_the_default_branch_and_version_tags(delivery_project):
    """The publish job's `if:` evaluated on the events it must and must not publish for."""
    workflow = yaml.safe_load((delivery_project("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
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


def test_build_provenance_attestation_is_skipped_where_github_offers_none(delivery_project):
    """Artifact attestations exist for public repositories, and for private ones on Enterprise
    Cloud only: a private repository skips the step unless it opts in."""
    workflow = yaml.safe_load((delivery_project("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    (attest,) = [s for s in workflow["jobs"]["publish"]["steps"] if "attest" in s.get("uses", "")]
    assert "if" in attest, "without a condition the publish job fails in every private repository"
    push = ("push", "refs/heads/main")
    assert github_expression(attest["if"], github_event(*push, private=False))
    assert not github_expression(attest["if"], github_event(*push, private=True))
    assert github_expression(attest["if"], github_event(*push, private=True, BUILD_PROVENANCE_ATTESTATION="true"))
    # Signing happens in every repository.
    (sign,) = [s for s in workflow["jobs"]["publish"]["steps"] if "cosign sign" in s.get("run", "")]
    assert "if" not in sign


def test_published_image_keeps_the_projects_licence_label(delivery_project):
    """metadata-action would label the image with GitHub's licence guess; the publish job sets the project's."""
    workflow = yaml.safe_load((delivery_project("defaults") / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    publish = workflow["jobs"]["publish"]
    (inputs,) = [s for s in publish["steps"] if s.get("id") == "inputs"]
    assert "require('./package.json').license" in inputs["run"] and "LicenseRef-Proprietary" in inputs["run"]
    (meta,) = [s for s in publish["steps"] if s.get("id") == "meta"]
    expected = "org.opencontainers.image.licenses=${{ steps.inputs.outputs.license }}"
    assert meta["with"]["labels"] == expected and meta["with"]["annotations"] == expected


# --- the run steps themselves -----------------------------------------------------------------------


EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def test_github_run_steps_are_clean_under_shellcheck(delivery_project):
    """What actionlint does on GitHub: every `run:` block through shellcheck (bash, expressions replaced)."""
    scripts = [
        EXPRESSION.sub("placeholder", step["run"])
        for path in (delivery_project("defaults") / ".github/workflows/ci.yml", *TEMPLATE_WORKFLOWS)
        for job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]
    assert len(scripts) > 10
    for script in scripts:
        result = shellcheck(script, "bash")
        assert result.returncode == 0, script + result.stdout
