"""The Prometheus metrics of one Kefu process, on their own registry.

Metrics are process-wide by nature (one ``/metrics`` per process, the way prometheus-client
is meant to be used), so the metric objects live here once; what differs per application
(which handoff queue, which knowledge base, which outbox) is read at scrape time through the
async sources registered on :class:`GaugeSources`.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
"""Everything ``/metrics`` shows; a registry of our own keeps library metrics out."""

TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
LLM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)

MESSAGES = Counter(
    "kefu_messages",
    "Customer messages handled, by channel and outcome "
    "(faq, passage, generated, dont_know, handoff, error, other).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "kefu_turn_seconds",
    "Time from a message reaching the pipeline to its replies being ready.",
    ["channel"],
    buckets=TURN_BUCKETS,
    registry=REGISTRY,
)
STEP_SECONDS = Histogram(
    "kefu_turn_step_seconds",
    "Time spent in one pipeline step (load_session, understand, retrieve, generate, ...).",
    ["step"],
    buckets=TURN_BUCKETS,
    registry=REGISTRY,
)
RETRIEVAL_SECONDS = Histogram(
    "kefu_retrieval_seconds",
    "One knowledge-base search (hybrid retrieval, reranking included).",
    buckets=TURN_BUCKETS,
    registry=REGISTRY,
)
LLM_CALLS = Counter(
    "kefu_llm_calls",
    "Language-model calls by model, purpose and outcome (ok, timeout, refused, fallback).",
    ["model", "purpose", "outcome"],
    registry=REGISTRY,
)
LLM_SECONDS = Histogram(
    "kefu_llm_latency_seconds",
    "Duration of one language-model call, failed ones included.",
    ["model", "purpose"],
    buckets=LLM_BUCKETS,
    registry=REGISTRY,
)
LLM_FIRST_TOKEN_SECONDS = Histogram(
    "kefu_llm_time_to_first_token_seconds",
    "Time until a streamed answer's first piece arrived.",
    ["model", "purpose"],
    buckets=LLM_BUCKETS,
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "kefu_llm_tokens",
    "Tokens the model reported, by kind (prompt, completion).",
    ["model", "kind"],
    registry=REGISTRY,
)
LLM_ERRORS = Counter(
    "kefu_llm_errors",
    "Failed language-model calls by model and error type.",
    ["model", "error"],
    registry=REGISTRY,
)
LLM_FALLBACKS = Counter(
    "kefu_llm_fallbacks",
    "Answers that fell back to the extractive or rule-based path after a model failure.",
    ["model", "purpose"],
    registry=REGISTRY,
)
HANDOFF_WAITING = Gauge(
    "kefu_handoff_queue_length",
    "Conversations waiting for a human agent.",
    registry=REGISTRY,
)
HANDOFF_OLDEST_WAIT = Gauge(
    "kefu_handoff_oldest_wait_seconds",
    "How long the longest-waiting conversation in the queue has waited (0 when empty).",
    registry=REGISTRY,
)
HANDOFF_WAIT = Histogram(
    "kefu_handoff_wait_seconds",
    "Wait from handoff to an agent claiming the conversation.",
    buckets=WAIT_BUCKETS,
    registry=REGISTRY,
)
OUTBOX = Gauge(
    "kefu_outbox_messages",
    "Outbox messages by state (pending, failed); -1 while no outbox source is wired.",
    ["state"],
    registry=REGISTRY,
)
KNOWLEDGE_CHUNKS = Gauge(
    "kefu_knowledge_chunks",
    "Chunks in the knowledge base index.",
    registry=REGISTRY,
)
KNOWLEDGE_GENERATION = Gauge(
    "kefu_knowledge_generation",
    "Knowledge generation number (grows on every change); -1 when the store has none.",
    registry=REGISTRY,
)
SCRAPE_ERRORS = Counter(
    "kefu_metrics_source_errors",
    "Scrapes where a gauge source (queue, outbox, knowledge) failed.",
    ["source"],
    registry=REGISTRY,
)


def observe_handoff_wait(created_at: datetime, claimed_at: datetime | None) -> None:
    """Counts one claimed handoff's wait into ``kefu_handoff_wait_seconds``."""
    if claimed_at is not None:
        HANDOFF_WAIT.observe(max((claimed_at - created_at).total_seconds(), 0.0))
