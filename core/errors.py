"""The one error hierarchy. Chain causes with ``raise ... from e``."""


class KefuError(Exception):
    """Base of every error Kefu raises on purpose."""


class ConfigError(KefuError):
    """Settings are missing or inconsistent."""


class InputError(KefuError):
    """A request or message that cannot be processed as sent (malformed JSON, missing fields)."""


class StorageError(KefuError):
    """The database failed."""


class KnowledgeError(KefuError):
    """The knowledge base failed: loading, embedding or the vector store."""


class LoaderError(KnowledgeError):
    """One source file could not be parsed; the rest of the batch goes on."""


class VectorStoreError(KnowledgeError):
    """The vector store (ChromaDB) failed or is unreachable."""


class LLMError(KefuError):
    """A language-model backend failed or timed out."""


class AdapterError(KefuError):
    """A platform adapter failed to receive or deliver."""


class PermissionDenied(KefuError):
    """Someone asked for an action they are not allowed to take."""


class TransientDeliveryError(AdapterError):
    """The platform did not take a message this time (network, 5xx, busy, flood control); the
    outbox sends it again later.

    Args:
        message: what went wrong, without secrets.
        retry_after: seconds the platform asked us to wait, when it said so.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotConnected(AdapterError):
    """The customer's channel is not reachable from this worker right now (no open socket);
    the message stays in the outbox for when they are."""


class ConnectorError(KefuError):
    """A company's order or product system (a connector) failed, refused us or did not answer
    in time; the customer is told we cannot look it up right now."""
