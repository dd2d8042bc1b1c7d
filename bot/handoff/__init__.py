"""Human handoff: escalation rules, the queue, the agent workspace, relay and return to the bot.

Public surface: :class:`HandoffService` (built by the composition root, ``bot.app``, from its
collaborators; the two pipeline hooks, ``admin_command``, ``routes``, ``start``/``close``) and
``agents_app`` (the ``kefu agents`` CLI, in :mod:`bot.handoff.cli`).
"""

from bot.handoff.records import Reason
from bot.handoff.service import HandoffService, Notify, WaitingNotice
from bot.handoff.summary import Summarize

__all__ = ["HandoffService", "Notify", "Reason", "Summarize", "WaitingNotice"]
