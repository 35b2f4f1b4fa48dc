"""Pinned CI tools: every action at a full commit SHA with its version beside it, every downloaded
tool (trivy, cosign) at the version .github/versions.json names and installed only when its
checksum matches (the CI install snippets run for real against a stand-in download), and
.github/scripts/update_pins.py, which keeps them in step."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from support.delivery import TEMPLATE_WORKFLOWS, VERSIONS, clean_env, stub
from support.process import run
from support.template import PROJECT_TEMPLATE, TEMPLATE_DIR

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$", re.MULTILINE)


PINNED = re.compile(r"(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})")


VERSION_COMMENT = re.compile(r"\s+# (?P<version>v\d+\.\d+\.\d+)$")


def all_workflow_files() -> list[Path]:
    return [*TEMPLATE_WORKFLOWS, PROJECT_TEMPLATE / ".github/workflows/ci.yml"]


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
    github = (PROJECT_TEMPLATE / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    gitlab = (PROJECT_TEMPLATE / ".gitlab-ci.yml").read_text(encoding="utf-8")
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
    # The caller asserts the exit code: the wrong checksum must stop the snippet.
    result = run(command, tmp_path, clean_env(path, RUNNER_TEMP=str(fake_tmp), **env), check=False)
    return result, fake_bin, urls.read_text(encoding="utf-8").split() if urls.exists() else []


def _install_steps() -> list[tuple[str, str, str, str, bool]]:
    """(where, tool, shell, script, archive) for every pinned download in the generated CI files."""
    github = yaml.safe_load((PROJECT_TEMPLATE / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    gitlab = yaml.safe_load((PROJECT_TEMPLATE / ".gitlab-ci.yml").read_text(encoding="utf-8"))
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
