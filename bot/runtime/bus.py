"""The bus between workers: small JSON notes, delivered to every worker (this one too).

PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL; in-process on SQLite (one process).
Notes only say *that* something happened ("conversation X has messages in the outbox", "an
agent frame", "knowledge changed"); the database stays the truth, so a worker that missed a
note while reconnecting catches up from the database (its sweeps).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import asyncpg
import structlog
from sqlalchemy import URL

log = structlog.get_logger(__name__)

Note = dict[str, Any]
NoteHandler = Callable[[Note], Awaitable[None]]

OUTBOX = "outbox"
"""{"key"}: the conversation has new messages in the outbox."""
AGENTS = "agents"
"""{"agent_id" | None, "frame"}: a workspace frame for one agent's tabs, or for everyone."""
KNOWLEDGE = "knowledge"
"""{"generation"}: the knowledge base changed; rebuild the local search indexes."""

_CHANNEL_PREFIX = "kefu_"
_RECONNECT_S = 1.0
_MAX_NOTE_BYTES = 7_000  # PostgreSQL refuses payloads from 8,000 bytes on


class Bus(Protocol):
    def subscribe(self, topic: str, handler: NoteHandler) -> None: ...

    async def publish(self, topic: str, note: Note) -> None:
        """Delivers ``note`` to every worker's handlers for ``topic``; never raises."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalBus:
    """The bus of a single process."""

    def __init__(self) -> None:
        self._handlers: defaultdict[str, list[NoteHandler]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, topic: str, handler: NoteHandler) -> None:
        self._handlers[topic].append(handler)

    async def publish(self, topic: str, note: Note) -> None:
        self.dispatch(topic, note)

    def dispatch(self, topic: str, note: Note) -> None:
        """Runs the handlers in the background, so a publisher never waits for them."""
        for handler in self._handlers.get(topic, ()):
            task = asyncio.create_task(_run(handler, topic, note))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


class PostgresBus(LocalBus):
    """LISTEN/NOTIFY on one dedicated connection, reconnected when it drops.

    Args:
        url: the SQLAlchemy URL of the PostgreSQL database.
        topics: the topics this worker listens to.
    """

    def __init__(self, url: URL, topics: tuple[str, ...] = (OUTBOX, AGENTS, KNOWLEDGE)) -> None:
        super().__init__()
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._topics = topics
        self._origin = uuid.uuid4().hex
        self._connection: asyncpg.Connection | None = None
        self._send_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        self._watch = asyncio.create_task(self._keep_connected())

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()
        await super().close()

    async def publish(self, topic: str, note: Note) -> None:
        self.dispatch(topic, note)  # this worker at once, without the round trip
        payload = json.dumps({"origin": self._origin, "note": note}, ensure_ascii=False)
        if len(payload.encode()) > _MAX_NOTE_BYTES:
            log.error("runtime.bus.note_too_large", topic=topic)
            return
        try:
            async with self._send_lock:
                connection = self._connection
                if connection is None or connection.is_closed():
                    raise ConnectionError("bus connection is down")
                await connection.execute(
                    "SELECT pg_notify($1, $2)", _CHANNEL_PREFIX + topic, payload
                )
        except (OSError, ConnectionError, asyncpg.PostgresError) as e:
            # Other workers catch up from the database in their next sweep.
            log.warning("runtime.bus.publish_failed", topic=topic, error=type(e).__name__)

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        for topic in self._topics:
            await connection.add_listener(_CHANNEL_PREFIX + topic, self._on_notification)
        self._connection = connection
        log.info("runtime.bus.listening", topics=list(self._topics))

    async def _keep_connected(self) -> None:
        while True:
            await asyncio.sleep(_RECONNECT_S)
            if self._connection is not None and not self._connection.is_closed():
                continue
            try:
                await self._connect()
            except (OSError, asyncpg.PostgresError) as e:
                log.warning("runtime.bus.reconnect_failed", error=type(e).__name__)

    def _on_notification(self, _connection: object, _pid: int, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
        except json.JSONDecodeError:
            return
        topic = channel.removeprefix(_CHANNEL_PREFIX)
        if isinstance(data, int):  # the knowledge state's own NOTIFY (also from the CLI)
            self.dispatch(topic, {"generation": data})
            return
        if not isinstance(data, dict) or data.get("origin") == self._origin:
            return  # not ours, or already dispatched here when published
        note = data.get("note")
        self.dispatch(topic, note if isinstance(note, dict) else {})


def make_bus(url: URL) -> Bus:
    return PostgresBus(url) if url.get_backend_name() == "postgresql" else LocalBus()


async def _run(handler: NoteHandler, topic: str, note: Note) -> None:
    try:
        await handler(note)
    except Exception:
        log.exception("runtime.bus.handler_failed", topic=topic)
