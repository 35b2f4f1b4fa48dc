"""One module per auth mode: adding a mode is one new file and one entry in the list of modes.

In a copy of the template, a small mode (`hmac`: a caller presents `NAME.SIGNATURE`, the HMAC of
NAME under AUTH_HMAC_SECRET) is added the way docs/maintaining/auth-mode.md says: its module in
src/auth/modes/ and its entry in src/auth/modes/index.ts, nothing else. The baked project builds,
type-checks and lints; the real server runs with AUTH_MODE=hmac, a real MCP client calls its tools
with the new credential, and a request without it gets 401 with the challenge. What the list
derives (AUTH_MODE's values and message, the refusal of AUTH_REQUIRED_SCOPES, of a `dev_`
credential, the `*_FILE` variant, the metadata) holds for the new mode without another edit.
Then a mode added to the list without its verifier makes `tsc` fail, naming the line and the member.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import NPM, node_env, run
from support.bake import project_of
from support.docs import blocks
from support.mcp_client import EXAMPLE_TOOLS, http_request, post_initialize, run_session
from support.node_toolchain import link_installed_dependencies
from support.server_process import ServerProcess, free_port
from support.template import PROJECT_FOLDER_NAME, TEMPLATE_DIR
from variants import DEFAULTS

MODES = Path(PROJECT_FOLDER_NAME) / "src" / "auth" / "modes"
PAGE = TEMPLATE_DIR / "docs" / "maintaining" / "auth-mode.md"
# The template without its own tests and tooling folders (the project template has no folder of these names).
SKIP_DIRS = {".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache", ".cache", "tests"}

HMAC_MODE = """\
/**
 * AUTH_MODE=hmac: a caller presents `NAME.SIGNATURE`, the hex HMAC-SHA256 of NAME under
 * AUTH_HMAC_SECRET (or AUTH_HMAC_SECRET_FILE).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { ConfigError } from "../../env.js";
import { refuseDevelopmentCredential, secretOf } from "../credentials.js";
import type { AuthMode, SettingsContext } from "../mode.js";
import { deny } from "../types.js";

export interface HmacSettings {
  readonly secret: string;
}

function parseHmac({ env, nodeEnv }: SettingsContext): HmacSettings {
  const secret = secretOf(env, "AUTH_HMAC_SECRET");
  if (secret === undefined) {
    throw new ConfigError("AUTH_HMAC_SECRET", "AUTH_MODE=hmac needs AUTH_HMAC_SECRET");
  }
  refuseDevelopmentCredential(secret.variable, secret.value, nodeEnv);
  return { secret: secret.value };
}

export const hmacMode = {
  name: "hmac",
  credential: "signed names",
  scopes: false,
  open: false,
  parse: parseHmac,
  verifier: ({ secret }) => ({
    async verify(token) {
      const [name = "", signature = ""] = token.split(".");
      const expected = createHmac("sha256", secret).update(name).digest();
      const given = Buffer.from(signature, "hex");
      if (name === "" || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return deny(401, "invalid signature", "invalid_token");
      }
      return { ok: true, identity: { subject: name, scopes: [], method: "hmac" } };
    },
  }),
  authorizationServers: () => undefined,
} as const satisfies AuthMode<"hmac", HmacSettings>;
"""

# A mode in the list that does not fulfil the contract: no verifier.
HALF_MODE = """\
export const halfMode = {
  name: "half",
  credential: "nothing yet",
  scopes: false,
  open: false,
  parse: () => ({}),
  authorizationServers: () => undefined,
};
"""

LAST_ENTRY = "  noneMode, // no credential: development and tests only\n"


def add_to_the_list(modes: Path, module: str, name: str) -> None:
    """The one list entry (and its import) in src/auth/modes/index.ts."""
    index = modes / "index.ts"
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    assert LAST_ENTRY in lines, "the list of modes changed shape: update this test"
    lines.insert(lines.index(LAST_ENTRY) + 1, f"  {name},\n")
    # The import among the modes' imports, in the order Biome keeps them (by path).
    local = [i for i, line in enumerate(lines) if line.startswith("import {") and '"./' in line]
    imports = sorted(
        [*(lines[i] for i in local), f'import {{ {name} }} from "./{module}.js";\n'], key=lambda x: x.split('"')[1]
    )
    lines[local[0] : local[-1] + 1] = imports
    index.write_text("".join(lines), encoding="utf-8")


def template_with_hmac_mode(folder: Path) -> Path:
    copy = folder / "template"
    shutil.copytree(TEMPLATE_DIR, copy, ignore=lambda _dir, names: [n for n in names if n in SKIP_DIRS])
    (copy / MODES / "hmac.ts").write_text(HMAC_MODE, encoding="utf-8")
    add_to_the_list(copy / MODES, "hmac", "hmacMode")
    return copy


def changed_files(template: Path) -> list[str]:
    """The files of the copy's project template that differ from this template's."""
    ours, theirs = TEMPLATE_DIR / PROJECT_FOLDER_NAME, template / PROJECT_FOLDER_NAME
    changed = []
    for path in sorted(theirs.rglob("*")):
        if path.is_file():
            original = ours / path.relative_to(theirs)
            if not original.exists() or original.read_bytes() != path.read_bytes():
                changed.append(str(path.relative_to(theirs)))
    return changed


def sign(secret: str, name: str) -> str:
    return f"{name}.{hmac.new(secret.encode(), name.encode(), hashlib.sha256).hexdigest()}"


def start_refused(project: Path, env: dict, extra: dict) -> str:
    """`node dist/index.js` with a configuration it must refuse: its exit code is 1, its stderr returned."""
    result = subprocess.run(
        ["node", "dist/index.js"],
        cwd=project,
        env={**env, "PORT": str(free_port()), "HOST": "127.0.0.1", **extra},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    return result.stderr


@pytest.mark.node
def test_a_new_auth_mode_is_one_file_and_one_list_entry(cookies_session, tmp_path):
    template = template_with_hmac_mode(tmp_path)
    assert changed_files(template) == ["src/auth/modes/hmac.ts", "src/auth/modes/index.ts"]
    project = project_of(cookies_session.bake(extra_context=DEFAULTS, template=str(template)))
    env = node_env(DEFAULTS["node_version"])
    link_installed_dependencies(project, env)
    run([*NPM, "run", "build"], project, env)
    run([*NPM, "run", "typecheck"], project, env)
    run([*NPM, "run", "lint"], project, env)

    secret = secrets.token_urlsafe(32)
    server = ServerProcess(project, env, {"NODE_ENV": "production", "AUTH_MODE": "hmac", "AUTH_HMAC_SECRET": secret})
    with server:
        url = f"{server.base_url}/mcp"
        session = run_session(url, sign(secret, "alice"))
        assert session.tool_names == EXAMPLE_TOOLS
        assert session.whoami == {"subject": "alice", "scopes": [], "method": "hmac"}

        wrong = {"Authorization": f"Bearer {sign('another-secret', 'alice')}"}
        for headers, error in (({}, None), (wrong, "invalid_token")):
            refused = post_initialize(url, headers)
            assert refused.status == 401, refused
            challenge = {k.lower(): v for k, v in refused.headers.items()}.get("www-authenticate", "")
            assert challenge.startswith("Bearer "), refused.headers
            assert f'resource_metadata="{server.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge
            assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge), challenge
            assert "scope=" not in challenge, "a mode whose credentials carry no scopes names none"

        # The metadata: what the mode advertises (no authorization server, no scopes).
        metadata = json.loads(http_request("GET", f"{server.base_url}/.well-known/oauth-protected-resource/mcp").body)
        assert metadata == {
            "resource": url,
            "bearer_methods_supported": ["header"],
            "resource_name": "My MCP Server",
        }

    # What the list derives, for the new mode without another edit.
    production = {"NODE_ENV": "production", "AUTH_MODE": "hmac"}
    said = start_refused(project, env, {"AUTH_MODE": "bogus"})
    assert "AUTH_MODE: must be one of jwt, api_key, none, hmac" in said, said
    assert "AUTH_HMAC_SECRET: AUTH_MODE=hmac needs AUTH_HMAC_SECRET" in start_refused(project, env, production)
    said = start_refused(project, env, {**production, "AUTH_HMAC_SECRET": secret, "AUTH_REQUIRED_SCOPES": "mcp:tools"})
    assert "AUTH_REQUIRED_SCOPES: scopes come from JWTs: set it with AUTH_MODE=jwt only" in said, said
    said = start_refused(project, env, {**production, "AUTH_HMAC_SECRET": f"dev_{secret}"})
    assert "AUTH_HMAC_SECRET: holds a development credential" in said, said
    key_file = tmp_path / "hmac-secret"
    key_file.write_text(secret)
    key_file.chmod(0o644)
    said = start_refused(project, env, {**production, "AUTH_HMAC_SECRET_FILE": str(key_file)})
    assert "AUTH_HMAC_SECRET_FILE: the file is accessible to other users" in said, said

    # A mode in the list that does not fulfil the contract: tsc names the entry and the member.
    (project / "src/auth/modes/half.ts").write_text(HALF_MODE, encoding="utf-8")
    add_to_the_list(project / "src/auth/modes", "half", "halfMode")
    failed = subprocess.run([*NPM, "run", "-s", "typecheck"], cwd=project, env=env, capture_output=True, text=True)
    assert failed.returncode != 0, "a mode without a verifier type-checked"
    said = failed.stdout + failed.stderr
    assert "src/auth/modes/index.ts(" in said and "Property 'verifier' is missing" in said, said


def test_the_checklist_shows_the_list_as_it_is_and_names_files_that_exist():
    """docs/maintaining/auth-mode.md quotes the list of modes and names files: both as they are."""
    index = (TEMPLATE_DIR / MODES / "index.ts").read_text(encoding="utf-8")
    quoted = [block.text for block in blocks(PAGE) if block.fence == "ts"]
    assert quoted and all(text in index for text in quoted), "the page's list of modes is not src/auth/modes/index.ts's"
    text = PAGE.read_text(encoding="utf-8")
    project = TEMPLATE_DIR / PROJECT_FOLDER_NAME
    named = set(re.findall(r"`((?:\{\{cookiecutter\.project_slug\}\}/)?[\w./-]+\.(?:ts|py|json|yaml|md))`", text))
    assert len(named) > 20, named
    missing = []
    for name in sorted(named):
        relative = name.removeprefix(f"{PROJECT_FOLDER_NAME}/")
        if "<name>" in relative or not any((root / relative).exists() for root in (TEMPLATE_DIR, project)):
            missing.append(name)
    assert missing == [], f"the page names files that do not exist: {missing}"
