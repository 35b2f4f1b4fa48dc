"""The generated server's HTTP surface and configuration, checked from outside by an independent client.

The project's own tests (npm test) cover the same ground from inside; these make sure a
generated, built server behaves so on the wire: status codes, challenges, metadata, limits,
and start-up refusals that name the variable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from support.mcp_client import (
    EXAMPLE_TOOLS,
    INITIALIZE,
    MCP_HEADERS,
    MODERN_REVISION,
    http_request,
    post_initialize,
    run_session,
)
from support.process import run
from support.server_process import ServerProcess
from support.tokens import JwksIssuer
from variants import DEFAULTS

pytestmark = pytest.mark.node

REQUIRED_SCOPES = ["mcp:tools", "mcp:admin"]
MAX_BODY_BYTES = 8192


@pytest.fixture(scope="module")
def project(build_project):
    return build_project(**DEFAULTS)


@pytest.fixture(scope="module")
def jwks_server(project):
    """The built server in JWT mode against a JWKS on loopback, with required scopes and a small body limit."""
    path, env = project
    with JwksIssuer() as issuer:
        server = ServerProcess(
            path,
            env,
            {
                "NODE_ENV": "production",
                "AUTH_MODE": "jwt",
                "AUTH_JWKS_URL": issuer.jwks_url,
                "AUTH_ISSUER": issuer.issuer,
                "AUTH_REQUIRED_SCOPES": " ".join(REQUIRED_SCOPES),
                "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            },
        )
        with server:
            yield server, issuer


def mcp_url(server: ServerProcess) -> str:
    return f"{server.base_url}/mcp"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def good_token(server: ServerProcess, issuer: JwksIssuer, **overrides) -> str:
    claims = {"sub": "alice", "aud": mcp_url(server), "scopes": REQUIRED_SCOPES, **overrides}
    return issuer.mint(**claims)


def challenge_of(response) -> str:
    return {k.lower(): v for k, v in response.headers.items()}.get("www-authenticate", "")


# --- probes and metadata -------------------------------------------------------------------


def test_health_and_readiness_need_no_credentials_and_pass_any_host(jwks_server):
    server, _ = jwks_server
    for path, body in (("/health", {"status": "ok"}), ("/ready", {"status": "ready"})):
        # Orchestrators probe by pod IP or any name: probes are exempt from the Host check.
        response = http_request("GET", server.base_url + path, {"Host": "10.1.2.3:9999"})
        assert response.status == 200 and json.loads(response.body) == body, (path, response)


@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"])
def test_protected_resource_metadata_names_the_issuer_and_scopes(jwks_server, path):
    server, issuer = jwks_server
    response = http_request("GET", server.base_url + path)
    assert response.status == 200
    metadata = json.loads(response.body)
    assert metadata["resource"] == mcp_url(server)
    assert metadata["authorization_servers"] == [issuer.issuer]
    assert metadata["scopes_supported"] == REQUIRED_SCOPES


def test_every_401_points_at_the_metadata(jwks_server):
    server, _ = jwks_server
    challenge = challenge_of(post_initialize(mcp_url(server)))
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{server.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge


# --- transport rules -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_stateless_endpoint_answers_405_to_get_and_delete(jwks_server, method):
    server, issuer = jwks_server
    response = http_request(method, mcp_url(server), bearer(good_token(server, issuer)))
    assert response.status == 405
    assert "POST" in response.headers.get("Allow", "")


def test_foreign_origin_is_refused_with_403(jwks_server):
    server, issuer = jwks_server
    response = post_initialize(
        mcp_url(server), {**bearer(good_token(server, issuer)), "Origin": "https://evil.example"}
    )
    assert response.status == 403


def test_own_origin_is_allowed(jwks_server):
    server, issuer = jwks_server
    response = post_initialize(mcp_url(server), {**bearer(good_token(server, issuer)), "Origin": server.base_url})
    assert response.status == 200, response


def test_foreign_host_is_refused_with_403(jwks_server):
    """DNS-rebinding protection: a page on evil.example resolving to this server still names its host."""
    server, issuer = jwks_server
    response = post_initialize(mcp_url(server), {**bearer(good_token(server, issuer)), "Host": "evil.example"})
    assert response.status == 403


def test_oversized_body_is_refused_with_413(jwks_server):
    server, issuer = jwks_server
    request = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * MAX_BODY_BYTES}}
    response = post_initialize(mcp_url(server), bearer(good_token(server, issuer)), json.dumps(request).encode())
    assert response.status == 413


def raw_exchange(server: ServerProcess, head: bytes, body: bytes = b"", wait: float = 3.0) -> tuple[bytes, bool]:
    """Send raw bytes, read until the server closes or `wait` passes: (what came back, closed?)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(head + body)
        received, closed = b"", False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            received += chunk
        return received, closed


