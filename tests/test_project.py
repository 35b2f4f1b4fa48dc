"""Generated projects, for real: dependencies, type-check, lint, their own tests, build, run, MCP sessions.

The newest and the oldest Node line, between them every bundler and auth mode (variants.py says
why the lines between are proven in the docker tier), each on the Node version it selects. The
sessions are driven by the Python MCP SDK, an implementation independent of the server's.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from conftest import NPM, copy_project, node_env
from support.bake import TEMPLATE_DIR
from support.docs import blocks, shell_block, shown_commands, shown_line
from support.mcp_client import (
    EXAMPLE_TOOLS,
    HANDSHAKE_REVISIONS,
    MODERN_REVISION,
    handshake_era_session,
    post_initialize,
    run_session,
)
from support.node_toolchain import CACHE_DIR
from support.process import run
from support.server_process import ServerProcess, free_port, wait_for_health
from support.tokens import JwksIssuer
from variants import (
    ADD_A_TOOL_VARIANT,
    COOKIECUTTER_JSON,
    DEFAULTS,
    PROJECT_VARIANTS,
    variant_id,
)

pytestmark = pytest.mark.node

# Baked with the default name: serverInfo must carry it, not the slug derived from it.
PROJECT_NAME = COOKIECUTTER_JSON["project_name"]


@pytest.fixture(scope="module", params=PROJECT_VARIANTS, ids=variant_id)
def built_project(request, build_project):
    """A baked project after npm ci and npm run build, with the Node version it targets."""
    project, env = build_project(**request.param)
    return request.param, project, env


def test_node_version_is_the_one_the_variant_selects(built_project):
    answers, project, env = built_project
    version = run(["node", "--version"], project, env).stdout.strip()
    assert version.startswith(f"v{answers['node_version']}.")


# The add-a-tool test type-checks and lints its variant (with one tool more), and so does the
# generated pre-commit test (the default answers): the other variants are checked here.
LINTED_HERE = [v for v in PROJECT_VARIANTS if v not in (ADD_A_TOOL_VARIANT, DEFAULTS)]


@pytest.mark.parametrize("answers", LINTED_HERE, ids=variant_id)
def test_type_check_and_lint_pass(build_project, answers):
    project, env = build_project(**answers)
    run([*NPM, "run", "typecheck"], project, env)
    run([*NPM, "run", "lint"], project, env)


def assert_own_suite_passes(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    # node's test runner closes with counts (spec reporter: "ℹ pass N"; TAP: "# pass N"):
    # make sure tests really ran and none failed.
    passed = re.search(r"^(?:ℹ|#) pass (\d+)$", output, re.MULTILINE)
    failed = re.search(r"^(?:ℹ|#) fail (\d+)$", output, re.MULTILINE)
    assert passed and failed, output[-3000:]
    assert int(passed.group(1)) >= 10 and int(failed.group(1)) == 0, output[-3000:]


def test_build_output_matches_the_bundler(built_project):
    answers, project, _ = built_project
    assert (project / "dist" / "index.js").exists() and (project / "dist" / "healthcheck.js").exists()
    emitted = sorted(p.name for p in (project / "dist").rglob("*.js"))
    if answers["bundler"] == "esbuild":
        assert emitted == ["healthcheck.js", "index.js"], emitted
        # The healthcheck runs every few seconds in every container: it must not bundle the
        # server's dependencies (importing config.ts would pull zod in: ~166 kB).
        healthcheck_size = (project / "dist" / "healthcheck.js").stat().st_size
        assert healthcheck_size < 16 * 1024, f"dist/healthcheck.js is {healthcheck_size} bytes"
    else:
        assert len(emitted) > 2, "tsc emits one file per module"


def test_built_server_serves_an_mcp_session_with_valid_credentials_only(built_project):
    answers, project, env = built_project
    with JwksIssuer() as issuer:
        extra = {"NODE_ENV": "production"}
        if answers["auth_mode"] == "jwt":
            extra |= {"AUTH_MODE": "jwt", "AUTH_JWKS_URL": issuer.jwks_url, "AUTH_ISSUER": issuer.issuer}
            with JwksIssuer() as stranger:
                server = ServerProcess(project, env, extra)
                audience = f"{server.base_url}/mcp"
                valid = issuer.mint(sub="user-42", aud=audience, scopes=["mcp:tools"])
                wrong = stranger.mint(sub="user-42", aud=audience, scopes=["mcp:tools"])
                expired = issuer.mint(sub="user-42", aud=audience, exp_in=-600)
                _exercise(server, valid, [wrong, expired, "garbage"], expected_identity="user-42")
        else:
            key = secrets.token_urlsafe(32)
            extra |= {"AUTH_MODE": "api_key", "AUTH_API_KEYS": f"{secrets.token_urlsafe(32)},{key}"}
            server = ServerProcess(project, env, extra)
            _exercise(server, key, ["not-" + key, key[:-1]], expected_identity=None)


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _exercise(server: ServerProcess, valid: str, invalid: list[str], expected_identity: str | None):
    with server:
        url = f"{server.base_url}/mcp"
        # Every revision the server serves, each from an independent client, authenticated:
        # pinned to 2026-07-28, automatic (must end on 2026-07-28), and the 2025 handshake.
        modes = ((MODERN_REVISION, MODERN_REVISION), ("auto", MODERN_REVISION), ("legacy", "2025-11-25"))
        for mode, expected_revision in modes:
            session = run_session(url, valid, echo="héllo ✓", mode=mode)
            assert session.protocol_version == expected_revision, (mode, session)
            assert session.tool_names == EXAMPLE_TOOLS
            assert session.echo_text == "héllo ✓"
            if expected_identity:
                assert expected_identity in json.dumps(session.whoami)
            assert valid not in json.dumps(session.whoami), "a tool must never see the credential itself"
            if mode == "auto":
                assert session.server_name == PROJECT_NAME, "serverInfo carries the human-readable project_name"
        for revision in HANDSHAKE_REVISIONS:
            init, tool_names, echoed = handshake_era_session(url, valid, revision)
            assert init["protocolVersion"] == revision and init["serverInfo"]["name"] == PROJECT_NAME
            assert tool_names == EXAMPLE_TOOLS and echoed["content"][0]["text"] == revision

        for token in [None, *invalid]:
            refused = post_initialize(url, {"Authorization": f"Bearer {token}"} if token else {})
            assert refused.status == 401, (token, refused.status, refused.body)
            challenge = refused.headers.get("WWW-Authenticate", "")
            assert challenge.startswith("Bearer") and "resource_metadata=" in challenge, challenge
            # The SDK client must fail too (not hang, not proceed): anyio wraps its MCPError.
            with pytest.raises(ExceptionGroup) as failed:
                run_session(url, token)
            assert any(isinstance(leaf, MCPError) for leaf in _leaves(failed.value)), failed.value
        assert valid not in server.log(), "the server must never log a credential"
        code = server.stop()
    assert code == 0, f"SIGTERM must end the server with exit code 0, got {code}\n{server.log()}"


def test_server_reports_the_package_json_version_after_a_release_bump(build_project, tmp_path):
    """`npm version` changes package.json only (and scripts/docker-build.sh tags the image with it):
    the built server reports that version in serverInfo and its logs, not the generated one."""
    built, env = build_project(**DEFAULTS)
    project = copy_project(built, tmp_path / built.name)
    run([*NPM, "version", "--no-git-tag-version", "2.3.4"], project, env)
    key = secrets.token_urlsafe(32)
    with ServerProcess(project, env, {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key, "LOG_LEVEL": "info"}) as server:
        session = run_session(f"{server.base_url}/mcp", key, mode="auto")
    assert session.server_version == "2.3.4", session
    assert '"version":"2.3.4"' in server.log(), server.log()[-2000:]


def test_readme_quickstart_generates_builds_and_serves(tmp_path):
    """The README's first command, read from it and run as written from the checkout (with the
    check flag instead of serving forever)."""
    quickstart = shown_commands(TEMPLATE_DIR / "README.md", "The two commands")[0]
    assert quickstart.startswith("scripts/quickstart.sh "), quickstart
    env = {
        **os.environ,
        "VENV": sys.prefix,
        "OUTPUT_DIR": str(tmp_path / "out"),
        "PORT": str(free_port()),
        "QUICKSTART_CHECK": "1",
    }
    result = subprocess.run(
        ["bash", "-ec", quickstart],
        cwd=TEMPLATE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "quickstart check passed" in result.stderr


# Hooks that have files to check in every generated project: each must run, not skip.
HOOKS_WITH_FILES = ("check yaml", "check json", "yamllint", "hadolint", "shellcheck", "lint", "type-check")


def test_generated_pre_commit_hooks_pass(build_project, tmp_path):
    """The pre-commit recipe of the generated docs/testing.md, run as written in a fresh copy: every
    hook runs on the project's files (none skipped for want of files) and passes as generated."""
    built, env = build_project(**DEFAULTS)
    project = copy_project(built, tmp_path / built.name)  # git init and the hooks' caches go into a copy
    recipe = shell_block(project / "docs/testing.md", "Git hooks with pre-commit")
    assert "pre-commit run --all-files" in recipe
    # pre-commit from the test venv; git commits nothing here, but gets an identity all the same.
    shell = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
             "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    result = run(["bash", "-ec", recipe], project, shell, timeout=900)
    assert (project / ".git" / "hooks" / "pre-commit").is_file(), "pre-commit install wrote the git hook"
    for hook in HOOKS_WITH_FILES:
        assert re.search(rf"^{re.escape(hook)}\b[^\n]*\.Passed$", result.stdout, re.MULTILINE), result.stdout
    assert "(no files to check)Skipped" not in "\n".join(
        line for line in result.stdout.splitlines() if line.startswith(HOOKS_WITH_FILES)
    ), result.stdout


