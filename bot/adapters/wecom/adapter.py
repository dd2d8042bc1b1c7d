"""WeCom (企业微信) self-built application: encrypted callbacks in, message/send out.

WeCom waits five seconds for an answer and then retries the callback three times, so every
POST is acknowledged with an empty 200 as soon as the message is recorded in the durable
inbox, and answered later through message/send by the outbox; the retries are recognised by
``MsgId`` in the inbox and answered once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import TypeVar

import aiohttp
import structlog
from aiohttp import web
from pydantic import SecretStr

import bot.adapters.wecom.convert as convert
from bot.adapters.base import Runner
from bot.adapters.wecom.api import WeComClient
from bot.adapters.wecom.crypto import CallbackRejected, WeComCrypto
from bot.runtime.runner import ShuttingDown
from core.config.channels import WeComSettings
from core.errors import AdapterError, ConfigError, InputError, NotConnected, StorageError
from core.storage.shared import SharedValues
from core.types import Button, ConversationKey, IncomingMessage, OutgoingMessage

log = structlog.get_logger(__name__)

_MAX_BODY_BYTES = 64 * 1024  # callbacks are a few hundred bytes
_OPTIONS = "wecom.options"
_OPTIONS_TTL = timedelta(days=1)
_T = TypeVar("_T")


class WeComAdapter:
    """The WeCom channel. Mount :meth:`routes` on Kefu's server at ``callback_path``."""

    platform = convert.PLATFORM
    delivery = "push"

    def __init__(self, settings: WeComSettings, runner: Runner, shared: SharedValues) -> None:
        self._settings = settings
        self._runner = runner
        self._shared = shared
        self._crypto = WeComCrypto.create(
            _secret(settings.token, "token"),
            _secret(settings.encoding_aes_key, "encoding_aes_key"),
            _required(settings.corp_id, "corp_id"),
        )
        self._agent_id: int = _required(settings.agent_id, "agent_id")
        self._secret = _secret(settings.secret, "secret")
        self._session: aiohttp.ClientSession | None = None
        self._client: WeComClient | None = None

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
        log.info("wecom.started", path=self._settings.callback_path, agent_id=self._agent_id)

    async def stop(self) -> None:
        """Close the session (answers still due stay in the outbox for the next worker)."""
        if self._session is not None:
            await self._session.close()
        self._session = self._client = None

    def routes(self) -> Sequence[web.RouteDef]:
        path = self._settings.callback_path
        return [web.get(path, self._verify_url), web.post(path, self._receive)]

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Send ``message`` to the WeCom user ``key.user_id`` through message/send.

        Raises:
            NotConnected: not started on this worker (another one sends it).
            TransientDeliveryError: WeCom is busy or unreachable; sent again later.
            AdapterError: WeCom refused the message.
        """
        if self._client is None:
            raise NotConnected("wecom adapter is not started")
        if message.buttons:
            await self._offer(key, message.buttons)
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
        incoming = convert.to_incoming(fields)
        if incoming is None:
            return web.Response(text="")
        try:
            await self._runner.accept(await self._with_choice(incoming))
        except ShuttingDown:
            return web.Response(status=503, text="restarting")  # WeCom calls back again
        except StorageError:
            log.exception("wecom.callback.not_recorded", msg_id=fields.get("MsgId"))
            return web.Response(status=500, text="try again")
        return web.Response(text="")

    async def _with_choice(self, incoming: IncomingMessage) -> IncomingMessage:
        """Replace a bare number answering our numbered options with that option's payload
        (the options are in the database: any worker may have offered them)."""
        stored = await self._shared.pop(_OPTIONS, incoming.key.as_str())
        offered = tuple(Button(b["title"], b["payload"]) for b in (stored or {}).get("buttons", []))
        payload = convert.resolve_choice(incoming.text, offered) if offered else None
        if payload is None:
            return incoming
        return dataclasses.replace(incoming, text=payload)

    async def _offer(self, key: ConversationKey, buttons: tuple[Button, ...]) -> None:
        value = {"buttons": [{"title": b.title, "payload": b.payload} for b in buttons]}
        await self._shared.put(_OPTIONS, key.as_str(), value, ttl=_OPTIONS_TTL)


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