def test_an_unauthenticated_body_is_never_read(jwks_server):
    """A 401 closes the connection: a client announcing 500 MB cannot make the server read it."""
    server, _ = jwks_server
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nContent-Length: {500 * 1024 * 1024}\r\n\r\n"
    ).encode()
    received, closed = raw_exchange(server, head, b"x" * 1024)
    assert received.startswith(b"HTTP/1.1 401"), received[:200]
    assert b"connection: close" in received.lower()
    assert closed, "the server kept the connection open to drain the announced body"


def test_a_refused_client_that_sends_its_whole_body_first_still_reads_the_401(jwks_server):
    """Clients like Python's http.client send the body before reading: they must get the challenge,
    not a connection reset (the body is within the limit, so the server reads and discards it)."""
    server, _ = jwks_server
    body = b"x" * (MAX_BODY_BYTES - 100)
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        for start in range(0, len(body), 1024):  # trickled, so the answer comes mid-upload
            time.sleep(0.02)
            sock.sendall(body[start : start + 1024])
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"www-authenticate: bearer" in answer.lower()


def test_expect_100_continue_is_answered_only_after_authentication(jwks_server):
    server, issuer = jwks_server
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nContent-Length: 100\r\nExpect: 100-continue\r\n"
    )
    refused, _ = raw_exchange(server, (head + "Connection: close\r\n\r\n").encode())
    assert refused.startswith(b"HTTP/1.1 401"), refused[:200]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        token = good_token(server, issuer)
        sock.sendall((head + f"Authorization: Bearer {token}\r\n\r\n").encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")


@pytest.mark.parametrize("target", ["http://[/mcp", "//[::1", "http://localhost:99999/health", "//evil.example/mcp"])
def test_a_malformed_request_target_is_400_not_500(jwks_server, target):
    server, _ = jwks_server
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    received, _ = raw_exchange(server, request.encode())
    assert received.startswith(b"HTTP/1.1 400"), received[:200]


def _head(server: ServerProcess, host_lines: str, target: str = "/mcp", extra: str = "") -> bytes:
    return (
        f"POST {target} HTTP/1.1\r\n{host_lines}Content-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nContent-Length: 2\r\n{extra}Connection: close\r\n\r\n{{}}"
    ).encode()


def _status_and_body(received: bytes) -> tuple[int, bytes]:
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_a_repeated_host_header_is_400(jwks_server):
    server, _ = jwks_server
    hosts = f"Host: 127.0.0.1:{server.port}\r\nHost: evil.example\r\n"
    status, body = _status_and_body(raw_exchange(server, _head(server, hosts))[0])
    assert status == 400 and json.loads(body)["error"] == "bad_request", body


@pytest.mark.parametrize("host", ["user@127.0.0.1", "127.0.0.1/mcp", "127.0.0.1\\evil.example"])
def test_a_host_with_userinfo_path_or_backslash_is_refused_by_the_server_with_a_json_body(jwks_server, host):
    server, _ = jwks_server
    received, _ = raw_exchange(server, _head(server, f"Host: {host}\r\n"))
    status, body = _status_and_body(received)
    assert status == 400, received[:300]
    assert json.loads(body)["error"] == "bad_request", body


def test_an_absolute_form_target_is_checked_against_the_host_allow_list(jwks_server):
    server, issuer = jwks_server
    auth = f"Authorization: Bearer {good_token(server, issuer)}\r\n"
    host = f"Host: 127.0.0.1:{server.port}\r\n"
    foreign = _head(server, host, target="http://evil.example/mcp", extra=auth)
    assert _status_and_body(raw_exchange(server, foreign)[0])[0] == 403
    own = _head(server, host, target=f"http://127.0.0.1:{server.port}/mcp", extra=auth)
    assert _status_and_body(raw_exchange(server, own)[0])[0] != 403


def test_an_absolute_form_target_is_served_like_its_origin_form(jwks_server):
    """RFC 9112 3.2.2: servers accept `POST http://host/mcp`. The SDK's Node adapter builds its
    URL from Host + target, so the server hands it the origin-form (it answered 500)."""
    server, issuer = jwks_server
    auth = f"Authorization: Bearer {good_token(server, issuer)}\r\n"
    body = json.dumps(INITIALIZE).encode()
    for target in (f"http://127.0.0.1:{server.port}/mcp", f"HTTP://127.0.0.1:{server.port}/mcp?x=1"):
        head = (
            f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{auth}Content-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        received, _ = raw_exchange(server, head, body)
        status, answer = _status_and_body(received)
        assert status == 200, received[:400]
        assert b'"protocolVersion"' in answer, answer[:400]


@pytest.fixture(scope="module")
def any_host_server(project):
    """ALLOWED_HOSTS=*: every Host that parses is accepted, so odd ones reach the request path."""
    path, env = project
    key = secrets.token_urlsafe(32)
    with ServerProcess(path, env, {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key, "ALLOWED_HOSTS": "*"}) as server:
        yield server, key


# host[:port] in shape, but not a host the URL parser accepts: the SDK adapter answered 500.
ODD_HOSTS = ["999.1.1.1", "1.2.3.4.5", "[1::2::3]", "[1.2.3.4]", "4294967296", "127.0.0.1:99999"]


@pytest.mark.parametrize("host", ODD_HOSTS)
def test_a_host_the_url_parser_refuses_is_400_even_when_any_host_is_allowed(any_host_server, host):
    server, key = any_host_server
    auth = f"Authorization: Bearer {key}\r\n"
    received, _ = raw_exchange(server, _head(server, f"Host: {host}\r\n", extra=auth))
    status, body = _status_and_body(received)
    assert status == 400, received[:300]
    assert json.loads(body)["error"] == "bad_request", body


@pytest.mark.parametrize("authority", ["999.1.1.1", "[1::2::3]", "user@127.0.0.1"])
def test_an_absolute_form_target_whose_authority_does_not_parse_is_400(any_host_server, authority):
    server, key = any_host_server
    auth = f"Authorization: Bearer {key}\r\n"
    head = _head(server, f"Host: 127.0.0.1:{server.port}\r\n", target=f"http://{authority}/mcp", extra=auth)
    status, _ = _status_and_body(raw_exchange(server, head)[0])
    assert status == 400


def test_an_absolute_form_target_is_served_when_any_host_is_allowed(any_host_server):
    server, key = any_host_server
    auth = f"Authorization: Bearer {key}\r\n"
    head = _head(server, "Host: anything.example\r\n", target="http://other.example:8080/mcp", extra=auth)
    status, _ = _status_and_body(raw_exchange(server, head)[0])
    assert status < 500 and status not in (401, 403), status


def test_an_empty_batch_is_400_and_a_compressed_body_is_415(jwks_server):
    server, issuer = jwks_server
    auth = bearer(good_token(server, issuer))
    empty = http_request("POST", mcp_url(server), {**MCP_HEADERS, **auth}, b"[]")
    assert empty.status == 400 and json.loads(empty.body)["error"]["code"] == -32600, empty
    gzip = http_request("POST", mcp_url(server), {**MCP_HEADERS, **auth, "Content-Encoding": "gzip"}, b"{}")
    assert gzip.status == 415, gzip


def test_an_unsupported_revision_gets_the_protocols_error_not_a_500(jwks_server):
    server, issuer = jwks_server
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2031-01-01",
        "io.modelcontextprotocol/clientInfo": {"name": "future", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}).encode()
    headers = {**MCP_HEADERS, **bearer(good_token(server, issuer)), "MCP-Protocol-Version": "2031-01-01"}
    response = http_request("POST", mcp_url(server), headers, body)
    assert response.status < 500, response
    assert json.loads(response.body)["error"]["code"] == -32022, response.body


def _modern(method: str, params: dict | None = None, request_id: int | None = 1) -> dict:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN_REVISION,
        "io.modelcontextprotocol/clientInfo": {"name": "edge-cases", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    message = {"jsonrpc": "2.0", "method": method, "params": {**(params or {}), "_meta": meta}}
    return message if request_id is None else {**message, "id": request_id}


_MODERN_HEADERS = {"MCP-Protocol-Version": MODERN_REVISION, "Mcp-Method": "tools/list"}
_LEGACY_HEADERS = {"MCP-Protocol-Version": "2025-06-18"}
_ECHO_CALL = {"MCP-Protocol-Version": MODERN_REVISION, "Mcp-Method": "tools/call", "Mcp-Name": "echo"}
# name -> (extra headers, raw body, expected status): what the protocol says, never a 500.
PROTOCOL_EDGE_CASES = {
    "2026 without MCP-Protocol-Version": ({}, json.dumps(_modern("tools/list")).encode(), 400),
    "2026 body, 2025 header": (
        {**_MODERN_HEADERS, "MCP-Protocol-Version": "2025-06-18"},
        json.dumps(_modern("tools/list")).encode(),
        400,
    ),
    "2026 batch": (_MODERN_HEADERS, json.dumps([_modern("tools/list")]).encode(), 400),
    "2026 notification only": (
        {**_MODERN_HEADERS, "Mcp-Method": "notifications/cancelled"},
        json.dumps(_modern("notifications/cancelled", {"requestId": 1}, request_id=None)).encode(),
        202,
    ),
    "handshake-era notification only": (
        _LEGACY_HEADERS,
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(),
        202,
    ),
    "2026 tool arguments failing validation": (
        _ECHO_CALL,
        json.dumps(_modern("tools/call", {"name": "echo", "arguments": {"text": 5}})).encode(),
        200,
    ),
    "not JSON-RPC": (_LEGACY_HEADERS, b'{"hello": "world"}', 400),
    "invalid JSON": (_LEGACY_HEADERS, b'{"jsonrpc": "2.0", "id": 1,', 400),
    "deeply nested": (_LEGACY_HEADERS, b"[" * 4000 + b"]" * 4000, 400),
    # JSON is UTF-8 (RFC 8259): bytes that are not are a parse error, not replaced with U+FFFD.
    "invalid UTF-8": (_LEGACY_HEADERS, b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\xff\xfe"}}', 400),
}


@pytest.mark.parametrize("case", PROTOCOL_EDGE_CASES)
def test_protocol_edge_cases_get_the_protocols_answer_never_a_500(jwks_server, case):
    server, issuer = jwks_server
    extra, body, expected = PROTOCOL_EDGE_CASES[case]
    headers = {**MCP_HEADERS, **bearer(good_token(server, issuer)), **extra}
    response = http_request("POST", mcp_url(server), headers, body)
    assert response.status == expected, response
    if case == "2026 tool arguments failing validation":
        assert '"isError":true' in response.body.replace(" ", ""), response.body
    assert ".js:" not in response.body and "node:internal" not in response.body, "a stack trace reached the client"
    assert server.process.poll() is None, server.log()[-2000:]


def _status_call(name: str = "server_status", request_id: int = 1, method: str = "tools/call") -> dict:
    return _modern(method, {"name": name, "arguments": {}}, request_id)


def _raw_status_call(params: str) -> bytes:
    """A 2026-07-28 tools/call whose params are written by hand (duplicate keys, __proto__)."""
    meta = json.dumps(_modern("ping")["params"]["_meta"])
    return f'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{{params},"_meta":{meta}}}}}'.encode()


_STATUS = {"MCP-Protocol-Version": MODERN_REVISION, "Mcp-Method": "tools/call", "Mcp-Name": "server_status"}
_LEGACY_BATCH = {"MCP-Protocol-Version": "2025-03-26"}
_LEGACY_CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "server_status", "arguments": {}}}
# name -> (headers, body): ways to ask for server_status (mcp:admin) without saying so plainly.
SCOPE_BYPASS_ATTEMPTS = {
    "plain": (_STATUS, _status_call()),
    "Mcp-Name naming another tool": ({**_STATUS, "Mcp-Name": "echo"}, _status_call()),
    "trailing space": ({**_STATUS, "Mcp-Name": "server_status "}, _status_call("server_status ")),
    "upper case": ({**_STATUS, "Mcp-Name": "SERVER_STATUS"}, _status_call("SERVER_STATUS")),
    # Unicode cannot travel in Mcp-Name (a header): the handshake era has no such header.
    "fullwidth underscore": (_LEGACY_HEADERS, {**_LEGACY_CALL, "params": {"name": "server\uff3fstatus"}}),
    "zero-width space": (_LEGACY_HEADERS, {**_LEGACY_CALL, "params": {"name": "server_status\u200b"}}),
    "method in other case": ({**_STATUS, "Mcp-Method": "Tools/Call"}, _status_call(method="Tools/Call")),
    "duplicate name, last wins": (_STATUS, _raw_status_call('"name":"echo","name":"server_status","arguments":{}')),
    "duplicate name, first wins": (
        {**_STATUS, "Mcp-Name": "echo"},
        _raw_status_call('"name":"server_status","name":"echo","arguments":{"text":"x"}'),
    ),
    "name under __proto__": (_STATUS, _raw_status_call('"__proto__":{"name":"server_status"},"arguments":{}')),
    "handshake era without a version header": ({}, _LEGACY_CALL),
    "handshake-era batch": (_LEGACY_BATCH, [{**_LEGACY_CALL, "id": 1, "method": "tools/list"}, _LEGACY_CALL]),
    "handshake-era batch after a notification": (
        _LEGACY_BATCH,
        [{"jsonrpc": "2.0", "method": "notifications/initialized"}, _LEGACY_CALL],
    ),
    "handshake-era notification-shaped call": (_LEGACY_BATCH, {k: v for k, v in _LEGACY_CALL.items() if k != "id"}),
}


@pytest.fixture(scope="module")
def scoped_server(project):
    """JWT mode with only mcp:tools required: server_status (mcp:admin) is a step-up away."""
    path, env = project
    with JwksIssuer() as issuer:
        extra = {
            "NODE_ENV": "production",
            "AUTH_MODE": "jwt",
            "AUTH_JWKS_URL": issuer.jwks_url,
            "AUTH_ISSUER": issuer.issuer,
            "AUTH_REQUIRED_SCOPES": "mcp:tools",
        }
        with ServerProcess(path, env, extra) as server:
            yield server, issuer


def test_no_request_shape_reaches_a_scoped_tool_without_its_scope(scoped_server):
    server, issuer = scoped_server
    url = mcp_url(server)
    admin = good_token(server, issuer, scopes=["mcp:tools", "mcp:admin"])
    answer = http_request("POST", url, {**MCP_HEADERS, **_STATUS, **bearer(admin)}, json.dumps(_status_call()).encode())
    assert answer.status == 200 and "uptimeSeconds" in answer.body, answer  # the positive control

    token = good_token(server, issuer, scopes=["mcp:tools"])
    for case, (extra, body) in SCOPE_BYPASS_ATTEMPTS.items():
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = http_request("POST", url, {**MCP_HEADERS, **extra, **bearer(token)}, payload)
        assert "uptimeSeconds" not in response.body, (case, response)
        assert response.status < 500, (case, response)
    assert server.process.poll() is None, server.log()[-2000:]


# --- token handling ------------------------------------------------------------------------


def test_valid_token_with_every_required_scope_gets_a_session(jwks_server):
    server, issuer = jwks_server
    session = run_session(mcp_url(server), good_token(server, issuer))
    assert session.whoami["subject"] == "alice"
    assert sorted(session.whoami["scopes"]) == sorted(REQUIRED_SCOPES)


def test_missing_scope_is_403_insufficient_scope(jwks_server):
    server, issuer = jwks_server
    response = post_initialize(mcp_url(server), bearer(good_token(server, issuer, scopes=["mcp:tools"])))
    assert response.status == 403
    challenge = challenge_of(response)
    assert 'error="insufficient_scope"' in challenge and "mcp:admin" in challenge


def test_token_in_the_query_string_is_refused(jwks_server):
    server, issuer = jwks_server
    response = post_initialize(f"{mcp_url(server)}?access_token={good_token(server, issuer)}")
    assert response.status == 401 and challenge_of(response).startswith("Bearer")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(claims: dict) -> str:
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}."


