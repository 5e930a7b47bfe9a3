"""Slack: the Events API over HTTP at `/slack/events`, or Socket Mode, built on Bolt
(`slack-bolt`).

What it does:

- A direct message to the app, or a mention of it in a channel, goes to the engine (channel
  'slack') and the reply is posted in the message's thread (`chat.postMessage` with
  `thread_ts`). A reply that asks "did this fix it?" carries Yes/No buttons; a click is the
  employee's answer.
- When a message opens an approval, each approver gets a direct message with Approve/Deny
  buttons (they also still get the engine's own notice, and can type "approve APR-..."). Once
  the approval is settled the requester hears about it in their thread.
- Who is writing: Slack's user id is looked up with `users.info` and the profile's e-mail is
  what the engine is given (scopes `users:read`, `users:read.email`; approvers are found with
  `users.lookupByEmail`). Someone Slack shows no e-mail for is sent as `slack:<user id>`, which
  the directory does not know: the engine understands them but acts on no account.
- Every HTTP request's signature is checked against the signing secret before its body is
  parsed (a forged, stale or malformed one gets 401; a signed body that is not Slack's JSON or
  form gets 400) and `url_verification` is answered with its challenge (Bolt's). Messages from
  bots (this app included) and edits are ignored. Slack re-sends an event it believes was
  missed (`X-Slack-Retry-Num`); events are de-duplicated by `event_id`, so a retry of an event
  already taken is acknowledged and dropped, and one whose first delivery never arrived is
  handled once.
- The app is given an `authorize=` function and a `WebClient(base_url=...)`, so it makes no
  `auth.test` call and every Web API call goes to `api_url` (a local stub in tests).

Bot scopes: `chat:write`, `im:history`, `app_mentions:read`, `users:read`, `users:read.email`;
event subscriptions `message.im` and `app_mention`; interactivity pointed at the same URL.

How it is reached (`unticket serve`, see `resolver/api.py`):

- Events API over HTTP: set `UNTICKET_SLACK_SIGNING_SECRET` and `UNTICKET_SLACK_BOT_TOKEN`, and
  point the app's event subscriptions and interactivity at `https://<host>/slack/events`.
- Socket Mode (no public URL): set `UNTICKET_SLACK_APP_TOKEN` (an app-level `xapp-` token with
  scope `connections:write`) and `UNTICKET_SLACK_BOT_TOKEN`, and turn Socket Mode on in the
  app's settings. The server then opens the WebSocket itself (`apps.connections.open`, also at
  `api_url`, then slack_sdk's builtin client) when it starts, keeps it up (reconnecting), and
  closes it on shutdown; events and clicks reach the same Bolt app and are acknowledged with
  their `envelope_id`. Signatures are not used there, so the signing secret is optional; without
  it `/slack/events` is not served at all.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode.builtin import SocketModeHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from markup.slack import escape_mrkdwn, to_mrkdwn
from resolver.channels import ApprovalRequest, ChatBridge, Recent, RequesterUpdate
from resolver.identity import SLACK
from resolver.messages import APPROVER_LANGUAGE, ENGLISH
from resolver.runtime import Runtime

DEFAULT_API_URL = "https://slack.com/api/"
SOCKET_RETRY_SECONDS = 30
APPROVE, DENY = "unticket_approve", "unticket_deny"
FIXED, NOT_FIXED = "unticket_fixed", "unticket_not_fixed"
SECTION_LIMIT = 3000
_PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
logger = logging.getLogger("unticket.slack")


@dataclass(frozen=True)
class Thread:
    """Where to post: a channel (or a user id, for the app's DM with them) and a thread."""

    channel: str
    ts: str | None = None


def plain_text(text: str) -> str:
    """What a person wrote, without Slack's markup: mentions dropped, links and e-mail
    addresses as their text, entities decoded."""
    text = _MENTION.sub("", text)
    text = _LINK.sub(lambda m: m[2] or m[1].removeprefix("mailto:"), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def section_blocks(text: str) -> list[dict[str, Any]]:
    """The engine's markdown as mrkdwn sections of at most Slack's 3,000 characters each."""
    escaped = to_mrkdwn(text) or " "
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": escaped[i : i + SECTION_LIMIT]}}
        for i in range(0, len(escaped), SECTION_LIMIT)
    ]


def buttons(block_id: str, *choices: tuple[str, str, str, str]) -> dict[str, Any]:
    """An actions block of buttons, each given as (action id, label, value, style)."""
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": label},
                "value": value,
                "style": style,
            }
            for action_id, label, value, style in choices
        ],
    }


