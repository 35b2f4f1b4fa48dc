"""The one way a test runs a command it checks: `run(cmd, cwd, env=None, timeout=600, check=True)`.

Text output, both streams captured, stdin closed (a prompt fails instead of waiting for input
that never comes), a bounded run (a hung tool fails the test instead of the whole run). With
`check` (the default) a non-zero exit fails the test with the command, the folder, the exit code
and the tail of both streams; `check=False` is for a test that asserts the exit code itself
(a refusal, a tool's finding). A timeout always fails the test the same way, with what the
command had printed so far.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import pytest

# How much of each stream a failure shows: enough for a tool's summary, not a whole build log.
SHOWN = 6000


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", errors="replace")
    return output or ""


def describe(cmd: Sequence[str | PathLike], cwd: Path | str | None, outcome: str, stdout, stderr) -> str:
    """A failure message: the command as typed, where, what happened, and both streams' tails."""
    command = " ".join(map(str, cmd))
    return (
        f"`{command}` {outcome} in {cwd or Path.cwd()}\n"
        f"--- stdout ---\n{_text(stdout)[-SHOWN:]}\n--- stderr ---\n{_text(stderr)[-SHOWN:]}"
    )


def run(
    cmd: Sequence[str | PathLike],
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
    input: str | None = None,  # what the command reads on stdin (subprocess.run's name)
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` in `cwd` (`env`: the whole environment; None: this process's) and return its
    result with text output; fail the test on a timeout, and on a non-zero exit when `check`."""
    try:
        result = subprocess.run(
            [str(part) for part in cmd],
            cwd=cwd,
            env=None if env is None else dict(env),
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(describe(cmd, cwd, f"did not finish within {timeout} s", expired.stdout, expired.stderr))
    if check and result.returncode != 0:
        pytest.fail(describe(cmd, cwd, f"exited {result.returncode}", result.stdout, result.stderr))
    return result
