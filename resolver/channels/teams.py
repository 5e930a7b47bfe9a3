"""Microsoft Teams: a Bot Framework messaging endpoint at `/api/messages`, without the Bot
Framework SDK (which drags in aiohttp): PyJWT verifies the caller, httpx talks to the Bot
Connector.

What it does:

- Every request must carry the Bot Framework's bearer token: a JWT signed RS256 with one of
  the keys published at the OpenID metadata URL (or a JWKS URL given directly), issued by
  `https://api.botframework.com`, for audience = this bot's app id, not expired (5 minutes of
  clock skew allowed), with a `serviceUrl` claim equal to the activity's `serviceUrl` (replies,
  which carry the bot's own token, only ever go where the Bot Framework said), and signed by a
  key endorsed for the activity's channel. Anything else gets 401. Keys are cached for a day and
  fetched again, at most once a minute, when a token names a key not seen yet.
- A verified message activity is acknowledged at once (202) and answered afterwards: its text
  goes to the engine (channel 'teams') and the reply is POSTed to
  `{serviceUrl}/v3/conversations/{conversation.id}/activities/{activity.id}` with the bot's
  token. That token comes from the client-credentials grant at the token URL, is cached until
  five minutes before it expires, and is never logged.
- Who is writing: the conversation member's e-mail (else UPN), from the Bot Connector's
  `GET /v3/conversations/{id}/members/{user id}`; a member the connector cannot describe is
  sent as `teams:<aadObjectId>`, which the directory does not know (understood, nothing done).
  Display names are never used: two people can share one.
- A reply asking "did that fix it?" carries an Adaptive Card with Yes/No (`Action.Submit`);
  when a message opens an approval, each approver who has talked to the bot in a personal chat
  gets a card with Approve/Deny there (the others still get the engine's notice, and can type
  "approve APR-..."). A decision redraws the approver's card, and the requester hears the
  outcome in their personal chat. Personal chats are remembered in memory, so a restart
  forgets them until each person writes again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse

from resolver.channels import Answer, ApprovalRequest, ChatBridge, Recent, RequesterUpdate
from resolver.identity import TEAMS
from resolver.messages import APPROVER_LANGUAGE
from resolver.runtime import Runtime

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
DEFAULT_OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_TOKEN_URL = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
BOT_SCOPE = "https://api.botframework.com/.default"
CLOCK_SKEW_SECONDS = 300
KEYS_MAX_AGE_SECONDS = 24 * 3600
KEYS_MIN_REFRESH_SECONDS = 60
TOKEN_RENEW_EARLY_SECONDS = 300
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_AT_MENTION = re.compile(r"<at>.*?</at>", re.DOTALL)
logger = logging.getLogger("unticket.teams")


class UnauthorizedError(Exception):
    """A request whose bearer token does not prove it comes from the Bot Framework."""


@dataclass(frozen=True)
class SigningKey:
    """A public key of the Bot Framework and the channels it may sign for (None: any)."""

    key: Any
    endorsements: frozenset[str] | None


class SigningKeys:
    """The Bot Framework's signing keys, from OpenID metadata (its `jwks_uri`) or a JWKS URL."""

    def __init__(self, url: str, http: httpx.Client) -> None:
        self.url = url
        self.http = http
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, kid: str) -> SigningKey:
        """The key with this id, fetching the key set when it is stale or lacks the id."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > KEYS_MAX_AGE_SECONDS or (
                kid not in self._keys and age > KEYS_MIN_REFRESH_SECONDS
            ):
                self._keys = self._fetch()
                self._fetched_at = time.monotonic()
            if kid not in self._keys:
                raise UnauthorizedError("the token is signed with an unknown key")
            return self._keys[kid]

    def _fetch(self) -> dict[str, SigningKey]:
        document = self._json(self.url)
        if "keys" not in document:
            document = self._json(document["jwks_uri"])
        keys = {}
        for jwk in document["keys"]:
            if jwk.get("kty") == "RSA" and jwk.get("kid"):
                endorsements = jwk.get("endorsements")
                keys[jwk["kid"]] = SigningKey(
                    jwt.PyJWK(jwk, algorithm="RS256").key,
                    frozenset(endorsements) if endorsements is not None else None,
                )
        return keys

    def _json(self, url: str) -> dict[str, Any]:
        response = self.http.get(url)
        response.raise_for_status()
        return response.json()


class TokenVerifier:
    """Checks the Bot Framework's bearer token on an incoming activity."""

    def __init__(self, keys: SigningKeys, app_id: str, issuer: str = BOT_FRAMEWORK_ISSUER) -> None:
        self.keys = keys
        self.app_id = app_id
        self.issuer = issuer

    def verify(self, authorization: str | None, activity: dict[str, Any]) -> dict[str, Any]:
        """The token's claims; raises `UnauthorizedError` unless it is valid for this activity."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise UnauthorizedError("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise UnauthorizedError(f"malformed token: {error}") from None
        if header.get("alg") != "RS256":
            raise UnauthorizedError("the token is not signed RS256")
        key = self.keys.get(str(header.get("kid", "")))
        if key.endorsements is not None and activity.get("channelId") not in key.endorsements:
            raise UnauthorizedError("the signing key is not endorsed for this channel")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise UnauthorizedError(f"invalid token: {error}") from None
        if claims.get("serviceUrl") != activity.get("serviceUrl"):
            raise UnauthorizedError("the token is for another serviceUrl")
        return claims


class BotToken:
    """The bot's access token for the Bot Connector (client-credentials grant), cached until
    shortly before it expires."""

    def __init__(self, url: str, app_id: str, app_password: str, http: httpx.Client) -> None:
        self.url = url
        self.app_id = app_id
        self._password = app_password
        self.http = http
        self._token = ""
        self._renew_at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> str:
        """A valid token, fetched only when the cached one is about to expire."""
        with self._lock:
            if time.monotonic() >= self._renew_at:
                response = self.http.post(
                    self.url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.app_id,
                        "client_secret": self._password,
                        "scope": BOT_SCOPE,
                    },
                )
                response.raise_for_status()
                body = response.json()
                self._token = body["access_token"]
                lifetime = int(body.get("expires_in", 3600))
                self._renew_at = time.monotonic() + lifetime - TOKEN_RENEW_EARLY_SECONDS
            return self._token


@dataclass(frozen=True)
class Address:
    """A conversation with the bot: where to send, as whom, to whom."""

    service_url: str
    conversation_id: str
    bot: dict[str, str]
    user: dict[str, str]
    personal: bool

    @classmethod
    def of(cls, activity: dict[str, Any]) -> Address:
        """The conversation an incoming activity belongs to."""
        conversation = activity["conversation"]
        return cls(
            service_url=activity["serviceUrl"],
            conversation_id=conversation["id"],
            bot=_who(activity["recipient"]),
            user=_who(activity["from"]),
            personal=conversation.get("conversationType", "personal") == "personal",
        )

    def path(self, *parts: str) -> str:
        """A Bot Connector URL under this conversation, every part URL-encoded."""
        encoded = "/".join(quote(part, safe="") for part in (self.conversation_id, *parts))
        return f"{self.service_url.rstrip('/')}/v3/conversations/{encoded}"

    def message(self, text: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
        """A message activity from the bot to the user in this conversation."""
        return {
            "type": "message",
            "from": self.bot,
            "recipient": self.user,
            "conversation": {"id": self.conversation_id},
            "text": text,
            "attachments": attachments,
        }


def _who(account: dict[str, Any]) -> dict[str, str]:
    return {"id": account["id"], "name": account.get("name") or ""}


class BotConnector:
    """Sends activities to the Bot Connector service with the bot's token."""

    def __init__(self, token: BotToken, http: httpx.Client) -> None:
        self.token = token
        self.http = http

    def reply(self, address: Address, activity_id: str, message: dict[str, Any]) -> None:
        """Reply to an activity."""
        self._call(
            "POST", address.path("activities", activity_id), message | {"replyToId": activity_id}
        )

    def send(self, address: Address, message: dict[str, Any]) -> None:
        """Start a new message in a conversation."""
        self._call("POST", address.path("activities"), message)

    def update(self, address: Address, activity_id: str, message: dict[str, Any]) -> None:
        """Replace a message the bot sent earlier."""
        self._call("PUT", address.path("activities", activity_id), message | {"id": activity_id})

    def member(self, address: Address) -> dict[str, Any]:
        """The conversation's user as the connector describes them (e-mail, UPN, ...)."""
        return self._call("GET", address.path("members", address.user["id"]))

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.request(
            method, url, json=body, headers={"authorization": f"Bearer {self.token.get()}"}
        )
        response.raise_for_status()
        return response.json() if response.content else {}


