"""Staff sign-in for the agent workspace and the admin pages: sessions, CSRF, login throttling.

A session cookie is ``v2.<session id>.<HMAC-SHA256>``: the signature rejects forged ids without
a query, and the ``staff_sessions`` row decides the rest (who, until when, revoked or not), so
logging out or changing a password ends the session on every worker at once.

Failed logins are counted per (account, client address) pair in ``login_failures``: guessing
an agent's password from one address slows that address down without locking the real agent
out elsewhere. The client address comes from :class:`bot.proxies.TrustedProxies`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import structlog
from pydantic import SecretStr
from sqlalchemy import CursorResult, delete, func, select, update

from bot.handoff.auth_models import LoginFailure, StaffSession
from core.storage import Database
from core.storage.db import storage_errors
from core.types import utcnow
from core.untrusted import same_secret, storable

log = structlog.get_logger(__name__)

SECRET_FILE = "agent_session.key"
_VERSION = "v2"
MAX_COOKIE_CHARS = 256
CLIENT_SPRAY_FACTOR = 10
"""One address may fail this many times ``attempts`` across all account names per window."""


def session_key(configured: SecretStr | None, data_dir: Path) -> bytes:
    """The configured signing key, else one generated once and kept in the data directory.

    The file is created with mode 0600; several workers sharing the data directory agree on it.
    """
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode("utf-8")
    path = data_dir / SECRET_FILE
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
class StaffLogin:
    """A live session: ``kind`` is ``agent`` (subject: the agent id) or ``admin``."""

    id: str
    kind: str
    subject: str


class StaffSessions:
    """Opens, checks and revokes staff sessions, and the CSRF token bound to each.

    Args:
        database: a migrated database (``0005_identity``).
        key: the server's signing key (the same on every worker).
        lifetime: how long a session lasts after login.
        clock: the current time (timezone-aware).
    """

    def __init__(
        self,
        database: Database,
        key: bytes,
        lifetime: timedelta,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._key = key
        self._lifetime = lifetime
        self._clock = clock

    @property
    def lifetime_s(self) -> int:
        return int(self._lifetime.total_seconds())

    async def open(self, kind: str, subject: str) -> str:
        """A new session for ``subject``; returns the cookie value."""
        session_id = secrets.token_urlsafe(24)
        now = self._now()
        row = StaffSession(
            id=session_id,
            kind=kind,
            subject=subject,
            created_at=now,
            expires_at=now + self._lifetime,
        )
        with storage_errors("open a session"):
            async with self._db.sessions() as session, session.begin():
                session.add(row)
        body = f"{_VERSION}.{session_id}"
        return f"{body}.{self._sign('session', body)}"

    async def check(self, cookie: str | None, kind: str) -> StaffLogin | None:
        """The live session a cookie names, if authentic, of ``kind``, unexpired, unrevoked."""
        if not cookie or len(cookie) > MAX_COOKIE_CHARS:
            return None
        body, _, signature = cookie.rpartition(".")
        version, _, session_id = body.partition(".")
        if version != _VERSION or not same_secret(signature, self._sign("session", body)):
            return None
        with storage_errors("load a session"):
            async with self._db.sessions() as session:
                row = await session.get(StaffSession, session_id)
        if row is None or row.kind != kind or row.revoked_at is not None:
            return None
        if row.expires_at <= self._now():
            return None
        return StaffLogin(row.id, row.kind, row.subject)

    async def revoke(self, login: StaffLogin) -> None:
        """Ends one session (logout)."""
        await self._revoke(StaffSession.id == login.id)
        log.info("auth.session.revoked", kind=login.kind, subject=login.subject)

    async def revoke_all(self, kind: str, subject: str) -> int:
        """Ends every session of one agent or admin (password change); returns how many."""
        count = await self._revoke(StaffSession.kind == kind, StaffSession.subject == subject)
        log.info("auth.sessions.revoked", kind=kind, subject=subject, count=count)
        return count

    def csrf_token(self, login: StaffLogin) -> str:
        return self._sign("csrf", login.id)

    def csrf_ok(self, login: StaffLogin, token: str | None) -> bool:
        return bool(token) and same_secret(token, self.csrf_token(login))

    async def _revoke(self, *where: Any) -> int:
        statement = (
            update(StaffSession)
            .where(*where, StaffSession.revoked_at.is_(None))
            .values(revoked_at=self._now())
        )
        with storage_errors("revoke sessions"):
            async with self._db.sessions() as session, session.begin():
                result = cast(CursorResult[Any], await session.execute(statement))
        return int(result.rowcount)

    def _sign(self, purpose: str, body: str) -> str:
        digest = hmac.new(self._key, f"{purpose}|{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)


class LoginThrottle:
    """Failed logins per (account, client) pair in a sliding window, in the database.

    Args:
        database: a migrated database (``0005_identity``).
        attempts: failures of one pair within ``window`` after which it must wait.
        window: how long a failure counts.
        clock: the current time (timezone-aware).
    """

    def __init__(
        self,
        database: Database,
        attempts: int,
        window: timedelta,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._attempts = attempts
        self._window = window
        self._clock = clock

    async def blocked(self, account: str, client: str) -> bool:
        """True while this pair (or this client across all names) has failed too often."""
        since = self._now() - self._window
        recent = LoginFailure.failed_at > since
        pair = select(func.count()).where(
            recent, LoginFailure.account == _key(account), LoginFailure.client == _key(client)
        )
        by_client = select(func.count()).where(recent, LoginFailure.client == _key(client))
        with storage_errors("count failed logins"):
            async with self._db.sessions() as session:
                failures = int(await session.scalar(pair) or 0)
                sprayed = int(await session.scalar(by_client) or 0)
        return failures >= self._attempts or sprayed >= self._attempts * CLIENT_SPRAY_FACTOR

    async def failed(self, account: str, client: str) -> None:
        now = self._now()
        row = LoginFailure(account=_key(account), client=_key(client), failed_at=now)
        expired = delete(LoginFailure).where(LoginFailure.failed_at <= now - self._window)
        with storage_errors("record a failed login"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(expired)  # old failures count for nothing: keep it small
                session.add(row)

    async def succeeded(self, account: str, client: str) -> None:
        statement = delete(LoginFailure).where(
            LoginFailure.account == _key(account), LoginFailure.client == _key(client)
        )
        with storage_errors("clear failed logins"):
            async with self._db.sessions() as session, session.begin():
                await session.execute(statement)

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)


def _key(value: str) -> str:
    """Names and addresses as stored: case-folded, at most 64 characters (long ones hashed)."""
    folded = storable(value).strip().lower()
    if len(folded) <= 64:
        return folded
    return "sha256:" + hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()[:57]