def _hs256_with_public_key(issuer: JwksIssuer, claims: dict) -> str:
    """Algorithm confusion: HMAC-signed with the issuer's *public* key as the secret."""
    public_jwk = issuer.jwks()["keys"][0]
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": public_jwk["kid"]}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(json.dumps(public_jwk).encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _stray_bits(token: str) -> str:
    """The same signature bytes spelled with different unused low bits: not canonical base64url."""
    twin = _B64URL[_B64URL.index(token[-1]) ^ 1]
    return token[:-1] + twin


def bad_tokens(server: ServerProcess, issuer: JwksIssuer) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": issuer.issuer, "sub": "mallory", "aud": mcp_url(server), "exp": now + 300,
              "scope": " ".join(REQUIRED_SCOPES)}  # fmt: skip
    return {
        "expired": good_token(server, issuer, exp_in=-600),
        "no exp": good_token(server, issuer, exp_in=None),
        "wrong audience": good_token(server, issuer, aud="https://other.example/mcp"),
        "wrong issuer": good_token(server, issuer, iss="https://evil.example"),
        "unknown key": good_token(server, issuer, foreign=True),
        "alg none": _unsigned(claims),
        "hs256 with the public key": _hs256_with_public_key(issuer, claims),
        "not a jwt": "definitely-not-a-jwt",
        "very long": "a" * 8000,
        "non-string subject": good_token(server, issuer, sub={"admin": True}),
        "non-canonical base64url": _stray_bits(good_token(server, issuer)),
        "issued in the future": good_token(server, issuer, iat=now + 3600),
        "not valid yet": good_token(server, issuer, nbf=now + 3600),
    }