def feedback_buttons(interaction_id: str, yes: str = "Yes", no: str = "No") -> list[dict[str, Any]]:
    """Yes/No buttons (labelled in the reply's language) answering its "did that fix it?"."""
    return [
        buttons(
            "unticket_feedback",
            (FIXED, yes, interaction_id, "primary"),
            (NOT_FIXED, no, interaction_id, "danger"),
        )
    ]


def approval_blocks(
    request: ApprovalRequest, words: tuple[str, str, str] = ("Approval needed", "Approve", "Deny")
) -> list[dict[str, Any]]:
    """Blocks putting an approval in front of an approver, with Approve and Deny buttons;
    `words` are the heading and the two buttons' labels."""
    heading, approve, deny = words
    return [
        {"type": "header", "text": {"type": "plain_text", "text": heading}},
        *section_blocks(request.summary),
        buttons(
            "unticket_approval",
            (APPROVE, approve, request.approval_id, "primary"),
            (DENY, deny, request.approval_id, "danger"),
        ),
    ]


class SlackChannel:
    """Turns Slack events and button clicks into engine calls, and answers in Slack."""

    def __init__(self, runtime: Runtime, client: WebClient) -> None:
        self.bridge = ChatBridge(runtime, "slack", SLACK)
        self.client = client
        self._users: Recent[str, str] = Recent()
        self._threads: Recent[str, Thread] = Recent()
        self._events: Recent[str, bool] = Recent()

    # -- Bolt listeners -----------------------------------------------------------------------

    def skip_repeats_and_bots(self, body: dict[str, Any], next: Callable[[], None]) -> Any:
        """Global middleware: drop re-sent events and messages no person wrote."""
        event = body.get("event") or {}
        from_person = not event.get("bot_id") and event.get("subtype") in _PERSON_SUBTYPES
        event_id = body.get("event_id")
        if event and (
            not from_person or (event_id and not self._events.first_time(event_id, True))
        ):
            return BoltResponse(status=200, body="")
        next()
        return None

    def on_direct_message(self, event: dict[str, Any]) -> None:
        """A message in the app's DM: answer it in its thread."""
        if event.get("channel_type") == "im":
            self._answer(event)

    def on_mention(self, event: dict[str, Any]) -> None:
        """A mention of the app in a channel: answer it in its thread."""
        self._answer(event)

    def on_feedback(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        """A click on "did this fix it?": the employee's yes or no."""
        ack()
        action = body["actions"][0]
        fixed = action["action_id"] == FIXED
        user_ref = self.user_ref(body["user"]["id"])
        language = self.bridge.language_of(action["value"])
        answer = self.bridge.feedback(user_ref, action["value"], fixed)
        note = "channel.answered_yes" if fixed else "channel.answered_no"
        self._spend_buttons(body, self.bridge.text(note, language))
        message = body.get("message") or {}
        thread = Thread(body["container"]["channel_id"], message.get("thread_ts") or message["ts"])
        self._post(thread, answer.text, answer.feedback_for, answer.language)

    def on_decision(self, ack: Callable[[], None], body: dict[str, Any]) -> None:
        """A click on Approve or Deny by an approver."""
        ack()
        action = body["actions"][0]
        decision = "approved" if action["action_id"] == APPROVE else "denied"
        result = self.bridge.decide(self.user_ref(body["user"]["id"]), action["value"], decision)
        if result.spent:
            self._spend_buttons(body, result.message)
        else:
            self._post(Thread(body["container"]["channel_id"]), result.message)
        if result.update:
            self._tell_requester(result.update)

    # -- answering ------------------------------------------------------------------------------

    def user_ref(self, user_id: str) -> str:
        """The e-mail Slack shows for a user (cached), else `slack:<user id>`."""
        known = self._users.get(user_id)
        if known:
            return known
        try:
            profile = self.client.users_info(user=user_id)["user"].get("profile") or {}
        except SlackApiError as error:
            logger.warning("slack: users.info failed for %s: %s", user_id, error.response["error"])
            return f"slack:{user_id}"
        ref = profile.get("email") or f"slack:{user_id}"
        self._users.put(user_id, ref)
        return ref

    def _answer(self, event: dict[str, Any]) -> None:
        text = plain_text(event.get("text") or "")
        if not text or not event.get("user"):
            return
        thread = Thread(event["channel"], event.get("thread_ts") or event["ts"])
        answer = self.bridge.message(self.user_ref(event["user"]), text)
        if answer.interaction_id:
            self._threads.put(answer.interaction_id, thread)
        self._post(thread, answer.text, answer.feedback_for, answer.language)
        if answer.opened:
            self._ask_approvers(answer.opened)
        if answer.update:
            self._tell_requester(answer.update)

    def _post(
        self,
        thread: Thread,
        text: str,
        feedback_for: str | None = None,
        language: str = ENGLISH,
    ) -> None:
        """Post the engine's words (markdown) in a thread, with Yes/No buttons in their
        language when they ask whether it worked."""
        blocks = section_blocks(text)
        if feedback_for:
            yes, no = (self.bridge.text(k, language) for k in ("channel.yes", "channel.no"))
            blocks += feedback_buttons(feedback_for, yes, no)
        self.client.chat_postMessage(
            channel=thread.channel, thread_ts=thread.ts, text=to_mrkdwn(text), blocks=blocks
        )

    def _spend_buttons(self, body: dict[str, Any], note: str) -> None:
        """Replace a message's buttons with a note of what became of the click."""
        message = body.get("message") or {}
        kept = [b for b in message.get("blocks", []) if b.get("type") != "actions"]
        self.client.chat_update(
            channel=body["container"]["channel_id"],
            ts=body["container"]["message_ts"],
            text=message.get("text") or escape_mrkdwn(note),
            blocks=[*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}],
        )

    def _dm(self, email: str) -> Thread | None:
        """The app's DM with the Slack user who has this e-mail, if there is one."""
        try:
            return Thread(self.client.users_lookupByEmail(email=email)["user"]["id"])
        except SlackApiError as error:
            logger.info("slack: no Slack user for an employee (%s)", error.response["error"])
            return None

    def _ask_approvers(self, request: ApprovalRequest) -> None:
        for approver in request.approvers:
            thread = self._dm(approver.email)
            if thread:
                keys = ("approval.heading", "approval.approve", "approval.deny")
                heading, approve, deny = (self.bridge.text(k, APPROVER_LANGUAGE) for k in keys)
                self.client.chat_postMessage(
                    channel=thread.channel,
                    text=escape_mrkdwn(f"{heading}: {request.summary}"),
                    blocks=approval_blocks(request, (heading, approve, deny)),
                )

    def _tell_requester(self, update: RequesterUpdate) -> None:
        thread = self._threads.get(update.interaction_id) or self._dm(update.requester.email)
        if thread:
            self._post(thread, update.text, update.feedback_for, update.language)


