"""An OpenID Connect issuer's key publishing, on loopback: its discovery document and a JWKS
whose keys the test replaces (a key rotation), counting how often each is fetched.

    with IssuerStub() as issuer:
        token = issuer.sign({"email": ...}, kid="k1")
        issuer.rotate("k2")  # the published keys now hold only k2
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.stubs.server import LocalServer

AUDIENCE = "unticket-api"


class IssuerStub(LocalServer):
    """Discovery at `/.well-known/openid-configuration`, keys at `/jwks`."""

    def __init__(self, kid: str = "k1") -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.hits: Counter[str] = Counter()
        self.discovery_issuer: str | None = None  # None: its own origin
        self.rotate(kid)
        self._serve_json(lambda _, path, headers, body: self.answer(path))

    def rotate(self, kid: str) -> None:
        """Publish a new key under `kid`, retiring the others."""
        self.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048)}

    def sign(self, claims: dict[str, Any], kid: str | None = "current", **header: Any) -> str:
        """A token signed with the published key (`kid` None leaves the key id out)."""
        (name, key), now = next(iter(self.keys.items())), int(time.time())
        payload = {"iss": self.origin, "aud": AUDIENCE, "iat": now, "exp": now + 600} | claims
        headers = header | ({} if kid is None else {"kid": name if kid == "current" else kid})
        return jwt.encode(payload, key, algorithm="RS256", headers=headers)

    def answer(self, path: str) -> tuple[int, Any]:
        """The issuer's answer to a GET."""
        self.hits[path] += 1
        if path == "/.well-known/openid-configuration":
            issuer = self.discovery_issuer or self.origin
            return 200, {"issuer": issuer, "jwks_uri": f"{self.origin}/jwks"}
        if path == "/jwks":
            keys = [
                json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": kid}
                for kid, key in self.keys.items()
            ]
            return 200, {"keys": keys}
        return 404, {"error": "not found"}
