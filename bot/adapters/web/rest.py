"""The REST channel, compatible with Rasa's: existing web chat widgets work unchanged.

``POST /webhooks/rest/webhook`` with ``{"sender", "message"}`` returns the bot's messages.
Messages sent later (an agent's reply) wait in an outbox: they come with the customer's next
response, or from ``GET /webhooks/rest/messages?sender=...``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import structlog
from aiohttp import web

from bot.adapters.base import MessageHandler
from bot.adapters.web.convert import outgoing_to_rest, parse_sender, rest_to_incoming
from bot.adapters.web.outbox import Outbox
from bot.observability.api_docs import operation
from bot.observability.schemas import BOT_MESSAGES, ERROR, REST_REQUEST
from bot.pipeline import new_message_id
from core.errors import InputError
from core.types import ConversationKey, OutgoingMessage

log = structlog.get_logger(__name__)


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class RestChannel:
    platform = "rest"

    def __init__(self, handler: MessageHandler) -> None:
        self._handler = handler
        self._outbox = Outbox()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        self._outbox.put(key.chat_id, message)

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
        description="Rasa-compatible. Messages sent later (an agent's reply) come with the "
        "customer's next response or from GET /webhooks/rest/messages.",
        request=REST_REQUEST,
        responses={
            "200": {"description": "The bot's messages", "schema": BOT_MESSAGES},
            "400": {"description": "Body not JSON or a field missing", "schema": ERROR},
        },
    )
    async def _webhook(self, request: web.Request) -> web.Response:
        try:
            body = json.loads((await request.read()).decode("utf-8"))
            incoming = rest_to_incoming(body, new_message_id(), self.platform)
        except UnicodeDecodeError:
            return json_error(400, "request body is not valid UTF-8")
        except json.JSONDecodeError as error:
            return json_error(400, f"request body is not valid JSON: {error.msg}")
        except InputError as error:
            return json_error(400, str(error))
        replies = await self._handler(incoming)
        sender = incoming.key.chat_id
        messages = [*self._outbox.take(sender), *replies]
        return web.json_response([outgoing_to_rest(sender, m) for m in messages])

    @operation(
        "Messages waiting for a customer (an agent's replies)",
        query={"sender": "The customer's id."},
        responses={"200": {"description": "Messages not yet fetched", "schema": BOT_MESSAGES}},
    )
    async def _pending(self, request: web.Request) -> web.Response:
        try:
            sender = parse_sender(request.query.get("sender"))
        except InputError as error:
            return json_error(400, str(error))
        return web.json_response([outgoing_to_rest(sender, m) for m in self._outbox.take(sender)])
