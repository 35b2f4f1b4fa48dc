"""A real headless browser for the CORS tests: Debian's Chromium, a page served on loopback, and
the page's result handed back to the test over HTTP.

The page (index.html + a bundled script) is served by a small static server started by the
test; the script posts its result to the same server (its own origin: no CORS involved), and
the test waits for that post, an event bounded by a generous deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from support.process import run

BROWSER_DIR = Path(__file__).parent / "browser"
PAGE = b'<!doctype html><meta charset="utf-8"><title>browser test</title><script type="module" src="/app.js"></script>'
MAX_RESULT_BYTES = 1 << 20


def chromium() -> str | None:
    return shutil.which("chromium")


def bundle_client(project: Path, env: dict, out_dir: Path) -> bytes:
    """tests/support/browser/client.js bundled for the browser with the project's own SDK client.

    esbuild runs from the project (its node_modules resolve @modelcontextprotocol/client, a
    devDependency of every generated project; esbuild itself comes with tsx in every variant),
    reading the entry from stdin and writing the bundle outside the shared, read-only project.
    """
    esbuild = project / "node_modules" / ".bin" / "esbuild"
    outfile = out_dir / "app.js"
    command = [str(esbuild), "--bundle", "--format=esm", "--platform=browser", "--target=es2022",
               "--log-level=warning", f"--outfile={outfile}"]  # fmt: skip
    run(command, project, env, input=(BROWSER_DIR / "client.js").read_text(encoding="utf-8"), timeout=120)
    return outfile.read_bytes()


class PageServer:
    """Serves the test page and its script on 127.0.0.1; `wait_result()` returns what a page posted."""

    def __init__(self, script: bytes):
        self._results: dict[str, dict] = {}
        self._posted = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                files = {"/": (PAGE, "text/html"), "/app.js": (script, "text/javascript")}
                if path not in files:
                    self.send_error(404)
                    return
                body, content_type = files[path]
                self.send_response(200)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                if self.path != "/result" or length > MAX_RESULT_BYTES:
                    self.send_error(400)
                    return
                result = json.loads(self.rfile.read(length))
                self.send_response(204)
                self.end_headers()
                with owner._posted:
                    owner._results[str(result.get("origin"))] = result
                    owner._posted.notify_all()

            def log_message(self, *args) -> None:  # quiet: the test reports what matters
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_result(self, origin: str, browser: Browser, timeout: float = 120.0) -> dict:
        """What the page loaded from `origin` posted: waits for it, up to `timeout` seconds, and
        stops waiting early if the browser exits."""
        deadline = time.monotonic() + timeout
        with self._posted:
            while origin not in self._results:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or browser.process.poll() is not None:
                    state = "exited" if browser.process.poll() is not None else "is still running"
                    raise TimeoutError(f"the page posted no result; chromium {state}:\n{browser.log()}")
                # Woken by the post; the slice only bounds how late an exited browser is noticed.
                self._posted.wait(timeout=min(remaining, 1.0))
            return self._results[origin]


@dataclass
class Browser:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@contextlib.contextmanager
def headless_chromium(url: str) -> Iterator[Browser]:
    """Chromium, headless, with a throw-away profile, showing `url`; stopped (its whole process
    group, which this started) on exit. Its output goes to a log file, read on failure."""
    binary = chromium()
    assert binary, "chromium is not installed"
    with tempfile.TemporaryDirectory(prefix="chromium-") as scratch:
        log_path = Path(scratch) / "chromium.log"
        command = [binary, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                   "--disable-dev-shm-usage", "--disable-extensions", "--disable-background-networking",
                   f"--user-data-dir={scratch}/profile", url]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the renderers stop with it
            )
        try:
            yield Browser(process, log_path)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
