"""The Docker promises, proven on a real engine (marker: docker).

Every base family x every Node line (the matrix): the production image of each variant that
can be built here (the Debian slim suites and distroless, from stand-ins where no registry is
reachable; alpine only where its official image can be pulled, else skipped with the reason)
is built (in parallel, sharing stages) and run hardened: read-only, no capabilities,
no-new-privileges, a numeric non-root uid; healthy by its own HEALTHCHECK, /health 200, an
authenticated MCP session. Each image's size and its overhead above its floor (the runtime
base + node + the libraries node needs) is printed; an esbuild image's overhead is at most 3 MB.
A Node 26 image whose libraries were dropped fails to build (the runtime's `node --version`).

For a covering set of variants on the default base (both bundlers, each init system, security
scanning on and off), the production image built from the generated files unchanged also:
- serves an authenticated MCP session (RS256 tokens from a JWKS on loopback) to an independent
  client and refuses unauthenticated and wrongly signed calls with 401;
- exits 0 within 10 s of SIGTERM;
- holds no TypeScript sources, tests, .env files, .npmrc, npm cache or devDependencies
  (and, for esbuild, no node_modules and no npm at all);
- rebuilt after a source-only change, reuses the dependency-install layers (CACHED in the log).
Plus the development compose service (built by docker-compose 1.29 with BuildKit as the generated
README says, refused by its legacy builder; reload on change under the bind mount) and the
generated scripts/test-docker.sh.

Base images: the official ones where a registry is reachable; otherwise offline stand-ins built
by tests/support/build_standin_images.sh (tagged standin.local/...). Only --build-arg
BUILD_IMAGE/RUNTIME_IMAGE/DEV_IMAGE differ from a user's build. Where the daemon has no bridge
network, builds and containers use the host network, each container on its own free port.
The images check health every 15 s; the tests pass `--health-interval 1s` (timing only: the
check is the image's own command), since Docker 20.10 has no --start-interval.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import time
import urllib.request
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from support.bake import bake
from support.docker_engine import STANDIN_PREFIX, Engine, base_images
from support.docs import shown_commands, shown_line
from support.mcp_client import post_initialize, run_session
from support.node_toolchain import NPM, node_env
from support.server_process import free_port
from support.template import TEMPLATE_DIR
from support.tokens import JwksIssuer
from variants import BASE_FAMILIES, COOKIECUTTER_JSON, OPTIONS

pytestmark = pytest.mark.docker

# The detailed checks run on this base and Node line (passed explicitly: tests never assume a default).
BASE_IMAGE = "trixie-slim"
NODE_VERSION = "26"
# Each init system, both bundlers, security scanning on and off: 3 builds.
VARIANTS = [
    {"bundler": "tsc", "init_system": "dumb-init", "security_scanning": True},
    {"bundler": "esbuild", "init_system": "tini", "security_scanning": False},
    {"bundler": "esbuild", "init_system": "none", "security_scanning": True},
]
DEV_DEPENDENCIES = ("typescript", "esbuild", "tsx", "@modelcontextprotocol/client", "oidc-provider")
DEV_SCOPES = ("@types/", "@biomejs/", "@esbuild/", "@typescript/")
HARDENED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
# The esbuild image adds the bundle, package.json and the init to its floor, and nothing else.
ESBUILD_OVERHEAD_LIMIT = 3_000_000
# Parallel matrix builds: two keep both cores busy (one build's npm/esbuild steps, the other's
# layer export) without starving the containers the tests run meanwhile.
MATRIX_JOBS = int(os.environ.get("MCP_TEMPLATE_BUILD_JOBS", "2"))


def variant_id(answers: dict) -> str:
    scan = "scan" if answers["security_scanning"] else "noscan"
    return f"{answers['bundler']}-{answers['init_system']}-{scan}"


def matrix_cells() -> list[dict]:
    """Every Node line x every base family: esbuild (the overhead the size budget is about),
    no OS upgrades (they add whatever fixes were published since the base was built), and the
    init systems in turn, so each base also runs with each init."""
    inits = itertools.cycle(OPTIONS["init_system"])
    return [
        {
            "base_image": base,
            "node_version": node,
            "bundler": "esbuild",
            "init_system": next(inits),
            "security_scanning": False,
        }
        for node in OPTIONS["node_version"]
        for base in OPTIONS["base_image"]
    ]


def cell_id(answers: dict) -> str:
    return f"{answers['base_image']}-node{answers['node_version']}-{answers['init_system']}"


# ---------------------------------------------------------------- fixtures


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
    args, note = base_images(engine, BASE_IMAGE, NODE_VERSION)
    if args is None:
        pytest.skip(f"{BASE_IMAGE} node {NODE_VERSION}: {note}")
    print(f"base images: {note}: {args}")
    return args


@pytest.fixture(scope="session")
def baked(tmp_path_factory):
    cache: dict[str, Path] = {}

    def _bake(**answers) -> Path:
        answers = {"base_image": BASE_IMAGE, "node_version": NODE_VERSION, **answers}
        key = json.dumps(answers, sort_keys=True)
        if key not in cache:
            cache[key] = bake(tmp_path_factory.mktemp("docker-bake"), **answers)
        return cache[key]

    return _bake


@pytest.fixture(scope="module", params=VARIANTS, ids=variant_id)
def built(request, engine, base_args, secret_args, baked, size_report):
    """(answers, project folder, image tag, build log, seconds) for one production variant."""
    answers = request.param
    project = baked(**answers)
    start = time.monotonic()
    tag, log = engine.build(project, build_args=base_args, extra=secret_args)
    seconds = time.monotonic() - start
    print(f"built {variant_id(answers)} in {seconds:.0f} s")
    # Printed, not asserted: tsc ships node_modules, and OS upgrades add whatever was published.
    size, floor = image_size(engine, tag), floor_size(engine, tag, base_args["RUNTIME_IMAGE"])
    size_report.append((f"{BASE_IMAGE}-node{NODE_VERSION}-{variant_id(answers)}", size, floor, size - floor))
    return answers, project, tag, log, seconds


@dataclass
class MatrixBuild:
    answers: dict
    base_args: dict[str, str] | None
    note: str
    build: Future | None  # -> (tag, log, seconds)


def selected_cells(session: pytest.Session) -> set[str]:
    """The matrix cells whose test this run collected (after -k, -m and deselection)."""
    return {
        item.callspec.params["key"]
        for item in session.items
        if getattr(item, "originalname", "") == "test_every_base_and_node_line_builds_and_runs_hardened"
    }


@pytest.fixture(scope="session")
def matrix(request, engine, secret_args, baked) -> dict[str, MatrixBuild]:
    """Every selected matrix cell, its build started in the background (MATRIX_JOBS at a time).
    Only the selected ones: `-k distroless-node26` neither waits for the other cells' builds
    nor makes their stand-ins.

    Cells are queued Node line by Node line, so the cells that share a build image (trixie-slim
    and distroless) reuse each other's cached `deps` and `build` stages.
    """
    selected = selected_cells(request.session)
    cells: dict[str, MatrixBuild] = {}
    for answers in (answers for answers in matrix_cells() if cell_id(answers) in selected):
        args, note = base_images(engine, answers["base_image"], answers["node_version"])
        cells[cell_id(answers)] = MatrixBuild(answers, args, note, None)
    # Bake first, one at a time (cookiecutter changes the working directory while it runs).
    projects = {key: baked(**cell.answers) for key, cell in cells.items() if cell.base_args is not None}
    pool = ThreadPoolExecutor(max_workers=MATRIX_JOBS, thread_name_prefix="matrix-build")

    def build(key: str) -> tuple[str, str, float]:
        start = time.monotonic()
        tag, log = engine.build(projects[key], build_args=cells[key].base_args, extra=secret_args)
        return tag, log, time.monotonic() - start

    for key in projects:
        cells[key].build = pool.submit(build, key)
    yield cells
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def size_report(request):
    """Rows of (variant, image size, floor, overhead), printed as a table at the end of the tier."""
    rows: list[tuple[str, int, int, int]] = []
    yield rows
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if not rows or reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():  # the table is for the reader, not captured output
        reporter.write_sep("-", "runtime image sizes (MB = 10^6 bytes)")
        reporter.write_line(f"{'variant':40} {'image':>8} {'floor':>8} {'overhead':>9}")
        for name, size, floor, overhead in sorted(rows):
            reporter.write_line(f"{name:40} {size / 1e6:8.1f} {floor / 1e6:8.1f} {overhead / 1e6:9.2f}")


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
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:  # noqa: S310
            assert response.status == 200

        config = engine.inspect(image)["Config"]
        uid = config["User"].split(":")[0]
        assert uid.isdigit() and uid != "0", f"USER must be a numeric non-root uid, is {config['User']!r}"
        assert int(uid) >= 10000, f"uid {uid}: at or above 10000, so it is no host account's uid"
        live_uid = engine.cmd("exec", cid, "node", "-e", "process.stdout.write(String(process.getuid()))").stdout
        assert live_uid == uid
        # PID 1 is the image's init (which forwards SIGTERM, checked below), or node itself without one.
        read_pid1 = "process.stdout.write(require('fs').readFileSync('/proc/1/cmdline', 'latin1'))"
        pid1 = engine.cmd("exec", cid, "node", "-e", read_pid1).stdout.split("\0")
        init = (config["Entrypoint"] or [None])[0]
        expected_pid1 = ["node", "dist/index.js"] if init is None else [init, "--"]
        assert pid1[:2] == expected_pid1, f"PID 1 is {pid1}, entrypoint {config['Entrypoint']}"

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
    # A command of its own: the container is never started, and a base image may have no CMD.
    cid = engine.cmd("create", image, "/never-started").stdout.strip()
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


# ---------------------------------------------------------------- every base x every Node line


def image_size(engine: Engine, ref: str) -> int:
    return int(engine.inspect(ref)["Size"])


def floor_size(engine: Engine, image: str, runtime_image: str) -> int:
    """The runtime base plus node and the libraries node needs (the `COPY /staging/ /` layer of
    node-files; on alpine node is part of the base)."""
    history = engine.cmd("history", "--human=false", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", image)
    node_layers = 0
    for line in history.stdout.splitlines():
        size, _, created_by = line.partition("\t")
        if created_by.startswith("COPY /staging/ / "):
            node_layers += int(size)
    return image_size(engine, runtime_image) + node_layers


@pytest.mark.parametrize("key", [cell_id(answers) for answers in matrix_cells()])
def test_every_base_and_node_line_builds_and_runs_hardened(engine, matrix, size_report, key):
    cell = matrix[key]
    if cell.build is None:
        message = f"{key}: static checks only here ({cell.note})"
        print(f"SKIP {message}")
        pytest.skip(message)
    tag, _log, seconds = cell.build.result()
    print(f"{key}: built in {seconds:.0f} s ({cell.note})")
    node = cell.answers["node_version"]
    version = engine.cmd("run", "--rm", *engine.network_args(), "--entrypoint", "/usr/local/bin/node", tag, "--version")
    assert version.stdout.startswith(f"v{node}."), f"{key} runs node {version.stdout.strip()}"
    assert_serves_mcp_with_jwt(engine, tag)
    assert_has_its_familys_user_shell_and_package_manager(engine, tag, BASE_FAMILIES[cell.answers["base_image"]])

    size = image_size(engine, tag)
    floor = floor_size(engine, tag, cell.base_args["RUNTIME_IMAGE"])
    overhead = size - floor
    size_report.append((key, size, floor, overhead))
    print(f"{key}: image {size / 1e6:.1f} MB, floor {floor / 1e6:.1f} MB, overhead {overhead / 1e6:.2f} MB")
    assert cell.answers["bundler"] == "esbuild"
    assert overhead <= ESBUILD_OVERHEAD_LIMIT, (
        f"{key}: {overhead / 1e6:.2f} MB above base + node + its libraries (limit {ESBUILD_OVERHEAD_LIMIT / 1e6} MB)"
    )


# The package managers a family's `package_manager` names, by the command each installs.
PACKAGE_MANAGER_COMMANDS = {"apt": "apt-get", "apk": "apk"}


def assert_has_its_familys_user_shell_and_package_manager(engine: Engine, image: str, family: dict) -> None:
    """The image runs as its family's uid, and has a shell and a package manager exactly where the
    family's entry says (cookiecutter.json's _base_families, which the Dockerfile is rendered from)."""
    assert engine.inspect(image)["Config"]["User"] == f"{family['uid']}:{family['uid']}"

    def runs(command: str, *args: str) -> bool:
        run = ["run", "--rm", *engine.network_args(), "--entrypoint", command, image, *args]
        return engine.cmd(*run, check=False).returncode == 0

    assert runs("/bin/sh", "-c", "true") == family["shell"], f"{image}: shell is {family['shell']} in its family"
    for manager, command in PACKAGE_MANAGER_COMMANDS.items():
        expected = family["package_manager"] == manager
        assert runs(command, "--version") == expected, f"{image}: {command} {'missing' if expected else 'present'}"


def test_build_fails_when_node_cannot_start_in_the_runtime(engine, secret_args, baked, tmp_path):
    """The guard behind the library copy: with the libraries the node-files stage found taken
    away again (what a hand-kept list that forgot one would do), the build itself fails at the
    runtime stage's `node --version`, naming the missing library, instead of the deployment."""
    answers = {"base_image": "distroless", "node_version": "26", "bundler": "esbuild", "init_system": "none"}
    args, note = base_images(engine, answers["base_image"], answers["node_version"])
    if args is None:
        pytest.skip(note)
    project = baked(**answers, security_scanning=False)
    dockerfile = (project / "Dockerfile.production").read_text(encoding="utf-8")
    found_libraries = "       done < /tmp/libraries\n"
    assert found_libraries in dockerfile, "the node-files stage changed shape; update this test"
    broken = tmp_path / "Dockerfile.libraries-dropped"
    broken.write_text(dockerfile.replace(found_libraries, found_libraries + "RUN rm -rf /staging/usr/lib\n"))
    build_args = [item for key, value in args.items() for item in ("--build-arg", f"{key}={value}")]
    result = engine.cmd(
        "build", "--progress", "plain", "--file", str(broken), *engine.network_args(), *build_args, *secret_args,
        str(project), check=False,
    )  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode != 0, "the image built although node cannot start in it"
    assert "libatomic.so.1" in log and "/usr/local/bin/node --version" in log, log[-3000:]


