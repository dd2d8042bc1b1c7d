"""The knowledge step answers from the knowledge base, or says it does not know and offers a
human; a dead vector store gets an apology with the same offer."""

from __future__ import annotations

from collections.abc import Sequence

from bot.app import Kefu
from bot.dialogue.policy import Thresholds
from bot.dialogue.session import Turn
from bot.pipeline.knowledge import KnowledgeAnswer
from bot.pipeline.replies import reply_payload
from core.errors import KnowledgeError
from core.types import OutgoingMessage
from knowledge.types import Passage
from tests.bot.pipeline.steps import make_turn, run

THRESHOLDS = Thresholds(faq=0.75, answer=0.5)


class DeadStore:
    def search(self, query: str, k: int = 5) -> Sequence[Passage]:
        raise KnowledgeError("the vector store is down")

    def corrected(self, question: str) -> str:
        return question


def answerer(kefu: Kefu) -> KnowledgeAnswer:
    config = kefu.settings.knowledge
    thresholds = Thresholds(faq=config.faq_threshold, answer=config.answer_threshold)
    return KnowledgeAnswer(kefu.knowledge, thresholds, config.top_k)


async def test_a_policy_question_is_answered_with_its_source(kefu: Kefu) -> None:
    [reply], _ = await run(answerer(kefu), make_turn("你们的商品保修期是多长时间"))
    assert reply.custom["answer_kind"] in ("faq", "passage") and reply.citations


async def test_a_misspelt_question_gets_the_curated_answer(kefu: Kefu) -> None:
    [reply], _ = await run(answerer(kefu), make_turn("how long is the warrenty for laptps"))
    assert reply.custom["answer_kind"] == "faq"
    assert reply.citations[0].doc_id == "warranty-period-en" and "2 years" in reply.text


async def test_a_chinese_typing_slip_is_read_as_the_word_it_sounds_like(kefu: Kefu) -> None:
    [reply], _ = await run(answerer(kefu), make_turn("笔记本保休期是几年"))  # 保修
    assert reply.custom["answer_kind"] == "faq"
    assert reply.citations[0].doc_id == "warranty-period-zh" and "2年" in reply.text


async def test_an_unknown_question_offers_a_human(kefu: Kefu) -> None:
    [reply], _ = await run(answerer(kefu), make_turn("明天上海会下雨吗"))
    assert reply.custom["answer_kind"] == "dont_know"
    assert [b.title for b in reply.buttons] == ["转人工客服"]


async def test_a_dead_vector_store_gets_an_apology_and_a_human(kefu: Kefu) -> None:
    step = KnowledgeAnswer(DeadStore(), THRESHOLDS, 5)
    [reply], _ = await run(step, make_turn("how long is the warranty?"))
    assert reply.custom["answer_kind"] == "error"
    assert "unavailable" in reply.text and reply.buttons


async def test_two_questions_in_one_message_get_one_answer_each(kefu: Kefu) -> None:
    replies, _ = await run(answerer(kefu), make_turn("笔记本保修几年，另外运费怎么收"))
    assert [r.custom["answer_kind"] in ("faq", "passage") for r in replies] == [True, True]
    sources = [r.citations[0].doc_id or "" for r in replies]
    assert sources[0].startswith("warranty") and sources[1].startswith("shipping"), sources


async def test_the_question_it_cannot_answer_is_named_in_the_offer_of_a_human(
    kefu: Kefu,
) -> None:
    replies, _ = await run(answerer(kefu), make_turn("退货要几天？你们总部在哪个城市？"))
    answer, offer = replies
    assert answer.citations and answer.citations[0].doc_id.startswith("returns")
    assert offer.custom["answer_kind"] == "dont_know"
    assert "你们总部在哪个城市" in offer.text and offer.buttons