def slack_app(
    runtime: Runtime, *, signing_secret: str, bot_token: str, api_url: str = DEFAULT_API_URL
) -> App:
    """The Bolt app answering Slack for this runtime; all Web API calls go to `api_url`."""
    base_url = api_url.rstrip("/") + "/"
    channel = SlackChannel(runtime, WebClient(token=bot_token, base_url=base_url))

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=bot_token)

    app = App(
        signing_secret=signing_secret,
        client=WebClient(base_url=base_url),  # Bolt's per-request clients copy its base_url
        authorize=authorize,
        name="unticket",
    )
    app.use(channel.skip_repeats_and_bots)
    app.event("message")(channel.on_direct_message)
    app.event("app_mention")(channel.on_mention)
    app.action(re.compile(f"^({FIXED}|{NOT_FIXED})$"))(channel.on_feedback)
    app.action(re.compile(f"^({APPROVE}|{DENY})$"))(channel.on_decision)
    return app


def slack_router(
    runtime: Runtime,
    *,
    signing_secret: str,
    bot_token: str,
    api_url: str = DEFAULT_API_URL,
    path: str = "/slack/events",
) -> APIRouter:
    """A FastAPI router serving Slack's events and interactivity at `path`."""
    app = slack_app(runtime, signing_secret=signing_secret, bot_token=bot_token, api_url=api_url)
    return events_router(app, signing_secret, path)


