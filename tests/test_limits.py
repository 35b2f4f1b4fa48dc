"""Fair limits, from outside: one valid credential floods the built server (hundreds of
subscriptions/listen streams, slow bodies, posts whose answers it never reads) at a 1024-file
limit, and the probes and a second credential are still served, memory stays bounded.

Every flood is bounded in count and time and stays on loopback. Waits are on events (an answer,
a closed socket, a descriptor count) with generous deadlines as a safety net, never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import selectors
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from support.mcp_client import MODERN_REVISION, http_request, run_session
from support.process import run
from support.server_process import ServerProcess, free_port
from support.tokens import JwksIssuer
from variants import DEFAULTS

pytestmark = pytest.mark.node

FILE_LIMIT = 1024
# The Cloud Run and Kubernetes memory limit of the generated deployment files.
POD_MEMORY_LIMIT_MB = 512
# What a flood may cost at most: three quarters of the pod limit, the rest being the garbage
# collector's headroom (V8 grows its heap under allocation bursts and returns it lazily: an idle
# server is ~80 MB, the floods below peak near 250 MB on a developer machine, most of it
# uncollected garbage of the refused requests).
RSS_BOUND_MB = POD_MEMORY_LIMIT_MB * 3 // 4


@pytest.fixture(scope="module")
def project(build_project):
    return build_project(**DEFAULTS)


def flood_server(project, **settings) -> tuple[ServerProcess, str, str, int]:
    """The built server with two API keys, a probe port and a 1024-file limit: (server, attacker, other, probe port)."""
    path, env = project
    attacker, other = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    probe_port = free_port()
    extra = {
        "NODE_ENV": "production",
        "AUTH_MODE": "api_key",
        "AUTH_API_KEYS": f"{attacker},{other}",
        "PROBE_PORT": str(probe_port),
        **settings,
    }
    return ServerProcess(path, env, extra, file_limit=FILE_LIMIT), attacker, other, probe_port


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1)) / 1024


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {what}")
        time.sleep(0.05)


def _meta() -> dict:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN_REVISION,
        "io.modelcontextprotocol/clientInfo": {"name": "flood", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def modern_post(port: int, key: str, method: str, params: dict, extra_headers: str = "") -> bytes:
    """A whole 2026-07-28 POST /mcp (head and body) on one keep-alive connection."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": _meta()}}).encode()
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        f"MCP-Protocol-Version: {MODERN_REVISION}\r\nMcp-Method: {method}\r\n{extra_headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def status_lines(socks: list[socket.socket], timeout: float = 30.0) -> list[bytes]:
    """The first line each socket receives (b"closed" when the server closed it unanswered)."""
    selector = selectors.DefaultSelector()
    received: dict[socket.socket, bytes] = {}
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        received[sock] = b""
    pending = set(socks)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            try:
                chunk = sock.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                chunk = b""
            received[sock] += chunk
            if not chunk and not received[sock]:
                received[sock] = b"closed"
            if not chunk or b"\r\n" in received[sock]:
                selector.unregister(sock)
                pending.discard(sock)
    selector.close()
    assert not pending, f"{len(pending)} of {len(socks)} connections got no answer within {timeout} s"
    return [received[sock].split(b"\r\n", 1)[0] for sock in socks]


def connect_many(port: int, count: int, payload: bytes, rcvbuf: int | None = None) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sock.sendall(payload)
        socks.append(sock)
    return socks


def others_are_served(server: ServerProcess, other_key: str, probe_port: int) -> None:
    """The probes (own port and main port) and another credential, while the flood holds."""
    assert http_request("GET", f"http://127.0.0.1:{probe_port}/health").status == 200
    assert http_request("GET", f"http://127.0.0.1:{probe_port}/ready").status == 200
    assert http_request("GET", f"{server.base_url}/health").status == 200
    for mode in (MODERN_REVISION, "legacy"):  # both protocol eras
        session = run_session(f"{server.base_url}/mcp", other_key, mode=mode)
        assert session.echo_text == "hello from python", mode


def test_hundreds_of_listen_streams_from_one_key_lock_out_no_one(project):
    """530 subscriptions/listen streams from one key: 4 open (MAX_STREAMS_PER_CALLER), the rest
    429 at once; the probes and the other key are served; the open streams end at their lifetime."""
    server, attacker, other, probe_port = flood_server(project, STREAM_LIFETIME_MS="3000")
    with server:
        listen = modern_post(
            server.port, attacker, "subscriptions/listen", {"notifications": {"toolsListChanged": True}}
        )
        socks = connect_many(server.port, 530, listen)
        try:
            lines = status_lines(socks)
            opened = [sock for sock, line in zip(socks, lines, strict=True) if line.startswith(b"HTTP/1.1 200")]
            refused = [line for line in lines if line.startswith(b"HTTP/1.1 429")]
            assert len(opened) == 4 and len(refused) == 526, {line: lines.count(line) for line in set(lines)}
            others_are_served(server, other, probe_port)
            assert rss_mb(server.process.pid) < RSS_BOUND_MB
            # The lifetime: the server closes the open streams itself (the client would re-subscribe).
            for sock in opened:
                sock.setblocking(True)
                sock.settimeout(30)
                try:
                    while sock.recv(65536):
                        pass
                except ConnectionResetError:
                    pass
        finally:
            for sock in socks:
                sock.close()
        assert "EMFILE" not in server.log(), server.log()[-2000:]


