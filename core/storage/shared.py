"""Small values with an expiry that every worker must see: the long payload behind a
Telegram button, the numbered options just offered on WeCom."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from core.storage.db import Database, storage_errors
from core.storage.models import SharedValue
from core.storage.rows import json_document
from core.types import utcnow


class SharedValues:
    """``(namespace, key) -> JSON object`` with a time to live, in the database.

    Args:
        database: the migrated database.
        clock: the current timezone-aware time.
    """

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = database
        self._clock = clock

    async def put(
        self, namespace: str, key: str, value: Mapping[str, Any], *, ttl: timedelta
    ) -> None:
        """Stores (or replaces) a value."""
        values = {
            "namespace": namespace,
            "key": key[:255],
            "value": json_document(value),
            "expires_at": self._clock() + ttl,
        }
        with storage_errors("store a shared value"):
            async with self._db.sessions() as session, session.begin():
                if session.get_bind().dialect.name == "postgresql":
                    pg = postgresql.insert(SharedValue).values(**values)
                    await session.execute(
                        pg.on_conflict_do_update(
                            index_elements=["namespace", "key"],
                            set_={"value": pg.excluded.value, "expires_at": pg.excluded.expires_at},
                        )
                    )
                else:
                    lite = sqlite.insert(SharedValue).values(**values)
                    await session.execute(
                        lite.on_conflict_do_update(
                            index_elements=["namespace", "key"],
                            set_={
                                "value": lite.excluded.value,
                                "expires_at": lite.excluded.expires_at,
                            },
                        )
                    )

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """The value, or None when missing or expired."""
        query = select(SharedValue.value).where(
            SharedValue.namespace == namespace,
            SharedValue.key == key[:255],
            SharedValue.expires_at > self._clock(),
        )
        with storage_errors("read a shared value"):
            async with self._db.sessions() as session:
                value = await session.scalar(query)
        return dict(value) if value is not None else None

    async def pop(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Reads and removes a value (None when missing or expired)."""
        value = await self.get(namespace, key)
        if value is not None:
            await self.discard(namespace, key)
        return value

    async def discard(self, namespace: str, key: str) -> None:
        with storage_errors("remove a shared value"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(
                    delete(SharedValue).where(
                        SharedValue.namespace == namespace, SharedValue.key == key[:255]
                    )
                )

    async def forget_expired(self) -> None:
        with storage_errors("forget expired values"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(
                    delete(SharedValue).where(SharedValue.expires_at <= self._clock())
                )
