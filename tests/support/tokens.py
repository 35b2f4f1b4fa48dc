"""A throwaway OAuth issuer for tests: an RSA key, its JWKS served on loopback, RS256 tokens.

    with JwksIssuer() as issuer:
        env = {"AUTH_MODE": "jwt", "AUTH_JWKS_URL": issuer.jwks_url, "AUTH_ISSUER": issuer.issuer,
               "AUTH_AUDIENCE": audience}
        token = issuer.mint(sub="alice", aud=audience, scopes=["mcp:tools"])
        expired = issuer.mint(aud=audience, exp_in=-60)

The JWKS is served by a background http.server thread on 127.0.0.1 (plain http: the server
under test allows http for loopback identity providers). `issuer` is the same origin.
A second, unpublished key is available to mint tokens with a bad signature (`mint(..., foreign=True)`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class JwksIssuer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, any_path: bool = False) -> None:
        """any_path=True serves the JWKS at every path (an identity provider's own JWKS path)."""
        self.any_path = any_path
        self.kid = uuid.uuid4().hex[:16]
        self._key = _new_key()
        self._foreign_key = _new_key()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests = 0  # how many times the JWKS was fetched

    # ------------------------------------------------------------ serving

    def jwks(self) -> dict:
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        public.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [public]}

    def __enter__(self) -> JwksIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                if issuer.any_path or self.path.split("?")[0] in ("/jwks.json", "/.well-known/jwks.json"):
                    issuer.requests += 1
                    body = json.dumps(issuer.jwks()).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        assert self._server, "use JwksIssuer as a context manager"
        return self._server.server_address[1]

    @property
    def issuer(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    # ------------------------------------------------------------ minting

    def sign(self, payload: dict, headers: dict | None = None) -> str:
        """RS256 over exactly these claims, with the published key's kid and any other header."""
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})

    def mint(
        self,
        sub: str = "test-user",
        aud: str | list[str] | None = None,
        scopes: list[str] | str | None = None,
        exp_in: int | None = 300,
        *,
        iss: str | None = None,
        kid: str | None = None,
        foreign: bool = False,
        **claims,
    ) -> str:
        """An RS256 JWT. exp_in=None leaves out `exp`; foreign=True signs with an unpublished key."""
        now = int(time.time())
        payload: dict = {"iss": iss or self.issuer, "sub": sub, "iat": now, "jti": uuid.uuid4().hex}
        if aud is not None:
            payload["aud"] = aud
        if exp_in is not None:
            payload["exp"] = now + exp_in
        if scopes is not None:
            payload["scope"] = scopes if isinstance(scopes, str) else " ".join(scopes)
        payload.update(claims)
        key = self._foreign_key if foreign else self._key
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid or self.kid})
