"""The HTTP API's side of identity: turn an `Authorization` header into a `Principal`, decide
whom a request may act as, and hold each principal to its request rate.

Two kinds of bearer credential are accepted: an employee's OpenID Connect token (they act as
themselves only) and an integration's API key (it acts as the people its scopes let it name).
Nothing in a request body chooses who is acting; it can only name someone the credential may
speak for.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from resolver.apikeys import ApiKeys, looks_like_api_key
from resolver.connectors.base import Directory
from resolver.engine import RequestError
from resolver.identity import OIDC, Credential, Scope, api_key_credential, has_scope
from resolver.oidc import OidcVerifier, TokenError
from settings import Settings

REALM = 'Bearer realm="unticket"'


class AuthenticationError(Exception):
    """No credential, or one that proves nobody: answered 401 with `WWW-Authenticate`."""

    def __init__(self, message: str, challenge: str = REALM) -> None:
        super().__init__(message)
        self.challenge = challenge


class ForbiddenError(Exception):
    """A credential that does not allow what the request asks: answered 403."""


class RateLimitedError(Exception):
    """Too many requests from one principal: answered 429 with `Retry-After`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """Who a request's credential proves: an employee (`employee_ref`, from their own token)
    or an integration (an API key, with `scopes`)."""

    credential: Credential
    employee_ref: str | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def is_employee(self) -> bool:
        """Whether the credential is an employee's own."""
        return self.employee_ref is not None

    def acting_as(self, named: str | None, scope: Scope, field: str, directory: Directory) -> str:
        """Whom a request that names `named` (in its `field`) acts as. An employee acts as
        themselves (naming anyone else is refused); a key must hold `scope` and name someone."""
        if self.employee_ref is not None:
            if named is not None and not _same_person(named, self.employee_ref, directory):
                raise ForbiddenError(
                    "your token is for someone else: leave the name out, or name yourself"
                )
            return self.employee_ref
        if not has_scope(self.scopes, scope):
            raise ForbiddenError(f"this API key lacks the {scope} scope needed to act for someone")
        if not named or not named.strip():
            raise RequestError(f"{field!r} is required with an API key: name who it is", 422)
        return named


def _same_person(named: str, proven: str, directory: Directory) -> bool:
    """Whether `named` refers to the person `proven` is (by directory, else by text)."""
    one, other = directory.find_person(named), directory.find_person(proven)
    if one is not None and other is not None:
        return one.employee_id == other.employee_id
    return one is None and other is None and named.strip().lower() == proven.strip().lower()


class Authenticator:
    """Checks bearer credentials: API keys always, OIDC tokens when a provider is set."""

    def __init__(self, keys: ApiKeys, verifier: OidcVerifier | None, user_claim: str) -> None:
        self.keys = keys
        self.verifier = verifier
        self.user_claim = user_claim

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal an `Authorization` header proves; raises `AuthenticationError`, or
        `ProviderUnavailableError` when the identity provider cannot be asked for its keys."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError(
                "sign in: send 'Authorization: Bearer <token>' with your identity provider's "
                "token or an API key (`unticket apikey create`)"
            )
        if looks_like_api_key(token):
            key = self.keys.verify(token)
            if key is None:
                raise _invalid("unknown or revoked API key")
            return _key_principal(key.name, key.scopes)
        if self.verifier is None:
            raise _invalid("this server accepts API keys only (no OpenID Connect provider is set)")
        try:
            claims = self.verifier.claims(token)
        except TokenError as error:
            raise _invalid(str(error)) from error
        return Principal(OIDC, employee_ref=self._employee(claims))

    def _employee(self, claims: dict) -> str:
        value = claims.get(self.user_claim)
        if not isinstance(value, str) or not value.strip():
            raise _invalid(f"the token has no {self.user_claim!r} claim naming the employee")
        if self.user_claim == "email" and claims.get("email_verified") is False:
            raise _invalid("the token's e-mail address is not verified")
        return value.strip()


@functools.lru_cache(maxsize=1024)
def _key_principal(name: str, scopes: frozenset[str]) -> Principal:
    """The principal of an API key (the same object for every request with the key)."""
    return Principal(api_key_credential(name, scopes), scopes=scopes)


def authenticator(settings: Settings, keys: ApiKeys) -> Authenticator:
    """API keys from `keys`, and the OpenID Connect provider's tokens when one is set."""
    verifier = (
        OidcVerifier(settings.oidc_issuer, settings.oidc_audience)
        if settings.api_oidc_enabled
        else None
    )
    return Authenticator(keys, verifier, settings.oidc_user_claim)


def _invalid(reason: str) -> AuthenticationError:
    quoted = reason.replace("\\", "").replace('"', "'")
    return AuthenticationError(
        f"invalid credential: {reason}",
        f'{REALM}, error="invalid_token", error_description="{quoted}"',
    )


class SweepingMemoryStorage(MemoryStorage):
    """`limits`' in-memory storage, forgetting expired entries once a second.

    Its own timer re-runs 10 ms after any request and scans every principal's entries: with
    two thousand employees signed in that took 44 % of a core here, for memory alone (the
    limit itself is decided from each entry's time, not by the sweep)."""

    SWEEP_SECONDS = 1.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the name it overrides)
        if not self.timer.is_alive():
            self.timer = threading.Timer(
                self.SWEEP_SECONDS,
                self._MemoryStorage__expire_events,  # type: ignore[attr-defined]
            )
            self.timer.daemon = True
            self.timer.start()


class RequestLimits:
    """Per-principal request rates (the `limits` library, moving window, in memory): one for
    each employee signed in with their own token, one for each API key."""

    def __init__(self, per_employee: str, per_key: str) -> None:
        self._limiter = MovingWindowRateLimiter(SweepingMemoryStorage())
        self._per_employee: RateLimitItem = parse(per_employee)
        self._per_key: RateLimitItem = parse(per_key)

    def hit(self, principal: Principal) -> None:
        """Count a request; raises `RateLimitedError` when the principal is over its rate."""
        if principal.employee_ref is not None:
            item, who = self._per_employee, principal.employee_ref.lower()
        else:
            item, who = self._per_key, principal.credential.method
        if not self._limiter.hit(item, who):
            reset = self._limiter.get_window_stats(item, who).reset_time
            raise RateLimitedError(max(1, round(reset - time.time() + 0.5)))