# ---------------------------------------------------------------- stand-ins

# What gcr.io/distroless/cc-debian13 is made of (distroless' static, base and cc config.bzl):
# the Debian packages unpacked into it (each with a /var/lib/dpkg/status.d entry), and the CA
# bundle alone (its cacerts rule generates ca-certificates.crt; the package itself is not shipped).
DISTROLESS_CC_DEBIAN13_PACKAGES = {
    "base-files", "netbase", "tzdata", "media-types",  # static
    "libc6", "libssl3t64", "libzstd1", "zlib1g",  # base
    "libgomp1", "libstdc++6", "libgcc-s1", "gcc-14-base",  # cc
}  # fmt: skip


def test_distroless_standin_is_made_of_what_distroless_cc_is(engine):
    """A stand-in smaller or more permissive than the real image makes the measured sizes and the
    runtime tests lie: the same packages, the CA bundle without the ca-certificates package, and
    the nonroot account, home and /tmp of distroless."""
    args, note = base_images(engine, "distroless", "26")
    if args is None:
        pytest.skip(note)
    image = args["RUNTIME_IMAGE"]
    if not image.startswith(STANDIN_PREFIX):
        pytest.skip(f"the official {image} is used here, not a stand-in")
    files, _maps = image_files(engine, image)
    status = {path.rsplit("/", 1)[1] for path in files if path.startswith("/var/lib/dpkg/status.d/")}
    expected = DISTROLESS_CC_DEBIAN13_PACKAGES
    assert status == expected, f"missing {sorted(expected - status)}, extra {sorted(status - expected)}"
    assert files["/etc/ssl/certs/ca-certificates.crt"].isfile()
    leftovers = [p for p in files if p.startswith(("/usr/share/ca-certificates/", "/etc/ca-certificates"))]
    assert not leftovers and "/usr/sbin/update-ca-certificates" not in files, leftovers[:5]
    # The family's uid is the image's own account (its _base_families entry: uid, uid_account).
    uid, account = BASE_FAMILIES["distroless"]["uid"], BASE_FAMILIES["distroless"]["uid_account"]
    home, tmp = files[f"/home/{account}"], files["/tmp"]
    assert (home.uid, home.gid, home.mode & 0o7777) == (uid, uid, 0o700)
    assert (tmp.uid, tmp.mode & 0o7777) == (0, 0o1777)
    config = engine.inspect(image)["Config"]
    assert (config["User"], config["WorkingDir"]) == (str(uid), f"/home/{account}")


