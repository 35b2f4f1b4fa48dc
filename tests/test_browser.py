"""Browser MCP clients, in a real headless Chromium: CORS as browsers enforce it.

A page served from an allowed origin runs the MCP TypeScript SDK's own client (bundled with
esbuild) against the built server with a bearer API key, in both protocol eras: 2026-07-28, whose
requests carry `Mcp-Method` and `Mcp-Name` (SEP-2243) and so need a preflight that allows them,
and the 2025-11-25 handshake. The same page from another origin is refused. Also proven from the
page: a 401's `WWW-Authenticate` challenge is readable (exposed), and a requested
`Mcp-Param-*` header passes the preflight.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import pytest

from support.browser import PageServer, bundle_client, chromium, headless_chromium
from support.server_process import ServerProcess
from variants import DEFAULTS

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(chromium() is None, reason="chromium is not installed (scripts/machine.sh installs it)"),
]


@pytest.fixture(scope="module")
def browser_setup(build_project, tmp_path_factory):
    """The built server (API keys, one allowed browser origin: the page server's), and the page server."""
    project, env = build_project(**DEFAULTS)
    script = bundle_client(project, env, tmp_path_factory.mktemp("browser-bundle"))
    key = secrets.token_urlsafe(32)
    with PageServer(script) as pages:
        allowed_origin = f"http://127.0.0.1:{pages.port}"
        extra = {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key, "ALLOWED_ORIGINS": allowed_origin, "LOG_LEVEL": "info"}
        with ServerProcess(project, env, extra) as server:
            yield server, pages, key


def page_url(origin: str, server: ServerProcess, key: str) -> str:
    return f"{origin}/?{urlencode({'server': server.base_url, 'key': key})}"


def test_a_page_on_an_allowed_origin_calls_tools_in_both_eras(browser_setup):
    server, pages, key = browser_setup
    origin = f"http://127.0.0.1:{pages.port}"
    with headless_chromium(page_url(origin, server, key)) as browser:
        result = pages.wait_result(origin, browser)
    assert "fatal" not in result, result
    for era, revision in (("modern", "2026-07-28"), ("handshake", "2025-11-25")):
        session = result[era]
        assert session["ok"], (era, session, server.log())
        assert session["protocol"] == revision, session
        assert session["echo"] == "from the browser ✓", session
        assert session["greeting"] == "Hello, Browser!", session  # resources/read: Mcp-Name is the URI
        assert session["promptMessages"] == 1, session  # prompts/get: Mcp-Name is the prompt's name
    unauthenticated = result["unauthenticated"]
    assert unauthenticated["ok"] and unauthenticated["status"] == 401, unauthenticated
    assert (unauthenticated["wwwAuthenticate"] or "").startswith("Bearer "), "WWW-Authenticate is exposed"
    assert unauthenticated["requestId"], "X-Request-Id is exposed"
    param = result["mcpParam"]
    assert param["ok"], ("the preflight refused Mcp-Param-Region", param)
    assert param["status"] == 200 and '"tools"' in param["body"], param


def test_the_same_page_from_another_origin_is_refused(browser_setup):
    server, pages, key = browser_setup
    # localhost and 127.0.0.1 are different origins to a browser; only the latter is allowed.
    origin = f"http://localhost:{pages.port}"
    with headless_chromium(page_url(origin, server, key)) as browser:
        result = pages.wait_result(origin, browser)
    assert "fatal" not in result, result
    for era in ("modern", "handshake"):
        assert not result[era]["ok"], (era, result[era])  # the SDK's wording of the failed fetch varies
    for request in ("unauthenticated", "mcpParam"):
        # The browser's CORS refusal: the page sees a network error, never the response.
        assert not result[request]["ok"] and "Failed to fetch" in result[request]["error"], result[request]
    assert f'"origin":"{origin}"' in server.log() and "rejected: Origin not allowed" in server.log()
