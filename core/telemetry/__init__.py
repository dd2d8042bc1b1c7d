"""What an operator watches: Prometheus metrics, one log line per turn, LLM call records.

Hooks for the rest of the application (each a one-line call site):

- ``@timed_turn`` on ``Pipeline.handle`` and ``with observe_step("understand"):`` in the steps;
- ``record_llm_calls(make_backend(...), LLMCallStore(db).add)`` in the composition root;
- ``with llm_purpose("rewrite"):`` around a model call that is not an answer;
- gauge sources (handoff queue, outbox, knowledge) on :class:`~core.telemetry.sources.GaugeSources`,
  read when ``/metrics`` is scraped.
"""

from core.telemetry.llm_calls import RecordedBackend, llm_purpose, record_llm_calls
from core.telemetry.llm_records import LLMCall, LLMCallStore
from core.telemetry.sources import GaugeSources
from core.telemetry.turns import observe_step, outcome_of, record_turn, timed_turn

__all__ = [
    "GaugeSources",
    "LLMCall",
    "LLMCallStore",
    "RecordedBackend",
    "llm_purpose",
    "observe_step",
    "outcome_of",
    "record_llm_calls",
    "record_turn",
    "timed_turn",
]
