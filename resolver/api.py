"""The HTTP API (FastAPI): send a message, decide an approval, check health.

Served by `unticket serve`; OpenAPI docs at `/docs`. A bad request gets a 4xx with a message in
`{"error": ...}`, never a stack trace. While it serves, background tasks (`background_work`)
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
from functools import partial
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from resolver.connectors.queued import QueuedTicketing
from resolver.engine import InboundMessage, RequestError
from resolver.outage import OutageDetector
from resolver.proactive import LockoutSource, poll_lockouts
from resolver.runtime import Runtime

EXPIRY_INTERVAL_SECONDS = 60
QUEUE_INTERVAL_SECONDS = 60
logger = logging.getLogger("unticket.api")


class MessageIn(BaseModel):
    """A message from an employee."""

    user: str = Field(description="Employee id, username or e-mail.", examples=["E000100"])
    text: str = Field(description="What the employee wrote.", examples=["I forgot my password"])
    channel: str = Field(default="api", description="slack, teams, web, cli or api.")
    interaction_id: str | None = Field(default=None, description="Continue this interaction.")


class MessageOut(BaseModel):
    """The engine's answer."""

    interaction_id: str
    employee_id: str | None
    intent: str | None
    confidence: float | None
    outcome: Literal[
        "auto_resolved", "answered", "escalated", "abandoned", "unrecognized", "pending"
    ]
    state: str
    reply: str
    ticket_id: str | None = None
    approval_id: str | None = None
    options: list[str] = []


class DecisionIn(BaseModel):
    """An approver's decision."""

    approver: str = Field(description="The approver's employee id, username or e-mail.")
    decision: Literal["approved", "denied"]


class DecisionOut(BaseModel):
    """The approval's state after the decision."""

    approval_id: str
    status: str
    message: str


def create_app(runtime: Runtime) -> FastAPI:
    """Build the API around a running engine."""
    engine = runtime.engine
    connections: list[Callable[[], Coroutine[object, object, None]]] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_every(*work)) for work in background_work(runtime)]
        tasks += [asyncio.create_task(connect()) for connect in connections]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # the runtime closes after them

    app = FastAPI(
        title="Unticket",
        summary="Chat in, resolution out: the resolution engine's HTTP API.",
        version="1",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestError)
    async def request_error(_: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in error.errors()
        ]
        return JSONResponse({"error": "; ".join(problems)}, status_code=422)

    @app.post("/v1/messages", response_model=MessageOut)
    def post_message(message: MessageIn) -> MessageOut:
        """Send an employee's message; the reply says what was understood and done."""
        reply = engine.handle(InboundMessage(**message.model_dump()))
        return MessageOut(**asdict(reply))

    @app.post("/v1/approvals/{approval_id}/decision", response_model=DecisionOut)
    def decide(approval_id: str, body: DecisionIn) -> DecisionOut:
        """Approve or deny a pending access request; only a named approver may."""
        result = engine.decide_approval(body.approver, approval_id, body.decision)
        return DecisionOut(**asdict(result))

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
            app.include_router(events_router(bolt))
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
    watch the directory for lock-outs (`watch_lockouts`); detect outages (`detect_outages`)."""
    engine = runtime.engine
    settings = engine.settings
    work: list[tuple[float, Callable[[], object], str]] = [
        (EXPIRY_INTERVAL_SECONDS, engine.expire, "closing timed-out conversations")
    ]
    if isinstance(runtime.connectors.ticketing, QueuedTicketing):
        work.append((QUEUE_INTERVAL_SECONDS, engine.file_queued_tickets, "filing queued tickets"))
    directory = runtime.connectors.directory
    if settings.watch_lockouts and isinstance(directory, LockoutSource):
        watch = partial(poll_lockouts, engine, directory, set())
        work.append((settings.lockout_poll_seconds, watch, "watching for lock-outs"))
    if settings.detect_outages:
        detector = OutageDetector(engine)
        work.append((settings.outage_poll_seconds, detector.poll, "detecting outages"))
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
