"""Slash commands: /start for everyone, admin commands only for admins, each one logged."""

from __future__ import annotations

from bot.app import Kefu
from bot.pipeline.commands import Commands
from core.events import EventKind
from tests.bot.pipeline.steps import KEY, make_turn, run


def commands(kefu: Kefu) -> Commands:
    return Commands(kefu.admin, kefu.store, kefu.handoff)


async def test_a_customer_may_start_but_not_reload_and_the_refusal_is_logged(
    kefu: Kefu,
) -> None:
    [hello], _ = await run(commands(kefu), make_turn("/start", language="zh"))
    assert "智能客服" in hello.text
    [refused], later = await run(commands(kefu), make_turn("/kb reload", language="en"))
    assert "administrators only" in refused.text and later.reached == []
    [event] = await kefu.store.events(KEY, kinds=[EventKind.ADMIN_COMMAND])
    assert event.payload == {"command": "kb reload", "allowed": False}


async def test_an_admin_searches_the_knowledge_base(kefu: Kefu) -> None:
    [hits], _ = await run(commands(kefu), make_turn("/kb search 保修", is_admin=True))
    assert "保修" in hits.text
    [event] = await kefu.store.events(KEY, kinds=[EventKind.ADMIN_COMMAND])
    assert event.payload["allowed"] is True


async def test_words_that_are_not_a_command_go_on(kefu: Kefu) -> None:
    replies, later = await run(commands(kefu), make_turn("保修多久"))
    assert len(later.reached) == 1 and replies == later.replies
