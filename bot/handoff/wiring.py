"""Builds the handoff room from a running :class:`bot.app.Kefu`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handoff.service import HandoffService, Notify
from bot.handoff.summary import Summarize

if TYPE_CHECKING:
    from bot.app import Kefu


def install(
    kefu: Kefu, *, summarize: Summarize | None = None, notify: Notify | None = None
) -> HandoffService:
    """The handoff service for ``kefu``: its database, store, settings and ``deliver``.

    Mount the workspace with ``app.add_routes(service.routes())``, call
    ``await service.start()`` with the adapters and ``await service.close()`` at shutdown.
    """
    return HandoffService(
        kefu.settings,
        kefu.db,
        kefu.store,
        kefu.deliver,
        summarize=summarize,
        notify=notify,
        publish=kefu.publish_to_agents,
    )
