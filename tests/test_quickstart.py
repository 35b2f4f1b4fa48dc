"""scripts/quickstart.sh settles its port before it generates or builds anything.

A taken port used to show only as EADDRINUSE after the whole build. These checks run
the real script in its --dry-run mode (everything up to generating), so they are fast;
test_project.py runs the whole quickstart.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.process import run
from support.server_process import free_port
from support.template import TEMPLATE_DIR

QUICKSTART = TEMPLATE_DIR / "scripts" / "quickstart.sh"
DEFAULT_PORT = 8080


def held(port: int) -> socket.socket | None:
    """Listen on 127.0.0.1:port; None where something else already holds it (it is taken either way)."""
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", port))
    except OSError:
        listener.close()
        return None
    listener.listen()
    return listener


@pytest.fixture
def taken_port() -> Iterator[int]:
    port = free_port()
    listener = held(port)
    yield port
    if listener:
        listener.close()


@pytest.fixture
def default_port_taken() -> Iterator[int]:
    listener = held(DEFAULT_PORT)
    yield DEFAULT_PORT
    if listener:
        listener.close()


def quickstart(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "PORT"}
    environment.update(VENV=sys.prefix, OUTPUT_DIR=str(tmp_path / "out"), **env)
    # The tests assert the exit code: most of them are about what quickstart refuses.
    return run(["bash", str(QUICKSTART), *args], env=environment, timeout=60, check=False)


def test_a_taken_port_stops_quickstart_before_anything_is_built(tmp_path, taken_port):
    # Not --dry-run: the real run must stop before generating (no npm ci, no build).
    result = quickstart(tmp_path, PORT=str(taken_port))
    assert result.returncode == 1, result.stderr
    assert f"port {taken_port} on 127.0.0.1 is already in use" in result.stderr
    assert "PORT=<port>" in result.stderr
    assert "generating" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_taken_default_port_is_replaced_by_a_free_one(tmp_path, default_port_taken):
    result = quickstart(tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"port {default_port_taken} is already in use: the server will listen on " in result.stderr
    chosen = int(result.stderr.split("the server will listen on ", 1)[1].split()[0])
    assert chosen != default_port_taken
    probe = held(chosen)
    assert probe is not None, f"the port quickstart chose ({chosen}) is not free"
    probe.close()
    assert not (tmp_path / "out").exists()


def test_a_free_port_is_used_as_given(tmp_path):
    port = free_port()
    result = quickstart(tmp_path, "--dry-run", "bundler=esbuild", PORT=str(port))
    assert result.returncode == 0, result.stderr
    assert f"serve on http://127.0.0.1:{port}" in result.stderr
    assert "bundler=esbuild" in result.stderr


@pytest.mark.parametrize("port", ["0", "65536", "80a"])
def test_a_port_that_is_no_port_is_refused(tmp_path, port):
    result = quickstart(tmp_path, "--dry-run", PORT=port)
    assert result.returncode == 1 and f"PORT={port} is not a TCP port" in result.stderr
    answered = quickstart(tmp_path, "--dry-run", f"port={port}")
    assert answered.returncode == 1 and f"port={port} is not a TCP port" in answered.stderr


def test_a_port_answer_is_where_the_server_listens(tmp_path):
    port = free_port()
    result = quickstart(tmp_path, "--dry-run", f"port={port}")
    assert result.returncode == 0, result.stderr
    assert f"serve on http://127.0.0.1:{port}" in result.stderr