def test_jwt_callers_are_held_to_their_share_by_token_subject(project):
    """AUTH_MODE=jwt: the caller is the token's subject, whatever token it presents. Fresh tokens
    of one subject share its streams; another subject keeps its own."""
    path, env = project
    with JwksIssuer() as issuer:
        extra = {"NODE_ENV": "production", "AUTH_MODE": "jwt", "AUTH_JWKS_URL": issuer.jwks_url,
                 "AUTH_ISSUER": issuer.issuer}  # fmt: skip
        with ServerProcess(path, env, extra, file_limit=FILE_LIMIT) as server:
            audience = f"{server.base_url}/mcp"
            filters = {"notifications": {"toolsListChanged": True}}

            def listen(subject: str) -> socket.socket:
                token = issuer.mint(sub=subject, aud=audience)  # a new token each time
                return connect_many(server.port, 1, modern_post(server.port, token, "subscriptions/listen", filters))[0]

            socks = [listen("mallory") for _ in range(6)] + [listen("alice")]
            try:
                lines = status_lines(socks)
                statuses = [line.split(b" ")[1] for line in lines]
                assert sorted(statuses[:6]) == [b"200"] * 4 + [b"429"] * 2, lines  # mallory's
                assert statuses[6] == b"200", lines  # alice's
            finally:
                for sock in socks:
                    sock.close()


def test_hundreds_of_slow_bodies_from_one_key_are_refused_or_cut(project):
    """600 authenticated posts that announce 1000 bytes and send one: at most 32 are read at once
    (MAX_REQUESTS_PER_CALLER), the rest get 429 with Retry-After at once, and the ones read are cut
    with 408 by the body deadline, not held for Node's 60 s request timeout."""
    server, attacker, other, probe_port = flood_server(project)
    with server:
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: Bearer {attacker}\r\n"
            f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            f"MCP-Protocol-Version: {MODERN_REVISION}\r\nMcp-Method: tools/list\r\nContent-Length: 1000\r\n\r\n{{"
        ).encode()
        socks = connect_many(server.port, 600, head)
        try:
            others_are_served(server, other, probe_port)
            started = time.monotonic()
            lines = status_lines(socks, timeout=45)
            settled_in = time.monotonic() - started
        finally:
            for sock in socks:
                sock.close()
        counts = {line: lines.count(line) for line in set(lines)}
        refused = counts.get(b"HTTP/1.1 429 Too Many Requests", 0)
        cut = counts.get(b"HTTP/1.1 408 Request Timeout", 0) + counts.get(b"closed", 0)
        assert refused >= 600 - 32 and refused + cut == 600, counts
        assert settled_in < 45, settled_in  # the safety net above; the body deadline is 10 s
        assert server.process.poll() is None


def test_hundreds_of_clients_that_post_and_never_read_are_let_go_and_cost_bounded_memory(project):
    """500 connections from one key, each pipelining 2 echo calls (10 kB answers) and never reading
    (a 4 KiB receive buffer): the per-caller caps refuse what is beyond 32 requests at once, RSS
    stays below RSS_BOUND_MB, the probes and the other key are served, and the server closes every
    one of those connections itself (they were held forever)."""
    server, attacker, other, probe_port = flood_server(project)
    with server:
        pid = server.process.pid
        call = modern_post(
            server.port, attacker, "tools/call", {"name": "echo", "arguments": {"text": "x" * 10_000}},
            extra_headers="Mcp-Name: echo\r\n",
        )  # fmt: skip
        baseline = open_descriptors(pid)
        socks = []
        peak = 0.0
        try:
            for _ in range(10):
                socks += connect_many(server.port, 50, call * 2, rcvbuf=4096)
                peak = max(peak, rss_mb(pid))
            others_are_served(server, other, probe_port)
            peak = max(peak, rss_mb(pid))
            assert peak < RSS_BOUND_MB, f"RSS {peak:.0f} MB with 500 non-reading clients"

            # Still connected on the client side: the server lets go of them by itself.
            def released() -> bool:
                nonlocal peak
                peak = max(peak, rss_mb(pid))
                return open_descriptors(pid) <= baseline + 16

            wait_until(released, "the server closed the stalled connections", 60)
            assert peak < RSS_BOUND_MB, f"RSS {peak:.0f} MB with 500 non-reading clients"
        finally:
            for sock in socks:
                sock.close()
        assert server.process.poll() is None


