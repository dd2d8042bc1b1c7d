"""Choosing the order and product systems in settings (``KEFU_SHOP__...``)."""

from __future__ import annotations

import pytest

from core.config.checks import startup_problems
from core.settings import KefuSettings


def test_an_order_api_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_SHOP__ORDERS__BACKEND", "http")
    monkeypatch.setenv(
        "KEFU_SHOP__ORDERS__HTTP__ORDER_URL", "https://x.example/c/{customer_id}/o/{order_no}"
    )
    monkeypatch.setenv("KEFU_SHOP__ORDERS__HTTP__FIELDS", '{"status": "state.code"}')
    monkeypatch.setenv("KEFU_SHOP__ORDERS__HTTP__AUTH_VALUE", "Bearer s3cret")

    settings = KefuSettings()

    http = settings.shop.orders.http
    assert settings.shop.orders.backend == "http"
    assert http.fields == {"status": "state.code"}
    assert http.auth_value is not None and http.auth_value.get_secret_value() == "Bearer s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.shop.catalogue.backend == "demo"
    assert startup_problems(settings) == []


def test_a_chosen_backend_without_its_url_is_named_at_start() -> None:
    settings = KefuSettings.model_validate(
        {"shop": {"orders": {"backend": "sql"}, "catalogue": {"backend": "http"}}}
    )

    assert startup_problems(settings) == [
        "KEFU_SHOP__ORDERS__SQL__URL is required when KEFU_SHOP__ORDERS__BACKEND is sql",
        "KEFU_SHOP__CATALOGUE__HTTP__URL is required when KEFU_SHOP__CATALOGUE__BACKEND is http",
    ]
