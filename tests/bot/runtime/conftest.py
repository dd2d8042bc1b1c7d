"""Runtime fixtures: the storage backends of tests/core (SQLite always, PostgreSQL when the
test command started one)."""

from __future__ import annotations

import os

import pytest

from tests.core.conftest import clock, database, database_url, reset_postgres

__all__ = ["clock", "database", "database_url", "postgres_url"]


@pytest.fixture
async def postgres_url() -> str:
    """An empty PostgreSQL database, for what only makes sense with several workers."""
    url = os.environ.get("KEFU_TEST_DATABASE_URL")
    if not url:
        pytest.skip("KEFU_TEST_DATABASE_URL is not set")
    await reset_postgres(url)
    return url
