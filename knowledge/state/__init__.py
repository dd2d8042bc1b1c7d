"""Knowledge state shared by every worker: manifest, FAQ additions, generation, writer lock."""

from knowledge.state.additions import ADDITIONS_SOURCE
from knowledge.state.store import NOTIFY_CHANNEL, Addition, KnowledgeState

__all__ = ["ADDITIONS_SOURCE", "NOTIFY_CHANNEL", "Addition", "KnowledgeState"]
