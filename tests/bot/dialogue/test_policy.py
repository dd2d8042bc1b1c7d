import dataclasses

from bot.dialogue.policy import Thresholds, best_sentences, decide_answer, pick_passage
from core.events import AnswerKind
from knowledge.types import Passage

THRESHOLDS = Thresholds(faq=0.8, answer=0.5)


def faq(score: float, language: str, answer: str, chunk_id: str = "c1") -> Passage:
    return Passage(
        chunk_id=chunk_id,
        text=f"Q A {answer}",
        source="faq.csv",
        title="Returns",
        section=None,
        kind="faq",
        score=score,
        question="Q",
        answer=answer,
        language=language,
    )


def doc(score: float, text: str) -> Passage:
    return Passage(
        chunk_id="d1",
        text=text,
        source="policies/returns.md",
        title="退货政策",
        section="退款时效",
        kind="doc",
        score=score,
        language="zh",
    )


def test_confident_faq_is_answered_with_its_answer_and_cited() -> None:
    entry = dataclasses.replace(faq(0.9, "zh", "7天无理由退货。"), question="几天内可以退货？")
    answer = decide_answer("退货多久", "zh", [entry], THRESHOLDS)
    assert answer.kind is AnswerKind.FAQ
    assert answer.text == "7天无理由退货。"
    assert answer.citations[0].source == "faq.csv"


def test_nothing_relevant_means_dont_know_not_a_guess() -> None:
    answer = decide_answer("明天天气", "zh", [faq(0.3, "zh", "7天无理由退货。")], THRESHOLDS)
    assert answer.kind is AnswerKind.DONT_KNOW
    assert answer.citations == ()
    assert decide_answer("x", "en", [], THRESHOLDS).kind is AnswerKind.DONT_KNOW


def test_customer_language_wins_among_near_equal_hits() -> None:
    english = faq(0.90, "en", "Seven days.", "en1")
    chinese = faq(0.86, "zh", "七天。", "zh1")
    assert pick_passage("Q", [english, chinese], "zh") is chinese
    assert pick_passage("Q", [english, chinese], "en") is english
    far = faq(0.5, "zh", "七天。", "zh2")
    assert pick_passage("Q", [english, far], "zh") is english


def test_the_faq_whose_question_matches_wins_among_near_equal_hits() -> None:
    company = Passage(
        chunk_id="c",
        text="",
        source="faq.csv",
        title="",
        section=None,
        kind="faq",
        score=0.99,
        rank=1,
        question="Can I get an invoice in my company's name?",
        answer="Company invoice.",
        language="en",
    )
    plain = Passage(
        chunk_id="p",
        text="",
        source="faq.csv",
        title="",
        section=None,
        kind="faq",
        score=0.98,
        rank=2,
        question="How do I get an invoice?",
        answer="Every order.",
        language="en",
    )
    assert pick_passage("How do I get an invoice?", [company, plain], "en") is plain


def test_document_passage_quotes_the_sentences_that_answer() -> None:
    text = (
        "我们支持七天无理由退货。退款会在审核通过后3个工作日内原路返回。"
        "会员积分可以抵扣现金。门店营业时间为早九点到晚九点。"
    )
    answer = decide_answer("退款多久到账", "zh", [doc(0.7, text)], THRESHOLDS)
    assert answer.kind is AnswerKind.PASSAGE
    assert "退款会在审核通过后3个工作日内原路返回" in answer.text
    assert answer.citations[0].section == "退款时效"


def test_best_sentences_keep_original_order() -> None:
    text = "Alpha is first. Shipping takes 3 days. Gamma is third. Returns take 7 days. Zeta."
    quoted = best_sentences("how many days for shipping and returns", text, limit=2)
    assert quoted == "Shipping takes 3 days. Returns take 7 days."


def test_an_alternative_phrasing_picks_its_faq_among_near_equal_hits() -> None:
    refund = dataclasses.replace(
        faq(0.90, "zh", "1-3个工作日到账。", "refund"),
        question="退款多久到账？",
        alternatives=("钱啥时候退回来",),
    )
    invoice = dataclasses.replace(
        faq(0.91, "zh", "在订单详情申请。", "invoice"), question="怎么开发票？"
    )
    assert pick_passage("钱啥时候能退回来", [invoice, refund], "zh") is refund


def test_sharing_only_a_question_word_does_not_make_a_phrasing_closer() -> None:
    levels = dataclasses.replace(
        faq(0.28, "zh", "满2000元为银卡会员，满8000元为金卡会员。", "levels"),
        question="会员等级是怎么划分的？",
        rank=1,
    )
    fees = dataclasses.replace(
        faq(0.27, "zh", "订单满99元包邮。", "fees"),
        question="运费怎么收？",
        alternatives=("满多少包邮",),
        rank=3,
    )
    # every question asks with 多少; "满多少包邮" is no closer to it for that
    assert pick_passage("银卡要消费多少", [levels, fees], "zh") is levels


