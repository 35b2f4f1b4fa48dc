"""An independent MCP client: the official Python SDK (PyPI `mcp`), not the server's own SDK.

A server that only talks to the client it was built with can hide protocol bugs;
this one speaks Streamable HTTP from a different implementation.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

import anyio
import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

# The revisions the generated server serves on POST /mcp: the sessionless one, and the
# handshake-era ones (initialize handshake, answered statelessly).
MODERN_REVISION = "2026-07-28"
HANDSHAKE_REVISIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
# What a generated project serves as it comes (src/tools/, src/resources/, src/prompts/), sorted.
EXAMPLE_TOOLS = ["count", "echo", "text_stats", "whoami"]


@dataclass
class SessionResult:
    server_name: str | None
    server_version: str | None
    protocol_version: str
    tool_names: list[str]
    echo_text: str
    whoami: dict


def _text_of(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def _run_session(url: str, token: str | None, echo: str, mode: str) -> SessionResult:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(url, http_client=http, terminate_on_close=False)
        async with Client(transport, mode=mode) as client:
            tools = await client.list_tools()
            echoed = await client.call_tool("echo", {"text": echo})
            whoami = await client.call_tool("whoami", {})
            info = client.server_info
            return SessionResult(
                server_name=None if info is None else info.name,
                server_version=None if info is None else info.version,
                protocol_version=client.protocol_version,
                tool_names=sorted(tool.name for tool in tools.tools),
                echo_text=_text_of(echoed),
                whoami=json.loads(_text_of(whoami)),
            )


def run_session(url: str, token: str | None, echo: str = "hello from python", mode: str = "auto") -> SessionResult:
    """Connect, list tools, call `echo` and `whoami`; raises if the server refuses.

    `mode` is the Python SDK's: "auto" (probe `server/discover`, fall back to the initialize
    handshake), "legacy" (the handshake, at the newest handshake-era revision), or a pinned
    modern revision such as "2026-07-28" (no probe, no handshake).
    """
    return anyio.run(_run_session, url, token, echo, mode)


@dataclass
class SurfaceResult:
    """What a client sees of the MCP surface beside tools: resources, prompts, structured output, progress."""

    protocol_version: str
    resource_names: list[str]
    template_uris: list[str]
    server_info: dict
    greeting: str
    prompt_names: list[str]
    prompt_text: str
    stats: dict | None
    progress: list[tuple[float, float | None]]


async def _run_surface_session(url: str, token: str | None, mode: str) -> SurfaceResult:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(url, http_client=http, terminate_on_close=False)
        async with Client(transport, mode=mode) as client:
            resources = await client.list_resources()
            templates = await client.list_resource_templates()
            info = await client.read_resource("info://server")
            greeting = await client.read_resource("greeting://Ada")
            prompts = await client.list_prompts()
            prompt = await client.get_prompt("summarize", {"text": "Long text.", "audience": "testers"})
            stats = await client.call_tool("text_stats", {"text": "a b\nc"})
            progress: list[tuple[float, float | None]] = []

            async def on_progress(value: float, total: float | None, _message: str | None) -> None:
                progress.append((value, total))

            counted = await client.call_tool("count", {"to": 3}, progress_callback=on_progress)
            assert _text_of(counted) == "counted to 3", counted
            return SurfaceResult(
                protocol_version=client.protocol_version,
                resource_names=sorted(resource.name for resource in resources.resources),
                template_uris=sorted(template.uri_template for template in templates.resource_templates),
                server_info=json.loads(info.contents[0].text),
                greeting=greeting.contents[0].text,
                prompt_names=sorted(item.name for item in prompts.prompts),
                prompt_text=prompt.messages[0].content.text,
                stats=stats.structured_content,
                progress=progress,
            )


def run_surface_session(url: str, token: str | None, mode: str = "auto") -> SurfaceResult:
    """List and read the resources, list and get the prompt, call the structured-output tool
    and the progress tool (with a progress callback); `mode` as for run_session."""
    return anyio.run(_run_surface_session, url, token, mode)


@dataclass
class RawResponse:
    status: int
    headers: dict
    body: str


def http_request(method: str, url: str, headers: dict | None = None, body: bytes | None = None) -> RawResponse:
    """One raw HTTP request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return RawResponse(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return RawResponse(error.code, dict(error.headers), error.read().decode())


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "template-tests", "version": "0"},
    },
}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def post_initialize(url: str, headers: dict | None = None, body: bytes | None = None) -> RawResponse:
    """One raw initialize POST, to read status codes and challenge headers exactly."""
    payload = json.dumps(INITIALIZE).encode() if body is None else body
    return http_request("POST", url, {**MCP_HEADERS, **(headers or {})}, payload)


def _rpc(url: str, headers: dict, message: dict) -> RawResponse:
    return http_request("POST", url, {**MCP_HEADERS, **headers}, json.dumps(message).encode())


def _result_of(response: RawResponse) -> dict:
    """The JSON-RPC message of a JSON or single-event SSE answer."""
    body = response.body
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    if content_type.startswith("text/event-stream"):
        body = "".join(line[5:].strip() for line in body.splitlines() if line.startswith("data:"))
    return json.loads(body)


def handshake_era_session(url: str, token: str | None, revision: str) -> tuple[dict, list[str], dict]:
    """A handshake-era client at exactly `revision`, on the wire: initialize, tools/list, tools/call.

    The Python SDK's own handshake always proposes its newest handshake revision; this pins
    an older one the way an older client does. Returns (initialize result, tool names, echo result).
    """
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    init = _result_of(_rpc(url, auth, {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": revision}}))
    pinned = {**auth, "MCP-Protocol-Version": revision}
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    http_request("POST", url, {**MCP_HEADERS, **pinned}, json.dumps(initialized).encode())
    tools = _result_of(_rpc(url, pinned, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
    arguments = {"name": "echo", "arguments": {"text": revision}}
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": arguments}
    echoed = _result_of(_rpc(url, pinned, call))
    return init["result"], sorted(tool["name"] for tool in tools["result"]["tools"]), echoed["result"]