def test_connections_whose_answers_stall_are_reset_after_the_write_timeout(project):
    """Even with a per-caller cap high enough to let it happen (MAX_REQUESTS_PER_CALLER=10000),
    a client that pipelines hundreds of calls and never reads fills the socket buffers until the
    server holds answers it cannot write. Before the write timeout such a connection was held
    forever; now it is reset after WRITE_TIMEOUT_MS without progress, and its descriptor freed."""
    server, attacker, other, probe_port = flood_server(
        project, MAX_REQUESTS_PER_CALLER="10000", WRITE_TIMEOUT_MS="2000", LOG_LEVEL="info"
    )
    with server:
        pid = server.process.pid
        call = modern_post(
            server.port, attacker, "tools/call", {"name": "echo", "arguments": {"text": "x" * 10_000}},
            extra_headers="Mcp-Name: echo\r\n",
        )  # fmt: skip
        baseline = open_descriptors(pid)
        socks = []
        try:
            for _ in range(3):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.connect(("127.0.0.1", server.port))
                sock.setblocking(False)
                socks.append(sock)
                # ~6 MB of answers, beyond the socket buffers (4 MB at most on Linux): sent until
                # the server stops reading (Node pauses a connection whose answers it cannot write).
                send_until_stalled(sock, call * 600)
            others_are_served(server, other, probe_port)
            wait_until(
                lambda: server.log().count('"reason":"write_timeout"') >= len(socks), "stalled answers are reset"
            )
            wait_until(lambda: open_descriptors(pid) <= baseline, "their descriptors are freed")
        finally:
            for sock in socks:
                sock.close()


def send_until_stalled(sock: socket.socket, data: bytes, patience: float = 1.0) -> None:
    """Sends `data` on a non-blocking socket until all is sent or the peer takes nothing more
    for `patience` seconds (a bound on a peer that stopped reading, not a timing assumption)."""
    pending = memoryview(data)
    offset = 0
    deadline = time.monotonic() + patience
    while offset < len(pending) and time.monotonic() < deadline:
        try:
            offset += sock.send(pending[offset : offset + 65536])
            deadline = time.monotonic() + patience
        except BlockingIOError:
            time.sleep(0.01)


def test_rate_limits_answer_429_with_retry_after_and_ratelimit_headers(project):
    """Per caller after authentication, per client address before it: 429 with Retry-After and the
    IETF RateLimit-Policy / RateLimit fields; another key, another address, the probes unaffected."""
    server, attacker, other, probe_port = flood_server(
        project, RATE_LIMIT_PER_CALLER="5", RATE_LIMIT_PER_ADDRESS="40", RATE_LIMIT_WINDOW_SECONDS="3600"
    )
    with server:
        url = f"{server.base_url}/mcp"
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": _meta()}}).encode()

        def call(key: str):
            headers = {
                "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": MODERN_REVISION, "Mcp-Method": "tools/list", "Authorization": f"Bearer {key}",
            }  # fmt: skip
            return http_request("POST", url, headers, body)

        statuses = [call(attacker).status for _ in range(6)]
        assert statuses == [200] * 5 + [429], statuses
        refused = call(attacker)
        headers = {k.lower(): v for k, v in refused.headers.items()}
        assert int(headers["retry-after"]) >= 1
        assert headers["ratelimit-policy"] == '"caller";q=5;w=3600', headers
        assert re.fullmatch(r'"caller";r=0;t=\d+', headers["ratelimit"]), headers
        assert call(other).status == 200

        # Before authentication, per address: 127.0.0.2 runs out, 127.0.0.1 does not.
        def from_address(address: str) -> bytes:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10, source_address=(address, 0)) as sock:
                sock.sendall(
                    f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Length: 0\r\n"
                    f"Connection: close\r\n\r\n".encode()
                )
                return sock.recv(65536)

        answers = [from_address("127.0.0.2") for _ in range(45)]
        assert (
            sum(a.startswith(b"HTTP/1.1 401") for a in answers) + sum(a.startswith(b"HTTP/1.1 429") for a in answers)
            == 45
        )
        limited = [a for a in answers if a.startswith(b"HTTP/1.1 429")]
        assert limited, "the address limit never applied"
        assert b'ratelimit-policy: "address";q=40;w=3600' in limited[0].lower(), limited[0][:600]
        assert from_address("127.0.0.1").startswith(b"HTTP/1.1 401")
        assert http_request("GET", f"http://127.0.0.1:{probe_port}/health").status == 200


def test_the_probe_port_serves_only_probes_and_the_healthcheck_uses_it(project):
    path, env = project
    server, _, _, probe_port = flood_server(project)
    with server:
        probe = f"http://127.0.0.1:{probe_port}"
        assert http_request("GET", f"{probe}/health").status == 200
        assert http_request("GET", f"{probe}/mcp").status == 404
        assert http_request("GET", f"{probe}/.well-known/oauth-protected-resource").status == 404
        check = {**env, "PORT": str(server.port), "HOST": "127.0.0.1"}
        run(["node", "dist/healthcheck.js"], path, {**check, "PROBE_PORT": str(probe_port)})
        wrong = run(["node", "dist/healthcheck.js"], path, {**check, "PROBE_PORT": str(free_port())}, check=False)
        assert wrong.returncode == 1, "the healthcheck did not probe PROBE_PORT"
