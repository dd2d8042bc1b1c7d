"""Who a web or REST customer is (``KEFU_WEB__...``): visitor tokens, signed identity, API token.

The customer id the pipeline sees always comes from a credential: a visitor token the server
issued, a host site's HMAC identity proof, or (server to server) the channel API token with the
sender the backend names. A client-chosen ``sender`` alone is never trusted.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator


class WebSettings(BaseModel):
    anonymous_visitors: bool = Field(
        default=True,
        description="Let visitors without a credential chat: each gets a server-issued, signed "
        "visitor token that binds their conversation. Off: the web chat and REST need the API "
        "token or a signed identity.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="Server-to-server REST: requests with `Authorization: Bearer <api_token>` "
        "may name any `sender` (your backend owns the ids, as with Rasa's REST channel).",
    )
    identity_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret of the host site's identity proof: `user_hash` = hex "
        "HMAC-SHA256(identity_secret, user_id). Unset: signed identities are refused.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Other sites (e.g. `https://shop.example.com`) whose pages may embed the "
        "widget: CORS on the REST channel and the WebSocket's Origin check. The server's own "
        "origin is always allowed.",
    )
    visitor_token_days: float = Field(
        default=30.0, gt=0, description="How long a visitor or identity token stays valid."
    )

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        cleaned = [origin.strip().rstrip("/").lower() for origin in value if origin.strip()]
        for origin in cleaned:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"origins look like https://shop.example.com, not {origin!r}")
        return cleaned
