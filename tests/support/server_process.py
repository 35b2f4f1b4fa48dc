"""Start a generated project's built server as a real process, and stop it the way an orchestrator does."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port free now and never handed out before by this process: the kernel may offer
    a port it just gave again, and a server given the same port twice (PORT and PROBE_PORT) is
    refused at start."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")


class ServerProcess:
    """`node dist/index.js` on a free loopback port; use as a context manager."""

    def __init__(self, project: Path, env: dict, extra_env: dict, file_limit: int | None = None):
        """`file_limit` lowers the process's open-file limit (RLIMIT_NOFILE), as many hosts do."""
        self.file_limit = file_limit
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **env,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "PUBLIC_URL": self.base_url,
            "LOG_LEVEL": "warn",
            **extra_env,
        }
        self.project = project
        # In the temporary folder, not the project: built projects are shared between tests read-only.
        self.log_path = Path(tempfile.mkdtemp(prefix="server-")) / f"server-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.exit_code: int | None = None

    def __enter__(self) -> ServerProcess:
        log = self.log_path.open("wb")
        limit = self.file_limit

        def lower_file_limit() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        self.process = subprocess.Popen(
            ["node", "dist/index.js"],
            cwd=self.project,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lower_file_limit if limit is not None else None,
        )
        try:
            wait_for_health(f"{self.base_url}/health", self.process)
        except Exception:
            self.stop()
            raise RuntimeError(f"server did not start:\n{self.log()}") from None
        return self

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then the exit code; SIGKILL (and code -9) if it overstays `timeout`."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.exit_code = self.process.returncode
        return self.exit_code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __exit__(self, *exc) -> None:
        self.stop()