# --- the generated README's recipes, run as a user would ------------------------------------------

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
# The Inspector needs Node >= 22.19: run it with the newest line the template offers.
INSPECTOR_NODE = max(COOKIECUTTER_JSON["node_version"], key=int)
# The client recipes run against a built API-key variant (a key is what their command lines carry).
API_KEY_VARIANT = next(v for v in PROJECT_VARIANTS if v["auth_mode"] == "api_key")


def _dev_env(project: Path) -> dict:
    """The values .env.development sets (what `npm run dev` and `npm run token` read)."""
    values = {}
    for line in (project / ".env.development").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_npm_run_token_prints_a_credential_the_development_server_accepts(built_project):
    answers, project, env = built_project
    dev = _dev_env(project)
    # As the README shows it: NODE_ENV=development set in the shell (npm run token decides on it).
    shell_env = {**{k: v for k, v in env.items() if not k.startswith("AUTH_")}, "NODE_ENV": "development"}
    token = run([*NPM, "run", "-s", "token"], project, shell_env).stdout.strip()
    assert dev["AUTH_API_KEYS"].startswith("dev_") and dev["AUTH_JWT_SECRET"].startswith("dev_")
    assert dev["HOST"] == "127.0.0.1", "the development server listens on loopback only"
    # The server as .env.development configures it, on a free port but with the public origin
    # that file's PORT gives (PUBLIC_URL is unset there: http://localhost:$PORT, the token's audience).
    public_url = f"http://localhost:{dev.pop('PORT')}"
    assert "PUBLIC_URL" not in dev, "PORT is the one place the development port is set"
    server = ServerProcess(project, env, {**dev, "PUBLIC_URL": public_url, "LOG_LEVEL": "warn"})
    with server:
        session = run_session(f"{server.base_url}/mcp", token)
        assert session.tool_names == EXAMPLE_TOOLS


