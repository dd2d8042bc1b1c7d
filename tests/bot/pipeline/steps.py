"""Running one pipeline step alone: a turn, and a ``proceed`` that records what got past."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.dialogue.session import Session
from bot.pipeline import Replies, Step, Turn
from core.text import Language, detect_language
from core.types import ConversationKey, IncomingMessage, OutgoingMessage

KEY = ConversationKey("rest", "alice", "alice")
LATER = "answered by a later step"


def make_turn(
    text: str,
    *,
    language: Language | None = None,
    is_admin: bool = False,
    parts: tuple[str, ...] = (),
    key: ConversationKey = KEY,
) -> Turn:
    message = IncomingMessage("m1", key, text, parts=parts)
    session = Session(key=key, status="bot", turns=[], state={})
    return Turn(
        message, text.strip(), language or detect_language(text), session, is_admin=is_admin
    )


@dataclass
class Later:
    """The steps after the one under test: records the turns that reached them."""

    reached: list[Turn] = field(default_factory=list)
    replies: Replies = field(default_factory=lambda: [OutgoingMessage(LATER)])

    async def __call__(self, turn: Turn) -> Replies:
        self.reached.append(turn)
        return self.replies


async def run(step: Step, turn: Turn, later: Later | None = None) -> tuple[Replies, Later]:
    later = later or Later()
    return await step(turn, later), later
