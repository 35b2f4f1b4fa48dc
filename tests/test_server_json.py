"""server.json: the generated project's MCP Registry entry, valid against the registry's own
published schema (vendored under tests/schemas/, see its README for the source), describing the
deployed server: a reverse-DNS name, package.json's version, one streamable-http remote at the
public URL's /mcp."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.kustomize import build
from support.process import run
from variants import DEFAULTS

SCHEMA = Path(__file__).parent / "schemas/mcp-server-2025-12-11.schema.json"
CHECK_JSONSCHEMA = [sys.executable, "-m", "check_jsonschema"]

VARIANTS = {
    "defaults": {},
    "kubernetes-api-key-gitlab": {"kubernetes": True, "auth_mode": "api_key", "ci": "gitlab"},
    "long-description": {"description": "An MCP server. " * 12, "project_name": "Tools " * 30},
}


def _validate(path: Path) -> subprocess.CompletedProcess:
    # --schemafile with a local file: no network (the schema's $ref are all internal). The callers
    # assert the exit code (a broken entry must be refused).
    return run([*CHECK_JSONSCHEMA, "--schemafile", str(SCHEMA), str(path)], timeout=120, check=False)


@pytest.mark.parametrize("name", VARIANTS)
def test_server_json_is_a_valid_registry_entry_for_the_deployed_server(bake_cached, name):
    project = bake_cached(**{**DEFAULTS, **VARIANTS[name]})
    result = _validate(project / "server.json")
    assert result.returncode == 0, result.stdout + result.stderr
    entry = json.loads((project / "server.json").read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert entry["$schema"] == schema["$id"]
    assert entry["version"] == json.loads((project / "package.json").read_text(encoding="utf-8"))["version"]
    namespace, _, server = entry["name"].partition("/")
    assert server == project.name and namespace.count(".") >= 2, "reverse-DNS: io.github.<owner>/<slug>"
    (remote,) = entry["remotes"]
    assert remote["type"] == "streamable-http"
    (header,) = remote["headers"]
    assert header["name"] == "Authorization" and header["isRequired"] and header["isSecret"]
    if (project / "deploy/kubernetes").is_dir():
        overlay = build(project / "deploy/kubernetes/overlays/production")
        config_map = next(resource for resource in overlay if resource["kind"] == "ConfigMap")
        assert remote["url"] == f"{config_map['data']['PUBLIC_URL']}/mcp", "the public URL the overlay serves"
    assert len(entry["description"]) <= 100 and len(entry["title"]) <= 100


def test_the_schema_check_refuses_a_broken_entry(bake_cached, tmp_path):
    """The validation is not a no-op: a name without a namespace and a non-http remote are refused."""
    project = bake_cached(**DEFAULTS)
    entry = json.loads((project / "server.json").read_text(encoding="utf-8"))
    for broken in (
        {**entry, "name": "my-mcp-server"},
        {**entry, "remotes": [{"type": "streamable-http", "url": "ftp://mcp.example.com/mcp"}]},
        {key: value for key, value in entry.items() if key != "version"},
    ):
        path = tmp_path / "server.json"
        path.write_text(json.dumps(broken), encoding="utf-8")
        assert _validate(path).returncode != 0, broken
