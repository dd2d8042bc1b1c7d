"""Messages waiting for a web customer who is not connected right now."""

from __future__ import annotations

from collections import defaultdict, deque

from core.types import OutgoingMessage

MAX_PENDING = 100


class Outbox:
    """Per-customer queue of later messages (agent replies, reload reports), bounded."""

    def __init__(self) -> None:
        self._pending: defaultdict[str, deque[OutgoingMessage]] = defaultdict(
            lambda: deque(maxlen=MAX_PENDING)
        )

    def put(self, sender: str, message: OutgoingMessage) -> None:
        self._pending[sender].append(message)

    def take(self, sender: str) -> list[OutgoingMessage]:
        queue = self._pending.pop(sender, None)
        return list(queue) if queue else []
