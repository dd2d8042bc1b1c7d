"""Discord channel on discord.py: direct messages, mentions in guild channels, buttons and the
``/kb`` slash commands for admins.

The bot needs no privileged intent: Discord delivers message content for direct messages and
for messages that mention the bot, which is all Kefu answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
import structlog
import yarl
from aiohttp import web
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

import bot.adapters.discord.convert as convert
from bot.adapters.base import Runner
from bot.adapters.discord.markup import ButtonPayloads, DiscordText, render
from bot.adapters.textsplit import sorry_text
from bot.runtime.runner import ShuttingDown
from core.config.channels import DiscordSettings
from core.errors import AdapterError, ConfigError, StorageError, TransientDeliveryError
from core.storage.shared import SharedValues
from core.types import ConversationKey, IncomingMessage, OutgoingMessage

log = structlog.get_logger(__name__)

NO_PINGS = discord.AllowedMentions.none()


class _Buttons(discord.ui.View):
    """Buttons rendered from an OutgoingMessage. Presses are handled in ``on_interaction`` by
    custom_id, not by this view, so they keep working after a restart and no view piles up in
    memory per message."""

    def __init__(self, buttons: Sequence[tuple[str, str]]) -> None:
        super().__init__(timeout=None)
        for label, custom_id in buttons:
            self.add_item(discord.ui.Button(label=label, custom_id=custom_id))

    def is_dispatchable(self) -> bool:
        return False


class _KefuClient(discord.Client):
    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self._adapter = adapter

    async def setup_hook(self) -> None:
        await self._adapter._sync_commands()

    async def on_message(self, message: discord.Message) -> None:
        await self._adapter._on_message(message)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        await self._adapter._on_interaction(interaction)


class DiscordAdapter:
    """The Discord channel: gateway in, REST out, ``/kb`` registered as slash commands."""

    platform = convert.PLATFORM
    delivery = "push"

    def __init__(self, settings: DiscordSettings, runner: Runner, shared: SharedValues) -> None:
        if settings.token is None or not settings.token.get_secret_value():
            raise ConfigError("discord.token is required when Discord is enabled")
        self._settings = settings
        self._runner = runner
        self._shared = shared
        self._payloads = ButtonPayloads()
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        self._client = _KefuClient(self, intents=intents, allowed_mentions=NO_PINGS)
        self._tree = app_commands.CommandTree(self._client)
        guilds = [discord.Object(id=gid) for gid in settings.command_guild_ids]
        if guilds:
            self._tree.add_command(self._kb_commands(), guilds=guilds)
        else:
            self._tree.add_command(self._kb_commands())
        self._connection: asyncio.Task[None] | None = None
        self._saved_urls: tuple[str, yarl.URL] | None = None

    @property
    def client(self) -> discord.Client:
        """The discord.py client (for advanced wiring and tests)."""
        return self._client

    async def start(self) -> None:
        """Log in over REST (registers ``/kb``), then connect to the gateway in the background."""
        self._point_at_configured_urls()
        assert self._settings.token is not None
        try:
            await self._client.login(self._settings.token.get_secret_value())
        except (discord.DiscordException, aiohttp.ClientError) as e:
            await self.stop()
            raise AdapterError(f"discord login failed: {type(e).__name__}") from e
        self._connection = asyncio.create_task(self._client.connect(reconnect=True))
        self._connection.add_done_callback(_log_disconnect)
        log.info("discord.started", bot=str(self._client.user))

    async def stop(self) -> None:
        """Close the gateway and the HTTP session."""
        await self._client.close()
        if self._connection is not None:
            await asyncio.gather(self._connection, return_exceptions=True)
        if self._saved_urls is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_urls
            self._saved_urls = None

    def routes(self) -> Sequence[web.RouteDef]:
        return []  # the gateway is a websocket client: nothing to serve

    async def send(self, key: ConversationKey, message: OutgoingMessage) -> None:
        """Send ``message`` to the channel (DM or guild channel) of ``key``; in guild channels
        as a reply to the message it answers.

        Raises:
            TransientDeliveryError: Discord answered 5xx or could not be reached.
            AdapterError: Discord refused it (no access to the channel, DMs closed).
        """
        channel = self._client.get_partial_messageable(int(key.chat_id))
        reference = self._reference(key, message.reply_to)
        for part in render(message, self._payloads):
            await self._send_part(channel, part, reference=reference)
            reference = None
        log.info("discord.sent", conversation=key.as_str(), chars=len(message.text))

    def _reference(
        self, key: ConversationKey, reply_to: str | None
    ) -> discord.MessageReference | None:
        if reply_to is None or not reply_to.isdigit():
            return None
        return discord.MessageReference(
            message_id=int(reply_to), channel_id=int(key.chat_id), fail_if_not_exists=False
        )

    async def _sync_commands(self) -> None:
        if not self._settings.sync_commands:
            return
        targets: list[discord.Object | None] = [
            discord.Object(id=gid) for gid in self._settings.command_guild_ids
        ]
        try:
            for guild in targets or [None]:
                await self._tree.sync(guild=guild)
        except discord.HTTPException as e:
            # Customers can still be answered; only the admin commands are missing.
            log.error("discord.commands.sync_failed", status=e.status, error=e.text)
            return
        log.info("discord.commands.synced", guilds=len(self._settings.command_guild_ids))

    def _kb_commands(self) -> app_commands.Group:
        # Discord hides the group from members without Administrator; the pipeline still checks
        # settings.admins, which also covers direct messages where that default does not apply.
        kb = app_commands.Group(
            name="kb",
            description="Knowledge base administration",
            default_permissions=discord.Permissions(administrator=True),
        )

        @kb.command(name="reload", description="Reload the knowledge base from its sources")
        async def reload(interaction: discord.Interaction) -> None:
            await self._run_command(interaction, "/kb reload")

        @kb.command(name="stats", description="Show knowledge base statistics")
        async def stats(interaction: discord.Interaction) -> None:
            await self._run_command(interaction, "/kb stats")

        @kb.command(name="search", description="Search the knowledge base")
        @app_commands.describe(query="What to look for")
        async def search(interaction: discord.Interaction, query: str) -> None:
            await self._run_command(interaction, f"/kb search {query}")

        return kb

    async def _run_command(self, interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        incoming = convert.command_to_incoming(interaction, text)
        try:  # handed over here, as ephemeral follow-ups, not through the channel
            handed = await self._runner.handle(incoming, take_waiting=False)
            replies = [entry.message for entry in handed]
        except (ShuttingDown, StorageError):
            log.exception("discord.command.failed", conversation=incoming.key.as_str())
            replies = [OutgoingMessage(text=sorry_text(incoming))]
        for reply in replies:
            for part in render(reply, self._payloads):
                await interaction.followup.send(
                    part.content, ephemeral=True, allowed_mentions=NO_PINGS, **_view(part)
                )

    async def _on_message(self, message: discord.Message) -> None:
        user = self._client.user
        if user is None:
            return
        incoming = convert.message_to_incoming(message, user.id)
        if incoming is None:
            return
        # In guild channels the answer replies to the question; DMs need no reference.
        reply_to = None if convert.is_private(message.channel) else incoming.message_id
        raw = {**incoming.raw, "reply_to": reply_to}
        await self._accept(dataclasses.replace(incoming, raw=raw))  # replays: the inbox knows

    async def _on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.type is not discord.InteractionType.component:
            return  # slash commands go through the command tree
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if not custom_id.startswith(convert.BUTTON_PREFIX):
            return
        payload = self._payloads.decode(custom_id)
        if payload is None:
            await interaction.response.send_message(
                "This button has expired. / 该按钮已过期。", ephemeral=True
            )
            return
        await interaction.response.edit_message(view=None)  # pressed once
        incoming = convert.button_to_incoming(interaction, payload)
        await self._accept(dataclasses.replace(incoming, raw={**incoming.raw, "reply_to": None}))

    async def _accept(self, incoming: IncomingMessage) -> None:
        try:
            await self._runner.accept(incoming)
        except (ShuttingDown, StorageError) as e:
            # The gateway does not redeliver: say so rather than stay silent.
            log.error("discord.message.not_recorded", error=type(e).__name__)
            channel = self._client.get_partial_messageable(int(incoming.key.chat_id))
            with contextlib.suppress(AdapterError):
                for part in render(OutgoingMessage(sorry_text(incoming)), self._payloads):
                    await self._send_part(channel, part, reference=None)

    async def _send_part(
        self,
        channel: discord.abc.Messageable,
        part: DiscordText,
        *,
        reference: discord.MessageReference | None,
    ) -> None:
        extra: dict[str, Any] = _view(part)
        if reference is not None:
            extra.update(reference=reference, mention_author=False)
        try:
            await channel.send(part.content, **extra)
        except discord.Forbidden as e:
            raise AdapterError(f"discord: no permission to write here: {e.text}") from e
        except discord.DiscordServerError as e:
            raise TransientDeliveryError(f"discord send failed: {e.status}") from e
        except discord.HTTPException as e:
            raise AdapterError(f"discord send failed: {e.status} {e.text}") from e
        except (aiohttp.ClientError, TimeoutError) as e:
            raise TransientDeliveryError(f"discord send failed: {type(e).__name__}") from e

    def _point_at_configured_urls(self) -> None:
        # discord.py keeps its REST base and gateway URL on classes, not per client.
        if not (self._settings.api_base_url or self._settings.gateway_url):
            return
        self._saved_urls = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        if self._settings.api_base_url:
            Route.BASE = self._settings.api_base_url.rstrip("/")
        if self._settings.gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self._settings.gateway_url)


def _view(part: DiscordText) -> dict[str, Any]:
    """``view=`` keyword for a part with buttons; nothing for one without."""
    return {"view": _Buttons(part.buttons)} if part.buttons else {}


def _log_disconnect(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("discord.gateway.failed", error=repr(task.exception()))
