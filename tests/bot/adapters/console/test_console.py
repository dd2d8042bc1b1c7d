"""``kefu chat`` in a terminal."""

from __future__ import annotations

import io

from bot.adapters.console.adapter import ConsoleChannel
from bot.app import Kefu


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
