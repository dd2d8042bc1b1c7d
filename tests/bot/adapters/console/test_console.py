"""``kefu chat`` in a terminal."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.adapters.console.adapter import ConsoleChannel
from bot.app import Kefu
from bot.cli import app
from core.types import IncomingMessage, OutgoingMessage


async def test_console_conversation_with_buttons_and_citations(
    kefu: Kefu, demo_faq: dict[str, dict[str, str]]
) -> None:
    stdin = io.StringIO("How long is the warranty?\nwho won the world cup in 1998?\n/quit\n")
    stdout = io.StringIO()
    console = ConsoleChannel(kefu.handle, stdin=stdin, stdout=stdout)
    await console.run()
    shown = stdout.getvalue()
    assert demo_faq["warranty-period-en"]["answer"] in shown
    assert "[Sources: " in shown
    assert "(1) Talk to a human" in shown


async def test_console_user_is_an_admin_by_default(kefu: Kefu) -> None:
    stdout = io.StringIO()
    console = ConsoleChannel(kefu.handle, stdin=io.StringIO("/kb stats\n"), stdout=stdout)
    await console.run()
    assert "FAQ entries" in stdout.getvalue()


async def test_a_message_sent_during_a_turn_comes_after_the_turn_s_reply() -> None:
    """A reload that finishes before its own "Reloading..." reply is printed second."""
    stdout = io.StringIO()

    async def handler(message: IncomingMessage) -> list[OutgoingMessage]:
        await console.send(message.key, OutgoingMessage("Knowledge base reloaded: 3 chunks."))
        return [OutgoingMessage("Reloading the knowledge base; I'll report when it's done.")]

    console = ConsoleChannel(handler, stdin=io.StringIO("/kb reload\n"), stdout=stdout)
    await console.run()
    shown = stdout.getvalue()
    assert shown.index("Reloading the knowledge base") < shown.index("reloaded: 3 chunks")


def test_kefu_chat_keeps_logs_off_the_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_index: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_index, data_dir)
    monkeypatch.setenv("KEFU_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(app, ["chat"], input="怎么开发票？\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "发票" in result.stdout
    assert "pipeline.turn" not in result.stdout + result.stderr
    assert "pipeline.turn" in (data_dir / "logs" / "chat.log").read_text(encoding="utf-8")
