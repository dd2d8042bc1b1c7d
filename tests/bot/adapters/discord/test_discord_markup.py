"""Rendering outgoing messages for Discord."""

from __future__ import annotations

from bot.adapters.discord.markup import ButtonPayloads, render, split_markdown
from core.types import Button, Citation, OutgoingMessage


def test_code_block_split_across_messages_stays_a_code_block_in_each() -> None:
    code = "\n".join(f"step_{n} = run({n})" for n in range(300))
    parts = split_markdown(f"Try this:\n```python\n{code}\n```\nDone.", 2000)
    assert len(parts) > 1
    assert all(len(part) <= 2000 for part in parts)
    for part in parts:
        assert part.count("```") % 2 == 0, part[:40]
    assert parts[1].startswith("```python\n")


def test_sources_line_is_escaped_markdown_in_the_replys_language() -> None:
    message = OutgoingMessage(text="七天内可退货。", citations=(Citation("a.md", "退货_政策*"),))
    [part] = render(message, ButtonPayloads())
    assert part.content == "七天内可退货。\n\n*来源：退货\\_政策\\**"


def test_long_payloads_round_trip_and_foreign_custom_ids_are_ignored() -> None:
    payloads = ButtonPayloads()
    long_payload = "请问国际快递" * 30
    message = OutgoingMessage(text="Pick", buttons=(Button("x" * 120, long_payload),))
    [part] = render(message, payloads)
    [(label, custom_id)] = part.buttons
    assert len(label) == 80
    assert len(custom_id) <= 100
    assert payloads.decode(custom_id) == long_payload
    assert payloads.decode("poll:vote:3") is None
