"""``kefu agents add|list|disable|enable``: what an admin types to manage agents."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.handoff.agents import AgentDirectory
from bot.handoff.auth import StaffSessions
from bot.handoff.cli import agents_app
from core.settings import KefuSettings
from core.storage import Database

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KEFU_STORAGE__DATABASE_URL", raising=False)
    return tmp_path / "data"


def can_log_in(name: str, secret: str) -> bool:
    async def check() -> bool:
        database = Database(KefuSettings().database_url)
        try:
            return await AgentDirectory(database).authenticate(name, secret) is not None
        finally:
            await database.dispose()

    return asyncio.run(check())


def test_add_with_a_prompted_password_that_is_never_echoed() -> None:
    result = runner.invoke(agents_app, ["add", "alice"], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "s3cret-pass" not in result.output
    assert can_log_in("alice", "s3cret-pass")
    assert not can_log_in("alice", "wrong-pass")


def test_add_with_a_token_prints_it_once_and_it_logs_in() -> None:
    result = runner.invoke(agents_app, ["add", "night-shift", "--token"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("kefu_")
    assert can_log_in("night-shift", token)
    listing = runner.invoke(agents_app, ["list"]).output
    assert "night-shift\tactive\ttoken" in listing
    assert token not in listing


def test_short_passwords_and_duplicate_names_are_refused() -> None:
    assert runner.invoke(agents_app, ["add", "bob", "--password", "short"]).exit_code == 1
    assert runner.invoke(agents_app, ["add", "bob", "--password", "long-enough"]).exit_code == 0
    duplicate = runner.invoke(agents_app, ["add", "bob", "--password", "long-enough"])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output


def test_disabled_agents_cannot_log_in_until_enabled() -> None:
    runner.invoke(agents_app, ["add", "carol", "--password", "carols-pass"])
    assert runner.invoke(agents_app, ["disable", "carol"]).exit_code == 0
    assert not can_log_in("carol", "carols-pass")
    assert "disabled" in runner.invoke(agents_app, ["list"]).output
    assert runner.invoke(agents_app, ["enable", "carol"]).exit_code == 0
    assert can_log_in("carol", "carols-pass")
    assert runner.invoke(agents_app, ["disable", "nobody"]).exit_code == 1


def test_password_change_ends_the_agents_sessions() -> None:
    runner.invoke(agents_app, ["add", "alice", "--password", "first-password"])

    async def open_session() -> str:
        database = Database(KefuSettings().database_url)
        try:
            return await StaffSessions(database, b"k", timedelta(hours=1)).open("agent", "1")
        finally:
            await database.dispose()

    async def still_valid(cookie: str) -> bool:
        database = Database(KefuSettings().database_url)
        try:
            sessions = StaffSessions(database, b"k", timedelta(hours=1))
            return await sessions.check(cookie, "agent") is not None
        finally:
            await database.dispose()

    cookie = asyncio.run(open_session())
    assert asyncio.run(still_valid(cookie))
    result = runner.invoke(agents_app, ["password", "alice"], input="second-pass\nsecond-pass\n")
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output and "second-pass" not in result.output
    assert not asyncio.run(still_valid(cookie))
    assert can_log_in("alice", "second-pass") and not can_log_in("alice", "first-password")
    assert runner.invoke(agents_app, ["password", "nobody", "--password", "x" * 9]).exit_code == 1
