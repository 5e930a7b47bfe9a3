"""A real OpenID Connect provider for the tests: `oidc-provider-mock` (Authlib underneath) on a
loopback port, with the directory's people as its users, and a helper that signs one of them in
through the authorization-code flow to get the ID token the provider signed for them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from oidc_provider_mock import User, run_server_in_thread

CLIENT_ID = "unticket"
CLIENT_SECRET = "client-secret-for-tests"  # the mock accepts any secret for an unknown client
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never visited: the code is read off the redirect


@dataclass
class Provider:
    """The running provider: its issuer URL and a way to sign people in."""

    issuer: str

    def set_user(self, subject: str, claims: dict[str, object]) -> None:
        """Create or replace a user with these claims (e-mail, roles, ...)."""
        httpx.put(f"{self.issuer}/users/{subject}", json=claims).raise_for_status()

    def id_token(self, subject: str, client_id: str = CLIENT_ID) -> str:
        """Sign `subject` in (authorization code flow) and return their ID token, a JWT the
        provider signed with `aud` = `client_id`."""
        params = {
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid email profile",
            "state": "state",
            "nonce": "nonce",
        }
        with httpx.Client(base_url=self.issuer) as client:
            consent = client.post("/oauth2/authorize", params=params, data={"sub": subject})
            assert consent.status_code == 302, consent.text
            code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
            token = client.post(
                "/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT_URI,
                    "client_id": client_id,
                    "client_secret": CLIENT_SECRET,
                },
            )
            token.raise_for_status()
            return token.json()["id_token"]


@contextmanager
def oidc_provider(users: dict[str, dict[str, object]] | None = None) -> Iterator[Provider]:
    """Run the provider with `users` (subject → claims) until the block ends."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    predefined = [User(sub=sub, claims=claims) for sub, claims in (users or {}).items()]
    with run_server_in_thread(port=0, user_claims=predefined) as server:
        yield Provider(f"http://localhost:{server.server_port}")
