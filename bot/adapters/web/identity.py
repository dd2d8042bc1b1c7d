"""Who a web or REST customer is: the sender id always comes from a credential.

Three credentials, tried in this order:

1. the channel API token (``Authorization: Bearer <web.api_token>``): a backend that owns
   the sender ids names one in ``sender`` (server to server, as Rasa's REST clients do);
2. a host site's identity proof: ``user_id`` and ``user_hash`` = hex HMAC-SHA256 of the user
   id with ``web.identity_secret`` (as Intercom and Chatwoot do); the customer is that user;
3. a customer token this server issued (``Authorization: Bearer kc1...``, ``X-Kefu-Token``,
   ``?token=`` or the ``kefu_visitor`` cookie).

Without any, a new anonymous visitor is made (when ``web.anonymous_visitors`` is on) and its
token handed back, so later requests continue the same conversation. A credential that is
present but wrong is refused: it never falls back to a fresh visitor silently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog
from aiohttp import web
from pydantic import SecretStr

from bot.adapters.web.convert import parse_sender
from bot.handoff.auth import session_key
from bot.proxies import TrustedProxies
from core.config.web import WebSettings
from core.errors import InputError
from core.settings import KefuSettings
from core.types import utcnow
from core.untrusted import same_secret

log = structlog.get_logger(__name__)

Kind = Literal["visitor", "user", "backend"]
TOKEN_HEADER = "X-Kefu-Token"
COOKIE = "kefu_visitor"
VISITOR_PREFIX = "visitor-"
MAX_TOKEN_CHARS = 512
_VERSION = "kc1"
_KINDS: dict[str, Kind] = {"v": "visitor", "u": "user"}


class NotAuthenticated(InputError):
    """No acceptable credential: the request is answered 401."""


@dataclass(slots=True, frozen=True)
class Customer:
    """The customer a request speaks for.

    Attributes:
        sender: the id the pipeline sees (conversation key, orders, admin check).
        kind: how it was proven: a visitor token, a signed identity or the API token.
        token: a customer token issued with this request, to hand back; None if not new.
    """

    sender: str
    kind: Kind
    token: str | None = None


class CustomerIdentity:
    """Issues and checks customer credentials for the REST channel and the web chat.

    Args:
        settings: the ``web`` section of the settings.
        key: the server's signing key (the same on every worker).
        proxies: decides whether a request came over https (for the cookie's ``Secure``).
        clock: the current time (timezone-aware).
    """

    def __init__(
        self,
        settings: WebSettings,
        key: bytes,
        proxies: TrustedProxies,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._settings = settings
        self._proxies = proxies
        self._key = hmac.new(key, b"kefu customer tokens", hashlib.sha256).digest()
        self._clock = clock
        self._lifetime = timedelta(days=settings.visitor_token_days)

    async def customer_of(
        self,
        request: web.Request,
        body: Mapping[str, object] | None = None,
        *,
        new_visitor: bool = False,
    ) -> Customer:
        """The customer ``request`` (with its parsed JSON ``body``) is allowed to speak for.

        Args:
            request: the HTTP request or WebSocket handshake.
            body: the request's JSON object, if any; else the query string is read.
            new_visitor: make a new anonymous visitor when no credential is given.

        Raises:
            NotAuthenticated: when a credential is wrong, or none is given where one is needed.
            InputError: when the API token names an invalid ``sender``.
        """
        fields: Mapping[str, object] = body if body is not None else request.query
        bearer = _bearer(request)
        api_token = _secret(self._settings.api_token)
        if bearer is not None and api_token is not None and same_secret(bearer, api_token):
            return Customer(parse_sender(fields.get("sender")), "backend")
        if "user_id" in fields or "user_hash" in fields:
            return self._signed_user(fields.get("user_id"), fields.get("user_hash"))
        token = bearer or request.headers.get(TOKEN_HEADER) or _text(fields.get("token"))
        token = token or request.cookies.get(COOKIE)
        if token:
            customer = self.verify(token)
            if customer is None:
                raise NotAuthenticated("the customer token is invalid or expired")
            return customer
        if new_visitor and self._settings.anonymous_visitors:
            sender = VISITOR_PREFIX + secrets.token_urlsafe(16)
            log.info("web.visitor.created", sender=sender)
            return Customer(sender, "visitor", self.issue(sender, "visitor"))
        raise NotAuthenticated("a customer token, signed identity or API token is required")

    def issue(self, sender: str, kind: Kind) -> str:
        """A signed token binding ``sender`` until the configured lifetime ends."""
        letter = "u" if kind == "user" else "v"
        expires = int((self._clock() + self._lifetime).timestamp())
        encoded = base64.urlsafe_b64encode(sender.encode("utf-8")).decode("ascii").rstrip("=")
        body = f"{_VERSION}.{letter}.{encoded}.{expires}"
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> Customer | None:
        """The customer a token was issued to, if it is authentic and unexpired."""
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            return None
        body, _, signature = token.rpartition(".")
        if not same_secret(signature, self._sign(body)):
            return None
        try:
            version, letter, encoded, expires = body.split(".")
            sender = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            expired = int(expires) < self._clock().timestamp()
        except (ValueError, UnicodeDecodeError):
            return None
        if version != _VERSION or letter not in _KINDS or expired:
            return None
        return Customer(sender, _KINDS[letter])

    def proof(self, user_id: str) -> str | None:
        """The ``user_hash`` a host site sends for ``user_id`` (None without a secret)."""
        secret = _secret(self._settings.identity_secret)
        if secret is None:
            return None
        return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()

    def hand_back(
        self, request: web.Request, response: web.StreamResponse, customer: Customer
    ) -> None:
        """Gives a newly issued token to the client: a header, and a cookie for same-site pages."""
        if customer.token is None:
            return
        response.headers[TOKEN_HEADER] = customer.token
        response.set_cookie(
            COOKIE,
            customer.token,
            path="/webhooks/rest",
            httponly=True,
            samesite="Lax",
            secure=self._proxies.is_https(request),
            max_age=int(self._lifetime.total_seconds()),
        )

    def _signed_user(self, user_id: object, user_hash: object) -> Customer:
        if not isinstance(user_id, str) or not isinstance(user_hash, str):
            raise NotAuthenticated("user_id and user_hash must both be strings")
        expected = self.proof(user_id.strip())
        if expected is None:
            raise NotAuthenticated("signed identities are not enabled on this server")
        if not same_secret(user_hash.strip().lower(), expected):
            log.warning("web.identity.refused")
            raise NotAuthenticated("the identity proof does not match the user id")
        sender = parse_sender(user_id)
        return Customer(sender, "user", self.issue(sender, "user"))

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")


def unauthorized(error: NotAuthenticated) -> web.Response:
    return web.json_response({"error": str(error)}, status=401)


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() or None if value is not None else None


def customer_identity(settings: KefuSettings) -> CustomerIdentity:
    """The customer credentials of a deployment, signed with the server's shared key."""
    return CustomerIdentity(
        settings.web,
        session_key(settings.handoff.session_secret, settings.data_dir),
        TrustedProxies(settings.server.trusted_proxies),
    )
