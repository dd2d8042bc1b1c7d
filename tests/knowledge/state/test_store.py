"""FAQ additions in the database: ids, alternative phrasings, deletions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from knowledge.state import Addition, KnowledgeState
from knowledge.state.additions import new_addition


@pytest.fixture
def state(database_url: str) -> Iterator[KnowledgeState]:
    opened = KnowledgeState.open(database_url, "kefu-test")
    yield opened
    opened.close()


def test_readding_a_question_replaces_the_answer_and_keeps_its_alternatives(
    state: KnowledgeState,
) -> None:
    first = new_addition("Do you price-match?", "No.", "payment")
    state.save_addition(
        Addition(first.id, first.question, first.answer, alternatives=("价格保护吗", "match price"))
    )

    state.save_addition(new_addition("do you price-match", "Yes, within 7 days."))

    [saved] = state.additions()
    assert saved.id == first.id and saved.id.startswith("added-")
    assert (saved.question, saved.answer) == ("do you price-match", "Yes, within 7 days.")
    assert saved.alternatives == ("价格保护吗", "match price")


def test_a_deleted_addition_is_not_live_until_added_again(state: KnowledgeState) -> None:
    price = new_addition("Do you price-match?", "Yes.")
    wrap = new_addition("Can you gift-wrap?", "Yes, 5 yuan.")
    state.save_addition(price)
    state.save_addition(wrap)

    assert state.delete_additions([price.id]) == 1
    assert state.delete_additions([price.id]) == 0
    assert [a.id for a in state.additions()] == [wrap.id]
    assert state.addition_ids() == {price.id, wrap.id}  # the record stays

    state.save_addition(price)
    assert {a.id for a in state.additions()} == {price.id, wrap.id}
