"""The HTTP API (FastAPI): send a message, decide an approval, check health.

Served by `unticket serve`; OpenAPI docs at `/docs`. Every endpoint but `/v1/health` needs a
bearer credential (`resolver/authentication.py`): an employee's OpenID Connect token, or an
integration's API key whose scopes let it name the employee or approver. A bad request gets a
4xx with a message in `{"error": ...}`, never a stack trace; each principal is held to a request
rate (429 with `Retry-After`). While it serves, background tasks (`background_work`)
close timed-out conversations, file tickets queued while the ITSM was down, offer unlocks to
locked-out employees and turn spikes of one problem at one office into known outages; with a
Slack app token it also holds Slack's Socket Mode connection open (`_include_channels`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import asdict
from enum import Enum
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

import vocabulary
from resolver.apikeys import ApiKeys
from resolver.authentication import (
    AuthenticationError,
    ForbiddenError,
    Principal,
    RateLimitedError,
    RequestLimits,
    authenticator,
)
from resolver.connectors.queued import QueuedTicketing
from resolver.engine import InboundMessage, RequestError
from resolver.events import format_time
from resolver.http_input import NOT_UNICODE, BodyLimit, UnicodeText
from resolver.identity import APPROVALS_ACT_AS, MESSAGES_ACT_AS
from resolver.learned import LearnedKnowledge
from resolver.oidc import ProviderUnavailableError
from resolver.outage import OutageDetector
from resolver.proactive import LockoutSource, poll_lockouts
from resolver.runtime import Runtime

EXPIRY_INTERVAL_SECONDS = 60
LEARNED_POLL_SECONDS = 30  # an approved article is answered with within a minute
QUEUE_INTERVAL_SECONDS = 60
logger = logging.getLogger("unticket.api")
# The `Authorization: Bearer` header, read on the event loop (and declared in the OpenAPI docs).
Credentials = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, description="An OIDC token or an API key.")),
]
# The channels a message may arrive on (the engine's own proactive messages are not sent in).
Channel = Enum(
    "Channel",
    {c.value: c.value for c in sorted(set(vocabulary.Channel) - {vocabulary.Channel.PROACTIVE})},
    type=str,
)
# Every outcome, written out as a Literal (inline in the OpenAPI document, not a schema of its own).
OUTCOMES = tuple(outcome.value for outcome in vocabulary.Outcome)
LANGUAGE_CODES = tuple(language.value for language in vocabulary.Language)
# Validation errors that mean the body is malformed rather than meaningless: 400, not 422.
_MALFORMED = frozenset({"json_invalid", NOT_UNICODE})


class ErrorOut(BaseModel):
    """Why a request was refused."""

    error: str = Field(examples=["'text' is empty: send what the employee wrote"])


_WHY = {
    400: "A malformed body (not JSON, not Unicode text) or a message the engine cannot take.",
    401: "No credential, or one that proves nobody (header `WWW-Authenticate`).",
    403: "The credential may not do this, or act for whom the request names.",
    404: "No such interaction or approval for this caller.",
    409: "The interaction is closed, or the approval already decided.",
    413: "The body is over 64 KB.",
    422: "The body or a parameter does not have the documented shape.",
    429: "Over the caller's request rate (header `Retry-After`).",
    503: "The identity provider cannot be reached to check a token (header `Retry-After`).",
}


def _refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error responses an endpoint may give, for the OpenAPI document."""
    return {status: {"model": ErrorOut, "description": _WHY[status]} for status in statuses}


_AUTHENTICATED = (401, 429, 503)


class MessageIn(BaseModel):
    """A message from an employee."""

    user: UnicodeText | None = Field(
        default=None,
        description="Who writes: leave it out with an employee's own token (or name them); an "
        "API key with messages:act_as must name the employee (id, username or e-mail).",
        examples=["E000100"],
    )
    text: UnicodeText = Field(
        description="What the employee wrote.", examples=["I forgot my password"]
    )
    channel: Channel = Field(default=Channel.api, description="Where the employee wrote it.")
    interaction_id: UnicodeText | None = Field(
        default=None, description="Continue this interaction."
    )


class MessageOut(BaseModel):
    """The engine's answer."""

    interaction_id: str
    employee_id: str | None
    intent: str | None
    confidence: float | None
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    state: str
    reply: str
    ticket_id: str | None = None
    approval_id: str | None = None
    options: list[str] = []
    language: Literal[LANGUAGE_CODES] = Field(  # type: ignore[valid-type]
        default=vocabulary.DEFAULT_LANGUAGE.value,
        description="The language the reply is written in (ISO 639-1), the employee's.",
    )


