"""The generated server against a real OAuth 2.1 authorization server: the project's own
dev/auth-server.ts (panva's oidc-provider), started from the built project, next to the
production build (`node dist/index.js`, NODE_ENV=production) that trusts it.

Client-credentials tokens (for this resource and for another), the whole MCP authorization flow
driven by the Python SDK's OAuthClientProvider in both protocol eras (with the per-tool scope
step-up), a signing-key rotation while the server runs, and `npm run dev:auth` itself.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from test_project import INSPECTOR, INSPECTOR_NODE, claude_code

from conftest import NPM, copy_project, node_env
from support.authorization_server import (
    AuthorizationServerClient,
    LocalAuthorizationServer,
    claims_of,
    drive_interactions,
    kid_of,
)
from support.docs import shown_commands, shown_line
from support.mcp_client import EXAMPLE_TOOLS, MODERN_REVISION, http_request, post_initialize, run_session
from support.process import run
from support.server_process import ServerProcess, free_port
from variants import COOKIECUTTER_JSON, DEFAULTS

pytestmark = pytest.mark.node

REQUIRED_SCOPE = "mcp:tools"
ADMIN_SCOPE = "mcp:admin"  # what the example tool server_status declares
DEFAULTS_PORT = COOKIECUTTER_JSON["port"]
REDIRECT_URI = "http://localhost:33418/callback"  # never listened on: the test reads the redirect itself


@pytest.fixture(scope="module")
def stack(build_project):
    """The production build trusting the local authorization server (one of each for the module)."""
    project, env = build_project(**DEFAULTS)
    server = ServerProcess(project, env, {})
    with LocalAuthorizationServer(project, env, server.base_url, REQUIRED_SCOPE) as auth:
        server.env |= {
            "NODE_ENV": "production",
            "AUTH_MODE": "jwt",
            "AUTH_JWKS_URL": auth.jwks_url,
            "AUTH_ISSUER": auth.issuer,
            "AUTH_REQUIRED_SCOPES": REQUIRED_SCOPE,
            # How soon a rotated key is fetched: kept short so the rotation test waits little.
            "AUTH_JWKS_COOLDOWN_SECONDS": "1",
        }
        with server:
            yield server, auth


def mcp_url(server: ServerProcess) -> str:
    return f"{server.base_url}/mcp"


def service_client(auth: AuthorizationServerClient) -> dict:
    return auth.register(
        grant_types=["client_credentials"],
        response_types=[],
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_basic",
        scope=f"{REQUIRED_SCOPE} {ADMIN_SCOPE}",
    )


def test_the_server_names_the_authorization_server_and_its_scopes(stack):
    server, auth = stack
    refused = post_initialize(mcp_url(server))
    assert refused.status == 401
    challenge = refused.headers["WWW-Authenticate"]
    assert f'scope="{REQUIRED_SCOPE}"' in challenge, challenge
    metadata_url = f"{server.base_url}/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{metadata_url}"' in challenge, challenge
    metadata = json.loads(http_request("GET", metadata_url).body)
    assert metadata["resource"] == mcp_url(server)
    assert metadata["authorization_servers"] == [auth.issuer]
    assert metadata["scopes_supported"] == [REQUIRED_SCOPE, ADMIN_SCOPE]
    provider = auth.metadata()
    assert provider["issuer"] == auth.issuer
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(provider["grant_types_supported"])
    assert provider["code_challenge_methods_supported"] == ["S256"]
    assert {REQUIRED_SCOPE, ADMIN_SCOPE, "offline_access"} <= set(provider["scopes_supported"])
    # Signing keys made at first start, readable by their owner only.
    assert (auth.state_dir.stat().st_mode & 0o777) == 0o700
    assert ((auth.state_dir / "keys.json").stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize("mode", [MODERN_REVISION, "legacy"])
def test_a_client_credentials_token_for_this_resource_is_accepted_and_one_for_another_is_refused(stack, mode):
    server, auth = stack
    client = service_client(auth)
    issued = auth.client_credentials(client, REQUIRED_SCOPE, mcp_url(server))
    claims = claims_of(issued["access_token"])
    assert claims["aud"] == mcp_url(server) and claims["iss"] == auth.issuer, claims
    session = run_session(mcp_url(server), issued["access_token"], mode=mode)
    assert session.protocol_version == (MODERN_REVISION if mode == MODERN_REVISION else "2025-11-25")
    assert session.whoami["subject"] == client["client_id"]
    assert session.whoami["scopes"] == [REQUIRED_SCOPE]
    assert session.tool_names == EXAMPLE_TOOLS, "server_status is hidden without mcp:admin"

    # The same provider, the same client, a token for another (loopback) resource: not for us.
    other = auth.client_credentials(client, REQUIRED_SCOPE, "http://127.0.0.1:9/other-mcp")
    assert claims_of(other["access_token"])["aud"] == "http://127.0.0.1:9/other-mcp"
    refused = post_initialize(mcp_url(server), {"Authorization": f"Bearer {other['access_token']}"})
    assert refused.status == 401, refused
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # A resource outside loopback is refused by the provider itself (RFC 8707 invalid_target).
    foreign = auth.token(
        client, grant_type="client_credentials", scope=REQUIRED_SCOPE, resource="https://example.com/mcp"
    )
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_target"


def test_a_call_of_a_scoped_tool_without_its_scope_is_the_scope_challenge(stack):
    """Checked on the wire: 403, insufficient_scope, the scopes to ask for, the metadata."""
    server, auth = stack
    client = service_client(auth)
    token = auth.client_credentials(client, REQUIRED_SCOPE, mcp_url(server))["access_token"]
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN_REVISION,
        "io.modelcontextprotocol/clientInfo": {"name": "scope-challenge", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    params = {"name": "server_status", "arguments": {}, "_meta": meta}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    headers = {
        "Authorization": f"Bearer {token}",
        "MCP-Protocol-Version": MODERN_REVISION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "server_status",
    }
    refused = post_initialize(mcp_url(server), headers, json.dumps(call).encode())
    assert refused.status == 403, refused
    challenge = refused.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert f'scope="{REQUIRED_SCOPE} {ADMIN_SCOPE}"' in challenge, challenge
    assert "resource_metadata=" in challenge
    # A 2025-03-26 batch hides nothing: one scoped call in it refuses the whole request.
    batch = [{**call, "id": 2}, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}]
    bearer = {"Authorization": f"Bearer {token}"}
    assert post_initialize(mcp_url(server), bearer, json.dumps(batch).encode()).status == 403

    admin = auth.client_credentials(client, f"{REQUIRED_SCOPE} {ADMIN_SCOPE}", mcp_url(server))["access_token"]
    admin_headers = {**headers, "Authorization": f"Bearer {admin}"}
    allowed = post_initialize(mcp_url(server), admin_headers, json.dumps(call).encode())
    assert allowed.status == 200 and '"version"' in allowed.body, allowed
    assert run_session(mcp_url(server), admin).tool_names == sorted([*EXAMPLE_TOOLS, "server_status"])


class MemoryStorage:
    """The Python SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


