"""Per-conversation locks and per-customer rate limits for the pipeline's first steps."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiolimiter import AsyncLimiter

from core.types import ConversationKey


class ConversationLocks:
    """One lock per conversation so two quick messages are answered in order.

    Locks are dropped when nobody holds or waits for them, so memory stays bounded.
    """

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: ConversationKey) -> AsyncIterator[None]:
        name = key.as_str()
        lock = self._locks.setdefault(name, asyncio.Lock())
        self._users[name] = self._users.get(name, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[name] -= 1
            if self._users[name] == 0:
                del self._users[name]
                del self._locks[name]

    def __len__(self) -> int:
        return len(self._locks)


class CustomerRateLimiter:
    """At most ``per_minute`` messages per customer per minute (leaky bucket)."""

    def __init__(self, per_minute: int, max_customers: int = 100_000) -> None:
        self._per_minute = per_minute
        self._max = max_customers
        self._buckets: OrderedDict[str, AsyncLimiter] = OrderedDict()

    async def allow(self, key: ConversationKey) -> bool:
        if self._per_minute <= 0:
            return True
        name = f"{key.platform}:{key.user_id}"
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = AsyncLimiter(self._per_minute, 60)
            self._buckets[name] = bucket
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(name)
        if not bucket.has_capacity():
            return False
        await bucket.acquire()  # returns at once: capacity was just checked
        return True
