"""The REST channel, compatible with Rasa's: existing web chat widgets work unchanged.

``POST /webhooks/rest/webhook`` with ``{"sender", "message"}`` (and optionally the client's
own ``"message_id"``) returns the bot's messages. Repeating a ``message_id`` returns the
replies stored for it instead of answering twice, so a client may safely retry. Messages
sent later (an agent's reply) wait in the database's outbox: they come with the customer's
next response, or from ``GET /webhooks/rest/messages?sender=...``, from any worker.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import structlog
from aiohttp import web

from bot.adapters.base import Runner
from bot.adapters.textsplit import sorry_text
from bot.adapters.web.convert import (
    outgoing_to_rest,
    parse_sender,
    rest_replies,
    rest_to_incoming,
)
from bot.pipeline import new_message_id
from bot.runtime.runner import ShuttingDown
from core.errors import InputError, NotConnected, StorageError
from core.storage.outbox import OutboxStore
from core.types import ConversationKey, OutgoingMessage

log = structlog.get_logger(__name__)


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class RestChannel:
    platform = "rest"
    delivery = "pull"

    def __init__(self, runner: Runner, outbox: OutboxStore) -> None:
        self._runner = runner
        self._outbox = outbox

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
        return web.json_response({"status": "ok"})

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
        sender = incoming.key.chat_id
        try:
            replies = await self._runner.handle(incoming)  # with messages that were waiting
        except ShuttingDown:
            return json_error(503, "the server is restarting, please send again")
        except StorageError:
            log.exception("rest.storage_unavailable", conversation=incoming.key.as_str())
            apology = OutgoingMessage(sorry_text(incoming.text), custom={"answer_kind": "error"})
            return web.json_response([outgoing_to_rest(sender, apology)])
        return web.json_response(rest_replies(sender, [replies]))

    async def _pending(self, request: web.Request) -> web.Response:
        try:
            sender = parse_sender(request.query.get("sender"))
        except InputError as error:
            return json_error(400, str(error))
        key = ConversationKey(self.platform, sender, sender)
        try:
            waiting = await self._outbox.take(key)
        except StorageError:
            return json_error(503, "messages are unavailable right now, please try again")
        return web.json_response(rest_replies(sender, [waiting]))