def unsigned(verifier: SignatureVerifier, headers: Mapping[str, str], body: bytes) -> str | None:
    """Why a request cannot be shown to come from Slack, or None if its signature holds.

    Headers that do not parse are refused here, before slack_sdk's verifier (which would raise
    on a timestamp that is not a number)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return "missing or malformed Slack signature headers"
    if not verifier.is_valid(body, timestamp, signature):
        return "the Slack signature does not match, or the request is stale"
    return None


def events_router(app: App, signing_secret: str, path: str = "/slack/events") -> APIRouter:
    """A FastAPI router handing the requests Slack sends to `path` to a Bolt app, once their
    signature holds (401 otherwise) and their body parses (400 otherwise)."""
    router = APIRouter()
    verifier = SignatureVerifier(signing_secret)

    @router.post(path, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        """Verify, acknowledge and dispatch one request from Slack."""
        body = await request.body()
        refused = unsigned(verifier, request.headers, body)
        if refused is not None:
            return JSONResponse({"error": refused}, status_code=401)
        try:
            bolt_request = BoltRequest(
                body=body.decode("utf-8"),
                query=str(request.query_params),
                headers={k: [v] for k, v in request.headers.items()},
            )
        except ValueError:  # not UTF-8, or not the JSON or form body Slack sends
            return JSONResponse({"error": "the body is not a Slack request"}, status_code=400)
        answer = await asyncio.to_thread(app.dispatch, bolt_request)
        return Response(
            content=answer.body,
            status_code=answer.status,
            headers=answer.first_headers_without_set_cookie(),
        )

    return router


class SocketMode:
    """A Bolt app's connection to Slack over Socket Mode, run while the server runs.

    The WebSocket URL comes from `apps.connections.open` through the app's own client (so at
    its `api_url`), called with the app-level token; slack_sdk's builtin client then keeps the
    connection up and acknowledges each envelope once Bolt has taken it.
    """

    def __init__(
        self, app: App, app_token: str, retry_seconds: float = SOCKET_RETRY_SECONDS
    ) -> None:
        self.app = app
        self.retry_seconds = retry_seconds
        self._app_token = app_token

    async def run(self) -> None:
        """Connect (after a failure, log it and try again) and stay connected until cancelled;
        then close the connection, letting envelopes being handled finish."""
        handler = SocketModeHandler(self.app, self._app_token, web_client=self.app.client)
        try:
            while not await _finish(asyncio.to_thread(_connect, handler)):
                await asyncio.sleep(self.retry_seconds)
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(handler.close)


def _connect(handler: SocketModeHandler) -> bool:
    """Open the Socket Mode connection; False (logged, without secrets) when it failed."""
    try:
        handler.connect()
    except SlackApiError as error:
        logger.warning("slack: apps.connections.open failed: %s", error.response["error"])
        return False
    except Exception as error:  # any failure to reach Slack: try again later
        logger.warning("slack: no Socket Mode connection (%s)", type(error).__name__)
        return False
    return True


async def _finish(work: Awaitable[bool]) -> bool:
    """Await work running on a thread; cancelled, wait for it to finish first."""
    running = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait([running])
        raise