def test_every_bad_token_is_a_401_never_a_500(jwks_server):
    server, issuer = jwks_server
    statuses = {
        name: post_initialize(mcp_url(server), bearer(token)).status
        for name, token in bad_tokens(server, issuer).items()
    }
    assert set(statuses.values()) == {401}, statuses


def test_a_flood_of_unknown_kids_costs_the_identity_provider_at_most_one_fetch(jwks_server):
    """Each unknown `kid` may mean a key rotation, but refetches share one in flight and then
    wait out the cooldown: an attacker minting kids cannot make the server hammer the IdP."""
    server, issuer = jwks_server
    before = issuer.requests
    tokens = [good_token(server, issuer, foreign=True, kid=f"attacker-{i}") for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda token: post_initialize(mcp_url(server), bearer(token)).status, tokens))
    assert set(statuses) == {401}, statuses
    assert issuer.requests - before <= 1, f"{issuer.requests - before} JWKS fetches for 40 unknown kids"
    # The published key still works: the flood did not cost legitimate callers their keys.
    assert post_initialize(mcp_url(server), bearer(good_token(server, issuer))).status == 200


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "bearer"])
def test_malformed_authorization_headers_are_401(jwks_server, header):
    server, _ = jwks_server
    assert post_initialize(mcp_url(server), {"Authorization": header}).status == 401


