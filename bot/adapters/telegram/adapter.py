"""Telegram channel on python-telegram-bot: long polling or a webhook on Kefu's own server."""

from __future__ import annotations

import contextlib
import datetime as dtm
import warnings
from collections.abc import Sequence
from datetime import timedelta
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
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ContextTypes, TypeHandler

import bot.adapters.telegram.convert as convert
from bot.adapters.base import Runner
from bot.adapters.telegram.drafts import AnswerDraft
from bot.adapters.telegram.markup import CallbackPayloads, TelegramText, render
from bot.runtime.runner import ShuttingDown
from core.config.channels import TelegramSettings
from core.errors import (
    AdapterError,
    ConfigError,
    InputError,
    StorageError,
    TransientDeliveryError,
)
from core.storage.shared import SharedValues
from core.types import ConversationKey, IncomingMessage, OutgoingMessage
from core.untrusted import mask_secret, parse_json, same_secret

log = structlog.get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
SEND_CONNECTIONS = 32
_PAYLOADS = "telegram.button"
_PAYLOAD_TTL = timedelta(days=30)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class TelegramAdapter:
    """The Telegram channel.

    Polling mode fetches updates itself; webhook mode serves :meth:`routes` on Kefu's server,
    checks Telegram's secret-token header on every request and acknowledges an update only
    once it is recorded in the durable inbox (503 while draining, 500 if the database failed,
    so Telegram delivers it again). Replies are sent by the outbox through :meth:`send`.
    """

    platform = convert.PLATFORM
    delivery = "push"

    def __init__(self, settings: TelegramSettings, runner: Runner, shared: SharedValues) -> None:
        if settings.token is None or not settings.token.get_secret_value():
            raise ConfigError("telegram.token is required when Telegram is enabled")
        if settings.mode == "webhook" and settings.webhook_secret is None:
            raise ConfigError("telegram.webhook_secret is required in webhook mode")
        self._settings = settings
        self._runner = runner
        self._shared = shared
        self._payloads = CallbackPayloads()
        self._identity: convert.BotIdentity | None = None
        self._accepting = False
        self._app = self._build_application(settings)

    @property
    def application(self) -> AnyApplication:
        """The python-telegram-bot application (for advanced wiring and tests)."""
        return self._app

    async def start(self) -> None:
        """Log in (getMe), then start polling or register the webhook.

        Raises:
            ConfigError: Telegram rejected the token (named by its variable, never shown).
            AdapterError: Telegram could not be reached (the message has the token masked);
                the server keeps trying in the background.
        """
        token = self._settings.token.get_secret_value() if self._settings.token else ""
        try:
            await self._log_in_and_listen()
        except Exception as e:
            with contextlib.suppress(Exception):  # close the connection getMe opened
                await self._app.bot.request.shutdown()
            if isinstance(e, InvalidToken):  # the library's message quotes the token
                raise ConfigError(
                    "KEFU_TELEGRAM__TOKEN was rejected by Telegram: copy it again from @BotFather"
                ) from None
            message = mask_secret(f"{type(e).__name__}: {e}", token)
            raise AdapterError(f"Telegram could not be started: {message}") from None
        self._accepting = True
        assert self._identity is not None
        log.info(
            "telegram.started",
            mode=self._settings.mode,
            bot=self._identity.username,
            webhook_path=self._settings.webhook_path if self._settings.mode == "webhook" else None,
        )

    async def _log_in_and_listen(self) -> None:
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

    async def stop_receiving(self) -> None:
        """Stop taking updates (shutdown): polling stops, webhook calls get 503."""
        self._accepting = False
        if self._app.updater is not None and self._app.updater.running:
            await self._app.updater.stop()

    async def stop(self) -> None:
        """Stop receiving and close the HTTP clients; what is recorded but unanswered is in
        the inbox, what is unsent in the outbox."""
        await self.stop_receiving()
        if self._app.running:
            await self._app.stop()
        with contextlib.suppress(TelegramError, RuntimeError):
            await self._app.shutdown()

    def routes(self) -> Sequence[web.RouteDef]:
        if self._settings.mode != "webhook":
            return []
        return [web.post(self._settings.webhook_path, self._receive_webhook)]

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Send ``message`` to the chat (and forum topic) of ``key``; in groups, as a reply
        to the message it answers.

        Raises:
            TransientDeliveryError: network trouble, a 5xx or flood control; sent again later.
            AdapterError: Telegram refused the message (the bot was blocked, the chat is gone).
        """
        reply_to = _group_reply_to(key, message.reply_to)
        parts = render(message, self._payloads)
        for digest, payload in self._payloads.drain_new().items():
            await self._shared.put(_PAYLOADS, digest, {"payload": payload}, ttl=_PAYLOAD_TTL)
        for part in parts:
            await self._send_part(key, part, reply_to)
            reply_to = None
        log.info("telegram.sent", conversation=key.as_str(), chars=len(message.text))

    def _build_application(self, settings: TelegramSettings) -> AnyApplication:
        assert settings.token is not None
        builder = (
            Application.builder()
            .token(settings.token.get_secret_value())
            .base_url(settings.api_base_url)
            .base_file_url(settings.file_base_url)
            # Updates are only recorded here (quick), in Telegram's order; the runner answers.
            .concurrent_updates(False)
            # Replies to many chats go out at once (the outbox sends them concurrently).
            .connection_pool_size(SEND_CONNECTIONS)
            .pool_timeout(10.0)
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
        if not same_secret(request.headers.get(SECRET_HEADER), self._secret()):
            log.warning("telegram.webhook.forged", remote=request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            data = parse_json(await request.read())  # bounded, text made storable
            update = Update.de_json(data, self._app.bot)
            if not convert.well_formed(update):
                raise InputError("an update with ids or text of the wrong type")
        except (
            InputError,
            AttributeError,
            KeyError,
            TypeError,
            ValueError,
            ArithmeticError,
            OSError,
        ):
            log.warning("telegram.webhook.malformed", remote=request.remote)
            return web.Response(status=400, text="bad request")
        if not self._accepting:
            return web.Response(status=503, text="not running")  # Telegram retries later
        try:
            await self._on_update(update, None)
        except ShuttingDown:
            return web.Response(status=503, text="not running")
        except StorageError:
            log.exception("telegram.webhook.not_recorded", update_id=update.update_id)
            return web.Response(status=500, text="try again")
        return web.Response(text="ok")

    async def _on_update(self, update: Update, _context: object) -> None:
        assert self._identity is not None
        if update.callback_query is not None:
            incoming = await self._on_button(update)
        else:
            incoming = convert.message_to_incoming(update, self._identity)
        if incoming is None:
            return
        chat = update.effective_chat
        draft = None
        if chat is not None and chat.type == "private" and self._settings.stream_drafts:
            draft = AnswerDraft(
                self._app.bot, incoming.key, interval_s=self._settings.draft_interval_s
            )
        await self._runner.accept(incoming, stream=draft.add if draft else None)

    async def _on_button(self, update: Update) -> IncomingMessage | None:
        query = update.callback_query
        assert query is not None
        payload = await self._decode(query.data or "")
        try:
            if payload is None:
                await query.answer("This button has expired. / 该按钮已过期。")
                return None
            await query.answer()
            await query.edit_message_reply_markup(reply_markup=None)  # pressed once
        except TelegramError as e:
            log.info("telegram.button.ack_failed", error=type(e).__name__)
        return convert.callback_to_incoming(update, payload) if payload is not None else None

    async def _decode(self, data: str) -> str | None:
        payload = self._payloads.decode(data)
        if payload is None and data:
            stored = await self._shared.get(_PAYLOADS, data)  # encoded by another worker
            payload = str(stored["payload"]) if stored else None
        return payload

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
            await self._app.bot.send_message(text=part.html, parse_mode=ParseMode.HTML, **kwargs)
        except BadRequest as e:
            if "entit" not in str(e).lower():
                raise AdapterError(f"telegram refused the message: {e}") from e
            # Never lose an answer to markup: send it again without any.
            log.warning("telegram.send.markup_refused", error=str(e))
            await self._send_plain(part.plain, kwargs)
        except RetryAfter as e:
            raise TransientDeliveryError(
                "telegram flood control", retry_after=_retry_after_seconds(e)
            ) from e
        except Forbidden as e:
            raise AdapterError(f"telegram: the bot cannot write to this chat: {e}") from e
        except NetworkError as e:  # timeouts, 5xx, connection trouble
            raise TransientDeliveryError(f"telegram sendMessage failed: {e}") from e
        except TelegramError as e:
            raise AdapterError(f"telegram sendMessage failed: {e}") from e

    async def _send_plain(self, text: str, kwargs: dict[str, Any]) -> None:
        try:
            await self._app.bot.send_message(text=text, **kwargs)
        except NetworkError as e:
            raise TransientDeliveryError(f"telegram sendMessage failed: {e}") from e
        except TelegramError as e:
            raise AdapterError(f"telegram refused the message: {e}") from e

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # An update whose recording failed in polling mode; Telegram will not resend it.
        log.error("telegram.update.failed", error=type(context.error).__name__)


def _group_reply_to(key: ConversationKey, reply_to: str | None) -> int | None:
    """Groups (negative chat ids) get the answer as a reply to the question; private chats
    need no such reference."""
    if reply_to is None or not key.chat_id.startswith("-"):
        return None
    chat, _, message_id = reply_to.rpartition(":")
    return int(message_id) if chat == key.chat_id and message_id.isdigit() else None


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
