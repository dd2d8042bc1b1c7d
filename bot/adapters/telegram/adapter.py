"""Telegram channel on python-telegram-bot: long polling or a webhook on Kefu's own server."""

from __future__ import annotations

import asyncio
import datetime as dtm
import hmac
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from typing import Any

import structlog
from aiohttp import web
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes, TypeHandler

from bot.adapters.base import StreamingHandler
from bot.adapters.telegram import convert
from bot.adapters.telegram.drafts import AnswerDraft
from bot.adapters.telegram.markup import CallbackPayloads, TelegramText, render
from bot.adapters.textsplit import sorry_text
from core.config.channels import TelegramSettings
from core.errors import AdapterError, ConfigError
from core.types import ConversationKey, IncomingMessage, OutgoingMessage

log = structlog.get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
_REMEMBERED_UPDATES = 10_000
_MAX_RETRY_AFTER_S = 30.0
_DRAIN_S = 10.0  # how long stop() waits for acknowledged updates to be answered

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes updates concurrently, but one chat's updates one after another, in order.

    Updates arrive in order and each waits on its chat's lock (asyncio locks are fair), so a
    customer's second message is never answered before the first.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        try:
            async with lock:
                await coroutine
        finally:
            if not lock.locked():
                self._locks.pop(chat.id, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class TelegramAdapter:
    """The Telegram channel.

    Polling mode fetches updates itself; webhook mode serves :meth:`routes` on Kefu's server
    and checks Telegram's secret-token header on every request.
    """

    platform = convert.PLATFORM

    def __init__(self, settings: TelegramSettings, handler: StreamingHandler) -> None:
        if settings.token is None or not settings.token.get_secret_value():
            raise ConfigError("telegram.token is required when Telegram is enabled")
        if settings.mode == "webhook" and settings.webhook_secret is None:
            raise ConfigError("telegram.webhook_secret is required in webhook mode")
        self._settings = settings
        self._handler = handler
        self._payloads = CallbackPayloads()
        self._seen_updates: OrderedDict[int, None] = OrderedDict()
        self._identity: convert.BotIdentity | None = None
        self._accepting = False
        self._app = self._build_application(settings)

    @property
    def application(self) -> AnyApplication:
        """The python-telegram-bot application (for advanced wiring and tests)."""
        return self._app

    async def start(self) -> None:
        """Log in (getMe), then start polling or register the webhook."""
        await self._app.initialize()
        me = self._app.bot.bot
        self._identity = convert.BotIdentity(id=me.id, username=me.username or "")
        if self._settings.mode == "polling":
            assert self._app.updater is not None
            await self._app.updater.start_polling(
                timeout=dtm.timedelta(seconds=self._settings.poll_timeout_s),
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=self._settings.drop_pending_updates,
            )
        elif self._settings.webhook_url:
            await self._app.bot.set_webhook(
                url=self._settings.webhook_url,
                secret_token=self._secret(),
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=self._settings.drop_pending_updates,
            )
        await self._app.start()
        self._accepting = True
        log.info("telegram.started", mode=self._settings.mode, bot=self._identity.username)

    async def stop(self) -> None:
        """Stop receiving, answer the updates already acknowledged, close the HTTP clients.

        Webhook calls during shutdown get 503, so Telegram delivers them again later.
        """
        self._accepting = False
        if self._app.updater is not None and self._app.updater.running:
            await self._app.updater.stop()
        if self._app.running:
            try:
                await asyncio.wait_for(self._app.update_queue.join(), _DRAIN_S)
            except TimeoutError:
                log.warning("telegram.stop.undrained", pending=self._app.update_queue.qsize())
            await self._app.stop()
        await self._app.shutdown()

    def routes(self) -> Sequence[web.RouteDef]:
        if self._settings.mode != "webhook":
            return []
        return [web.post(self._settings.webhook_path, self._receive_webhook)]

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Send ``message`` to the chat (and forum topic) of ``key``.

        Raises:
            AdapterError: Telegram refused the message (the bot was blocked, the chat is gone).
        """
        await self._deliver(key, message, reply_to=None)

    def _build_application(self, settings: TelegramSettings) -> AnyApplication:
        assert settings.token is not None
        builder = (
            Application.builder()
            .token(settings.token.get_secret_value())
            .base_url(settings.api_base_url)
            .base_file_url(settings.file_base_url)
            .concurrent_updates(PerChatUpdateProcessor(settings.max_concurrent_updates))
        )
        if settings.mode == "webhook":
            builder = builder.updater(None)
        app: AnyApplication = builder.build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        return app

    def _secret(self) -> str:
        assert self._settings.webhook_secret is not None
        return self._settings.webhook_secret.get_secret_value()

    async def _receive_webhook(self, request: web.Request) -> web.StreamResponse:
        """Telegram's webhook: one Update per request, checked with the secret token header."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret().encode()):
            log.warning("telegram.webhook.forged", remote=request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            update = Update.de_json(data, self._app.bot)
        except (UnicodeDecodeError, AttributeError, KeyError, TypeError, ValueError):
            log.warning("telegram.webhook.malformed", remote=request.remote)
            return web.Response(status=400, text="bad request")
        if not self._accepting:
            return web.Response(status=503, text="not running")  # Telegram retries later
        await self._app.update_queue.put(update)
        return web.Response(text="ok")

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self._first_time(update.update_id):
            log.info("telegram.update.duplicate", update_id=update.update_id)
            return
        assert self._identity is not None
        if update.callback_query is not None:
            incoming = await self._on_button(update)
        else:
            incoming = convert.message_to_incoming(update, self._identity)
        if incoming is None:
            return
        private = update.effective_chat is not None and update.effective_chat.type == "private"
        reply_to = None
        if update.message is not None and not private:  # in groups, answer the message itself
            reply_to = update.message.message_id
        await self._answer(incoming, reply_to, private=private)

    async def _on_button(self, update: Update) -> IncomingMessage | None:
        query = update.callback_query
        assert query is not None
        payload = self._payloads.decode(query.data or "")
        try:
            if payload is None:
                await query.answer("This button has expired. / 该按钮已过期。")
                return None
            await query.answer()
            await query.edit_message_reply_markup(reply_markup=None)  # pressed once
        except TelegramError as e:
            log.info("telegram.button.ack_failed", error=str(e))
        return convert.callback_to_incoming(update, payload) if payload is not None else None

    async def _answer(
        self, incoming: IncomingMessage, reply_to: int | None, *, private: bool
    ) -> None:
        key = incoming.key
        draft = None
        if private and self._settings.stream_drafts:  # Telegram shows drafts in private chats
            draft = AnswerDraft(self._app.bot, key, interval_s=self._settings.draft_interval_s)
        try:
            replies = await self._handler(incoming, stream=draft.add if draft else None)
        except Exception:
            log.exception("telegram.handler.failed", conversation=key.as_str())
            replies = [OutgoingMessage(text=sorry_text(incoming.text))]
        for reply in replies:
            try:
                await self._deliver(key, reply, reply_to=reply_to)
            except AdapterError as e:
                log.warning("telegram.send.failed", conversation=key.as_str(), error=str(e))
            reply_to = None

    async def _deliver(
        self, key: ConversationKey, message: OutgoingMessage, *, reply_to: int | None
    ) -> None:
        for part in render(message, self._payloads):
            await self._send_part(key, part, reply_to)
            reply_to = None
        log.info("telegram.sent", conversation=key.as_str(), chars=len(message.text))

    async def _send_part(
        self, key: ConversationKey, part: TelegramText, reply_to: int | None
    ) -> None:
        kwargs: dict[str, Any] = {
            "chat_id": int(key.chat_id),
            "message_thread_id": int(key.thread_id) if key.thread_id else None,
            "reply_markup": _keyboard(part),
            "link_preview_options": LinkPreviewOptions(is_disabled=True),
        }
        if reply_to is not None:
            kwargs["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
        try:
            await self._send_with_retry(text=part.html, parse_mode=ParseMode.HTML, **kwargs)
        except BadRequest as e:
            if "entit" not in str(e).lower():
                raise AdapterError(f"telegram refused the message: {e}") from e
            # Never lose an answer to markup: send it again without any.
            log.warning("telegram.send.markup_refused", error=str(e))
            await self._send_with_retry(text=part.plain, **kwargs)
        except Forbidden as e:
            raise AdapterError(f"telegram: the bot cannot write to this chat: {e}") from e
        except TelegramError as e:
            raise AdapterError(f"telegram sendMessage failed: {e}") from e

    async def _send_with_retry(self, **kwargs: Any) -> None:
        try:
            await self._app.bot.send_message(**kwargs)
        except RetryAfter as e:
            wait = _retry_after_seconds(e)
            if wait > _MAX_RETRY_AFTER_S:
                raise
            log.info("telegram.flood_wait", seconds=wait)
            await asyncio.sleep(wait)
            await self._app.bot.send_message(**kwargs)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram.update.failed", error=repr(context.error))

    def _first_time(self, update_id: int) -> bool:
        # Telegram redelivers a webhook update it thinks failed; answer it once.
        if update_id in self._seen_updates:
            return False
        self._seen_updates[update_id] = None
        while len(self._seen_updates) > _REMEMBERED_UPDATES:
            self._seen_updates.popitem(last=False)
        return True


def _keyboard(part: TelegramText) -> InlineKeyboardMarkup | None:
    if not part.buttons:
        return None
    rows = [[InlineKeyboardButton(title, callback_data=data)] for title, data in part.buttons]
    return InlineKeyboardMarkup(rows)


def _retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about its int/timedelta transition here
        warnings.simplefilter("ignore")
        value = error.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)
