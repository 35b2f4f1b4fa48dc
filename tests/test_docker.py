"""The Docker promises, proven on a real engine (marker: docker).

For a covering set of bookworm-slim variants (both bundlers, each init system, security
scanning on and off), the production image built from the generated files unchanged:
- runs read-only, without capabilities, with no-new-privileges, as a non-root uid;
- reaches `healthy` through its own HEALTHCHECK command;
- serves an authenticated MCP session (RS256 tokens from a JWKS on loopback) to an independent
  client and refuses unauthenticated and wrongly signed calls with 401;
- exits 0 within 10 s of SIGTERM;
- holds no TypeScript sources, tests, .env files, .npmrc, npm cache or devDependencies
  (and, for esbuild, no node_modules and no npm at all);
- rebuilt after a source-only change, reuses the dependency-install layers (CACHED in the log).
Plus the development compose service (reload on change under the bind mount), the generated
scripts/test-docker.sh, and alpine/distroless wherever their official images can be pulled.

Base images: the official ones where a registry is reachable; otherwise offline stand-ins built
by tests/support/build_standin_images.sh (tagged standin.local/...). Only --build-arg
BUILD_IMAGE/RUNTIME_IMAGE/DEV_IMAGE differ from a user's build. Where the daemon has no bridge
network, builds and containers use the host network, each container on its own free port.
The images check health every 15 s; the tests pass `--health-interval 1s` (timing only: the
check is the image's own command), since Docker 20.10 has no --start-interval.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

from support.bake import bake
from support.docker_engine import Engine, bookworm_base_images, find_engine
from support.mcp_client import post_initialize, run_session
from support.server_process import free_port
from support.tokens import JwksIssuer

pytestmark = pytest.mark.docker

NODE_VERSION = "24"
# Each init system, both bundlers, security scanning on and off: 3 builds.
VARIANTS = [
    {"bundler": "tsc", "init_system": "dumb-init", "security_scanning": True},
    {"bundler": "esbuild", "init_system": "tini", "security_scanning": False},
    {"bundler": "esbuild", "init_system": "none", "security_scanning": True},
]
DEV_DEPENDENCIES = ("typescript", "esbuild", "tsx", "@modelcontextprotocol/client")
DEV_SCOPES = ("@types/", "@biomejs/", "@esbuild/", "@typescript/")
HARDENED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]


def variant_id(answers: dict) -> str:
    scan = "scan" if answers["security_scanning"] else "noscan"
    return f"{answers['bundler']}-{answers['init_system']}-{scan}"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def engine():
    found, reason = find_engine()
    if found is None:
        print(f"SKIP docker tier: {reason}")
        pytest.skip(reason)
    yield found
    found.cleanup()


@pytest.fixture(scope="session")
def secret_args() -> list[str]:
    """The optional CA build secret, for machines behind a TLS-intercepting proxy.

    The system CA bundle is harmless as an *extra* CA anywhere, so it is always passed when present.
    """
    for candidate in (os.environ.get("NODE_EXTRA_CA_CERTS"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return ["--secret", f"id=ca,src={candidate}"]
    return []


@pytest.fixture(scope="session")
def base_args(engine) -> dict[str, str]:
    args, note = bookworm_base_images(engine, NODE_VERSION)
    print(f"base images: {note}: {args}")
    return args


@pytest.fixture(scope="session")
def baked(tmp_path_factory):
    cache: dict[str, Path] = {}

    def _bake(**answers) -> Path:
        key = json.dumps(answers, sort_keys=True)
        if key not in cache:
            answers = {"base_image": "bookworm-slim", "node_version": NODE_VERSION, **answers}
            cache[key] = bake(tmp_path_factory.mktemp("docker-bake"), **answers)
        return cache[key]

    return _bake


@pytest.fixture(scope="module", params=VARIANTS, ids=variant_id)
def built(request, engine, base_args, secret_args, baked):
    """(answers, project folder, image tag, build log, seconds) for one production variant."""
    answers = request.param
    project = baked(**answers)
    start = time.monotonic()
    tag, log = engine.build(project, build_args=base_args, extra=secret_args)
    seconds = time.monotonic() - start
    print(f"built {variant_id(answers)} in {seconds:.0f} s")
    return answers, project, tag, log, seconds


# ---------------------------------------------------------------- helpers


def run_hardened(engine: Engine, image: str, port: int, env: dict[str, str]) -> str:
    """Start the image as production would, listening on `port`; returns the container id."""
    env = {"PORT": str(port), "PUBLIC_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "warn", **env}
    # With a bridge network, publish the port on loopback (container and host port equal).
    publish = [] if engine.network == "host" else ["--publish", f"127.0.0.1:{port}:{port}"]
    return engine.run(image, *HARDENED, "--health-interval", "1s", "--health-start-period", "30s", *publish, env=env)


def assert_serves_mcp_with_jwt(engine: Engine, image: str) -> None:
    port = free_port()
    audience = f"http://127.0.0.1:{port}/mcp"
    with JwksIssuer() as issuer:
        env = {
            "AUTH_MODE": "jwt",
            "AUTH_JWKS_URL": issuer.jwks_url,
            "AUTH_ISSUER": issuer.issuer,
            "AUTH_AUDIENCE": audience,
        }
        cid = run_hardened(engine, image, port, env)
        waited = engine.wait_healthy(cid)
        print(f"{image}: healthy after {waited:.1f} s")

        config = engine.inspect(image)["Config"]
        uid = config["User"].split(":")[0]
        assert uid.isdigit() and uid != "0", f"USER must be a numeric non-root uid, is {config['User']!r}"
        live_uid = engine.cmd("exec", cid, "node", "-e", "process.stdout.write(String(process.getuid()))").stdout
        assert live_uid == uid

        url = f"http://127.0.0.1:{port}/mcp"
        token = issuer.mint(sub="docker-alice", aud=audience, scopes=["mcp:tools"])
        session = run_session(url, token, echo="hello from the container")
        assert session.echo_text == "hello from the container"
        assert "docker-alice" in json.dumps(session.whoami)

        anonymous = post_initialize(url)
        assert anonymous.status == 401, anonymous
        challenge = {k.lower(): v for k, v in anonymous.headers.items()}.get("www-authenticate", "")
        assert challenge.startswith("Bearer"), anonymous.headers
        forged = post_initialize(url, {"Authorization": f"Bearer {issuer.mint(aud=audience, foreign=True)}"})
        assert forged.status == 401, forged
        assert issuer.requests >= 1, "the server never fetched the JWKS"

        code, seconds = engine.stop_with_sigterm(cid, timeout=10)
        print(f"{image}: exit {code} {seconds:.2f} s after SIGTERM")
        assert code == 0, engine.logs(cid)


def image_files(engine: Engine, image: str) -> tuple[dict[str, tarfile.TarInfo], dict[str, bytes]]:
    """Every path in the image's filesystem (from `docker export` of a created container),
    and the content of the source maps under /app."""
    cid = engine.cmd("create", image).stdout.strip()
    engine.containers.append(cid)
    proc = subprocess.Popen([engine.docker, "export", cid], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    files, maps = {}, {}
    with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
        for member in archive:
            path = "/" + member.name.lstrip("./")
            files[path] = member
            if path.startswith("/app/dist/") and path.endswith(".map") and member.isfile():
                maps[path] = archive.extractfile(member).read()
    proc.wait()
    return files, maps


def installed_packages(paths: set[str]) -> set[str]:
    """Package names (scoped ones as @scope/name) installed anywhere under /app/node_modules, nested too."""
    names = set()
    for path in paths:
        parts = path.split("/")
        for i, part in enumerate(parts[:-1]):
            if part == "node_modules" and i + 1 < len(parts) - 1:
                scoped = parts[i + 1].startswith("@") and i + 2 < len(parts) - 1
                names.add("/".join(parts[i + 1 : i + 3]) if scoped else parts[i + 1])
    return names


def npm_step_ids(log: str) -> dict[str, str]:
    """BuildKit plain-progress step id -> the step's title, for the `npm ci` steps."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^#(\d+) \[([^\]]+)\] RUN .*npm ci", log, re.M)}


