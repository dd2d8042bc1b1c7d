"""An OpenAI-compatible server that is slow for a given share of its calls.

Workers are separate processes, so this runs as a loopback HTTP server they reach by URL
(``KEFU_LLM__BASE_URL``). With ``slow_share=0.1`` and ``slow_s`` above the client's timeout,
one call in ten times out, spread evenly and deterministically over the calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tests.fakes.openai_server import Behaviour, FakeOpenAIServer, Reply


@dataclass
class FlakyOpenAIServer(FakeOpenAIServer):
    """A :class:`FakeOpenAIServer` whose unscripted calls take ``delay_s``, and ``slow_s``
    for ``slow_share`` of them."""

    delay_s: float = 0.0
    slow_share: float = 0.0
    slow_s: float = 30.0
    text: str = "According to our policy [1], yes."
    calls: int = 0
    slow_calls: int = 0

    def next_default(self) -> Behaviour:
        self.calls += 1
        share = self.slow_share
        if share > 0 and math.floor(self.calls * share) != math.floor((self.calls - 1) * share):
            self.slow_calls += 1
            return Reply(self.text, delay_s=self.slow_s)
        return Reply(self.text, delay_s=self.delay_s)

    async def __aenter__(self) -> FlakyOpenAIServer:
        await super().__aenter__()
        return self
