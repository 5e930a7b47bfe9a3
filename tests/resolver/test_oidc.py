"""The OpenID Connect token check on its own, against an issuer whose keys rotate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from resolver.oidc import OidcVerifier, ProviderUnavailableError, TokenError
from tests.stubs.issuer import AUDIENCE, IssuerStub


def test_keys_are_cached_and_fetched_again_when_they_rotate() -> None:
    with IssuerStub("k1") as issuer:
        verifier = OidcVerifier(issuer.origin, AUDIENCE, refresh_cooldown=0)
        for _ in range(3):
            assert verifier.claims(issuer.sign({"email": "a@example.com"}))["email"]
        assert issuer.hits["/jwks"] == 1 and issuer.hits["/.well-known/openid-configuration"] == 1
        issuer.rotate("k2")
        assert verifier.claims(issuer.sign({"email": "b@example.com"}))["email"] == "b@example.com"
        assert issuer.hits["/jwks"] == 2


def test_unknown_key_ids_refetch_the_keys_at_most_once_per_cool_down() -> None:
    with IssuerStub("k1") as issuer:
        verifier = OidcVerifier(issuer.origin, AUDIENCE, refresh_cooldown=60)
        verifier.claims(issuer.sign({}))
        for n in range(20):
            with pytest.raises(TokenError):
                verifier.claims(issuer.sign({}, kid=f"forged-{n}"))
        assert issuer.hits["/jwks"] == 1


def hs256_with_public_key(issuer: IssuerStub) -> str:
    """A token "signed" with HMAC keyed by the issuer's public key: the classic confusion of a
    verifier that lets the token choose its algorithm."""
    public = next(iter(issuer.keys.values())).public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": next(iter(issuer.keys))}
    claims = {"iss": issuer.origin, "aud": AUDIENCE, "exp": 2**31}
    signing_input = b".".join(_b64(json.dumps(part).encode()) for part in (header, claims))
    signature = hmac.new(pem, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64(signature)).decode()


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def test_what_jwt_decode_must_refuse_is_refused() -> None:
    with IssuerStub("k1") as issuer:
        verifier = OidcVerifier(issuer.origin, AUDIENCE)
        confused = hs256_with_public_key(issuer)
        for token in (
            confused,
            issuer.sign({"aud": "someone-else"}),
            issuer.sign({"iss": "https://evil.example"}),
            issuer.sign({"exp": 1}),
        ):
            with pytest.raises(TokenError):
                verifier.claims(token)
        assert verifier.claims(issuer.sign({"sub": "x"}, kid=None))["sub"] == "x"  # one key


def test_an_issuer_whose_discovery_names_another_issuer_is_not_trusted() -> None:
    with IssuerStub() as issuer:
        issuer.discovery_issuer = "https://evil.example"
        with pytest.raises(ProviderUnavailableError, match="describes issuer"):
            OidcVerifier(issuer.origin, AUDIENCE).claims(issuer.sign({}))