def test_the_hand_minted_token_recipe_makes_a_token_the_development_server_accepts(build_project):
    """docs/authentication.md's `jose` line, run as shown with .env.development's issuer and secret
    in the shell: the development server (the public URL the line's audience names) accepts it."""
    project, env = build_project(**DEFAULTS)
    (line,) = shown_commands(project / "docs/authentication.md", "JWT with a shared secret (development)")
    assert line.startswith("TOKEN=$(node -e "), line
    dev = {k: v for k, v in _dev_env(project).items() if k != "PORT"}
    shell = {**{k: v for k, v in env.items() if not k.startswith("AUTH_")}, **dev}
    token = run(["bash", "-ec", f'{line}\nprintf %s "$TOKEN"'], project, shell).stdout
    assert token.count(".") == 2, token
    public_url = f"http://localhost:{COOKIECUTTER_JSON['port']}"
    with ServerProcess(project, env, {**dev, "AUTH_MODE": "jwt", "PUBLIC_URL": public_url}) as server:
        session = run_session(f"{server.base_url}/mcp", token)
    assert '"alice"' in json.dumps(session.whoami), session.whoami


def test_the_production_build_commands_build_and_serve(build_project, tmp_path):
    """docs/development.md's production build, as shown, in a copy of a built project: `npm run
    build` rebuilds dist/, and `npm start` serves it with production settings from the shell."""
    built, env = build_project(**DEFAULTS)
    project = copy_project(built, tmp_path / built.name)
    shown = [line.split("#")[0].strip() for line in shown_commands(project / "docs/development.md", "Production build")]
    assert shown == ["npm run build", "npm start"], shown
    shutil.rmtree(project / "dist")
    run(["bash", "-ec", shown[0]], project, env, timeout=600)
    assert (project / "dist" / "index.js").is_file()
    key, port = secrets.token_urlsafe(32), free_port()
    settings = {"AUTH_MODE": "api_key", "AUTH_API_KEYS": key, "PORT": str(port), "HOST": "127.0.0.1"}
    shell = {**{k: v for k, v in env.items() if k != "NODE_ENV" and not k.startswith("AUTH_")}, **settings}
    start = subprocess.Popen(
        ["bash", "-c", f"exec {shown[1]}"], cwd=project, env=shell,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health", start, timeout=60)
        assert run_session(f"http://127.0.0.1:{port}/mcp", key).tool_names == EXAMPLE_TOOLS
    finally:
        os.killpg(start.pid, signal.SIGTERM)
        start.wait(timeout=30)


@pytest.mark.parametrize("refused_env", ["production", "staging", "Development", None])
def test_npm_run_token_refuses_outside_development(build_project, refused_env):
    """Only development or test, as the shell sets it, mint credentials: production, anything else
    (staging), a near miss the server treats as production (Development), and NODE_ENV unset in the
    shell (which .env.development would otherwise fill in) are refused.

    dev/token.ts refuses before it reads any configuration, the same code in every variant:
    checked on one build."""
    project, env = build_project(**DEFAULTS)
    shell = {k: v for k, v in env.items() if k != "NODE_ENV"}
    if refused_env is not None:
        shell["NODE_ENV"] = refused_env
    refused = run([*NPM, "run", "-s", "token"], project, shell, check=False)  # must refuse
    assert refused.returncode != 0 and f"NODE_ENV={refused_env or '(unset)'}" in refused.stderr, refused
    assert refused.stdout.strip() == "", "nothing is printed when refused"


@pytest.mark.parametrize("variable", ["AUTH_JWT_SECRET", "AUTH_API_KEYS"])
def test_npm_run_token_never_hands_out_a_secret_the_shell_exported(build_project, variable):
    """A production credential in the shell wins over .env.development (as with `npm run dev`):
    npm run token then refuses instead of signing with it or printing it."""
    project, env = build_project(**DEFAULTS)
    production = secrets.token_urlsafe(48)
    mode = "jwt" if variable == "AUTH_JWT_SECRET" else "api_key"
    shell = {**env, "NODE_ENV": "development", "AUTH_MODE": mode, variable: production}
    refused = run([*NPM, "run", "-s", "token"], project, shell, check=False)  # must refuse
    assert refused.returncode != 0 and variable in refused.stderr, refused
    assert refused.stdout.strip() == "" and production not in refused.stderr


def development_server(project: Path, env: dict) -> ServerProcess:
    """The built server with the development credential of .env.development, as `npm run dev` has it."""
    dev = _dev_env(project)
    return ServerProcess(
        project, env, {"NODE_ENV": "development", "AUTH_MODE": "api_key", "AUTH_API_KEYS": dev["AUTH_API_KEYS"]}
    )


def test_mcp_inspector_cli_lists_the_tools_with_the_bearer_header(build_project):
    """The generated README's Inspector line, as written (its token from `npm run token`), against
    the built server on a free port; a wrong key is refused."""
    project, env = build_project(**API_KEY_VARIANT)
    (line,) = shown_commands(project / "README.md", "MCP Inspector")
    assert line.startswith(f"npx -y {INSPECTOR} --cli "), line
    documented_url = f"http://localhost:{COOKIECUTTER_JSON['port']}/mcp"
    assert documented_url in line and "$(NODE_ENV=development npm run -s token)" in line, line
    inspector_env = node_env(INSPECTOR_NODE)
    with development_server(project, env) as server:
        command = line.replace(documented_url, f"{server.base_url}/mcp")
        listed = json.loads(run(["bash", "-c", command], project, inspector_env, timeout=600).stdout)
        assert sorted(tool["name"] for tool in listed["tools"]) == EXAMPLE_TOOLS
        wrong = ["npx", "-y", INSPECTOR, "--cli", f"{server.base_url}/mcp", "--transport", "http",
                 "--method", "tools/list", "--header", "Authorization: Bearer wrong-key-0123456789"]  # fmt: skip
        refused = subprocess.run(wrong, cwd=project, env=inspector_env, capture_output=True, text=True, timeout=600)
        assert refused.returncode != 0, refused.stdout


def test_the_python_recipe_lists_and_calls_the_tools(build_project):
    """docs/development.md's Python script, as shown but for the URL and its token placeholder,
    against the built server with the development key."""
    project, env = build_project(**API_KEY_VARIANT)
    (script,) = [block.text for block in blocks(project / "docs/development.md") if block.fence == "python"]
    documented_url = f"http://localhost:{COOKIECUTTER_JSON['port']}/mcp"
    assert documented_url in script and 'anyio.run(main, "<token>")' in script, script
    with development_server(project, env) as server:
        ours = script.replace(documented_url, f"{server.base_url}/mcp")
        ours = ours.replace('"<token>"', repr(_dev_env(project)["AUTH_API_KEYS"]))
        printed = subprocess.run([sys.executable, "-c", ours], capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr[-3000:]
    first, second = printed.stdout.splitlines()[:2]
    assert first.startswith("2026-07-28 ") and all(f"'{name}'" in first for name in EXAMPLE_TOOLS), first
    assert "text='hello'" in second and "is_error=False" in second, second


CLAUDE_CODE = "@anthropic-ai/claude-code@2.1.332"


def claude_code(env: dict) -> str:
    """The Claude Code CLI from the npm registry, installed once into the template's cache."""
    prefix = CACHE_DIR / "claude-code" / CLAUDE_CODE.rsplit("@", 1)[1]
    claude = prefix / "node_modules" / ".bin" / "claude"
    if not claude.exists():
        run([*NPM, "install", "--prefix", str(prefix), CLAUDE_CODE], TEMPLATE_DIR, env, timeout=900)
    return str(claude)


def test_claude_code_connects_with_the_readme_line_and_the_bearer_header(build_project, tmp_path):
    """The generated README's `claude mcp add` line, as written (its token from `npm run token`),
    then `claude mcp list`, which connects to every configured server: the README's connects, a
    wrong key is refused with the 401."""
    project, env = build_project(**API_KEY_VARIANT)
    (line,) = shown_commands(project / "README.md", "Claude Code")
    assert line.startswith(f"claude mcp add --transport http {project.name} "), line
    documented_url = f"http://localhost:{COOKIECUTTER_JSON['port']}/mcp"
    assert documented_url in line and "$(NODE_ENV=development npm run -s token)" in line, line
    cli_env = {
        **node_env(INSPECTOR_NODE),
        "HOME": str(tmp_path),  # its config (~/.claude.json) goes here, not into the user's
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    claude = claude_code(cli_env)
    shell_env = {**cli_env, "PATH": f"{Path(claude).parent}{os.pathsep}{cli_env['PATH']}"}
    with development_server(project, env) as server:
        url = f"{server.base_url}/mcp"
        run(["bash", "-c", line.replace(documented_url, url)], project, shell_env, timeout=120)
        wrong = [claude, "mcp", "add", "--transport", "http", "wrong-key", url,
                 "--header", "Authorization: Bearer wrong-key-0123456789"]  # fmt: skip
        run(wrong, project, cli_env, timeout=120)
        listed = run([claude, "mcp", "list"], project, cli_env, timeout=120).stdout
    assert re.search(rf"^{re.escape(project.name)}: .*Connected", listed, re.MULTILINE), listed
    assert re.search(r"^wrong-key: .*Failed to connect.*401", listed, re.MULTILINE), listed


def test_adding_a_tool_the_documented_way_keeps_lint_typecheck_and_tests_green(build_project, tmp_path):
    """The "Add a tool" recipe of docs/tools-resources-prompts.md (and AGENTS.md): copy a tool and
    its test, list it, then the page's checks, run as shown: every existing test, lint and
    type-check stays green (tool lists come from the registry). The same recipe for a resource and
    a prompt ("Add a resource or a prompt") rides on the same run. The README's and AGENTS.md's
    checks are the page's, so this run is theirs too.

    Its `npm test` is also this tier's run of the project's own suite (variants.py)."""
    built, env = build_project(**ADD_A_TOOL_VARIANT)
    project = copy_project(built, tmp_path / "project")

    def add(
        folder: str,
        source: str,
        target: str,
        renames: dict[str, str],
        test: str,
        new_test: str,
        identifiers: tuple[str, str],
    ) -> None:
        """Copy an item and its test, renamed, and list it in its folder's index.ts the documented way."""

        def renamed(text: str) -> str:
            for old, new in renames.items():
                text = text.replace(old, new)
            return text

        (project / f"src/{folder}/{target}.ts").write_text(renamed((project / f"src/{folder}/{source}.ts").read_text()))
        (project / f"test/{new_test}.test.ts").write_text(renamed((project / f"test/{test}.test.ts").read_text()))
        index = project / f"src/{folder}/index.ts"
        text = index.read_text()
        old_name, new_name = identifiers
        old_import = f'import {{ {old_name} }} from "./{source}.js";\n'
        new_import = f'import {{ {new_name} }} from "./{target}.js";\n'
        assert old_import in text, f"src/{folder}/index.ts no longer has the documented shape"
        text = text.replace(old_import, old_import + new_import)
        entry = rf"(\[|\s){old_name}(,|\])"
        listed = re.sub(entry, rf"\1{old_name}, {new_name}\2", text, count=1)
        assert listed != text, f"src/{folder}/index.ts no longer lists {old_name} the documented way"
        index.write_text(listed)

    add("tools", "echo", "shout", {"Echo": "Shout", "echo": "shout"}, "echo", "shout", ("echo", "shout"))
    add(
        "resources",
        "server-info",
        "build-info",
        {
            "ServerInfo": "BuildInfo",
            "server-info": "build-info",
            "SERVER_INFO": "BUILD_INFO",
            "info://server": "info://build",
        },
        "server-info",
        "build-info",
        ("registerServerInfo", "registerBuildInfo"),
    )
    add(
        "prompts",
        "summarize",
        "outline",
        {"Summarize": "Outline", "summarize": "outline"},
        "summarize",
        "outline",
        ("registerSummarize", "registerOutline"),
    )
    # Step 4, as shown: format (the added lines as the linter wants them), then the checks.
    checks = shown_commands(project / "docs/tools-resources-prompts.md", "Add a tool")
    assert checks == shown_commands(project / "AGENTS.md", "Run the checks"), "AGENTS.md gives the same checks"
    assert checks[0] == "npm run format" and checks[-1] == "npm test", checks
    readme_checks = [line.split("#")[0].strip() for line in shown_commands(project / "README.md", "Check your changes")]
    assert sorted(readme_checks) == sorted(checks[1:]), "the README's checks are the page's, without the formatter"
    for command in checks:
        result = run(["bash", "-ec", command], project, env, timeout=900)
    for added in ("tool: shout", "resource: build-info", "prompt: outline"):
        assert added in result.stdout, f"the new item's own test ran: {added}"
    assert_own_suite_passes(result)


def test_the_docs_key_file_recipe_makes_an_owner_only_file_the_server_reads(build_project, bake_cached, tmp_path):
    """The key-file line of the generated docs (docker run, Kubernetes), run as shown: the file is
    owner-only (the server refuses any other), and the built server serves with it."""
    project, env = build_project(**DEFAULTS)
    kubernetes = bake_cached(**{**DEFAULTS, "kubernetes": True, "auth_mode": "api_key"})
    pages = [project / "docs/docker.md", kubernetes / "docs/kubernetes.md"]
    recipes = {
        shown_line(page, "(umask 077 && mkdir -p secrets && openssl rand").split("#")[0].strip() for page in pages
    }
    assert len(recipes) == 1 and all("> secrets/api-keys" in recipe for recipe in recipes), recipes
    for recipe in recipes:
        folder = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        subprocess.run(["bash", "-c", f"umask 022; {recipe}"], cwd=folder, check=True)
        key_file = folder / "secrets" / "api-keys"
        assert key_file.stat().st_mode & 0o777 == 0o600, oct(key_file.stat().st_mode)
        key = key_file.read_text().strip()
        with ServerProcess(project, env, {"AUTH_MODE": "api_key", "AUTH_API_KEYS_FILE": str(key_file)}) as server:
            assert run_session(f"{server.base_url}/mcp", key).tool_names == EXAMPLE_TOOLS


def _listening_addresses(port: int) -> set[str]:
    """The IPv4/IPv6 addresses a local socket listens on for `port`, read from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_npm_run_dev_listens_on_loopback_only_and_takes_the_readme_token(build_project, tmp_path):
    """`npm run dev` as the README runs it (.env.development: this project's dev_ credentials,
    HOST=127.0.0.1), with the port changed the README's way, in `PORT` of .env.development
    only: it listens there on 127.0.0.1 only, the README's `NODE_ENV=development npm run -s token`
    credential (its audience follows PORT) opens an MCP session, and the README's curl lines answer
    as their comments say."""
    if not Path("/proc/net/tcp").is_file():
        pytest.skip("no /proc/net/tcp to read the listening address from (not Linux)")
    built, env = build_project(**DEFAULTS)
    project = copy_project(built, tmp_path / built.name)
    port = free_port()
    settings = project / ".env.development"
    text = settings.read_text(encoding="utf-8")
    changed = re.sub(r"^PORT=\d+$", f"PORT={port}", text, count=1, flags=re.MULTILINE)
    assert changed != text, "the README's one line to change, PORT=, is in .env.development"
    settings.write_text(changed, encoding="utf-8")
    shell = {k: v for k, v in env.items() if k not in ("NODE_ENV", "PORT", "PUBLIC_URL") and not k.startswith("AUTH_")}
    first, dev_command = (line.split("#")[0].strip() for line in shown_commands(project / "README.md", "Run locally"))
    assert (first, dev_command) == ("npm ci", "npm run dev"), "build_project ran the first; this test runs the second"
    dev = subprocess.Popen(
        ["bash", "-c", f"exec {dev_command}"], cwd=project, env=shell,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_health(f"http://127.0.0.1:{port}/health", dev, timeout=60)
        assert _listening_addresses(port) == {"0100007F"}, "the development server must listen on 127.0.0.1 only"
        # The public origin follows PORT (what clients are told the resource is, the token audience).
        metadata_url = f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
        with urllib.request.urlopen(metadata_url, timeout=30) as response:
            assert json.load(response)["resource"] == f"http://localhost:{port}/mcp"
        token = run([*NPM, "run", "-s", "token"], project, {**shell, "NODE_ENV": "development"}).stdout.strip()
        # Every example tool but server_status, which needs mcp:admin (the development token has mcp:tools).
        assert run_session(f"http://127.0.0.1:{port}/mcp", token).tool_names == EXAMPLE_TOOLS
        # The README's curl lines, each as written but for the port.
        lines = shown_commands(project / "README.md", "Call it")
        documented = f"localhost:{COOKIECUTTER_JSON['port']}/"
        health, refused, initialize = (
            run(["bash", "-c", line.replace(documented, f"localhost:{port}/")], project, shell).stdout for line in lines
        )
        assert json.loads(health) == {"status": "ok"}
        assert refused.startswith("HTTP/1.1 401"), refused
        assert re.search(r"^www-authenticate: Bearer ", refused, re.IGNORECASE | re.MULTILINE), refused
        assert '"serverInfo"' in initialize and '"error"' not in initialize, initialize
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        dev.wait(timeout=30)
