"""Language-model backends behind one small interface (:class:`ChatBackend`).

Importing this package is cheap: the openai SDK and torch/transformers are imported only
when :func:`make_backend` builds the backend that needs them.
"""

from core.llm.base import (
    ChatBackend,
    ChatMessage,
    ChatResult,
    ToolCall,
    ToolSpec,
    Usage,
    closing_stream,
)
from core.llm.factory import make_backend
from core.llm.fallback import Answered, FailSafeBackend, with_fallback
from core.llm.tools import ORDER_STATUS, OrderLookup, Tool, order_status_tool, run_with_tools

__all__ = [
    "ORDER_STATUS",
    "Answered",
    "ChatBackend",
    "ChatMessage",
    "ChatResult",
    "FailSafeBackend",
    "OrderLookup",
    "Tool",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "closing_stream",
    "make_backend",
    "order_status_tool",
    "run_with_tools",
    "with_fallback",
]