def test_a_repeated_authorization_header_is_401_invalid_request(jwks_server):
    """Node keeps the first of two Authorization headers, a proxy may keep the last: ambiguous, so refused."""
    server, issuer = jwks_server
    body = json.dumps(INITIALIZE).encode()
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {good_token(server, issuer)}\r\nAuthorization: Bearer someone-else\r\n"
        f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    received, _ = raw_exchange(server, head, body)
    status, _ = _status_and_body(received)
    assert status == 401, received[:300]
    assert b'error="invalid_request"' in received, received[:500]


def test_no_token_reaches_the_logs(jwks_server):
    server, issuer = jwks_server
    token = good_token(server, issuer)
    run_session(mcp_url(server), token)
    post_initialize(f"{mcp_url(server)}?access_token={token}")
    log = server.log()
    assert token not in log and token.split(".")[2] not in log


# --- other auth configurations ----------------------------------------------------------------


def test_shared_secret_hs256(project):
    path, env = project
    secret = secrets.token_urlsafe(48)
    issuer = "https://issuer.test/"
    server = ServerProcess(path, env, {"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": secret, "AUTH_ISSUER": issuer})
    with server:
        claims = {"iss": issuer, "sub": "bob", "aud": mcp_url(server), "exp": int(time.time()) + 300}
        assert run_session(mcp_url(server), jwt.encode(claims, secret, algorithm="HS256")).whoami["subject"] == "bob"
        forged = jwt.encode(claims, secret + "x", algorithm="HS256")
        assert post_initialize(mcp_url(server), bearer(forged)).status == 401
        assert post_initialize(mcp_url(server), bearer(_unsigned(claims))).status == 401


