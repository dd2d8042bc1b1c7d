"""A small WeCom server-API client: access tokens and message/send, on aiohttp."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import structlog

from core.errors import AdapterError, TransientDeliveryError

log = structlog.get_logger(__name__)

TOKEN_EXPIRED_CODES = frozenset({40014, 42001})
"""invalid access_token / access_token expired: fetch a new token and retry once."""

BUSY_CODES = frozenset({-1, 45009, 45033, 45047})
"""system busy / API rate limits: worth sending again a little later."""
_REFRESH_MARGIN_S = 300  # renew a little before WeCom's expiry (7200 s)


class WeComClient:
    """Calls the WeCom API with a cached access token.

    The token is fetched on first use, kept until shortly before ``expires_in`` and fetched
    again when an API call answers errcode 40014 or 42001 (WeCom may revoke tokens early).
    Concurrent callers share one refresh.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        corp_id: str,
        secret: str,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._corp_id = corp_id
        self._secret = secret
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._refresh_lock = asyncio.Lock()

    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid access token.

        Args:
            stale: a token the API just refused; it is replaced unless another caller already
                did so.

        Raises:
            AdapterError: gettoken failed.
        """
        async with self._refresh_lock:
            fresh = self._token is not None and time.monotonic() < self._token_expires_at
            if fresh and self._token != stale:
                assert self._token is not None
                return self._token
            data = await self._get(
                "/cgi-bin/gettoken", {"corpid": self._corp_id, "corpsecret": self._secret}
            )
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise AdapterError("wecom gettoken returned no access_token")
            expires_in = int(data.get("expires_in", 7200))
            self._token = token
            self._token_expires_at = time.monotonic() + max(expires_in - _REFRESH_MARGIN_S, 60)
            log.info("wecom.token.refreshed", expires_in=expires_in)
            return token

    async def call(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``payload`` as JSON to ``path`` with the access token.

        Raises:
            AdapterError: the API answered a non-zero errcode (after one token refresh for
                40014/42001) or could not be reached.
        """
        token = await self.access_token()
        try:
            return await self._post(path, token, payload)
        except _TokenExpired:
            log.info("wecom.token.expired", path=path)
            token = await self.access_token(stale=token)
            return await self._post(path, token, payload)

    async def _post(self, path: str, token: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        url = f"{self._base_url}{path}"
        try:
            async with self._session.post(
                url, params={"access_token": token}, json=payload
            ) as response:
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise TransientDeliveryError(f"wecom {path} failed: {type(e).__name__}") from e
        return _checked(path, data)

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            async with self._session.get(f"{self._base_url}{path}", params=params) as response:
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise TransientDeliveryError(f"wecom {path} failed: {type(e).__name__}") from e
        return _checked(path, data)


class _TokenExpired(AdapterError):
    pass


def _checked(path: str, data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise AdapterError(f"wecom {path}: response is not a JSON object")
    code = int(data.get("errcode", 0))
    if code in TOKEN_EXPIRED_CODES:
        raise _TokenExpired(f"wecom {path}: errcode {code}")
    if code in BUSY_CODES:
        raise TransientDeliveryError(f"wecom {path}: errcode {code} (busy, retried later)")
    if code != 0:
        raise AdapterError(f"wecom {path}: errcode {code} {data.get('errmsg', '')}".strip())
    return data
