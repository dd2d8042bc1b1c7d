"""Reading what strangers send: bounded JSON, storable text and comparisons that never raise.

Every HTTP and WebSocket surface parses bodies with :func:`parse_json` and compares secrets with
:func:`same_secret`, so a hostile request gets a clear 400 (or a plain "no"), never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from core.errors import InputError

MAX_JSON_DEPTH = 32
"""Deeper JSON is refused: nothing Kefu accepts nests more than a few levels."""
MAX_NUMBER_CHARS = 40
"""Longer numbers are refused (Python refuses ints over 4,300 digits with a ValueError)."""
MAX_ID = 2**63 - 1
"""Ids in paths and forms above this are unknown (the database's BIGINT)."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL and lone surrogates: PostgreSQL text and UTF-8 cannot hold them."""


def storable(text: str) -> str:
    """``text`` without NULs and lone surrogates, the same way everywhere it enters.

    A lone surrogate (``"\\ud800"`` in JSON) is not a character and cannot be encoded as
    UTF-8: leaving it in fails the database write after the message may already be delivered.
    """
    return _UNSTORABLE.sub("", text)


def parse_json(data: bytes | str) -> Any:
    """Parses a JSON document from an untrusted client, with every string made storable.

    Raises:
        InputError: when it is not UTF-8 or not JSON, nests deeper than
            :data:`MAX_JSON_DEPTH`, or has a number longer than :data:`MAX_NUMBER_CHARS`.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_int=_number(int), parse_float=_number(float))
    except UnicodeDecodeError as e:
        raise InputError("the body is not valid UTF-8") from e
    except json.JSONDecodeError as e:
        raise InputError(f"the body is not valid JSON: {e.msg}") from e
    except RecursionError as e:
        raise InputError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels") from e
    return _cleaned(value, 0)


def _number(kind: type[int] | type[float]) -> Any:
    def parse(literal: str) -> int | float:
        if len(literal) > MAX_NUMBER_CHARS:
            raise InputError(f"numbers have at most {MAX_NUMBER_CHARS} characters")
        return kind(literal)

    return parse


def _cleaned(value: Any, depth: int) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise InputError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [_cleaned(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {storable(k): _cleaned(v, depth + 1) for k, v in value.items()}
    return value


def parse_id(value: object) -> int | None:
    """A positive database id from a path or form field, else None (no such record)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def same_secret(given: str | bytes | None, expected: str | bytes) -> bool:
    """Constant-time equality for tokens, cookies and signatures of any characters.

    ``hmac.compare_digest`` raises TypeError for non-ASCII ``str``: both sides are hashed as
    UTF-8 first (lone surrogates included), so the answer is a plain True or False.
    """
    if given is None:
        return False
    return hmac.compare_digest(_digest(given), _digest(expected))


def _digest(value: str | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).digest()


def mask_secret(text: str, *secrets: str | None) -> str:
    """``text`` with each non-empty secret replaced by ``***`` (for errors and logs)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


_TOKEN_PATTERNS = (
    (re.compile(r"(?<![0-9])\d{5,12}:[A-Za-z0-9_-]{30,}"), "***"),  # Telegram bot tokens
    (re.compile(r"\bkefu_[A-Za-z0-9_-]{20,}"), "kefu_***"),  # agent login tokens
    (re.compile(r"\bkc1\.[uv]\.[A-Za-z0-9_-]*\.\d+\.[A-Za-z0-9_-]{20,}"), "kc1.***"),
    (re.compile(r"\bv2\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"), "v2.***"),  # staff sessions
    (re.compile(r"(?i)\b(bearer\s+)\S+"), r"\1***"),
)


def mask_tokens(text: str) -> str:
    """``text`` with anything shaped like one of our tokens or a platform's masked."""
    for pattern, replacement in _TOKEN_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