def test_api_keys_from_a_mounted_secret_file(project, tmp_path):
    path, env = project
    keys = [secrets.token_urlsafe(32), secrets.token_urlsafe(32)]
    key_file = tmp_path / "api-keys"
    key_file.write_text(f"# rotated 2026-11\n{keys[0]}\n{keys[1]}\n")
    key_file.chmod(0o600)  # owner-only, as the README's recipe makes it (anything else is refused)
    server = ServerProcess(path, env, {"AUTH_MODE": "api_key", "AUTH_API_KEYS_FILE": str(key_file)})
    with server:
        identities = {run_session(mcp_url(server), key).whoami["subject"] for key in keys}
        assert len(identities) == 2, "each key has its own identity"
        assert not any(key in identity for key in keys for identity in identities), "the key is not the identity"
        assert post_initialize(mcp_url(server), bearer(keys[0] + "x")).status == 401


def test_secret_files_are_read_owner_only(project, tmp_path):
    """AUTH_JWT_SECRET_FILE serves like AUTH_JWT_SECRET; a secret file its group or other users can
    read stops the start, naming the variable (the file's content is never echoed)."""
    path, env = project
    secret = secrets.token_urlsafe(48)
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    issuer = "https://issuer.test/"
    settings = {
        "AUTH_MODE": "jwt",
        "AUTH_PROVIDER": "generic",
        "AUTH_JWT_SECRET_FILE": str(secret_file),
        "AUTH_ISSUER": issuer,
    }
    with ServerProcess(path, env, settings) as server:
        claims = {"iss": issuer, "sub": "filed", "aud": mcp_url(server), "exp": int(time.time()) + 300}
        assert run_session(mcp_url(server), jwt.encode(claims, secret, algorithm="HS256")).whoami["subject"] == "filed"
    keys_file = tmp_path / "api-keys"
    keys_file.write_text(secrets.token_urlsafe(32) + "\n")
    clean = {k: v for k, v in env.items() if not k.startswith(("AUTH_", "NODE_ENV"))}
    for variable, file, extra in [
        ("AUTH_JWT_SECRET_FILE", secret_file, {"AUTH_MODE": "jwt", "AUTH_PROVIDER": "generic", "AUTH_ISSUER": issuer}),
        ("AUTH_API_KEYS_FILE", keys_file, {"AUTH_MODE": "api_key"}),
    ]:
        for mode in (0o644, 0o640):
            file.chmod(mode)
            # The server must refuse to start: the exit code is asserted below.
            result = run(
                ["node", "dist/index.js"], path, {**clean, **extra, variable: str(file)}, timeout=20, check=False
            )
            assert result.returncode != 0 and variable in result.stderr and f"mode 0{mode:o}" in result.stderr, result
            assert file.read_text().strip() not in result.stderr + result.stdout


def test_auth_mode_none_serves_without_credentials_in_development(project):
    path, env = project
    with ServerProcess(path, env, {"AUTH_MODE": "none", "NODE_ENV": "development", "LOG_LEVEL": "warn"}) as server:
        assert run_session(mcp_url(server), None).echo_text == "hello from python"
        assert "NOT authenticated" in server.log(), "the server must warn that it is open"