def card(text: str, *actions: tuple[str, dict[str, str]]) -> dict[str, Any]:
    """An Adaptive Card attachment: a text and `Action.Submit` buttons (title, data)."""
    return {
        "contentType": ADAPTIVE_CARD,
        "content": {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": [{"type": "TextBlock", "text": text, "wrap": True}],
            "actions": [
                {"type": "Action.Submit", "title": title, "data": data} for title, data in actions
            ],
        },
    }


def feedback_card(
    interaction_id: str, words: tuple[str, str, str] = ("Did that fix it?", "Yes", "No")
) -> dict[str, Any]:
    """Yes/No buttons answering "did that fix it?"; `words` are the question and the two
    buttons' labels, in the reply's language."""
    question, yes, no = words
    data = {"unticket": "feedback", "interaction_id": interaction_id}
    return card(
        question,
        (yes, data | {"answer": "yes"}),
        (no, data | {"answer": "no"}),
    )


def approval_card(
    request: ApprovalRequest, words: tuple[str, str, str] = ("Approval needed", "Approve", "Deny")
) -> dict[str, Any]:
    """An approval put in front of an approver, with Approve and Deny buttons; `words` are the
    heading and the two buttons' labels."""
    heading, approve, deny = words
    data = {"unticket": "approval", "approval_id": request.approval_id}
    return card(
        f"{heading}: {request.summary}",
        (approve, data | {"decision": "approved"}),
        (deny, data | {"decision": "denied"}),
    )


