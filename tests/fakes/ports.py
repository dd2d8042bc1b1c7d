"""Loopback ports for the servers tests start (and for ones they need to find closed)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing on 127.0.0.1 listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