# --- configuration refused at start-up --------------------------------------------------------

BAD_CONFIG = [
    ("PORT", {"PORT": "70000"}),
    ("AUTH_MODE", {"AUTH_MODE": "magic"}),
    ("AUTH_MODE", {"AUTH_MODE": "none", "NODE_ENV": "production"}),
    ("AUTH_ISSUER", {"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": "s" * 40}),
    ("AUTH_JWT_SECRET", {"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": "too-short-secret", "AUTH_ISSUER": "https://i/"}),
    ("AUTH_JWKS_URL", {"AUTH_MODE": "jwt", "AUTH_JWKS_URL": "http://idp.example/jwks", "AUTH_ISSUER": "https://i/"}),
    ("AUTH_API_KEYS", {"AUTH_MODE": "api_key"}),
    ("AUTH_API_KEYS_FILE", {"AUTH_MODE": "api_key", "AUTH_API_KEYS_FILE": "/nonexistent/keys"}),
    ("PUBLIC_URL", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "PUBLIC_URL": "not a url"}),
    ("LOG_LEVEL", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "LOG_LEVEL": "loud"}),
    ("AUTH_MODE", {"AUTH_MODE": "none", "NODE_ENV": "Production"}),
    ("AUTH_REQUIRED_SCOPES", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "AUTH_REQUIRED_SCOPES": "a"}),
    ("PUBLIC_URL", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "PUBLIC_URL": "https://:pw@x.example"}),
    ("HOST", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "HOST": "not.a.real.host.invalid"}),
    ("AUTH_MODE", {"AUTH_MODE": "none"}),
    ("PUBLIC_URL", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "PUBLIC_URL": "https://a.example\\@b.example"}),
    ("ALLOWED_HOSTS", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "ALLOWED_HOSTS": "https://a.example"}),
    ("ALLOWED_HOSTS", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "ALLOWED_HOSTS": "a.example/mcp"}),
    ("AUTH_API_KEYS_FILE", {"AUTH_MODE": "api_key", "AUTH_API_KEYS_FILE": "/"}),
    ("AUTH_API_KEYS_FILE", {"AUTH_MODE": "api_key", "AUTH_API_KEYS_FILE": "/dev/zero"}),
    ("PROBE_PORT", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "PORT": "8123", "PROBE_PORT": "8123"}),
    ("PROBE_PORT", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "PROBE_PORT": "http"}),
    ("MAX_REQUESTS_PER_CALLER", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "MAX_REQUESTS_PER_CALLER": "0"}),
    ("RATE_LIMIT_PER_CALLER", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "RATE_LIMIT_PER_CALLER": "-5"}),
    (
        "RATE_LIMIT_WINDOW_SECONDS",
        {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "RATE_LIMIT_WINDOW_SECONDS": "0"},
    ),
    ("BODY_TIMEOUT_MS", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "BODY_TIMEOUT_MS": "10s"}),
    ("WRITE_TIMEOUT_MS", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "k" * 32, "WRITE_TIMEOUT_MS": "1"}),
    # Development credentials (dev_..., and the template's earlier fixed ones) outside development/test.
    ("AUTH_API_KEYS", {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "dev_" + "k" * 40}),
    (
        "AUTH_API_KEYS",
        {"AUTH_MODE": "api_key", "AUTH_API_KEYS": "dev-only-api-key-change-me", "NODE_ENV": "production"},
    ),
    (
        "AUTH_JWT_SECRET",
        {
            "AUTH_MODE": "jwt",
            "AUTH_JWT_SECRET": "dev_" + "s" * 40,
            "AUTH_ISSUER": "https://i/",
            "AUTH_PROVIDER": "generic",
            "NODE_ENV": "Development",
        },
    ),
    (
        "AUTH_JWT_SECRET",
        {
            "AUTH_MODE": "jwt",
            "AUTH_JWT_SECRET": "dev-only-jwt-secret-at-least-32-bytes-long",
            "AUTH_ISSUER": "https://i/",
            "AUTH_PROVIDER": "generic",
        },
    ),
    # Identity-provider presets: an unknown one, an issuer or JWKS that does not fit it.
    ("AUTH_PROVIDER", {"AUTH_MODE": "jwt", "AUTH_PROVIDER": "azure", "AUTH_ISSUER": "https://i/"}),
    ("AUTH_ISSUER", {"AUTH_MODE": "jwt", "AUTH_PROVIDER": "auth0", "AUTH_ISSUER": "https://tenant.auth0.com"}),
    (
        "AUTH_JWKS_URL",
        {
            "AUTH_MODE": "jwt",
            "AUTH_PROVIDER": "okta",
            "AUTH_ISSUER": "https://a.okta.com/oauth2/default",
            "AUTH_JWKS_URL": "https://b.okta.com/oauth2/default/v1/keys",
        },
    ),
    (
        "AUTH_CLIENT_IDS",
        {
            "AUTH_MODE": "jwt",
            "AUTH_PROVIDER": "cognito",
            "AUTH_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc",
        },
    ),
]