# ---------------------------------------------------------------- production image


def test_runs_hardened_healthy_and_serves_authenticated_mcp(engine, built):
    _answers, _project, tag, _log, _seconds = built
    assert_serves_mcp_with_jwt(engine, tag)


def test_the_documented_hardened_run_serves_with_an_owner_only_key_file(engine, built, tmp_path):
    """docs/docker.md's key file and `docker run` lines, run as shown from a folder of their own
    (the image tag, the port and the network are the test's): the container reads the owner-only
    key file as the caller's uid, with a read-only root and no capabilities, and serves MCP with it."""
    _answers, project, tag, _log, _seconds = built
    page = project / "docs/docker.md"
    recipe = shown_line(page, "(umask 077 && mkdir -p secrets && openssl rand").split("#")[0]
    command = shown_line(page, "docker run --rm ")
    documented_port = COOKIECUTTER_JSON["port"]
    publish = f"-p {documented_port}:{documented_port}"
    image = f"{project.name}:latest"
    assert publish in command and command.endswith(f" {image}") and "--read-only" in command, command
    port = free_port()
    network = " ".join(engine.network_args())
    ours = command.replace("docker run --rm ", f"{shlex.quote(engine.docker)} run --detach --rm {network} ", 1)
    ours = ours.replace(publish, f"-p 127.0.0.1:{port}:{port} -e PORT={port} -e PUBLIC_URL=http://127.0.0.1:{port}")
    ours = ours[: -len(image)] + f"--health-interval 1s {tag}"
    subprocess.run(["bash", "-ec", recipe], cwd=tmp_path, check=True)
    key = (tmp_path / "secrets" / "api-keys").read_text(encoding="utf-8").strip()
    started = subprocess.run(["bash", "-ec", ours], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    cid = started.stdout.strip().splitlines()[-1]
    engine.containers.append(cid)
    engine.wait_healthy(cid)
    session = run_session(f"http://127.0.0.1:{port}/mcp", key, echo="from the documented run")
    assert session.echo_text == "from the documented run"
    assert (
        post_initialize(f"http://127.0.0.1:{port}/mcp", {"Authorization": "Bearer wrong-key-0123456789"}).status == 401
    )


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
    # No package manager at run time (Debian slim: plain Debian plus the node binary).
    assert "/usr/local/bin/node" in files
    assert not [p for p in files if p in ("/usr/local/bin/npm", "/usr/local/bin/npx", "/usr/local/bin/corepack")]
    assert not [p for p in files if p.startswith("/usr/local/lib/node_modules/npm/")]
    init = answers["init_system"]
    if init != "none":
        assert f"/usr/local/bin/{init}" in files
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


def test_release_bump_reuses_dependency_layers(engine, built, base_args, secret_args):
    """`npm version` changes only the project's own version: the installs stay cached, and the
    image carries the new package.json (the version the server reports)."""
    _answers, project, _tag, _log, _seconds = built
    originals = {name: (project / name).read_text(encoding="utf-8") for name in ("package.json", "package-lock.json")}
    try:
        for name, text in originals.items():  # what `npm version 9.9.9 --no-git-tag-version` writes
            manifest = json.loads(text)
            manifest["version"] = "9.9.9"
            if "packages" in manifest:
                manifest["packages"][""]["version"] = "9.9.9"
            (project / name).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tag, log = engine.build(project, build_args=base_args, extra=secret_args)
    finally:
        for name, text in originals.items():
            (project / name).write_text(text, encoding="utf-8")
    steps = npm_step_ids(log)
    assert steps, f"no `npm ci` step found in the build log:\n{log[-4000:]}"
    for step_id, title in steps.items():
        assert re.search(rf"^#{step_id} CACHED$", log, re.M), f"[{title}] npm ci ran again:\n{log[-6000:]}"
    shipped = engine.cmd(
        "run", "--rm", "--entrypoint", "/usr/local/bin/node", tag, "-p", "require('/app/package.json').version"
    ).stdout.strip()
    assert shipped == "9.9.9"


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
    # docs/docker.md's pair: the build script, and the test script, which builds with it and runs the image.
    shown = [
        line.split("#")[0].strip() for line in shown_commands(project / "docs/docker.md", "Build and test the image")
    ]
    assert shown == ["scripts/docker-build.sh", "scripts/test-docker.sh"], shown
    assert "scripts/docker-build.sh" in (project / "scripts/test-docker.sh").read_text(encoding="utf-8")
    result = subprocess.run(
        ["bash", "-ec", shown[1]], cwd=project, env=env, capture_output=True, text=True, timeout=900
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
    page = project / "docs/docker.md"
    # Compose 1.x cannot pass build secrets: docs/docker.md's CLI build of the dev image, run as
    # shown, with the test's CA and an empty npmrc for the placeholders and its base image and
    # network added; compose then runs that image ("up --no-build", below).
    build_line, up_line = (line.split("  #")[0].strip() for line in shown_commands(page, "Compose behind a proxy"))
    tag = f"{project.name}:dev"
    assert f"-f Dockerfile.development -t {tag} " in build_line, build_line
    assert (
        yaml.safe_load((project / "docker-compose.yml").read_text(encoding="utf-8"))["services"]["dev"]["image"] == tag
    )
    assert up_line == "docker compose up --no-build", up_line
    home = tmp_path / "home"
    home.mkdir()
    (home / ".npmrc").write_text("", encoding="utf-8")
    ca = secret_args[1].split("src=", 1)[1] if secret_args else str(home / ".npmrc")
    ours = build_line.replace("/path/to/corporate-ca.pem", ca).replace(
        "docker build ",
        f"docker build {' '.join(engine.network_args())} --build-arg DEV_IMAGE={base_args['BUILD_IMAGE']} ",
        1,
    )
    engine.images.append(tag)
    cli = {**os.environ, "HOME": str(home), "PATH": f"{Path(engine.docker).parent}:{os.environ.get('PATH', '')}"}
    built_dev = subprocess.run(
        ["bash", "-ec", ours], cwd=project, env=cli, capture_output=True, text=True, timeout=1500
    )
    assert built_dev.returncode == 0, built_dev.stdout[-4000:] + built_dev.stderr[-4000:]
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
    # The stand-in (or mirror) image the CLI build used, for compose's own build below.
    service["build"]["args"] = {"DEV_IMAGE": base_args["BUILD_IMAGE"]}
    if engine.network == "host":
        service.pop("ports")
        service["network_mode"] = "host"
        service["build"]["network"] = "host"
    compose_file = project / f"docker-compose.test-{uuid.uuid4().hex[:8]}.yml"
    compose_file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    name = f"mcpdev{uuid.uuid4().hex[:8]}"
    base = [*compose, "--project-name", name, "--file", str(compose_file)]
    # The engine's own client first on PATH: with COMPOSE_DOCKER_CLI_BUILD=1 compose runs `docker build`.
    env = {**os.environ, "PORT": str(port), "PATH": f"{Path(engine.docker).parent}:{os.environ.get('PATH', '')}"}
    tool = project / "src" / "tools" / "echo.ts"
    original = tool.read_text(encoding="utf-8")

    def compose_run(*args: str, check: bool = True, **extra_env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*base, *args], cwd=project, env={**env, **extra_env}, capture_output=True, text=True, timeout=300
        )
        if check:
            assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        return result

    url = f"http://127.0.0.1:{port}/mcp"
    try:
        # What docs/docker.md tells docker-compose 1.29 users: BuildKit through the docker CLI
        # (the layers come from the CLI build above). Without it, the legacy builder refuses RUN --mount.
        if compose_run("version", "--short").stdout.startswith("1."):
            legacy = compose_run("build", check=False, COMPOSE_DOCKER_CLI_BUILD="0", DOCKER_BUILDKIT="0")
            assert legacy.returncode != 0 and "requires BuildKit" in legacy.stdout + legacy.stderr, legacy.stderr
        # ...and docs/docker.md's line for it, its variables as shown.
        plugin, legacy_line = (
            line.split("  #")[0].strip() for line in shown_commands(page, "Development with Compose")
        )
        assert plugin == "docker compose up --build" and legacy_line.endswith(" docker-compose up --build"), legacy_line
        variables = dict(word.split("=", 1) for word in legacy_line.split() if "=" in word)
        assert variables == {"COMPOSE_DOCKER_CLI_BUILD": "1", "DOCKER_BUILDKIT": "1"}, variables
        compose_run("build", **variables)
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


def test_build_context_carries_no_secret_at_any_depth(engine, baked, tmp_path):
    """What the engine actually receives: nested .env, .npmrc and key files never reach it."""
    project = baked(**VARIANTS[0])
    context = tmp_path / "context"
    shutil.copytree(project, context)
    planted = ["src/.env", "config/.env.production", "config/.npmrc", "certs/tls.key", "certs/server.pem",
               "deploy/secrets/token.txt", ".env", ".env.local",
               # other tools' credential stores (test_supply_chain checks both ignore files name them)
               ".netrc", "home/.git-credentials", "keys/release.p12", "keys/release.pfx", "keys/store.jks",
               ".aws/credentials", "home/.docker/config.json", "gcp/ci-service-account-key.json",
               "home/.config/gcloud/application_default_credentials.json"]  # fmt: skip
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


# ---------------------------------------------------------------- install scripts and the registry credential

PROBE = "install-script-probe"
# What the probe's install script writes: whether the npmrc secret was readable when it ran.
PROBE_SCRIPT = (
    "node -e \"require('fs').writeFileSync('ran.txt', "
    "require('fs').existsSync('/root/.npmrc') ? 'credential visible' : 'credential absent')\""
)


def test_dependency_install_scripts_run_without_the_registry_credential(engine, base_args, secret_args, tmp_path):
    """A dependency with an install script, built with an npmrc secret: the script runs (npm rebuild),
    and the credential is not mounted when it does (npm ci ran with --ignore-scripts)."""
    project = bake(tmp_path / "bake", base_image=BASE_IMAGE, node_version=NODE_VERSION, bundler="esbuild")
    probe = tmp_path / PROBE
    probe.mkdir()
    manifest = {"name": PROBE, "version": "1.0.0", "scripts": {"postinstall": PROBE_SCRIPT}}
    (probe / "package.json").write_text(json.dumps(manifest), encoding="utf-8")
    env = node_env(NODE_VERSION)
    subprocess.run([*NPM, "pack", str(probe), "--pack-destination", str(project)], cwd=tmp_path, env=env, check=True)
    tarball = f"{PROBE}-1.0.0.tgz"
    subprocess.run([*NPM, "install", "--package-lock-only", f"./{tarball}"], cwd=project, env=env, check=True)
    # The real Dockerfile, its deps stage also copying the probe's tarball (a file: dependency).
    dockerfile = (project / "Dockerfile.production").read_text(encoding="utf-8")
    copy_manifests = "COPY package.json package-lock.json ./"
    assert copy_manifests in dockerfile
    (project / "Dockerfile.probe").write_text(
        dockerfile.replace(copy_manifests, f"COPY package.json package-lock.json {tarball} ./", 1), encoding="utf-8"
    )
    # A credential for a scope no dependency uses: npm ignores it, the secret mount is still made.
    npmrc = tmp_path / "npmrc"
    npmrc.write_text("@probe-scope:registry=https://npm.invalid/\n//npm.invalid/:_authToken=not-a-real-token\n")
    tag, _ = engine.build(
        project,
        dockerfile="Dockerfile.probe",
        build_args=base_args,
        extra=[*secret_args, "--secret", f"id=npmrc,src={npmrc}", "--target", "deps"],
    )
    seen = engine.cmd("run", "--rm", "--entrypoint", "cat", tag, f"/app/node_modules/{PROBE}/ran.txt").stdout
    assert seen == "credential absent", f"the install script ran with: {seen!r}"


def test_the_delivery_pages_proxy_build_line_builds_the_image(engine, base_args, tmp_path):
    """docs/delivery.md's build behind a proxy, as written in a generated project: the CA bundle
    and the user's ~/.npmrc (a credential for a scope nothing uses) go in as build secrets, and
    scripts/docker-build.sh builds the image, tagged latest and with the package.json version,
    no .npmrc in it. Only what the page's line leaves to the environment is set: this engine,
    the stand-in bases where no registry is reachable, a unique image name and a HOME of the test."""
    (line,) = shown_commands(TEMPLATE_DIR / "docs" / "delivery.md", "Building behind a proxy or a private registry")
    assert "NPMRC_FILE=~/.npmrc" in line and line.endswith("scripts/docker-build.sh"), line
    ca_file = shlex.split(line)[0].partition("=")[2]
    if not Path(ca_file).is_file():
        pytest.skip(f"no CA bundle at {ca_file} on this machine")
    project = bake(tmp_path / "bake", base_image=BASE_IMAGE, node_version=NODE_VERSION, bundler="esbuild")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".npmrc").write_text(
        "@probe-scope:registry=https://npm.invalid/\n//npm.invalid/:_authToken=not-a-real-token\n"
    )
    image = f"mcp-template-test/proxy-build-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "HOME": str(home),
        "DOCKER": engine.docker,
        "IMAGE": image,
        "BUILD_ARGS": " ".join(f"--build-arg {key}={value}" for key, value in base_args.items()),
        **({"DOCKER_NETWORK": engine.network} if engine.network else {}),
    }
    result = subprocess.run(["bash", "-ec", line], cwd=project, env=env, capture_output=True, text=True, timeout=1500)
    version = json.loads((project / "package.json").read_text(encoding="utf-8"))["version"]
    engine.images += [f"{image}:latest", f"{image}:{version}"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for tag in ("latest", version):
        engine.cmd("image", "inspect", f"{image}:{tag}")
    files, _ = image_files(engine, f"{image}:latest")
    assert not [path for path in files if path.endswith("/.npmrc")], "an .npmrc is in the image"
