"""A pipeline stand-in for adapter tests: answers fixed by the input, and records what it got."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from core.types import Button, Citation, IncomingMessage, OutgoingMessage, StreamSink

LONG_WORDS = " ".join(f"word{n} <b>&amp;" if n % 97 == 0 else f"word{n}" for n in range(2400))
"""About 17,000 characters of distinct words, with characters that need escaping."""

TEXT_ONLY = "I can read text only for now - please describe it in words."


class ScriptedPipeline:
    """An async pipeline stand-in: answers fixed by the input, and records what it got.

    - an attachment without text -> the polite "text only" answer
    - ``"long"`` -> :data:`LONG_WORDS`
    - ``"boom"`` -> raises, as a broken pipeline would
    - ``"slow ..."`` -> answers after 0.3 s (ordering tests)
    - ``"stream ..."`` -> streams the answer's words to ``stream`` (0.05 s apart), then answers
    - anything else -> ``"Answer to: <text>"`` citing the shipping FAQ, with two buttons
    """

    def __init__(self, long_payload: str = "") -> None:
        self.received: list[IncomingMessage] = []
        self.streamed_to: list[bool] = []
        """Per message: whether the channel offered a stream for the answer."""
        self.long_payload = long_payload or "Tell me more about " + "international shipping " * 4

    async def __call__(
        self, message: IncomingMessage, *, stream: StreamSink | None = None
    ) -> Sequence[OutgoingMessage]:
        self.received.append(message)
        self.streamed_to.append(stream is not None)
        if message.parts and not message.text:
            return [OutgoingMessage(text=TEXT_ONLY)]
        if message.text == "long":
            return [OutgoingMessage(text=LONG_WORDS)]
        if message.text == "boom":
            raise RuntimeError("pipeline exploded")
        if message.text.startswith("slow"):
            await asyncio.sleep(0.3)
        if message.text.startswith("stream") and stream is not None:
            for word in f"Answer to: {message.text}".split(" "):
                await stream(word + " ")
                await asyncio.sleep(0.05)
        return [
            OutgoingMessage(
                text=f"Answer to: {message.text}",
                citations=(Citation(source="faq/shipping.md", title="Shipping FAQ"),),
                buttons=(
                    Button(title="Talk to a human", payload="/human"),
                    Button(title="More about shipping", payload=self.long_payload),
                ),
            )
        ]

    @property
    def texts(self) -> list[str]:
        return [message.text for message in self.received]
