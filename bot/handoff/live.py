"""Live push to the agents' open workspaces (one WebSocket per browser tab).

Frames are small JSON objects: ``{"type": "queue"}`` (the queue changed: fetch it again),
``{"type": "message", "handoff_id", "line"}`` (a new transcript line in one of the agent's
conversations) and ``{"type": "handoff", "handoff_id", "action"}`` (it was cancelled, released
or closed). The database stays the truth: a tab that missed frames reloads from it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)


class Socket(Protocol):
    """What the hub needs from a WebSocket (aiohttp's ``WebSocketResponse`` has it)."""

    @property
    def closed(self) -> bool: ...

    async def send_json(self, data: Any) -> None: ...

    async def close(self) -> Any: ...


Publish = Callable[[dict[str, Any]], Awaitable[None]]
"""Puts a note ``{"agent_id": int | None, "frame": {...}}`` on the bus between workers."""


class AgentHub:
    """The open workspace sockets of this process, by agent.

    Args:
        publish: with several workers, frames go over the bus, and every worker's hub
            (:meth:`on_note`) pushes them to its own sockets; without it, frames stay here.
    """

    def __init__(self, publish: Publish | None = None) -> None:
        self._sockets: defaultdict[int, set[Socket]] = defaultdict(set)
        self._publish = publish

    async def on_note(self, note: dict[str, Any]) -> None:
        """A frame from the bus, for one agent (``agent_id``) or for everyone."""
        frame = note.get("frame")
        if not isinstance(frame, dict):
            return
        agent_id = note.get("agent_id")
        if isinstance(agent_id, int):
            await self._send_here(agent_id, frame)
        else:
            await self._broadcast_here(frame)

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
        """Push a frame to every tab of one agent, on every worker; False if it is known
        that none is open (without a bus: none in this process)."""
        if self._publish is not None:
            await self._publish({"agent_id": agent_id, "frame": frame})
            return True
        return await self._send_here(agent_id, frame)

    async def broadcast(self, frame: dict[str, Any]) -> None:
        if self._publish is not None:
            await self._publish({"agent_id": None, "frame": frame})
            return
        await self._broadcast_here(frame)

    async def _send_here(self, agent_id: int, frame: dict[str, Any]) -> bool:
        sockets = list(self._sockets.get(agent_id, ()))
        await asyncio.gather(*(self._send(s, frame) for s in sockets))
        return bool(sockets)

    async def _broadcast_here(self, frame: dict[str, Any]) -> None:
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
