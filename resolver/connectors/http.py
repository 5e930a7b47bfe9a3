"""HTTP plumbing the ITSM connectors share: one JSON request, every failure a ConnectorError
that says what to check and never carries a secret."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from resolver.connectors.base import ConnectorError


@dataclass(frozen=True)
class Endpoint:
    """Where a connector's requests go and how its failures read."""

    name: str  # prefixes every error: "servicenow", "jira"
    base_url: str
    timeout: float
    credentials_hint: str  # what to check after a 401
    reason: Callable[[httpx.Response], str]  # the service's own error text, ": ..." or ""


def request_json(
    http: httpx.Client,
    endpoint: Endpoint,
    method: str,
    path: str,
    missing_ok: bool = False,
    **kwargs: Any,
) -> Any:
    """Send one request and return its JSON body ({} for 204; None for 404 when
    `missing_ok`); a timeout, an unreachable service, an error status or a body that is not
    JSON raises ConnectorError."""
    where = f"{endpoint.name}: {method} {path}"
    try:
        response = http.request(method, path, **kwargs)
    except httpx.TimeoutException as error:
        raise ConnectorError(
            f"{endpoint.name}: {endpoint.base_url} did not answer {method} {path} "
            f"within {endpoint.timeout:g} s"
        ) from error
    except httpx.HTTPError as error:
        raise ConnectorError(
            f"{endpoint.name}: could not reach {endpoint.base_url} ({type(error).__name__})"
        ) from error
    if missing_ok and response.status_code == 404:
        return None
    if response.status_code == 401:
        raise ConnectorError(
            f"{endpoint.name}: {endpoint.base_url} rejected the configured credentials "
            f"(HTTP 401 on {method} {path}); check {endpoint.credentials_hint}"
        )
    if response.is_error:
        raise ConnectorError(
            f"{where} failed with HTTP {response.status_code}{endpoint.reason(response)}"
        )
    if response.status_code == 204:
        return {}
    try:
        return response.json()
    except ValueError:
        raise ConnectorError(f"{where} answered something that is not JSON") from None
