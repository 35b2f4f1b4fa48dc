"""Container engine helpers for the docker tier: find an engine, make base images, build and run.

- `find_engine()` returns an `Engine` or a reason why there is none (tests skip with it).
- `base_images(engine, base_image, node_version)` returns the `--build-arg`s for one variant:
  the official images the Dockerfile names where they can be pulled, else the offline stand-ins
  (`standin.local/...`, built once by build_standin_images.sh), or a reason why neither exists.
- `Engine.build(...)` / `Engine.run(...)` wrap the CLI; containers and images made by a test are
  removed by the `cleanup()` of the `Engine` (the fixture calls it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# render_file lives in support.template; kept importable from here for older imports.
from support.template import render_file  # noqa: F401

STANDIN_SCRIPT = Path(__file__).resolve().parent / "build_standin_images.sh"
STANDIN_PREFIX = "standin.local/"


# ---------------------------------------------------------------- engine


@dataclass
class Engine:
    docker: str
    network: str | None  # "host" where the daemon has no bridge network
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def cmd(self, *args: str, timeout: float = 900, check: bool = True, env: dict | None = None, **kw):
        # Not support.process.run: scripts/benchmark.py drives the engine outside pytest, where a
        # failure must be a plain exception, not a failed test.
        full_env = {**os.environ, "DOCKER_BUILDKIT": "1", **(env or {})}
        result = subprocess.run(
            [self.docker, *args], capture_output=True, text=True, timeout=timeout, env=full_env, **kw
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"`docker {' '.join(args)}` exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
            )
        return result

    def network_args(self) -> list[str]:
        return ["--network", self.network] if self.network else []

    def build(
        self,
        context: Path,
        dockerfile: str = "Dockerfile.production",
        build_args: dict[str, str] | None = None,
        tag: str | None = None,
        extra: list[str] | None = None,
    ) -> tuple[str, str]:
        """Build with BuildKit (plain progress); returns (tag, build log)."""
        tag = tag or f"mcp-template-test/{uuid.uuid4().hex[:12]}:latest"
        args = ["build", "--progress", "plain", "--file", str(Path(context) / dockerfile), "--tag", tag]
        args += self.network_args()
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        args += list(extra or []) + [str(context)]
        result = self.cmd(*args, timeout=1500)
        if tag not in self.images:
            self.images.append(tag)
        return tag, result.stdout + result.stderr

    def run(self, image: str, *args: str, env: dict[str, str] | None = None) -> str:
        """docker run --detach; returns the container id (removed at cleanup)."""
        env_args: list[str] = []
        for key, value in (env or {}).items():
            env_args += ["--env", f"{key}={value}"]
        cid = self.cmd("run", "--detach", *self.network_args(), *env_args, *args, image).stdout.strip()
        self.containers.append(cid)
        return cid

    def inspect(self, ref: str) -> dict:
        return json.loads(self.cmd("inspect", ref).stdout)[0]

    def health(self, cid: str) -> str:
        state = self.inspect(cid)["State"]
        if not state.get("Running"):
            return "exited"
        return (state.get("Health") or {}).get("Status", "none")

    def wait_healthy(self, cid: str, timeout: float = 60) -> float:
        """Seconds until the container's own HEALTHCHECK reported healthy."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            status = self.health(cid)
            if status == "healthy":
                return time.monotonic() - start
            if status == "exited":
                raise AssertionError(f"container exited before healthy:\n{self.logs(cid)}")
            time.sleep(0.25)
        raise AssertionError(f"not healthy after {timeout} s (status {self.health(cid)}):\n{self.logs(cid)}")

    def logs(self, cid: str) -> str:
        result = self.cmd("logs", cid, check=False)
        return (result.stdout + result.stderr)[-6000:]

    def stop_with_sigterm(self, cid: str, timeout: float = 10) -> tuple[int, float]:
        """Send SIGTERM; returns (exit code, seconds until exit); fails past timeout."""
        start = time.monotonic()
        self.cmd("kill", "--signal", "TERM", cid)
        while time.monotonic() - start < timeout:
            state = self.inspect(cid)["State"]
            if not state["Running"]:
                return state["ExitCode"], time.monotonic() - start
            time.sleep(0.05)
        raise AssertionError(f"still running {timeout} s after SIGTERM:\n{self.logs(cid)}")

    def image_exists(self, ref: str) -> bool:
        return self.cmd("image", "inspect", ref, check=False).returncode == 0

    def try_pull(self, ref: str, timeout: float = 60) -> str | None:
        """None when the image is present or pulled, else the reason it could not be."""
        if self.image_exists(ref):
            return None
        try:
            result = self.cmd("pull", ref, check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"`docker pull {ref}` timed out after {timeout} s"
        if result.returncode == 0:
            return None
        return f"`docker pull {ref}` failed: {(result.stderr or result.stdout).strip().splitlines()[-1:]}"

    def cleanup(self) -> None:
        for cid in reversed(self.containers):
            self.cmd("rm", "--force", "--volumes", cid, check=False)
        self.containers.clear()
        for image in reversed(self.images):
            self.cmd("rmi", "--force", image, check=False)
        self.images.clear()


def run_instructions(dockerfile: str) -> list[str]:
    """A Dockerfile's RUN instructions, each as one line (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("RUN ")]


def _docker_candidates() -> list[str]:
    candidates = [os.environ["DOCKER"]] if os.environ.get("DOCKER") else []
    # /usr/bin/docker first: on some machines /usr/local/bin/docker is a wrapper or another client.
    candidates += [path for path in ("/usr/bin/docker", shutil.which("docker")) if path]
    return list(dict.fromkeys(candidates))


def find_engine() -> tuple[Engine | None, str]:
    """(engine, "") or (None, the reason no engine can be used)."""
    reasons = []
    for docker in _docker_candidates():
        if not Path(docker).exists() and shutil.which(docker) is None:
            continue
        try:  # an engine that is missing or does not answer is a reason to skip, not a failure
            result = subprocess.run(
                [docker, "info", "--format", "{{json .}}"], capture_output=True, text=True, timeout=20
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            reasons.append(f"{docker}: {exc}")
            continue
        if result.returncode != 0:
            reasons.append(f"{docker} info: {result.stderr.strip()[:300]}")
            continue
        # Some clients (Debian's docker.io 20.10) exit 0 with the daemon unreachable and say so
        # only in ServerErrors: that is no engine either.
        server_errors = _server_errors(result.stdout)
        if server_errors:
            reasons.append(f"{docker} info: {'; '.join(server_errors)[:300]}")
            continue
        # Without a default bridge (dockerd --bridge=none) containers and builds need the host network.
        network = os.environ.get("DOCKER_NETWORK") or (None if _has_bridge(docker) else "host")
        return Engine(docker=docker, network=network), ""
    if not reasons:
        reasons.append("no docker client found (DOCKER, /usr/bin/docker, PATH)")
    return None, "no container engine reachable: " + "; ".join(reasons)


def _server_errors(info_json: str) -> list[str]:
    """The daemon errors `docker info --format '{{json .}}'` reports (none when it answered)."""
    try:
        info = json.loads(info_json)
    except ValueError:
        return [f"unreadable docker info: {info_json.strip()[:200]}"]
    return [str(error) for error in info.get("ServerErrors") or []]


def _has_bridge(docker: str) -> bool:
    result = subprocess.run([docker, "network", "inspect", "bridge"], capture_output=True, text=True, timeout=20)
    return result.returncode == 0


# ---------------------------------------------------------------- base images


def official_images(base_image: str, node_version: str) -> dict[str, str]:
    """BUILD_IMAGE and RUNTIME_IMAGE exactly as the generated Dockerfile names them (read from
    the rendered file, so the tests and the template cannot disagree)."""
    # The public names (container_registry empty), whatever a fork's default.
    text = render_file("Dockerfile.production", base_image=base_image, node_version=node_version, container_registry="")
    images = {}
    for key in ("BUILD_IMAGE", "RUNTIME_IMAGE"):
        match = re.search(rf"^ARG {key}=(\S+)$", text, re.M)
        assert match, f"Dockerfile.production ({base_image}) has no ARG {key}="
        images[key] = match.group(1).replace("${NODE_VERSION}", node_version)
    return images


def standin_for(official: str) -> str | None:
    """The stand-in build_standin_images.sh makes for an official image, or None where none can
    be made here (Alpine's packages and musl Node builds are not on the reachable registries)."""
    if re.fullmatch(r"(debian:[a-z]+-slim|node:\d+-[a-z]+-slim)", official):
        return STANDIN_PREFIX + official
    match = re.fullmatch(r"gcr\.io/(distroless/cc-debian\d+:nonroot)", official)
    if match:
        return STANDIN_PREFIX + match.group(1)
    return None


_pull_reasons: dict[str, str | None] = {}
_standins_checked: set[str] = set()
_standin_lock = threading.Lock()


def _pull_reason(engine: Engine, ref: str) -> str | None:
    if ref not in _pull_reasons:
        _pull_reasons[ref] = engine.try_pull(ref)
    return _pull_reasons[ref]


def base_images(engine: Engine, base_image: str, node_version: str) -> tuple[dict[str, str] | None, str]:
    """Build args for one (base image, Node version): the official images where they can be
    pulled, else offline stand-ins built from the same upstream parts (made once, on demand).
    Returns (build args, note); (None, reason) where neither is possible."""
    official = official_images(base_image, node_version)
    if os.environ.get("MCP_TEMPLATE_STANDIN") != "1":
        with _standin_lock:
            reasons = [_pull_reason(engine, ref) for ref in dict.fromkeys(official.values())]
        if not any(reasons):
            return official, "official images"
        note = "; ".join(r for r in reasons if r)
    else:
        note = "MCP_TEMPLATE_STANDIN=1"
    standins = {key: standin_for(ref) for key, ref in official.items()}
    missing = [official[key] for key, ref in standins.items() if ref is None]
    if missing:
        return None, (
            f"{note}; no offline stand-in can be built for {', '.join(missing)}: Alpine's musl "
            "packages and Node builds are not on the registries this machine reaches"
        )
    args = {key: ref for key, ref in standins.items() if ref is not None}
    ensure_standins(engine, list(args.values()))
    return args, f"stand-in images ({note})"


def ensure_standins(engine: Engine, refs: list[str]) -> None:
    """Build the stand-ins that do not exist yet, or were made by an older recipe of the script
    (which only the script can tell: one script run for all of them, once per session)."""
    with _standin_lock:
        todo = [ref for ref in dict.fromkeys(refs) if ref not in _standins_checked]
        if not todo:
            return
        env = {**os.environ, "DOCKER": engine.docker}
        names = [ref.removeprefix(STANDIN_PREFIX) for ref in todo]
        result = subprocess.run(
            ["bash", str(STANDIN_SCRIPT), *names], capture_output=True, text=True, env=env, timeout=2400
        )
        if result.returncode != 0:
            raise RuntimeError(f"building stand-in images {names} failed:\n{result.stderr[-6000:]}")
        _standins_checked.update(todo)
