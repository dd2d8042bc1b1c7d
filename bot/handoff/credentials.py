"""Agent credentials: salted scrypt password hashes and random login tokens.

Passwords are hashed with scrypt (memory-hard, in the standard library); tokens are 256 random
bits, so a plain SHA-256 of them is enough to store and look them up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
"""scrypt cost: about 16 MiB and a few tens of milliseconds per hash."""
SALT_BYTES = 16
KEY_BYTES = 32
TOKEN_PREFIX = "kefu_"
MIN_PASSWORD_CHARS = 8


def hash_password(password: str) -> str:
    """A self-describing hash: ``scrypt$n$r$p$salt$key`` (base64).

    Raises:
        ValueError: if the password is shorter than :data:`MIN_PASSWORD_CHARS`.
    """
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"passwords need at least {MIN_PASSWORD_CHARS} characters")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, N, R, P)
    return "$".join([SCHEME, str(N), str(R), str(P), _b64(salt), _b64(key)])


def verify_password(password: str, stored: str | None) -> bool:
    """True if ``password`` matches ``stored``. Costs one hash even when ``stored`` is None,
    so the time taken does not tell whether an agent of that name exists."""
    try:
        scheme, n, r, p, salt, key = (stored or _DUMMY_HASH).split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return stored is not None and hmac.compare_digest(actual, expected)


def new_token() -> str:
    """A fresh login token for an agent (shown once, stored only as its hash)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=KEY_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_DUMMY_HASH = "$".join([SCHEME, str(N), str(R), str(P), _b64(b"\0" * SALT_BYTES), _b64(b"")])
