"""The REST channel, compatible with Rasa's: existing web chat widgets work unchanged.

``POST /webhooks/rest/webhook`` with ``{"sender", "message"}`` returns the bot's messages.
Messages sent later (an agent's reply) wait in an outbox: they come with the customer's next
response, or from ``GET /webhooks/rest/messages``. Who the customer is comes from a credential
(see :mod:`bot.adapters.web.identity`), never from ``sender`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiohttp import web

from bot.adapters.base import MessageHandler
from bot.adapters.web.convert import outgoing_to_rest, rest_to_incoming
from bot.adapters.web.identity import CustomerIdentity, NotAuthenticated, unauthorized
from bot.adapters.web.outbox import Outbox
from bot.pipeline import new_message_id
from core.errors import InputError
from core.types import ConversationKey, OutgoingMessage
from core.untrusted import parse_json

log = structlog.get_logger(__name__)


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class RestChannel:
    platform = "rest"

    def __init__(self, handler: MessageHandler, identity: CustomerIdentity) -> None:
        self._handler = handler
        self._identity = identity
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
        return web.json_response({"status": "ok"})

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
        replies = await self._handler(incoming)
        sender = incoming.key.chat_id
        messages = [*self._outbox.take(sender), *replies]
        response = web.json_response([outgoing_to_rest(sender, m) for m in messages])
        self._identity.hand_back(request, response, customer)
        return response

    async def _pending(self, request: web.Request) -> web.Response:
        try:
            customer = await self._identity.customer_of(request)
        except NotAuthenticated as error:
            return unauthorized(error)
        except InputError as error:
            return json_error(400, str(error))
        sender = customer.sender
        return web.json_response([outgoing_to_rest(sender, m) for m in self._outbox.take(sender)])