# ---------------------------------------------------------------- production image


def test_runs_hardened_healthy_and_serves_authenticated_mcp(engine, built):
    _answers, _project, tag, _log, _seconds = built
    assert_serves_mcp_with_jwt(engine, tag)


def test_image_holds_only_what_runs(engine, built, base_args):
    answers, _project, tag, _log, _seconds = built
    files, maps = image_files(engine, tag)
    app = {path for path in files if path.startswith("/app/")}
    assert "/app/dist/index.js" in app and "/app/dist/healthcheck.js" in app and "/app/package.json" in app
    outside_modules = {p for p in app if not p.startswith("/app/node_modules/")}
    assert not [p for p in outside_modules if p.endswith((".ts", ".mts", ".cts")) and not p.endswith(".d.ts")]
    assert not [p for p in app if p.startswith(("/app/src/", "/app/test/", "/app/tests/"))]
    for path, content in maps.items():
        # A source map may point at the sources, but must not carry them (esbuild: sourcesContent: false).
        source_map = json.loads(content)
        embedded = [
            name
            for name, text in zip(source_map.get("sources", []), source_map.get("sourcesContent") or [], strict=False)
            if text and name.endswith(".ts")
        ]
        assert not embedded, f"{path} embeds TypeScript sources: {embedded[:5]}"
    assert not [p for p in files if re.search(r"/\.env(\.|$)", p)], "an .env file is in the image"
    assert not [p for p in files if p.endswith("/.npmrc")], "an .npmrc is in the image"
    assert not [p for p in files if re.search(r"/\.npm/(_cacache|_logs)", p)], "an npm cache is in the image"
    assert not [p for p in files if "/run/secrets/" in p]
    modules = installed_packages(app)
    dev_in_image = [m for m in modules if m in DEV_DEPENDENCIES or m.startswith(DEV_SCOPES)]
    assert not dev_in_image, f"devDependencies in the image: {dev_in_image}"
    if answers["bundler"] == "esbuild":
        assert not modules, "esbuild bundles: the image needs no node_modules"
    else:
        assert "zod" in modules and "pino" in modules
    writable = [p for p in app if not files[p].issym() and (files[p].uid != 0 or files[p].mode & 0o022)]
    assert not writable, f"the code must stay root-owned and read-only to the server: {writable[:5]}"
    # No package manager at run time (bookworm-slim: plain Debian plus the node binary).
    assert "/usr/local/bin/node" in files
    assert not [p for p in files if p in ("/usr/local/bin/npm", "/usr/local/bin/npx", "/usr/local/bin/corepack")]
    assert not [p for p in files if p.startswith("/usr/local/lib/node_modules/npm/")]
    init = answers["init_system"]
    if init != "none":
        assert f"/usr/bin/{init}" in files
    config = engine.inspect(tag)["Config"]
    assert config["Env"] and "NODE_ENV=production" in config["Env"]
    assert config["Cmd"] == ["node", "dist/index.js"]
    assert config["Entrypoint"] == ([init, "--"] if init != "none" else None)
    assert config["Healthcheck"]["Test"] == ["CMD", "node", "dist/healthcheck.js"]
    assert "8080/tcp" in config["ExposedPorts"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.base.name"] == base_args["RUNTIME_IMAGE"]
    for key in ("version", "revision", "created", "source"):
        assert f"org.opencontainers.image.{key}" in labels


def test_source_change_reuses_dependency_layers(engine, built, base_args, secret_args):
    _answers, project, _tag, _log, _seconds = built
    tool = project / "src" / "tools" / "echo.ts"
    original = tool.read_text(encoding="utf-8")
    try:
        tool.write_text(original + f"\n// source-only change {uuid.uuid4().hex}\n", encoding="utf-8")
        start = time.monotonic()
        _tag2, log = engine.build(project, build_args=base_args, extra=secret_args)
        seconds = time.monotonic() - start
    finally:
        tool.write_text(original, encoding="utf-8")
    steps = npm_step_ids(log)
    assert steps, f"no `npm ci` step found in the build log:\n{log[-4000:]}"
    for step_id, title in steps.items():
        assert re.search(rf"^#{step_id} CACHED$", log, re.M), f"[{title}] npm ci ran again:\n{log[-6000:]}"
    build_step = re.search(r"^#(\d+) \[build [^\]]+\] RUN npm run build", log, re.M)
    assert build_step and not re.search(rf"^#{build_step.group(1)} CACHED$", log, re.M), "the change was not built"
    print(f"rebuild after a source-only change: {seconds:.1f} s")


# ---------------------------------------------------------------- scripts/test-docker.sh


def test_generated_test_docker_script_passes(engine, base_args, secret_args, baked):
    project = baked(**VARIANTS[0])
    tag = f"mcp-template-test/script-{uuid.uuid4().hex[:8]}:test"
    engine.images.append(tag)
    build_args = " ".join(f"--build-arg {key}={value}" for key, value in base_args.items())
    env = {
        **os.environ,
        "DOCKER": engine.docker,
        "IMAGE": tag,
        "TEST_PORT": str(free_port()),
        "BUILD_ARGS": " ".join([build_args, *secret_args]),
    }
    if engine.network:
        env["DOCKER_NETWORK"] = engine.network
    result = subprocess.run(
        ["bash", "scripts/test-docker.sh"], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-8000:]
    assert "PASS:" in result.stderr


# ---------------------------------------------------------------- development compose service


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_development_compose_reloads_on_source_change(engine, base_args, secret_args, baked, tmp_path):
    compose = compose_command()
    if compose is None:
        print("SKIP: docker-compose is not installed")
        pytest.skip("docker-compose is not installed")
    project = baked(**VARIANTS[0])
    # Compose 1.x cannot pass build secrets: build the dev image with the CLI (same Dockerfile,
    # same tag as docker-compose.yml) and let compose run it.
    tag = f"{project.name}:dev"
    engine.build(
        project,
        dockerfile="Dockerfile.development",
        build_args={"DEV_IMAGE": base_args["BUILD_IMAGE"]},
        tag=tag,
        extra=secret_args,
    )
    port = free_port()
    api_key = f"dev-{uuid.uuid4().hex}"
    # The generated file, with test settings merged into the service. Where the daemon has no
    # bridge, `ports:` becomes `network_mode: host` (compose 1.x cannot unset a list in an
    # override file, so the variant is written as one file next to the original).
    spec = yaml.safe_load((project / "docker-compose.yml").read_text(encoding="utf-8"))
    service = spec["services"]["dev"]
    service["environment"].update(
        {"PORT": str(port), "PUBLIC_URL": f"http://127.0.0.1:{port}", "AUTH_MODE": "api_key", "AUTH_API_KEYS": api_key}
    )
    if engine.network == "host":
        service.pop("ports")
        service["network_mode"] = "host"
    compose_file = project / f"docker-compose.test-{uuid.uuid4().hex[:8]}.yml"
    compose_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    name = f"mcpdev{uuid.uuid4().hex[:8]}"
    base = [*compose, "--project-name", name, "--file", str(compose_file)]
    env = {**os.environ, "PORT": str(port)}
    tool = project / "src" / "tools" / "echo.ts"
    original = tool.read_text(encoding="utf-8")

    def compose_run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*base, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300)
        if check:
            assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        return result

    url = f"http://127.0.0.1:{port}/mcp"
    try:
        compose_run("up", "--detach", "--no-build")
        cid = compose_run("ps", "--quiet", "dev").stdout.strip()
        assert cid
        state = engine.inspect(cid)
        host_config = state["HostConfig"]
        assert host_config["ReadonlyRootfs"] and host_config["Init"] and "ALL" in host_config["CapDrop"]
        engine.wait_healthy(cid, timeout=90)
        assert run_session(url, api_key, echo="before").echo_text == "before"

        marker = "reloaded:"
        edited = original.replace('[{ type: "text", text }]', f'[{{ type: "text", text: "{marker}" + text }}]')
        assert edited != original, "the echo tool's source changed shape; update this test"
        tool.write_text(edited, encoding="utf-8")
        deadline = time.monotonic() + 60
        answer = ""
        while time.monotonic() < deadline:
            try:
                answer = run_session(url, api_key, echo="after").echo_text
            except Exception as exc:  # the server is restarting  # noqa: BLE001
                answer = repr(exc)
            if answer == marker + "after":
                break
            time.sleep(1)
        assert answer == marker + "after", f"no reload: {answer}\n{engine.logs(cid)}"
        assert engine.inspect(cid)["RestartCount"] == 0
    finally:
        tool.write_text(original, encoding="utf-8")
        compose_run("down", "--volumes", "--timeout", "10", check=False)
        compose_file.unlink()


