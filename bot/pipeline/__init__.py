"""One pipeline for every message: an ordered list of small steps (see :mod:`.chain`).

The steps, in the order ``bot.app.pipeline_steps`` assembles them:

==================  ===============================================================
``MessageGuard``    empty, attachment-only or over-long messages
``RatingCommands``  ``/feedback ...``, a bare 👍 / 👎
``Commands``        ``/start``; admin commands (refused and logged for others)
``HumanRelay``      a human has the conversation: relay, the bot stays quiet
``PendingReason``   the reason after a 👎
``RatingButtons``   👍 / 👎 under the knowledge answers of the steps after it
``Understand``      intent, entities, sentiment (``turn.understood``)
``Escalation``      hand over to a human now
``DialogueStep``    orders, slot filling, recommendations, small talk
``KnowledgeAnswer`` the knowledge base's answer, or "don't know" with a human
==================  ===============================================================

To add a step, write a class with ``async def __call__(self, turn, proceed)`` (see
:class:`.turn.Step`), test it alone, and put it in that list.
"""

from bot.pipeline.chain import Pipeline
from bot.pipeline.replies import new_message_id, reply_payload
from bot.pipeline.turn import Proceed, Replies, Step, Turn

__all__ = ["Pipeline", "Proceed", "Replies", "Step", "Turn", "new_message_id", "reply_payload"]
