"""Button payloads too long for a platform's field, carried as a short digest.

Telegram's callback_data holds 64 bytes and Discord's custom_id 100 characters; a payload
that does not fit travels as ``#`` + a digest and is looked up here when the button is
pressed. Only the most recent ones are remembered: a button that old is answered as expired.
"""

from __future__ import annotations

import hashlib

from cachetools import LRUCache

DIGEST_MARK = "#"
"""Starts every digest; a payload that itself starts with it is digested too."""
REMEMBERED_PAYLOADS = 10_000


class DigestedPayloads:
    """The most recently used long payloads, by digest.

    Args:
        capacity: How many are remembered.
    """

    def __init__(self, capacity: int = REMEMBERED_PAYLOADS) -> None:
        self._long: LRUCache[str, str] = LRUCache(capacity)

    def remember(self, payload: str) -> str:
        """The digest that stands for ``payload`` (33 ASCII characters)."""
        digest = DIGEST_MARK + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        self._long[digest] = payload
        return digest

    def recall(self, digest: str) -> str | None:
        """The payload behind ``digest``, or ``None`` when it is no longer known."""
        return self._long.get(digest)