@pytest.mark.parametrize(("variable", "settings"), BAD_CONFIG, ids=[f"{v}-{i}" for i, (v, _) in enumerate(BAD_CONFIG)])
def test_bad_configuration_exits_non_zero_naming_the_variable(project, variable, settings):
    path, env = project
    clean = {k: v for k, v in env.items() if not k.startswith(("AUTH_", "PORT", "PUBLIC_URL", "NODE_ENV", "LOG_LEVEL"))}
    result = run(["node", "dist/index.js"], path, {**clean, **settings}, timeout=20, check=False)  # must refuse
    assert result.returncode != 0
    assert variable in result.stderr, result.stderr
    if "AUTH_JWT_SECRET" in settings:
        assert settings["AUTH_JWT_SECRET"] not in result.stderr + result.stdout, "a secret was echoed"


# --- connection exhaustion and shutdown --------------------------------------------------------


def test_clients_that_never_finish_their_headers_cannot_lock_out_health_or_real_calls(project):
    """Run with a 256-descriptor file limit and 1.5x that many half-open connections: without a
    bound below the limit the process runs out of descriptors and stops accepting anything."""
    path, env = project
    key = secrets.token_urlsafe(32)
    settings = {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key}
    with ServerProcess(path, env, settings, file_limit=256) as server:
        stalled = []
        try:
            for _ in range(384):
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
                stalled.append(sock)
            health = http_request("GET", f"{server.base_url}/health")
            assert health.status == 200, health
            assert run_session(mcp_url(server), key).tool_names == EXAMPLE_TOOLS
        finally:
            for sock in stalled:
                sock.close()
        assert "EMFILE" not in server.log(), server.log()[-2000:]


def _mcp_post_head(port: int, key: str, content_length: int) -> bytes:
    """The head of an authenticated POST /mcp that asks for `100 Continue` before its body."""
    return (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        f"Content-Length: {content_length}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()


def test_after_sigterm_a_request_on_a_kept_alive_connection_is_answered_with_connection_close(project):
    path, env = project
    key = secrets.token_urlsafe(32)
    with ServerProcess(path, env, {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key}) as server:
        body = json.dumps(INITIALIZE).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            # 100-continue proves the server has received and authenticated the request.
            sock.sendall(_mcp_post_head(server.port, key, len(body)))
            assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
            server.process.send_signal(signal.SIGTERM)
            wait_until(lambda: not _accepts(server.port), "new connections are refused after SIGTERM")
            sock.sendall(body)
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        assert b"connection: close" in answer.lower().split(b"\r\n\r\n")[0]
        code = server.process.wait(timeout=15)
        assert code == 0, server.log()


def test_a_client_that_never_finishes_its_headers_does_not_hold_shutdown_open(project):
    """server.close() stops Node's header-timeout checks: unless the drain closes connections that
    carry no request yet, one such client holds shutdown open until SHUTDOWN_TIMEOUT_MS (here
    ten minutes, far beyond the generous wait below)."""
    path, env = project
    key = secrets.token_urlsafe(32)
    settings = {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key, "SHUTDOWN_TIMEOUT_MS": "600000"}
    with (
        ServerProcess(path, env, settings) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=20) as stalled,
    ):
        stalled.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        # Accepted in order: once /health answers, the server holds the stalled connection too.
        assert http_request("GET", f"{server.base_url}/health").status == 200
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("a half-open connection held the drain open") from None
        assert code == 0, server.log()
        assert _read_all(stalled) == b"", "the stalled client was answered instead of closed"


def test_a_client_that_hangs_up_mid_body_is_no_server_error(project):
    """An authenticated upload cut short is routine: a debug line, never an error-level
    "unhandled error" (which pages someone) nor an attempt to answer 500."""
    path, env = project
    key = secrets.token_urlsafe(32)
    settings = {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key, "LOG_LEVEL": "debug"}
    with ServerProcess(path, env, settings) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(_mcp_post_head(server.port, key, 1000))
            # 100 Continue: authenticated, and the server is now reading the body.
            assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
            sock.sendall(b'{"jsonrpc":')
        outcomes = ("before sending its whole body", "unhandled error")
        wait_until(lambda: any(o in server.log() for o in outcomes), "the server noticed the hang-up")
        assert "unhandled error" not in server.log(), server.log()[-2000:]
        assert '"level":"error"' not in server.log(), server.log()[-2000:]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _read_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def wait_until(condition, what: str, timeout: float = 15.0) -> None:
    """Wait on a condition with a generous deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {what}")
        time.sleep(0.05)