def plain_text(text: str) -> str:
    """What a person wrote, without Teams' `<at>` mentions of the bot."""
    return _AT_MENTION.sub("", text).strip()


class TeamsChannel:
    """Turns verified Teams activities into engine calls, and answers through the connector."""

    def __init__(self, runtime: Runtime, connector: BotConnector) -> None:
        self.bridge = ChatBridge(runtime, "teams", TEAMS)
        self.connector = connector
        self._users: Recent[str, str] = Recent()
        self._addresses: Recent[str, Address] = Recent()
        self._seen: Recent[tuple[str, str], bool] = Recent()

    def handle(self, activity: dict[str, Any]) -> None:
        """Answer one verified activity (after the HTTP response); never raises."""
        try:
            self._handle(activity)
        except Exception:
            logger.exception("teams: could not answer an activity")

    def _handle(self, activity: dict[str, Any]) -> None:
        key = (str(activity["conversation"].get("id")), str(activity.get("id")))
        if activity.get("type") != "message" or not self._seen.first_time(key, True):
            return
        address = Address.of(activity)
        user_ref = self.user_ref(address, activity["from"])
        person = self.bridge.person(user_ref)
        if person and address.personal:
            self._addresses.put(person.employee_id, address)
        value = activity.get("value") if isinstance(activity.get("value"), dict) else {}
        if value.get("unticket") == "approval":
            self._on_decision(address, activity, user_ref, value)
        elif value.get("unticket") == "feedback":
            self._on_feedback(address, activity, user_ref, value)
        else:
            self._on_text(address, activity, user_ref)

    def user_ref(self, address: Address, sender: dict[str, Any]) -> str:
        """The member's e-mail or UPN (cached), else `teams:<aadObjectId>`."""
        known = self._users.get(sender["id"])
        if known:
            return known
        fallback = f"teams:{sender.get('aadObjectId') or sender['id']}"
        try:
            member = self.connector.member(address)
        except httpx.HTTPError as error:
            logger.warning("teams: could not look up a conversation member: %s", error)
            return fallback
        ref = member.get("email") or member.get("userPrincipalName") or fallback
        self._users.put(sender["id"], ref)
        return ref

    def _on_text(self, address: Address, activity: dict[str, Any], user_ref: str) -> None:
        text = plain_text(activity.get("text") or "")
        if not text:
            return
        answer = self.bridge.message(user_ref, text)
        self._reply(address, activity["id"], answer)
        if answer.opened:
            self._ask_approvers(answer.opened)
        if answer.update:
            self._tell_requester(answer.update)

    def _on_feedback(
        self, address: Address, activity: dict[str, Any], user_ref: str, value: dict[str, Any]
    ) -> None:
        fixed = value.get("answer") == "yes"
        answer = self.bridge.feedback(user_ref, str(value.get("interaction_id")), fixed)
        self._reply(address, activity["id"], answer)

    def _on_decision(
        self, address: Address, activity: dict[str, Any], user_ref: str, value: dict[str, Any]
    ) -> None:
        result = self.bridge.decide(
            user_ref, str(value.get("approval_id")), str(value.get("decision"))
        )
        card_id = activity.get("replyToId")
        if result.spent and card_id:
            self.connector.update(address, card_id, address.message("", [card(result.message)]))
        else:
            self._reply(address, activity["id"], Answer(result.message))
        if result.update:
            self._tell_requester(result.update)

    def _reply(self, address: Address, activity_id: str, answer: Answer) -> None:
        cards = self._feedback_cards(answer.feedback_for, answer.language)
        self.connector.reply(address, activity_id, address.message(answer.text, cards))

    def _feedback_cards(self, interaction_id: str | None, language: str) -> list[dict[str, Any]]:
        """The Yes/No card in the reply's language, when the reply asks whether it worked."""
        if not interaction_id:
            return []
        keys = ("channel.did_it_work", "channel.yes", "channel.no")
        question, yes, no = (self.bridge.text(key, language) for key in keys)
        return [feedback_card(interaction_id, (question, yes, no))]

    def _ask_approvers(self, request: ApprovalRequest) -> None:
        keys = ("approval.heading", "approval.approve", "approval.deny")
        heading, approve, deny = (self.bridge.text(key, APPROVER_LANGUAGE) for key in keys)
        for approver in request.approvers:
            address = self._addresses.get(approver.employee_id)
            if address:
                approval = approval_card(request, (heading, approve, deny))
                self.connector.send(address, address.message("", [approval]))

    def _tell_requester(self, update: RequesterUpdate) -> None:
        address = self._addresses.get(update.requester.employee_id)
        if address:
            cards = self._feedback_cards(update.feedback_for, update.language)
            self.connector.send(address, address.message(update.text, cards))