class DecisionIn(BaseModel):
    """An approver's decision."""

    approver: UnicodeText | None = Field(
        default=None,
        description="Leave it out with the approver's own token; an API key with "
        "approvals:act_as names the approver (employee id, username or e-mail).",
    )
    decision: Literal["approved", "denied"]


class DecisionOut(BaseModel):
    """The approval's state after the decision."""

    approval_id: str
    status: str
    message: str


class PendingApproval(BaseModel):
    """An access request waiting on the approver's decision."""

    approval_id: str
    requester_id: str
    resource_type: str
    resource_id: str
    created_at: str


class WhoAmI(BaseModel):
    """Who the credential proves."""

    auth_method: str = Field(description="oidc, or api_key:<name>.")
    employee_id: str | None = Field(description="The employee a token is for (null for a key).")
    scopes: list[str] = Field(description="An API key's scopes.")


def create_app(runtime: Runtime) -> FastAPI:
    """Build the API around a running engine."""
    engine = runtime.engine
    settings = engine.settings
    directory = runtime.connectors.directory
    keys = ApiKeys(settings.api_keys_db)
    auth = authenticator(settings, keys)
    limits = RequestLimits(settings.api_rate_limit, settings.api_key_rate_limit)
    connections: list[Callable[[], Coroutine[object, object, None]]] = []

    def caller(credentials: HTTPAuthorizationCredentials | None) -> Principal:
        """The caller, proven by their bearer credential and within their request rate.

        Endpoints call it themselves, on the worker thread that runs them, rather than as a
        dependency of its own: that would cost every request a second trip to a thread."""
        found = auth.authenticate(
            f"Bearer {credentials.credentials}" if credentials is not None else None
        )
        limits.hit(found)
        return found

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_every(*work)) for work in background_work(runtime)]
        tasks += [asyncio.create_task(connect()) for connect in connections]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # the runtime closes after them
        keys.close()

    app = FastAPI(
        title="Unticket",
        summary="Chat in, resolution out: the resolution engine's HTTP API.",
        version="1",
        lifespan=lifespan,
    )

    app.add_middleware(BodyLimit)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"error": error.detail}, error.status_code, headers=error.headers)

    @app.exception_handler(RequestError)
    async def request_error(_: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(AuthenticationError)
    async def unauthenticated(_: Request, error: AuthenticationError) -> JSONResponse:
        return JSONResponse(
            {"error": str(error)}, status_code=401, headers={"WWW-Authenticate": error.challenge}
        )

    @app.exception_handler(ForbiddenError)
    async def forbidden(_: Request, error: ForbiddenError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=403)

    @app.exception_handler(RateLimitedError)
    async def rate_limited(_: Request, error: RateLimitedError) -> JSONResponse:
        return JSONResponse(
            {"error": str(error)},
            status_code=429,
            headers={"Retry-After": str(error.retry_after)},
        )

    @app.exception_handler(ProviderUnavailableError)
    async def provider_down(_: Request, error: ProviderUnavailableError) -> JSONResponse:
        return JSONResponse(
            {"error": f"cannot check the token now ({error}); try again shortly"},
            status_code=503,
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in error.errors()
        ]
        malformed = any(e["type"] in _MALFORMED for e in error.errors())
        return JSONResponse({"error": "; ".join(problems)}, status_code=400 if malformed else 422)

    @app.post(
        "/v1/messages",
        response_model=MessageOut,
        responses=_refusals(400, 403, 404, 409, 413, 422, *_AUTHENTICATED),
    )
    def post_message(message: MessageIn, credentials: Credentials) -> MessageOut:
        """Send an employee's message; the reply says what was understood and done."""
        who = caller(credentials)
        user = who.acting_as(message.user, MESSAGES_ACT_AS, "user", directory)
        inbound = InboundMessage(
            user,
            message.text,
            message.channel.value,
            message.interaction_id,
            credential=who.credential,
        )
        return MessageOut(**asdict(engine.handle(inbound)))

    @app.post(
        "/v1/approvals/{approval_id}/decision",
        response_model=DecisionOut,
        responses=_refusals(400, 403, 404, 409, 413, 422, *_AUTHENTICATED),
    )
    def decide(approval_id: str, body: DecisionIn, credentials: Credentials) -> DecisionOut:
        """Approve or deny a pending access request: the approver with their own token, or an
        integration's key with approvals:act_as naming the approver."""
        who = caller(credentials)
        approver = who.acting_as(body.approver, APPROVALS_ACT_AS, "approver", directory)
        result = engine.decide_approval(approver, approval_id, body.decision, who.credential)
        return DecisionOut(**asdict(result))

    @app.get(
        "/v1/approvals",
        response_model=list[PendingApproval],
        responses=_refusals(403, 422, *_AUTHENTICATED),
    )
    def pending_approvals(credentials: Credentials, approver: str | None = None) -> list:
        """The access requests waiting on the caller's decision (an integration's key with
        approvals:act_as names the approver)."""
        who = caller(credentials)
        person = directory.find_person(
            who.acting_as(approver, APPROVALS_ACT_AS, "approver", directory)
        )
        waiting = runtime.connectors.approvals.pending_for(person.employee_id) if person else []
        return [
            PendingApproval(
                approval_id=a.approval_id,
                requester_id=a.requester_id,
                resource_type=a.resource_type,
                resource_id=a.resource_id,
                created_at=format_time(a.created_at),
            )
            for a in waiting
        ]

    @app.get("/v1/me", response_model=WhoAmI, responses=_refusals(*_AUTHENTICATED))
    def whoami(credentials: Credentials) -> WhoAmI:
        """Who the credential proves: check a token or key before wiring an integration."""
        who = caller(credentials)
        person = directory.find_person(who.employee_ref) if who.employee_ref else None
        return WhoAmI(
            auth_method=who.credential.method,
            employee_id=person.employee_id if person else None,
            scopes=sorted(who.scopes),
        )

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok"}

    connections += _include_channels(app, runtime)
    return app


def _include_channels(
    app: FastAPI, runtime: Runtime
) -> list[Callable[[], Coroutine[object, object, None]]]:
    """Serve Slack and Teams when their credentials are configured; return the connections
    to open while the server runs (Slack's Socket Mode, when its app token is set)."""
    from resolver.channels.slack import SocketMode, events_router, slack_app
    from resolver.channels.teams import teams_router

    settings = runtime.engine.settings
    connections = []
    secret, app_token = settings.slack_signing_secret, settings.slack_app_token
    if settings.slack_bot_token and (secret or app_token):
        bolt = slack_app(
            runtime,
            signing_secret=secret.get_secret_value() if secret else "",
            bot_token=settings.slack_bot_token.get_secret_value(),
            api_url=settings.slack_api_url,
        )
        if secret:  # without it a request could not be verified: no endpoint
            app.include_router(events_router(bolt, secret.get_secret_value()))
        if app_token:
            connections.append(SocketMode(bolt, app_token.get_secret_value()).run)
    if settings.teams_app_id and settings.teams_app_password:
        router = teams_router(
            runtime,
            app_id=settings.teams_app_id,
            app_password=settings.teams_app_password.get_secret_value(),
            openid_url=settings.teams_openid_url,
            token_url=settings.teams_token_url,
        )
        app.include_router(router)
    return connections


def background_work(runtime: Runtime) -> list[tuple[float, Callable[[], object], str]]:
    """What the server does besides answering, as (every so many seconds, work, what it is):
    close timed-out conversations; file the tickets queued while the ITSM was unreachable;
    record the ticket changes made in the ticketing system (every `ticket_sync_minutes`);
    watch the directory for lock-outs (`watch_lockouts`); detect outages (`detect_outages`);
    reload the knowledge base when a draft article is approved (`LearnedKnowledge`)."""
    engine = runtime.engine
    settings = engine.settings
    work: list[tuple[float, Callable[[], object], str]] = [
        (EXPIRY_INTERVAL_SECONDS, engine.expire, "closing timed-out conversations")
    ]
    if isinstance(runtime.connectors.ticketing, QueuedTicketing):
        work.append((QUEUE_INTERVAL_SECONDS, engine.file_queued_tickets, "filing queued tickets"))
    sync_seconds = settings.ticket_sync_minutes * 60
    work.append((sync_seconds, engine.sync_tickets, "recording ticket changes from the ITSM"))
    directory = runtime.connectors.directory
    if settings.watch_lockouts and isinstance(directory, LockoutSource):
        watch = partial(poll_lockouts, engine, directory, set())
        work.append((settings.lockout_poll_seconds, watch, "watching for lock-outs"))
    if settings.detect_outages:
        detector = OutageDetector(engine)
        work.append((settings.outage_poll_seconds, detector.poll, "detecting outages"))
    learned = LearnedKnowledge(engine, settings.data_dir)
    work.append((LEARNED_POLL_SECONDS, learned.poll, "reloading the approved knowledge articles"))
    return work


async def _every(seconds: float, work: Callable[[], object], what: str) -> None:
    """Run `work` on a worker thread every `seconds` while the server runs; a failure is
    logged and the work runs again next time. Cancelled, it lets a running `work` finish."""
    while True:
        await asyncio.sleep(seconds)
        running = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            await asyncio.wait([running])
            raise
        except Exception:
            logger.exception("%s failed; trying again in %s s", what, seconds)
