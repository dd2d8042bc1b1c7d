"""Tables of staff sign-in: server-side sessions and failed logins (``0005_identity``).

Both live in the database so that every worker agrees: a session revoked by logout or a
password change ends everywhere, and failed logins are counted across workers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.models import Base


class StaffSession(Base):
    """One signed-in browser of an agent or an admin; the cookie names it by ``id``."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index(None, "kind", "subject"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginFailure(Base):
    """One failed login, counted per (account, client address) pair within a window."""

    __tablename__ = "login_failures"
    __table_args__ = (Index(None, "account", "client", "failed_at"), Index(None, "failed_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime]
