"""Agent sessions: signed cookies, CSRF tokens and the failed-login limit.

The session cookie is ``v1.<agent id>.<issued at>.<nonce>.<HMAC-SHA256>``: tamper-proof
without server-side state, so every worker sharing the key accepts it. Disabling an agent
ends their sessions because every request also checks the agent is still active.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from core.settings import KefuSettings
from core.types import utcnow

log = structlog.get_logger(__name__)

SECRET_FILE = "agent_session.key"
_VERSION = "v1"


def session_key(settings: KefuSettings) -> bytes:
    """The configured signing key, else one generated once and kept in the data directory.

    The file is created with mode 0600; several workers sharing the data directory agree on it.
    """
    configured = settings.handoff.session_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode("utf-8")
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    key = secrets.token_bytes(32)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    log.info("handoff.session_key.created", path=str(path))
    return key


@dataclass(slots=True, frozen=True)
class AgentSession:
    agent_id: int
    issued_at: int
    nonce: str


class SessionSigner:
    """Issues and checks session cookies and the CSRF token bound to each session."""

    def __init__(
        self, key: bytes, lifetime: timedelta, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._key = key
        self._lifetime = lifetime
        self._clock = clock

    def issue(self, agent_id: int) -> str:
        body = f"{_VERSION}.{agent_id}.{int(self._clock().timestamp())}.{secrets.token_hex(16)}"
        return f"{body}.{self._sign('session', body)}"

    def verify(self, cookie: str | None) -> AgentSession | None:
        """The session in a cookie that is authentic and not expired, else None."""
        if not cookie or len(cookie) > 256:
            return None
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature, self._sign("session", body)):
            return None
        try:
            version, agent_id, issued_at, nonce = body.split(".")
            session = AgentSession(int(agent_id), int(issued_at), nonce)
        except ValueError:
            return None
        age = self._clock().timestamp() - session.issued_at
        if version != _VERSION or age < -60 or age > self._lifetime.total_seconds():
            return None
        return session

    def csrf_token(self, session: AgentSession) -> str:
        return self._sign("csrf", session.nonce)

    def csrf_ok(self, session: AgentSession, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(token or "", self.csrf_token(session))

    def _sign(self, purpose: str, body: str) -> str:
        digest = hmac.new(self._key, f"{purpose}|{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class LoginLimiter:
    """At most ``attempts`` failed logins per name and per address in a sliding window.

    In process memory: with several workers each allows ``attempts``, still a hard bound.
    """

    def __init__(
        self,
        attempts: int,
        window: timedelta,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_keys: int = 100_000,
    ) -> None:
        self._attempts = attempts
        self._window = window.total_seconds()
        self._clock = clock
        self._max_keys = max_keys
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str) -> bool:
        now = self._clock().timestamp()
        return any(
            key in self._failures and len(self._recent(key, now)) >= self._attempts for key in keys
        )

    def failed(self, *keys: str) -> None:
        now = self._clock().timestamp()
        if len(self._failures) >= self._max_keys:
            self._failures.clear()  # a flood of names: forget rather than grow without bound
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        return failures