async def _oauth_session(url: str, mode: str) -> dict:
    """The SDK's own authorization flow, a person's part played by drive_interactions."""
    authorizations: list[dict] = []
    answers: list[dict] = []
    requests: list[tuple[str, str, int]] = []

    async def redirect_handler(authorization_url: str) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
        authorizations.append(query)
        answers.append(await anyio.to_thread.run_sync(drive_interactions, authorization_url, REDIRECT_URI))

    async def callback_handler() -> AuthorizationCodeResult:
        answer = answers[-1]
        assert "code" in answer, f"the authorization server answered {answer}"
        return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    async def record(response: httpx2.Response) -> None:
        requests.append((response.request.method, response.request.url.path, response.status_code))

    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="template-tests",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=MemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=30, event_hooks={"response": [record]}) as http:
        transport = streamable_http_client(url, http_client=http, terminate_on_close=False)
        async with Client(transport, mode=mode) as client:
            tools = sorted(tool.name for tool in (await client.list_tools()).tools)
            whoami = await client.call_tool("whoami", {})
            before_step_up = len(authorizations)
            status = await client.call_tool("server_status", {})
            return {
                "protocol_version": client.protocol_version,
                "tools": tools,
                "whoami": json.loads("".join(getattr(block, "text", "") for block in whoami.content)),
                "status_error": status.is_error,
                "status": "".join(getattr(block, "text", "") for block in status.content),
                "authorizations": authorizations,
                "before_step_up": before_step_up,
                "requests": requests,
            }


