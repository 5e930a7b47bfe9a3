"""OpenID Connect bearer tokens: check that the company's identity provider signed a token for
us, and read who it names.

The provider's discovery document (`<issuer>/.well-known/openid-configuration`) names its key
set (JWKS); PyJWT's `PyJWKClient` fetches and caches the keys and fetches them again when a
token names a key it does not know (a rotation), at most once per cool-down so forged key ids
cannot make us hammer the provider. Signature, issuer, audience and expiry are checked by
`jwt.decode`, with asymmetric algorithms only. A token that passed is remembered, by its exact
text, until it expires: a client sends the same token with every request, and checking an RS256
signature costs more than the rest of authentication together.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import jwt
from cachetools import TLRUCache

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY_SECONDS = 30
REMEMBERED_TOKENS = 10_000


class TokenError(Exception):
    """A token that proves nobody: malformed, badly signed, expired, or not meant for us."""


class ProviderUnavailableError(Exception):
    """The identity provider's discovery document or keys could not be fetched."""


class OidcVerifier:
    """Verifies the provider's JWTs and returns their claims."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        timeout: float = 5.0,
        keys_lifespan: float = 300,
        refresh_cooldown: float = 30,
    ) -> None:
        self.issuer = issuer  # compared exactly, as the specification asks
        self.audience = audience
        self.timeout = timeout
        self.keys_lifespan = keys_lifespan
        self.refresh_cooldown = refresh_cooldown
        self._keys: jwt.PyJWKClient | None = None
        self._algorithms: list[str] = ["RS256"]
        self._lock = threading.Lock()
        self._verified: TLRUCache[str, dict[str, Any]] = TLRUCache(
            REMEMBERED_TOKENS, ttu=_expiry, timer=time.time
        )
        self._verified_lock = threading.Lock()

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`; raises `TokenError` if it proves nobody."""
        with self._verified_lock:
            known = self._verified.get(token)
        if known is not None:
            return known
        claims = self._verify(token)
        with self._verified_lock:
            self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError(f"not a JWT: {error}") from error
        key = self._signing_key(header.get("kid"))
        try:
            return jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise TokenError(str(error)) from error

    def _signing_key(self, kid: str | None) -> jwt.PyJWK:
        keys = self._key_client()
        try:
            if kid is not None:
                return keys.get_signing_key(kid)
            signing = keys.get_signing_keys()
        except jwt.PyJWKClientConnectionError as error:
            raise ProviderUnavailableError(f"the identity provider's keys: {error}") from error
        except jwt.PyJWKClientError as error:
            raise TokenError(str(error)) from error
        if len(signing) != 1:  # a token may leave out its key id only when there is one key
            raise TokenError("the token names no key id and the provider has several keys")
        return signing[0]

    def _key_client(self) -> jwt.PyJWKClient:
        """The provider's key set, found through its discovery document on first use."""
        with self._lock:
            if self._keys is None:
                discovery = self._discover()
                offered = discovery.get("id_token_signing_alg_values_supported") or ["RS256"]
                self._algorithms = [a for a in offered if a in ASYMMETRIC] or ["RS256"]
                self._keys = jwt.PyJWKClient(
                    discovery["jwks_uri"],
                    lifespan=self.keys_lifespan,
                    timeout=self.timeout,
                    cooldown_duration=self.refresh_cooldown,
                )
            return self._keys

    def _discover(self) -> dict[str, Any]:
        url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=self.timeout)
            response.raise_for_status()
            discovery = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailableError(f"discovery at {url}: {error}") from error
        if discovery.get("issuer") != self.issuer or "jwks_uri" not in discovery:
            raise ProviderUnavailableError(
                f"{url} describes issuer {discovery.get('issuer')!r}, not {self.issuer!r}"
            )
        return discovery


def _expiry(_: str, claims: dict[str, Any], now: float) -> float:
    """Until when a verified token may be taken on trust: its expiry (and the leeway)."""
    return float(claims["exp"]) + LEEWAY_SECONDS
