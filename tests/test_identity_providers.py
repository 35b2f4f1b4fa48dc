"""Identity-provider presets against the built server: one start per provider (AUTH_PROVIDER by
environment), its JWKS served on loopback at the provider's own JWKS path (NODE_ENV=test allows
a loopback stand-in with that path), access tokens shaped as each provider documents them.

Accepted: the provider's access token, through a real MCP session (whoami names the subject).
Refused with 401: the same token from another tenant (issuer), for another API (audience, or
Cognito's client_id), and the provider's ID token. The generated project's test/presets.test.ts
checks the same shapes at the verifier; this proves the built server is wired to them.
"""

from __future__ import annotations

import importlib.util
import json
import time
from urllib.parse import urlsplit

import pytest

from support.mcp_client import post_initialize, run_session
from support.process import run
from support.server_process import ServerProcess
from support.template import TEMPLATE_DIR
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


# --- the pre-gen hook's twin of the issuer shapes agrees with src/auth/presets.ts ---------------

G = TENANT
ISSUER_SAMPLES = [
    ("generic", "urn:anything"), ("generic", "https://idp.example.com/"),
    ("auth0", "https://tenant-a.auth0.com/"), ("auth0", "https://login.example.com/"),
    ("auth0", "https://tenant-a.auth0.com"), ("auth0", "http://tenant-a.auth0.com/"), ("auth0", "https://t.auth0.com/x/"),
    ("entra", f"https://login.microsoftonline.com/{G}/v2.0"), ("entra", f"https://login.microsoftonline.us/{G}/v2.0"),
    ("entra", "https://login.microsoftonline.com/common/v2.0"), ("entra", f"https://sts.windows.net/{G}/"),
    ("entra", f"https://login.microsoftonline.com/{G}/v2.0/"), ("entra", f"https://login.microsoftonline.com/{G}"),
    ("keycloak", "https://sso.example.com/realms/acme"), ("keycloak", "https://sso.example.com/auth/realms/acme"),
    ("keycloak", "https://sso.example.com:8443/realms/a-b"), ("keycloak", "https://sso.example.com/realms/"),
    ("keycloak", "https://sso.example.com/realms/acme/"), ("keycloak", "http://sso.example.com/realms/acme"),
    ("okta", "https://acme.okta.com/oauth2/default"), ("okta", "https://acme.okta.com/oauth2/aus1a2b3c4"),
    ("okta", "https://acme.okta.com"), ("okta", "https://acme.okta.com/oauth2/default/"),
    ("cognito", COGNITO_ISSUER), ("cognito", "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_Abc1"),
    ("cognito", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_"), ("cognito", "https://cognito-idp.amazonaws.com/x_1"),
]  # fmt: skip


def _pre_gen_hook():
    spec = importlib.util.spec_from_file_location("pre_gen_project", TEMPLATE_DIR / "hooks" / "pre_gen_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pre_gen_hook_and_the_server_agree_on_issuers_and_jwks_urls(project, tmp_path):
    """Same samples, both tables: whether the issuer fits the provider, and its JWKS URL."""
    path, env = project
    probe = tmp_path / "probe.ts"
    probe.write_text(
        f"import {{ PRESETS }} from {json.dumps(str(path / 'src' / 'auth' / 'presets.ts'))};\n"
        "const samples: Array<[keyof typeof PRESETS, string]> = JSON.parse(process.env.SAMPLES ?? '[]');\n"
        "console.log(JSON.stringify(samples.map(([provider, issuer]) => {\n"
        "  const preset = PRESETS[provider];\n"
        "  const fits = preset.issuerPattern === undefined || preset.issuerPattern.test(issuer);\n"
        "  return [fits, fits ? (preset.jwksUrlOf(issuer) ?? null) : null];\n"
        "})));\n",
        encoding="utf-8",
    )
    result = run(["node", "--import", "tsx", str(probe)], path, {**env, "SAMPLES": json.dumps(ISSUER_SAMPLES)})
    server = [tuple(verdict) for verdict in json.loads(result.stdout)]
    hook = _pre_gen_hook()
    generation = [hook.issuer_verdict(provider, issuer) for provider, issuer in ISSUER_SAMPLES]
    assert server == generation
    assert {fits for fits, _ in server} == {True, False}, "the samples must include refused issuers"
    assert set(hook.ISSUER_SHAPES) == set(PROVIDERS) | {"generic"}


def test_generation_warns_about_an_issuer_or_jwks_url_the_provider_does_not_publish(cookies, capfd):
    """The same rule at bake time, as a warning naming the answer (the server refuses at start):
    a team fork's default issuer fits one provider, and picking another there must still generate."""
    for answers, field in [
        ({"identity_provider": "auth0", "auth_issuer": "https://tenant.auth0.com"}, "auth_issuer"),
        (
            {"identity_provider": "okta", "auth_issuer": "https://a.okta.com/oauth2/default",
             "auth_jwks_url": "https://b.okta.com/oauth2/default/v1/keys"},
            "auth_jwks_url",
        ),
    ]:  # fmt: skip
        result = cookies.bake(extra_context=answers)
        assert result.exception is None, result.exception
        assert f"WARNING: {field}: " in capfd.readouterr().err
    fitting = {"identity_provider": "okta", "auth_issuer": "https://a.okta.com/oauth2/default",
               "auth_jwks_url": "https://a.okta.com/oauth2/default/v1/keys"}  # fmt: skip
    assert cookies.bake(extra_context=fitting).exception is None
    assert "WARNING" not in capfd.readouterr().err
