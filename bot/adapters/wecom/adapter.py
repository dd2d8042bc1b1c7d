"""WeCom (企业微信) self-built application: encrypted callbacks in, message/send out.

WeCom waits five seconds for an answer and then retries the callback three times, so every
POST is acknowledged at once with an empty 200 and answered later through message/send; the
retries are recognised by ``MsgId`` and dropped.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import aiohttp
import structlog
from aiohttp import web
from pydantic import SecretStr

from bot.adapters.base import MessageHandler
from bot.adapters.textsplit import sorry_text
from bot.adapters.wecom import convert
from bot.adapters.wecom.api import WeComClient
from bot.adapters.wecom.crypto import CallbackRejected, WeComCrypto
from core.config.channels import WeComSettings
from core.errors import AdapterError, ConfigError, InputError
from core.types import Button, ConversationKey, IncomingMessage, OutgoingMessage

log = structlog.get_logger(__name__)

_MAX_BODY_BYTES = 64 * 1024  # callbacks are a few hundred bytes
_REMEMBERED = 10_000  # recent MsgIds and offered options kept in memory
_T = TypeVar("_T")


class WeComAdapter:
    """The WeCom channel. Mount :meth:`routes` on Kefu's server at ``callback_path``."""

    platform = convert.PLATFORM

    def __init__(self, settings: WeComSettings, handler: MessageHandler) -> None:
        self._settings = settings
        self._handler = handler
        self._crypto = WeComCrypto.create(
            _secret(settings.token, "token"),
            _secret(settings.encoding_aes_key, "encoding_aes_key"),
            _required(settings.corp_id, "corp_id"),
        )
        self._agent_id: int = _required(settings.agent_id, "agent_id")
        self._secret = _secret(settings.secret, "secret")
        self._session: aiohttp.ClientSession | None = None
        self._client: WeComClient | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._offered: OrderedDict[str, tuple[Button, ...]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the HTTP session; callbacks arrive through :meth:`routes`."""
        timeout = aiohttp.ClientTimeout(total=self._settings.request_timeout_s)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._client = WeComClient(
            self._session,
            base_url=self._settings.api_base_url,
            corp_id=self._crypto.receive_id,
            secret=self._secret,
        )
        log.info("wecom.started", path=self._settings.callback_path)

    async def stop(self) -> None:
        """Finish the answers in flight (up to 10 s), then close the session."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
        if self._session is not None:
            await self._session.close()
        self._session = self._client = None

    def routes(self) -> Sequence[web.RouteDef]:
        path = self._settings.callback_path
        return [web.get(path, self._verify_url), web.post(path, self._receive)]

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Send ``message`` to the WeCom user ``key.user_id`` through message/send.

        Raises:
            AdapterError: not started, or WeCom refused the message.
        """
        if self._client is None:
            raise AdapterError("wecom adapter is not started")
        if message.buttons:
            self._offer(key, message.buttons)
        for content in convert.render(message):
            payload = convert.send_payload(self._agent_id, key.user_id, content)
            data = await self._client.call("/cgi-bin/message/send", payload)
            if data.get("invaliduser"):
                raise AdapterError("wecom message/send: user not reachable by this app")
        log.info("wecom.sent", conversation=key.as_str(), chars=len(message.text))

    async def _verify_url(self, request: web.Request) -> web.StreamResponse:
        """WeCom's URL check when the callback is saved: the signed ``echostr``, decrypted."""
        try:
            signed = convert.SignedQuery.from_query(request.query)
            echostr = convert.echostr_of(request.query)
            plain = self._crypto.open(
                signed.msg_signature,
                signed.timestamp,
                signed.nonce,
                echostr,
                max_age_s=self._settings.max_timestamp_age_s,
            )
        except CallbackRejected as e:
            return _rejected(request, e)
        except InputError as e:
            log.warning("wecom.callback.malformed", error=str(e))
            return web.Response(status=400, text="bad request")
        log.info("wecom.url.verified")
        return web.Response(text=plain)

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        """WeCom's callback: one encrypted, signed XML message per request."""
        if (request.content_length or 0) > _MAX_BODY_BYTES:
            return web.Response(status=413, text="too large")
        try:
            signed = convert.SignedQuery.from_query(request.query)
            body = await request.read()  # bounded by the server's client_max_size too
            encrypted = convert.encrypted_field(body)
            plain = self._crypto.open(
                signed.msg_signature,
                signed.timestamp,
                signed.nonce,
                encrypted,
                max_age_s=self._settings.max_timestamp_age_s,
            )
            fields = convert.fields_of(plain)
        except CallbackRejected as e:
            return _rejected(request, e)
        except InputError as e:
            log.warning("wecom.callback.malformed", error=str(e))
            return web.Response(status=400, text="bad request")
        if not self._first_time(convert.dedupe_key(fields)):
            log.info("wecom.callback.duplicate", msg_id=fields.get("MsgId"))
            return web.Response(text="")
        incoming = convert.to_incoming(fields)
        if incoming is not None:
            self._spawn(self._answer(incoming))
        return web.Response(text="")

    async def _answer(self, incoming: IncomingMessage) -> None:
        key = incoming.key
        lock = self._locks.setdefault(key.as_str(), asyncio.Lock())
        try:
            async with lock:  # one customer's messages are answered in order
                incoming = self._with_choice(incoming)
                try:
                    replies = await self._handler(incoming)
                except Exception:
                    log.exception("wecom.handler.failed", conversation=key.as_str())
                    replies = [OutgoingMessage(text=sorry_text(incoming.text))]
                for reply in replies:
                    await self.send(key, reply)
        except AdapterError as e:
            log.warning("wecom.send.failed", conversation=key.as_str(), error=str(e))
        finally:
            if not lock.locked():
                self._locks.pop(key.as_str(), None)

    def _with_choice(self, incoming: IncomingMessage) -> IncomingMessage:
        """Replace a bare number answering our numbered options with that option's payload."""
        offered = self._offered.pop(incoming.key.as_str(), ())
        payload = convert.resolve_choice(incoming.text, offered) if offered else None
        if payload is None:
            return incoming
        return IncomingMessage(
            message_id=incoming.message_id,
            key=incoming.key,
            text=payload,
            sender_name=incoming.sender_name,
            timestamp=incoming.timestamp,
            parts=incoming.parts,
            raw=incoming.raw,
        )

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)  # keep a reference until done, so it is not collected
        task.add_done_callback(self._tasks.discard)

    def _first_time(self, dedupe_key: str) -> bool:
        if dedupe_key in self._seen:
            return False
        self._seen[dedupe_key] = None
        _trim(self._seen)
        return True

    def _offer(self, key: ConversationKey, buttons: tuple[Button, ...]) -> None:
        self._offered[key.as_str()] = buttons
        self._offered.move_to_end(key.as_str())
        _trim(self._offered)


def _trim(store: OrderedDict[str, Any]) -> None:
    while len(store) > _REMEMBERED:
        store.popitem(last=False)


def _rejected(request: web.Request, error: CallbackRejected) -> web.Response:
    log.warning(
        "wecom.callback.rejected",
        reason=error.reason,
        kind=type(error).__name__,
        remote=request.remote,
    )
    return web.Response(status=error.http_status, text="rejected")


def _required(value: _T | None, name: str) -> _T:
    if value is None or value == "":
        raise ConfigError(f"wecom.{name} is required when WeCom is enabled")
    return value


def _secret(value: SecretStr | None, name: str) -> str:
    return _required(value.get_secret_value() if value is not None else None, name)
