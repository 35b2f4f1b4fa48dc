"""The MCP surface beside tools, from an independent client (the Python SDK), in both protocol eras.

A generated project ships one example of each: a static resource and a resource template, a
prompt with arguments, a tool with an output schema (structured content), and a tool reporting
progress. The project's own tests cover each from inside; this proves a built server serves them
over Streamable HTTP to a client that is not the server's own SDK.
"""

from __future__ import annotations

import secrets

import pytest

from support.mcp_client import MODERN_REVISION, run_surface_session
from support.server_process import ServerProcess
from variants import COOKIECUTTER_JSON, DEFAULTS

pytestmark = pytest.mark.node


@pytest.mark.parametrize(("mode", "revision"), [(MODERN_REVISION, MODERN_REVISION), ("legacy", "2025-11-25")])
def test_resources_prompts_structured_output_and_progress_in_both_eras(build_project, mode, revision):
    project, env = build_project(**DEFAULTS)
    key = secrets.token_urlsafe(32)
    with ServerProcess(project, env, {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key}) as server:
        surface = run_surface_session(f"{server.base_url}/mcp", key, mode=mode)
    assert surface.protocol_version == revision
    assert surface.resource_names == ["server-info"]
    assert surface.template_uris == ["greeting://{name}"]
    assert surface.server_info == {"name": COOKIECUTTER_JSON["project_name"], "version": COOKIECUTTER_JSON["version"]}
    assert surface.greeting == "Hello, Ada!"
    assert surface.prompt_names == ["summarize"]
    assert surface.prompt_text == "Summarize this text for testers:\n\nLong text."
    assert surface.stats == {"characters": 5, "words": 3, "lines": 2}
    assert surface.progress == [(1, 3), (2, 3), (3, 3)], "one notification per step, before the result"
