"""A real HAProxy (Debian's `haproxy` package, scripts/machine.sh installs it) in front of
replicas on loopback, configured by a generated project's own deploy/haproxy/haproxy.cfg.

The configuration file is used as it is: what it leaves to the environment (the bind address,
the TLS certificate, the replicas' addresses) is set here, on loopback, with a certificate made
for the run. HAProxy's request log (stdout) is kept: it names the replica each request went to.
"""

from __future__ import annotations

import collections
import datetime
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support.process import run
from support.server_process import free_port

# `option httplog` lines name "<frontend> <backend>/<server>" right after the accept date.
LOGGED_SERVER = re.compile(r"\] \S+ (?P<backend>[\w.-]+)/(?P<server>[\w.-]+) ")


def loopback_certificate(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A throw-away certificate for 127.0.0.1 (one PEM file: certificate then key, as HAProxy's
    `crt` takes it), and a client context that trusts exactly that certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    pem = folder / "loopback.pem"
    pem.write_bytes(
        certificate_pem
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem.chmod(0o600)
    context = ssl.create_default_context(cadata=certificate_pem.decode("ascii"))
    return pem, context


class HAProxy:
    """`haproxy -db -f <config>` on a free loopback port with TLS; use as a context manager."""

    def __init__(self, config: Path, upstreams: list[str], start_timeout: float = 30.0):
        if shutil.which("haproxy") is None:
            raise RuntimeError("haproxy is not installed (scripts/machine.sh installs Debian's haproxy package)")
        self.config = config
        self.port = free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="haproxy-"))
        self.certificate, self.client_context = loopback_certificate(self.folder)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "MCP_LB_BIND": f"127.0.0.1:{self.port}",
            "MCP_LB_CERT": str(self.certificate),
            **{f"MCP_SERVER_{number}": upstream for number, upstream in enumerate(upstreams, start=1)},
        }
        self.log_path = self.folder / "haproxy.log"
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None

    def check(self) -> subprocess.CompletedProcess:
        """`haproxy -c`: HAProxy's own verdict on the configuration, with this environment."""
        return run(["haproxy", "-c", "-f", str(self.config)], env=self.env, timeout=60, check=False)

    def __enter__(self) -> HAProxy:
        checked = self.check()
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy refuses {self.config}:\n{checked.stdout}{checked.stderr}")
        log = self.log_path.open("wb")
        # -db: stay in the foreground, no daemon; the test owns the process.
        self.process = subprocess.Popen(
            ["haproxy", "-db", "-f", str(self.config)], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"haproxy did not listen on {self.port} within {self.start_timeout} s") from None
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def served(self, path: str = "/mcp") -> collections.Counter:
        """Requests to `path` per replica (server name), from HAProxy's own request log."""
        counts: collections.Counter = collections.Counter()
        for line in self.log().splitlines():
            match = LOGGED_SERVER.search(line)
            if match and f" {path} HTTP/" in line:
                counts[match.group("server")] += 1
        return counts
