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
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client


@dataclass
class SessionResult:
    server_name: str
    tool_names: list[str]
    echo_text: str
    whoami: dict


def _text_of(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def _run_session(url: str, token: str | None, echo: str) -> SessionResult:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http, terminate_on_close=False) as (read, write),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        tools = await session.list_tools()
        echoed = await session.call_tool("echo", {"text": echo})
        whoami = await session.call_tool("whoami", {})
        return SessionResult(
            server_name=init.server_info.name,
            tool_names=sorted(tool.name for tool in tools.tools),
            echo_text=_text_of(echoed),
            whoami=json.loads(_text_of(whoami)),
        )


def run_session(url: str, token: str | None, echo: str = "hello from python") -> SessionResult:
    """Initialize, list tools, call `echo` and `whoami`; raises if the server refuses."""
    return anyio.run(_run_session, url, token, echo)


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
