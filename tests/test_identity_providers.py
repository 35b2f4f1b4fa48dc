"""Identity-provider presets against the built server: one start per provider (AUTH_PROVIDER by
environment), its JWKS served on loopback at the provider's own JWKS path (NODE_ENV=test allows
a loopback stand-in with that path), access tokens shaped as each provider documents them.

Accepted: the provider's access token, through a real MCP session (whoami names the subject).
Refused with 401: the same token from another tenant (issuer), for another API (audience, or
Cognito's client_id), and the provider's ID token. The generated project's test/presets.test.ts
checks the same shapes at the verifier; this proves the built server is wired to them.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from support.mcp_client import post_initialize, run_session
from support.server_process import ServerProcess
from support.tokens import JwksIssuer
from variants import DEFAULTS

pytestmark = pytest.mark.node

RESOURCE = "https://mcp.example.com/mcp"
TENANT = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
OTHER_TENANT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
ENTRA_API = "2a4c6e80-1357-9bdf-2468-ace013579bdf"
COGNITO_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example1"


def now() -> int:
    return int(time.time())


# provider: (settings, JWKS URL the provider publishes, header, access claims, refused variants)
PROVIDERS = {
    "auth0": (
        {"AUTH_ISSUER": "https://tenant-a.auth0.com/", "AUTH_AUDIENCE": RESOURCE},
        "https://tenant-a.auth0.com/.well-known/jwks.json",
        {"typ": "JWT"},
        lambda: {
            "iss": "https://tenant-a.auth0.com/", "sub": "auth0|123456",
            "aud": [RESOURCE, "https://tenant-a.auth0.com/userinfo"], "azp": "my_client_id",
            "iat": now(), "exp": now() + 600, "scope": "openid profile", "permissions": ["mcp:tools"],
        },
        {"another tenant": {"iss": "https://tenant-b.auth0.com/"},
         "another API": {"aud": ["https://other.example.com/api"]},
         "an ID token": {"aud": "my_client_id"}},
    ),
    "entra": (
        {"AUTH_ISSUER": f"https://login.microsoftonline.com/{TENANT}/v2.0", "AUTH_AUDIENCE": ENTRA_API},
        f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys",
        {"typ": "JWT"},
        lambda: {
            "aud": ENTRA_API, "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "iat": now(), "nbf": now(), "exp": now() + 600, "azp": "c1a2b3d4-0000-4000-8000-00000000c11e",
            "azpacr": "0", "oid": "00000000-0000-4000-8000-0000000a11ce", "scp": "access_as_user",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "tid": TENANT, "ver": "2.0",
        },
        {"another tenant": {"iss": f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"},
         "another API": {"aud": "9f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f"},
         "an ID token": {"scp": None}},
    ),
    "keycloak": (
        {"AUTH_ISSUER": "https://sso.example.com/realms/acme", "AUTH_AUDIENCE": RESOURCE},
        "https://sso.example.com/realms/acme/protocol/openid-connect/certs",
        {"typ": "JWT"},
        lambda: {
            "exp": now() + 300, "iat": now(), "jti": "onrtac:0b1c2d3e", "iss": "https://sso.example.com/realms/acme",
            "aud": [RESOURCE, "account"], "sub": "f1e2d3c4-b5a6-4798-8a9b-0c1d2e3f4a5b", "typ": "Bearer",
            "azp": "mcp-client", "scope": "openid profile email", "preferred_username": "alice",
        },
        {"another realm": {"iss": "https://sso.example.com/realms/other"},
         "another API": {"aud": "account"},
         "an ID token": {"typ": "ID"}},
    ),
    "okta": (
        {"AUTH_ISSUER": "https://acme.okta.com/oauth2/default", "AUTH_AUDIENCE": "api://default"},
        "https://acme.okta.com/oauth2/default/v1/keys",
        {"typ": None},
        lambda: {
            "ver": 1, "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
            "iss": "https://acme.okta.com/oauth2/default", "aud": "api://default", "iat": now(), "exp": now() + 600,
            "cid": "0oa1b2c3d4e5f6g7h8i9", "uid": "00u1b2c3d4e5f6g7h8i9", "scp": ["openid", "mcp:tools"],
            "sub": "alice@example.com",
        },
        {"another authorization server": {"iss": "https://acme.okta.com/oauth2/ausOther123"},
         "another API": {"aud": "api://other"},
         "an ID token": {"aud": "0oa1b2c3d4e5f6g7h8i9"}},
    ),
    "cognito": (
        {"AUTH_ISSUER": COGNITO_ISSUER, "AUTH_CLIENT_IDS": "1example23456789"},
        f"{COGNITO_ISSUER}/.well-known/jwks.json",
        {"typ": None},
        lambda: {
            "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["admin"], "iss": COGNITO_ISSUER,
            "version": 2, "client_id": "1example23456789", "token_use": "access",
            "scope": "aws.cognito.signin.user.admin openid", "auth_time": now(), "exp": now() + 600,
            "iat": now(), "jti": "cccccccc-cccc-cccc-cccc-cccccccccccc", "username": "alice",
        },
        {"another user pool": {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other99"},
         "another app client": {"client_id": "2other3456789012"},
         "an ID token": {"token_use": "id", "aud": "1example23456789", "client_id": None}},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def project(build_project):
    return build_project(**DEFAULTS)


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_the_built_server_accepts_the_providers_access_tokens_and_refuses_other_tenants(project, provider):
    path, env = project
    settings, jwks_url, header, access, refused = PROVIDERS[provider]
    with JwksIssuer(any_path=True) as idp:
        server = ServerProcess(
            path,
            env,
            {
                "NODE_ENV": "test",
                "AUTH_MODE": "jwt",
                "AUTH_PROVIDER": provider,
                # The provider's JWKS path, on loopback (allowed with NODE_ENV=test only).
                "AUTH_JWKS_URL": f"{idp.issuer}{urlsplit(jwks_url).path}",
                **settings,
            },
        )
        with server:
            url = f"{server.base_url}/mcp"
            claims = access()
            session = run_session(url, idp.sign(claims, header))
            assert session.whoami["subject"] == claims["sub"]
            for what, change in refused.items():
                token = idp.sign({k: v for k, v in {**claims, **change}.items() if v is not None}, header)
                status = post_initialize(url, {"Authorization": f"Bearer {token}"}).status
                assert status == 401, f"{provider}: {what} answered {status}"
