"""The REST channel, compatible with Rasa's: existing web chat widgets work unchanged.

``POST /webhooks/rest/webhook`` with ``{"sender", "message"}`` (and optionally the client's
own ``"message_id"``) returns the bot's messages. Who the customer is comes from a credential
(see :mod:`bot.adapters.web.identity`), never from ``sender`` alone. Repeating a
``message_id`` returns the replies stored for it instead of answering twice, so a client may
safely retry. Messages sent later (an agent's reply) wait in the database's outbox: they
come with the customer's next response, or from ``GET /webhooks/rest/messages``, from any
worker.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiohttp import web

from bot.adapters.base import Runner
from bot.adapters.textsplit import sorry_text
from bot.adapters.web.convert import outgoing_to_rest, rest_replies, rest_to_incoming
from bot.adapters.web.identity import CustomerIdentity, NotAuthenticated, unauthorized
from bot.observability.api_docs import operation
from bot.observability.schemas import BOT_MESSAGES, ERROR, REST_REQUEST
from bot.pipeline import new_message_id
from bot.runtime.runner import ShuttingDown
from core.errors import InputError, NotConnected, StorageError
from core.storage.outbox import OutboxStore
from core.types import ConversationKey, OutgoingMessage
from core.untrusted import parse_json

log = structlog.get_logger(__name__)


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class RestChannel:
    platform = "rest"
    delivery = "pull"

    def __init__(self, runner: Runner, outbox: OutboxStore, identity: CustomerIdentity) -> None:
        self._runner = runner
        self._outbox = outbox
        self._identity = identity

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        raise NotConnected("REST customers fetch their messages")

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.get("/webhooks/rest/", self._health),
            web.post("/webhooks/rest/webhook", self._webhook),
            web.get("/webhooks/rest/messages", self._pending),
        ]

    async def _health(self, request: web.Request) -> web.Response:
        """The REST channel is up (Rasa's health check)."""
        return web.json_response({"status": "ok"})

    @operation(
        "Send a customer message; the bot's replies come back",
        description="Rasa-compatible. The customer is the one the credential names (visitor "
        "token, signed identity, or the channel API token with `sender`). Repeating a "
        "`message_id` returns the replies stored for it. Messages sent later (an agent's "
        "reply) come with the customer's next response or from GET /webhooks/rest/messages.",
        request=REST_REQUEST,
        responses={
            "200": {"description": "The bot's messages", "schema": BOT_MESSAGES},
            "400": {"description": "Body not JSON or a field missing", "schema": ERROR},
            "401": {"description": "A credential that is wrong or expired", "schema": ERROR},
            "503": {"description": "The worker is restarting: send again", "schema": ERROR},
        },
    )
    async def _webhook(self, request: web.Request) -> web.Response:
        try:
            body = parse_json(await request.read())
            if not isinstance(body, dict):
                raise InputError("request body must be a JSON object")
            customer = await self._identity.customer_of(request, body, new_visitor=True)
            incoming = rest_to_incoming(
                {**body, "sender": customer.sender}, new_message_id(), self.platform
            )
        except NotAuthenticated as error:
            return unauthorized(error)
        except InputError as error:
            return json_error(400, str(error))
        sender = incoming.key.chat_id
        try:
            replies = await self._runner.handle(incoming)  # with messages that were waiting
        except ShuttingDown:
            return json_error(503, "the server is restarting, please send again")
        except StorageError:
            log.exception("rest.storage_unavailable", conversation=incoming.key.as_str())
            apology = OutgoingMessage(sorry_text(incoming), custom={"answer_kind": "error"})
            response = web.json_response([outgoing_to_rest(sender, apology)])
        else:
            response = web.json_response(rest_replies(sender, [replies]))
        self._identity.hand_back(request, response, customer)
        return response

    @operation(
        "Messages waiting for a customer (an agent's replies), taken once",
        description="For the customer the credential names, from any worker.",
        responses={
            "200": {"description": "Messages not yet fetched", "schema": BOT_MESSAGES},
            "401": {"description": "No or a wrong credential", "schema": ERROR},
        },
    )
    async def _pending(self, request: web.Request) -> web.Response:
        try:
            customer = await self._identity.customer_of(request)
        except NotAuthenticated as error:
            return unauthorized(error)
        except InputError as error:
            return json_error(400, str(error))
        sender = customer.sender
        try:
            waiting = await self._outbox.take(ConversationKey(self.platform, sender, sender))
        except StorageError:
            return json_error(503, "messages are unavailable right now, please try again")
        return web.json_response(rest_replies(sender, [waiting]))
