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
import socket
import subprocess
import time

import jwt
import pytest

from support.mcp_client import INITIALIZE, http_request, post_initialize, run_session
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
    }


def test_every_bad_token_is_a_401_never_a_500(jwks_server):
    server, issuer = jwks_server
    statuses = {
        name: post_initialize(mcp_url(server), bearer(token)).status
        for name, token in bad_tokens(server, issuer).items()
    }
    assert set(statuses.values()) == {401}, statuses


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "bearer"])
def test_malformed_authorization_headers_are_401(jwks_server, header):
    server, _ = jwks_server
    assert post_initialize(mcp_url(server), {"Authorization": header}).status == 401


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
    server = ServerProcess(path, env, {"AUTH_MODE": "api_key", "AUTH_API_KEYS_FILE": str(key_file)})
    with server:
        identities = {run_session(mcp_url(server), key).whoami["subject"] for key in keys}
        assert len(identities) == 2, "each key has its own identity"
        assert not any(key in identity for key in keys for identity in identities), "the key is not the identity"
        assert post_initialize(mcp_url(server), bearer(keys[0] + "x")).status == 401


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
]


@pytest.mark.parametrize(("variable", "settings"), BAD_CONFIG, ids=[f"{v}-{i}" for i, (v, _) in enumerate(BAD_CONFIG)])
def test_bad_configuration_exits_non_zero_naming_the_variable(project, variable, settings):
    path, env = project
    clean = {k: v for k, v in env.items() if not k.startswith(("AUTH_", "PORT", "PUBLIC_URL", "NODE_ENV", "LOG_LEVEL"))}
    result = subprocess.run(
        ["node", "dist/index.js"], cwd=path, env={**clean, **settings}, capture_output=True, text=True, timeout=20
    )
    assert result.returncode != 0
    assert variable in result.stderr, result.stderr
    if "AUTH_JWT_SECRET" in settings:
        assert settings["AUTH_JWT_SECRET"] not in result.stderr + result.stdout, "a secret was echoed"
