"""Settings of what an operator watches: the /metrics endpoint."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, Field, SecretStr, field_validator


class MetricsSettings(BaseModel):
    enabled: bool = Field(default=True, description="Serve Prometheus metrics at `/metrics`.")
    token: SecretStr | None = Field(
        default=None,
        description="When set, `/metrics` needs `Authorization: Bearer <token>` from any "
        "address. Unset: only clients in `trusted_networks` may scrape.",
    )
    trusted_networks: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="Networks allowed to scrape `/metrics` without a token. Behind a reverse "
        "proxy on the same host every client looks local: set a token there.",
    )

    @field_validator("trusted_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value