def teams_router(
    runtime: Runtime,
    *,
    app_id: str,
    app_password: str,
    openid_url: str = DEFAULT_OPENID_URL,
    token_url: str = DEFAULT_TOKEN_URL,
    path: str = "/api/messages",
) -> APIRouter:
    """A FastAPI router serving the bot's Bot Framework messaging endpoint at `path`."""
    http = httpx.Client(timeout=10)
    verifier = TokenVerifier(SigningKeys(openid_url, http), app_id)
    channel = TeamsChannel(
        runtime, BotConnector(BotToken(token_url, app_id, app_password, http), http)
    )
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def messages(request: Request, background: BackgroundTasks) -> Response:
        """Verify an activity, acknowledge it, and answer it once the response is sent."""
        try:
            activity = await request.json()
        except ValueError:
            activity = None
        if not isinstance(activity, dict) or not isinstance(activity.get("conversation"), dict):
            return JSONResponse({"error": "the body is not a Bot Framework activity"}, 400)
        try:
            await asyncio.to_thread(verifier.verify, request.headers.get("authorization"), activity)
        except UnauthorizedError as error:
            logger.info("teams: refused a request: %s", error)
            return JSONResponse({"error": f"unauthorized: {error}"}, 401)
        except httpx.HTTPError as error:
            logger.error("teams: could not fetch the Bot Framework's signing keys: %s", error)
            return JSONResponse({"error": "cannot verify requests right now"}, 503)
        background.add_task(channel.handle, activity)
        return Response(status_code=202)

    return router