# ---------------------------------------------------------------- other base images


@pytest.mark.parametrize(
    "base_image,official",
    [
        ("alpine", [f"node:{NODE_VERSION}-alpine"]),
        ("distroless", [f"node:{NODE_VERSION}-bookworm-slim", "gcr.io/distroless/cc-debian12:nonroot"]),
    ],
)
def test_other_bases_where_official_images_can_be_pulled(engine, secret_args, baked, base_image, official):
    reasons = [reason for reason in (engine.try_pull(ref) for ref in official) if reason]
    if reasons:
        message = f"{base_image}: official base image not available here ({'; '.join(reasons)})"
        print(f"SKIP {message}")
        pytest.skip(message)
    project = baked(base_image=base_image, bundler="esbuild", init_system="tini", security_scanning=True)
    tag, _log = engine.build(project, extra=secret_args)
    assert_serves_mcp_with_jwt(engine, tag)


def test_distroless_dockerfile_on_a_debian_standin_runtime(engine, base_args, secret_args, baked):
    """An approximation where gcr.io is unreachable: the distroless Dockerfile's own lines (init
    binary copied from a Debian stage, uid 65532, node copied onto a glibc base) built on the
    Debian stand-in instead of distroless/cc (which has glibc and libstdc++ too, but no shell)."""
    project = baked(base_image="distroless", bundler="tsc", init_system="tini", security_scanning=False)
    tag, _log = engine.build(project, build_args=base_args, extra=secret_args)
    config = engine.inspect(tag)["Config"]
    assert config["User"] == "65532:65532" and config["Entrypoint"] == ["tini", "--"]
    assert_serves_mcp_with_jwt(engine, tag)


def test_build_context_carries_no_secret_at_any_depth(engine, baked, tmp_path):
    """What the engine actually receives: nested .env, .npmrc and key files never reach it."""
    project = baked(**VARIANTS[0])
    context = tmp_path / "context"
    shutil.copytree(project, context)
    planted = ["src/.env", "config/.env.production", "config/.npmrc", "certs/tls.key", "certs/server.pem",
               "deploy/secrets/token.txt", ".env", ".env.local"]  # fmt: skip
    for relative in planted:
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        (context / relative).write_text("secret\n")
    (context / "config" / ".env.example").write_text("DOCUMENTED=1\n")
    dockerfile = tmp_path / "Dockerfile.context"
    dockerfile.write_text("FROM scratch\nCOPY . /\n")
    received = tmp_path / "received"
    engine.cmd("build", "--file", str(dockerfile), "--output", f"type=local,dest={received}", str(context))
    sent = {str(p.relative_to(received)) for p in received.rglob("*") if p.is_file()}
    assert not sorted(set(planted) & sent), "secrets reached the build context"
    assert {"package.json", "package-lock.json", "tsconfig.json", "src/index.ts", "config/.env.example"} <= sent