@pytest.mark.parametrize("mode", [MODERN_REVISION, "legacy"])
def test_the_python_sdk_runs_the_mcp_authorization_flow_and_steps_up_for_a_scoped_tool(stack, mode):
    server, auth = stack
    result = anyio.run(_oauth_session, mcp_url(server), mode)
    assert result["protocol_version"] == (MODERN_REVISION if mode == MODERN_REVISION else "2025-11-25")

    # 401 -> protected-resource metadata -> authorization-server metadata -> registration ->
    # (authorization in the "browser") -> token -> the retried MCP request, in that order.
    paths = [(method, path, status) for method, path, status in result["requests"]]
    first_steps = paths[:5]
    assert first_steps[0] == ("POST", "/mcp", 401), paths
    assert first_steps[1][1].startswith("/.well-known/oauth-protected-resource") and first_steps[1][2] == 200, paths
    assert first_steps[2][1].startswith("/.well-known/") and first_steps[2][2] == 200, paths
    assert first_steps[3] == ("POST", "/reg", 201), paths
    assert first_steps[4] == ("POST", "/token", 200), paths

    first = result["authorizations"][0]
    assert first["resource"] == mcp_url(server), first  # RFC 8707, the server's resource
    assert first["code_challenge_method"] == "S256" and first["code_challenge"], first
    assert REQUIRED_SCOPE in first["scope"].split() and ADMIN_SCOPE not in first["scope"].split(), first
    assert result["before_step_up"] == 1, "one authorization until the scoped tool"
    assert result["tools"] == EXAMPLE_TOOLS
    assert result["whoami"]["subject"] == "alice"  # the login the form was given
    assert result["whoami"]["scopes"][:1] == [REQUIRED_SCOPE]

    # The scoped tool: 403 insufficient_scope, the SDK authorizes again with the wider scope
    # (the union of what it had and what the challenge names), then the call succeeds.
    assert ("POST", "/mcp", 403) in paths, paths
    assert len(result["authorizations"]) == 2, result["authorizations"]
    step_up = result["authorizations"][1]["scope"].split()
    assert REQUIRED_SCOPE in step_up and ADMIN_SCOPE in step_up, step_up
    assert not result["status_error"], result["status"]
    assert json.loads(result["status"])["version"], result["status"]


def test_a_rotated_signing_key_is_accepted_without_a_restart_and_a_refresh_gives_a_working_token(stack):
    server, auth = stack
    client = auth.register(
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="client_secret_basic",
    )
    tokens = auth.authorization_code(client, f"{REQUIRED_SCOPE} offline_access", mcp_url(server))
    assert "refresh_token" in tokens, tokens
    old_kid = kid_of(tokens["access_token"])
    assert run_session(mcp_url(server), tokens["access_token"]).whoami["subject"] == "alice"  # keys fetched

    new_kid = auth.rotate()
    assert new_kid != old_kid and old_kid in auth.signing_kids(), "the previous key stays published"
    refreshed = auth.token(
        client, grant_type="refresh_token", refresh_token=tokens["refresh_token"], resource=mcp_url(server)
    )
    assert refreshed.status_code == 200, refreshed.text
    new_token = refreshed.json()["access_token"]
    assert kid_of(new_token) == new_kid

    # The server has not seen the new key: it refetches the JWKS for an unknown kid, at most once
    # per cooldown (1 s here). Awaited by its answer; the deadline is only a safety net.
    deadline = time.monotonic() + 60
    while (status := post_initialize(mcp_url(server), {"Authorization": f"Bearer {new_token}"}).status) != 200:
        assert status == 401 and time.monotonic() < deadline, (status, server.log())
        time.sleep(0.25)
    assert run_session(mcp_url(server), new_token).whoami["subject"] == "alice"
    assert run_session(mcp_url(server), tokens["access_token"]).whoami["subject"] == "alice", "old kid still valid"
    assert server.process.poll() is None, "no restart"


