"""Live push to the agents' open workspaces (one WebSocket per browser tab).

Frames are small JSON objects: ``{"type": "queue"}`` (the queue changed: fetch it again),
``{"type": "message", "handoff_id", "line"}`` (a new transcript line in one of the agent's
conversations) and ``{"type": "handoff", "handoff_id", "action"}`` (it was cancelled, released
or closed). The database stays the truth: a tab that missed frames reloads from it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)


class Socket(Protocol):
    """What the hub needs from a WebSocket (aiohttp's ``WebSocketResponse`` has it)."""

    @property
    def closed(self) -> bool: ...

    async def send_json(self, data: Any) -> None: ...

    async def close(self) -> Any: ...


class AgentHub:
    """The open workspace sockets of this process, by agent."""

    def __init__(self) -> None:
        self._sockets: defaultdict[int, set[Socket]] = defaultdict(set)

    def connect(self, agent_id: int, socket: Socket) -> None:
        self._sockets[agent_id].add(socket)

    def disconnect(self, agent_id: int, socket: Socket) -> bool:
        """Forget one socket; True when it was the agent's last one."""
        sockets = self._sockets.get(agent_id)
        if sockets is None:
            return True
        sockets.discard(socket)
        if sockets:
            return False
        del self._sockets[agent_id]
        return True

    def is_connected(self, agent_id: int) -> bool:
        return bool(self._sockets.get(agent_id))

    def connected_agents(self) -> list[int]:
        return list(self._sockets)

    async def send_to(self, agent_id: int, frame: dict[str, Any]) -> bool:
        """Push a frame to every tab of one agent; False if none is open."""
        sockets = list(self._sockets.get(agent_id, ()))
        await asyncio.gather(*(self._send(s, frame) for s in sockets))
        return bool(sockets)

    async def broadcast(self, frame: dict[str, Any]) -> None:
        sockets = [s for group in self._sockets.values() for s in group]
        await asyncio.gather(*(self._send(s, frame) for s in sockets))

    async def close_all(self) -> None:
        """Close every socket (at shutdown); the tabs reconnect to the next server."""
        sockets = [s for group in self._sockets.values() for s in group]
        self._sockets.clear()
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)

    async def _send(self, socket: Socket, frame: dict[str, Any]) -> None:
        if socket.closed:
            return
        try:
            await socket.send_json(frame)
        except (ConnectionError, RuntimeError):
            # The tab went away mid-send; its handler unregisters it.
            log.debug("handoff.live.send_failed", frame=frame.get("type"))