async def test_a_dead_vector_store_gets_one_apology_for_two_questions() -> None:
    step = KnowledgeAnswer(DeadStore(), THRESHOLDS, 5)
    turn = make_turn("How long is the warranty, and can I get an invoice?")
    [reply], _ = await run(step, turn)
    assert reply.custom["answer_kind"] == "error"


async def after(step: KnowledgeAnswer, question: str, follow_up: str) -> OutgoingMessage:
    """The reply to ``follow_up`` in a conversation where ``question`` was just answered."""
    [first], _ = await run(step, make_turn(question))
    turn = make_turn(follow_up)
    turn.session.turns.extend(
        [Turn("user", question), Turn("assistant", first.text, reply_payload(first))]
    )
    [reply], _ = await run(step, turn)
    return reply


async def test_a_short_question_with_no_answer_of_its_own_is_read_with_the_one_before(
    kefu: Kefu,
) -> None:
    step = answerer(kefu)
    # alone, "how many points make a yuan" found the shipping fees
    reply = await after(step, "积分怎么用", "多少分抵一块钱")
    assert reply.citations[0].doc_id == "membership-points-zh" and "100积分" in reply.text
    # one that alone finds nothing is not made about the last answer for sharing a word
    unrelated = await after(step, "how long is the warranty", "do you sell phone cases?")
    assert unrelated.custom["answer_kind"] == "dont_know"


async def test_a_question_naming_nothing_goes_on_with_what_was_asked_before(kefu: Kefu) -> None:
    step = answerer(kefu)
    # alone, "can it be returned" is the general 7-day policy; gift cards are the exception
    reply = await after(step, "礼品卡有哪些面额", "能退吗")
    assert reply.citations[0].doc_id == "returns-non-returnable-zh"
    assert "礼品卡" in reply.text
    # "how many days" after "do you post to Japan": the entry that answered for Japan
    abroad = await after(step, "寄日本吗", "要几天")
    assert abroad.citations[0].doc_id == "shipping-international-zh"
    assert "5-12个工作日" in abroad.text


async def test_a_short_chinese_question_finding_nothing_alone_is_read_with_the_one_before(
    kefu: Kefu,
) -> None:
    step = answerer(kefu)
    reply = await after(step, "积分多少能抵一块钱", "最多能抵多少")  # alone: nothing sure
    assert reply.citations[0].doc_id == "membership-points-zh" and "20%" in reply.text
    # a new subject the entry never names stays "don't know"
    unrelated = await after(step, "积分多少能抵一块钱", "你们老板是谁")
    assert unrelated.custom["answer_kind"] == "dont_know"


async def test_a_question_naming_our_product_is_answered_and_another_brand_is_not(
    kefu: Kefu,
) -> None:
    assert kefu.understander is not None
    config = kefu.settings.knowledge
    thresholds = Thresholds(faq=config.faq_threshold, answer=config.answer_threshold)
    products = kefu.understander.catalogue
    step = KnowledgeAnswer(kefu.knowledge, thresholds, config.top_k, products=products)
    # the knowledge base never names the Aurora Fold: it is ours all the same, and a phone
    [reply], _ = await run(step, make_turn("Is the Aurora Fold covered by warranty?"))
    assert reply.custom["answer_kind"] == "passage"  # found reworded: quoted, not curated
    assert reply.citations[0].doc_id in ("warranty-period-en", "warranty-coverage-en")
    assert "warranty" in reply.text
    [laptop], _ = await run(step, make_turn("轨道Book 16 Pro保修几年"))
    assert laptop.citations[0].doc_id == "warranty-period-zh" and "2年" in laptop.text
    [other], _ = await run(step, make_turn("What is the Pixel 8 warranty?"))
    assert other.custom["answer_kind"] == "dont_know"
    # a name alone, or with what the knowledge base never says, is not answered by chance
    for question in ("Aurora X1", "Aurora X1 好用吗"):
        [bare], _ = await run(step, make_turn(question))
        assert bare.custom["answer_kind"] == "dont_know", question