def dev_auth_command(project: Path) -> list[str]:
    """The docs page's one command, `npm run dev:auth`, as words after `npm` (the tests' npm flags go first)."""
    (command,) = shown_commands(project / "docs" / "local-authorization-server.md", "A local authorization server")
    words = command.split()
    assert words[0] == "npm", command
    return words[1:]


def test_the_browser_inspector_is_the_version_the_cli_recipe_runs(bake_cached):
    """The docs page's Inspector (a browser UI, driven by hand) is the release the README's
    command-line Inspector line runs in the tests, so the page names a version known to work."""
    project = bake_cached(**DEFAULTS)
    (command,) = shown_commands(
        project / "docs" / "local-authorization-server.md", "Connect a client through the OAuth flow"
    )
    assert command == f"npx -y {INSPECTOR}", command


def test_npm_run_dev_auth_starts_the_authorization_server_and_a_development_server_trusting_it(build_project, tmp_path):
    """The developer's one command, as the docs page gives it."""
    built, env = build_project(**DEFAULTS)
    project = copy_project(built, tmp_path / "project")
    run(["git", "init", "-q"], project)
    port, auth_port = free_port(), free_port()
    public_url = f"http://127.0.0.1:{port}"
    shell = {k: v for k, v in env.items() if k != "NODE_ENV" and not k.startswith("AUTH_")}
    shell |= {"PORT": str(port), "PUBLIC_URL": public_url, "AUTH_SERVER_PORT": str(auth_port)}
    log = (tmp_path / "dev-auth.log").open("wb")
    process = subprocess.Popen(
        [*NPM, *dev_auth_command(project)],
        cwd=project,
        env=shell,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90  # a safety net: the health answer is awaited
        while http_request_or_none(f"{public_url}/health") != 200:
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "dev-auth.log").read_text()
            time.sleep(0.2)
        issuer = f"http://127.0.0.1:{auth_port}"
        metadata = json.loads(http_request("GET", f"{public_url}/.well-known/oauth-protected-resource/mcp").body)
        assert metadata["authorization_servers"] == [issuer]
        auth = AuthorizationServerClient(issuer)
        client = service_client(auth)
        token = auth.client_credentials(client, REQUIRED_SCOPE, f"{public_url}/mcp")["access_token"]
        assert run_session(f"{public_url}/mcp", token).whoami["subject"] == client["client_id"]
        # The docs page's Python script: it prints the authorization URL, the test plays the person
        # at the browser and pastes back the address it was sent to; server_status steps up.
        printed = run_documented_python_script(project, public_url)
        assert printed["authorizations"] == 2, printed
        assert json.loads(printed["lines"][0])["subject"] == "alice", printed
        assert json.loads(printed["lines"][1])["version"], printed
        # The docs page's Claude Code line: Claude Code follows the 401 to the OAuth metadata and
        # asks for the browser login (it cannot connect without one, unlike with a bearer header).
        page = (project / "docs" / "local-authorization-server.md").read_text(encoding="utf-8")
        line = shown_line(project / "docs" / "local-authorization-server.md", "claude mcp add --transport http")
        assert line.split()[-2:] == [built.name, f"http://localhost:{DEFAULTS_PORT}/mcp"], "the docs line changed"
        (vscode,) = re.findall(r"```json\n(.*?)```", page, re.DOTALL)
        assert json.loads(vscode)["servers"][built.name] == {
            "type": "http",
            "url": f"http://localhost:{DEFAULTS_PORT}/mcp",
        }
        home = tmp_path / "home"
        home.mkdir()
        cli_env = {**node_env(INSPECTOR_NODE), "HOME": str(home), "DISABLE_AUTOUPDATER": "1"}
        cli_env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
        claude = claude_code(cli_env)
        add = [claude, "mcp", "add", "--transport", "http", built.name, f"{public_url}/mcp"]
        run(add, home, cli_env, timeout=120)
        listed = run([claude, "mcp", "list"], home, cli_env, timeout=120).stdout
        assert re.search(rf"^{re.escape(built.name)}: .*Needs authentication", listed, re.MULTILINE), listed
        # Keys at first start, owner-only, and never committed.
        state = project / ".dev-auth"
        assert (state.stat().st_mode & 0o777) == 0o700 and ((state / "keys.json").stat().st_mode & 0o777) == 0o600
        ignored = run(["git", "check-ignore", "-q", ".dev-auth/keys.json"], project, check=False)
        assert ignored.returncode == 0, ".dev-auth/ must be git-ignored"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_npm_run_dev_auth_follows_the_port_changed_in_env_development(build_project, tmp_path):
    """The port changed the README's way, in `PORT` of .env.development only (PUBLIC_URL is unset
    there): dev:auth's resource and the development server it starts are on that port, and a token
    for that resource opens a session."""
    built, env = build_project(**DEFAULTS)
    project = copy_project(built, tmp_path / "project")
    port, auth_port = free_port(), free_port()
    settings = project / ".env.development"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(re.sub(r"^PORT=\d+$", f"PORT={port}", text, count=1, flags=re.MULTILINE), encoding="utf-8")
    shell = {k: v for k, v in env.items() if k not in ("NODE_ENV", "PORT", "PUBLIC_URL") and not k.startswith("AUTH_")}
    shell["AUTH_SERVER_PORT"] = str(auth_port)
    log_path = tmp_path / "dev-auth.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*NPM, *dev_auth_command(project)], cwd=project, env=shell, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90  # a safety net: the health answer is awaited
        while http_request_or_none(f"http://127.0.0.1:{port}/health") != 200:
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        resource = f"http://localhost:{port}/mcp"
        assert f"for resource {resource}," in log_path.read_text(), log_path.read_text()
        metadata = json.loads(
            http_request("GET", f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp").body
        )
        issuer = f"http://127.0.0.1:{auth_port}"
        assert metadata["resource"] == resource and metadata["authorization_servers"] == [issuer]
        auth = AuthorizationServerClient(issuer)
        token = auth.client_credentials(service_client(auth), REQUIRED_SCOPE, resource)["access_token"]
        assert run_session(f"http://127.0.0.1:{port}/mcp", token).tool_names == EXAMPLE_TOOLS
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def run_documented_python_script(project, public_url: str) -> dict:
    """Runs the docs page's Python block against `public_url`, answering its prompts."""
    page = (project / "docs" / "local-authorization-server.md").read_text(encoding="utf-8")
    (script,) = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    documented_url = f"http://localhost:{DEFAULTS_PORT}/mcp"
    assert documented_url in script, "the script's URL changed"
    callback = re.search(r'CALLBACK = "([^"]+)"', script).group(1)
    script = script.replace(documented_url, f"{public_url}/mcp")
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    authorizations, lines = 0, []
    safety_net = threading.Timer(180, process.kill)  # each line is awaited; this only bounds a hang
    safety_net.start()
    try:
        for line in process.stdout:
            if line.startswith("Open: "):
                authorizations += 1
                answer = drive_interactions(line[len("Open: ") :].strip(), callback)
                process.stdin.write(f"{callback}?{urllib.parse.urlencode(answer)}\n")
                process.stdin.flush()
            else:
                lines.append(line.strip())
        _, errors = process.communicate(timeout=120)
    finally:
        safety_net.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    return {"authorizations": authorizations, "lines": lines}


def http_request_or_none(url: str) -> int | None:
    try:
        return http_request("GET", url).status
    except OSError:
        return None


@pytest.mark.parametrize("node_env", ["production", None])
def test_the_authorization_server_refuses_to_run_outside_development(build_project, node_env):
    project, env = build_project(**DEFAULTS)
    run_env = {k: v for k, v in env.items() if k != "NODE_ENV"} | {"AUTH_SERVER_PORT": str(free_port())}
    if node_env:
        run_env["NODE_ENV"] = node_env
    command = ["node", "--import", "tsx", "dev/auth-server.ts"]
    refused = run(command, project, run_env, timeout=60, check=False)  # must refuse
    assert refused.returncode != 0 and "NODE_ENV" in refused.stderr, refused