def test_a_quote_is_about_the_question_when_the_entry_is_asked_that_way() -> None:
    # "来得及退不" shares no word with the answer, but the entry's alternative asks it so
    entry = dataclasses.replace(
        faq(0.6, "zh", "自签收之日起7天内可以申请无理由退货。"),
        question="支持7天无理由退货吗？",
        alternatives=("收到货不喜欢还来得及退吗",),
    )
    answer = decide_answer("收到货第五天了，还来得及退不", "zh", [entry], THRESHOLDS)
    assert answer.kind is AnswerKind.PASSAGE
    assert "7天内" in answer.text
    lenient = Thresholds(faq=0.8, answer=0.26)
    weak = dataclasses.replace(entry, score=0.3)  # above "answer", but a long shot
    assert decide_answer("收到货第五天了，还来得及退不", "zh", [weak], lenient).kind is (
        AnswerKind.DONT_KNOW
    )
    # without the alternative, the question still asks it with two characters (退, 货 of 退货)
    bare = dataclasses.replace(entry, alternatives=())
    assert decide_answer("收到货第五天了，还来得及退不", "zh", [bare], THRESHOLDS).kind is (
        AnswerKind.PASSAGE
    )
    unrelated = dataclasses.replace(bare, question="七天无理由政策是什么？")
    assert decide_answer("收到货第五天了，还来得及退不", "zh", [unrelated], THRESHOLDS).kind is (
        AnswerKind.DONT_KNOW
    )


def test_a_compound_word_is_not_matched_by_a_part_of_it() -> None:
    repairs = doc(0.6, "过了保修期可以付费维修。检测免费，确认报价后才开始维修。")
    # 维修点 (a repair shop) is not 维修 (repair): the passage says nothing about shops
    shop = decide_answer("可以预约去维修点当面修吗", "zh", [repairs], THRESHOLDS)
    assert shop.kind is AnswerKind.DONT_KNOW
    fees = decide_answer("过保了维修要收钱吗", "zh", [repairs], THRESHOLDS)
    assert fees.kind is AnswerKind.PASSAGE
    assert "付费维修" in fees.text


def test_two_faq_entries_equally_likely_get_a_quote_not_a_curated_answer() -> None:
    # both entries were given the same alternative: which one is meant is a guess
    how_to = dataclasses.replace(
        faq(0.935, "en", "Open the order and send it back with a courier pickup.", "how"),
        question="How do I return an item?",
        alternatives=("can i send something back",),
        doc_id="returns-how-to-en",
    )
    postage = dataclasses.replace(
        faq(0.914, "en", "A courier pickup to send it back costs 12 yuan.", "cost"),
        question="Who pays for return shipping?",
        alternatives=("can i send something back",),
        doc_id="returns-shipping-cost-en",
    )
    asked = "Can I send something back?"
    assert decide_answer(asked, "en", [how_to, postage], THRESHOLDS).kind is AnswerKind.PASSAGE
    clear = dataclasses.replace(postage, score=0.7)
    assert decide_answer(asked, "en", [how_to, clear], THRESHOLDS).kind is AnswerKind.FAQ
    apart = dataclasses.replace(postage, alternatives=("do i pay for the pickup",))
    assert decide_answer(asked, "en", [how_to, apart], THRESHOLDS).kind is AnswerKind.FAQ


def test_a_quoted_passage_does_not_open_with_a_bare_yes() -> None:
    text = "能。保修以订单记录为准，提供订单号即可。转送他人的商品同样可以保修。"
    quoted = best_sentences("手机可以贴膜吗", text)
    assert not quoted.startswith("能")  # "yes" answered the entry's own question, not this one
    assert "订单记录" in quoted
    assert best_sentences("do you ship abroad", "Yes. We ship to Japan.").startswith("We ship")


def _shipping(chunk_id: str, score: float, rank: int, question: str, answer: str) -> Passage:
    entry = dataclasses.replace(faq(score, "en", answer, chunk_id), question=question, rank=rank)
    return dataclasses.replace(entry, text=f"{question}\n{answer}")


HOME = _shipping(
    "times", 0.87, 1, "How long does delivery take?", "Delivery takes 1-2 days to major cities."
)
ABROAD = _shipping(
    "abroad",
    0.74,
    2,
    "Do you ship internationally?",
    "Yes, we ship to Japan and Singapore; delivery takes 5-12 working days.",
)


def test_a_follow_up_keeps_the_place_the_previous_question_named() -> None:
    asked = "do you ship to Japan how long would it take"
    answer = decide_answer(
        "how long would it take",
        "en",
        [HOME, ABROAD],
        THRESHOLDS,
        answered_before={"abroad"},
        asked=asked,
    )
    assert answer.passage is ABROAD
    assert "5-12 working days" in answer.text
    # asked on its own, the general delivery times answer it
    alone = decide_answer("how long does delivery take", "en", [HOME, ABROAD], THRESHOLDS)
    assert alone.passage is HOME


def test_a_follow_up_naming_nothing_new_stays_with_the_entry_just_quoted() -> None:
    home = dataclasses.replace(HOME, language="zh", answer="发货后一线城市1-2天送达。")
    abroad = dataclasses.replace(ABROAD, language="zh", score=0.85, answer="海外5-12个工作日送达。")
    asked = "寄日本吗 要几天"  # no 到: 日本 is not read as where it goes
    assert pick_passage("要几天", [home, abroad], "zh", asked, {"abroad"}) is abroad
    assert pick_passage("要几天", [home, abroad], "zh", asked) is home
    # "能退吗" asks what the quoted entry never says (退): the ranking decides
    assert pick_passage("能退吗", [home, abroad], "zh", "寄日本吗 能退吗", {"abroad"}) is home
    # one naming its own subject is ranked as any question is
    assert (
        pick_passage("退款要几天", [home, abroad], "zh", f"{asked} 退款要几天", {"abroad"}) is home
    )
