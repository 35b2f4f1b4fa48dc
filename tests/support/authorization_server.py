"""The generated project's local authorization server (dev/auth-server.ts, panva's oidc-provider),
started from a built project the way `npm run dev:auth` starts it, on a free loopback port.

    with LocalAuthorizationServer(project, env, public_url, state_dir) as auth:
        client = auth.register(grant_types=["client_credentials"], ...)
        token = auth.client_credentials(client, "mcp:tools", resource)["access_token"]
        tokens = auth.authorization_code(client, "mcp:tools offline_access", resource)
        new_kid = auth.rotate()

`drive_interactions` posts the provider's login and consent forms (plain HTML) with httpx2, as a
user's browser would, and returns the redirect back to the client: the test's stand-in for a
person, used by the Python SDK's redirect handler too.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx2

from support.server_process import free_port

LOGIN = "alice"


def _form_of(page: str) -> tuple[str, dict]:
    """The action and fields of the one form of a login or consent page."""
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    prompt = re.search(r'name="prompt" value="([^"]+)"', page)
    if action is None or prompt is None:
        raise AssertionError(f"no login or consent form on the page:\n{page[:2000]}")
    fields = {"prompt": prompt.group(1)}
    if fields["prompt"] == "login":
        fields |= {"login": LOGIN, "password": "any password"}
    return html.unescape(action.group(1)), fields


def drive_interactions(authorization_url: str, redirect_uri: str, max_steps: int = 12) -> dict:
    """Follow the authorization request through the provider's login and consent forms.

    Returns the query of the final redirect to `redirect_uri` (code, state, iss, or an error).
    """
    with httpx2.Client(timeout=15, follow_redirects=False) as browser:
        response = browser.get(authorization_url)
        for _ in range(max_steps):
            if response.status_code in (302, 303):
                location = urllib.parse.urljoin(str(response.url), response.headers["location"])
                if location.startswith(redirect_uri):
                    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
                response = browser.get(location)
            elif response.status_code == 200 and "<form" in response.text:
                action, fields = _form_of(response.text)
                response = browser.post(urllib.parse.urljoin(str(response.url), action), data=fields)
            else:
                raise AssertionError(
                    f"unexpected answer {response.status_code} at {response.url}:\n{response.text[:2000]}"
                )
    raise AssertionError(f"no redirect back to {redirect_uri} after {max_steps} steps")


class AuthorizationServerClient:
    """OAuth requests to an authorization server, by hand (registration, grants, metadata)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.jwks_url = f"{issuer}/jwks"

    def metadata(self) -> dict:
        return httpx2.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()

    def signing_kids(self) -> list[str]:
        return [key["kid"] for key in httpx2.get(self.jwks_url, timeout=10).json()["keys"]]

    def register(self, **metadata) -> dict:
        """Dynamic client registration (RFC 7591)."""
        response = httpx2.post(f"{self.issuer}/reg", json=metadata, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def token(self, client: dict, **form) -> httpx2.Response:
        return httpx2.post(
            f"{self.issuer}/token",
            data=form,
            auth=(client["client_id"], client["client_secret"]),
            timeout=10,
        )

    def client_credentials(self, client: dict, scope: str, resource: str) -> dict:
        response = self.token(client, grant_type="client_credentials", scope=scope, resource=resource)
        assert response.status_code == 200, response.text
        return response.json()

    def authorization_code(self, client: dict, scope: str, resource: str) -> dict:
        """The authorization code grant with PKCE (S256) and the resource, forms posted by hand."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect_uri = client["redirect_uris"][0]
        state = secrets.token_urlsafe(16)
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": redirect_uri,
            "scope": scope, "resource": resource, "state": state, "prompt": "consent",
            "code_challenge": challenge, "code_challenge_method": "S256",
        })  # fmt: skip
        answer = drive_interactions(f"{self.issuer}/auth?{query}", redirect_uri)
        assert answer.get("state") == state and "code" in answer, answer
        response = self.token(
            client,
            grant_type="authorization_code",
            code=answer["code"],
            redirect_uri=redirect_uri,
            code_verifier=verifier,
            resource=resource,
        )
        assert response.status_code == 200, response.text
        return response.json()


class LocalAuthorizationServer(AuthorizationServerClient):
    """`node --import tsx dev/auth-server.ts` (what `npm run dev:auth` runs, without the dev server)."""

    def __init__(self, project: Path, env: dict, public_url: str, required_scopes: str = "mcp:tools"):
        self.port = free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        self.resource = f"{public_url}/mcp"
        folder = Path(tempfile.mkdtemp(prefix="dev-auth-"))
        self.state_dir = folder / "state"  # made by the server itself (owner-only)
        self.log_path = folder / "auth-server.log"
        self.env = {
            **{k: v for k, v in env.items() if not k.startswith("AUTH_")},
            "NODE_ENV": "test",
            "AUTH_SERVER_PORT": str(self.port),
            "AUTH_SERVER_STATE_DIR": str(self.state_dir),
            "AUTH_REQUIRED_SCOPES": required_scopes,
            "PUBLIC_URL": public_url,
        }
        self.project = project
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LocalAuthorizationServer:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            ["node", "--import", "tsx", "dev/auth-server.ts"],
            cwd=self.project,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60  # a safety net: the start is awaited, not timed
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the authorization server exited ({self.process.returncode}):\n{self.log()}")
            try:
                if httpx2.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    return self
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the authorization server did not start:\n{self.log()}")
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rotate(self, timeout: float = 30) -> str:
        """SIGHUP: the provider signs with a new key from now on. Returns its kid once published."""
        assert self.process is not None
        before = self.signing_kids()
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout  # a safety net: the published JWKS is what is awaited
        while time.monotonic() < deadline:
            kids = self.signing_kids()
            if kids and kids[0] not in before:
                return kids[0]
            time.sleep(0.1)
        raise AssertionError(f"no new signing key published:\n{self.log()}")


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
