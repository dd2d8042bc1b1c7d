"""No confident wrong answers: other companies get "don't know"; FAQs answer what they cover."""

from __future__ import annotations

import dataclasses

from bot.dialogue.companies import foreign_subject
from bot.dialogue.policy import Thresholds, decide_answer
from bot.dialogue.scope import (
    asks_what_the_faq_asks,
    destinations,
    faq_answers_it,
    shares_a_term,
    uncovered_terms,
)
from core.events import AnswerKind
from knowledge.types import Passage

THRESHOLDS = Thresholds(faq=0.8, answer=0.5)


def faq(question: str, answer: str, alternatives: tuple[str, ...] = ()) -> Passage:
    return Passage(
        chunk_id="c1",
        text=f"{question}\n{answer}",
        source="faq.csv",
        title=question,
        section=None,
        kind="faq",
        score=0.9,
        question=question,
        answer=answer,
        alternatives=alternatives,
        doc_id="payment-methods-en",
    )


PAYMENT = faq(
    "What payment methods do you accept?",
    "We accept Alipay, WeChat Pay, UnionPay and credit cards including Visa.",
)


def test_a_key_word_missing_from_the_faq_means_no_curated_answer() -> None:
    answer = decide_answer("Can I pay with bitcoin?", "en", [PAYMENT], THRESHOLDS)
    assert answer.kind is AnswerKind.PASSAGE  # the passage, quoted, not "Yes, we accept ..."
    assert uncovered_terms("Can I pay with bitcoin?", PAYMENT) == ["bitcoin"]
    covered = decide_answer("Which payment methods work, Visa?", "en", [PAYMENT], THRESHOLDS)
    assert covered.kind is AnswerKind.FAQ
    assert covered.citations[0].doc_id == "payment-methods-en"
    assert covered.citations[0].quote == PAYMENT.answer


def test_an_faq_whose_answer_merely_mentions_the_words_is_quoted_not_sent_as_is() -> None:
    refunds = faq("How long does a refund take?", "Alipay and WeChat Pay refunds take 1-3 days.")
    answer = decide_answer("do you take wechat pay", "en", [refunds], THRESHOLDS)
    assert answer.kind is AnswerKind.PASSAGE


def test_alternative_phrasings_cover_the_customers_words() -> None:
    entry = faq("What payment methods do you accept?", "Alipay or cards.", ("can I pay by crypto",))
    assert decide_answer("pay by crypto?", "en", [entry], THRESHOLDS).kind is AnswerKind.FAQ


def test_questions_about_another_company_get_dont_know() -> None:
    returns = faq("What is your return policy?", "Returns within 7 days of delivery.")
    questions = ("What's Amazon's return policy?", "京东的退货政策是怎样的", "别家几天能退款")
    for question in (*questions, "Does eBay refund return shipping?"):
        assert foreign_subject(question, [returns]) is not None, question
        answer = decide_answer(question, "en", [returns], THRESHOLDS)
        assert answer.kind is AnswerKind.DONT_KNOW, question
    assert foreign_subject("你们的退货政策是怎样的", [returns]) is None
    assert foreign_subject("Do you take Visa?", [PAYMENT]) is None  # a name our answer uses
    assert foreign_subject("Where's DD20241101?", [PAYMENT]) is None
    assert foreign_subject("拼多多的退款要多久", [returns]) == "拼多多"
    assert foreign_subject("Can I return a phone I bought at Walmart?", [returns]) == "Walmart"


def test_a_known_brand_or_shop_is_another_company_in_any_case_or_sentence() -> None:
    warranty = faq("How long is the warranty?", "All phones carry a one-year warranty.")
    questions = {
        "小米的手机保修多久": "小米",  # no 的 right before the policy word
        "京东买的手机你们能修吗": "京东",  # where it was bought, not whose policy
        "can i get my xiaomi phone fixed under warranty": "xiaomi",  # lower case
        "能指定中通快递发货吗": "中通",
    }
    for question, name in questions.items():
        assert foreign_subject(question, [warranty]) == name, question
        assert decide_answer(question, "zh", [warranty], THRESHOLDS).kind is AnswerKind.DONT_KNOW
    assert foreign_subject("审核中通过了吗", [warranty]) is None  # 中 + 通过, not 中通
    couriers = faq("Which courier do you use?", "We ship with SF Express (顺丰) nationwide.")
    assert foreign_subject("能用顺丰发货吗", [couriers]) is None  # a courier the shop names


def test_a_latin_name_next_to_chinese_is_a_name_and_capitals_alone_are_not() -> None:
    returns = faq(
        "What is your return policy?", "Returns within 7 days. 7天无理由退货，App里申请。"
    )
    for question, name in (
        ("Zara的退货政策", "Zara"),
        ("iPhone能退吗", "iPhone"),
        ("OPPO的手机", "OPPO"),
    ):
        assert foreign_subject(question, [returns]) == name, question
    # an acronym in Chinese is a word, and a question in capitals names no one
    for question in ("APP里怎么退货", "HOW DO I RETURN SOMETHING", "WHERE IS MY REFUND"):
        assert foreign_subject(question, [returns]) is None, question
    answer = decide_answer("HOW DO I RETURN SOMETHING", "en", [returns], THRESHOLDS)
    assert answer.kind is not AnswerKind.DONT_KNOW


def test_days_holidays_languages_and_the_customers_own_name_are_not_companies() -> None:
    times = faq("How long does delivery take?", "1-2 days to major cities, 2-4 days elsewhere.")
    for question in (
        "I ordered on Friday, when does it come?",
        "Is delivery slower during Chinese New Year?",
        "Do you deliver on Sundays?",
        "My name is Li Wei and I want to know the delivery time",
        "Hi, this is Tom. How long does delivery take?",
    ):
        assert foreign_subject(question, [times]) is None, question
    assert foreign_subject("I'm Amy, does Walmart deliver faster?", [times]) == "Walmart"


def test_a_place_is_not_another_company() -> None:
    times = faq("How long does delivery take?", "1-2 days to major cities, 2-4 days elsewhere.")
    for question in ("how long does delivery to Chengdu take", "my stuff in Guangzhou, when?"):
        assert foreign_subject(question, [times]) is None, question


def test_a_verb_phrase_before_de_is_not_a_company_name() -> None:
    next_day = faq("有次日达吗？", "16:00前下单，次日送达。")
    assert foreign_subject("下单以后有没有第二天就能送到的服务", [next_day]) is None


def test_a_relative_clause_before_de_is_not_a_company_name() -> None:
    claim = faq("怎么申请保修维修？", "保修期内往返运费由我们承担。")
    clauses = (
        "维修寄回来的运费我出吗",  # sent back after repair
        "上个月买的退货能退吗",  # bought last month
        "朋友送的会员能用吗",  # a friend's gift
        "刚收到的发票抬头错了",  # just received
        "网上下单的发票怎么开",  # ordered online
    )
    for question in clauses:
        assert foreign_subject(question, [claim]) is None, question
    for question, name in (("唯品会的会员", "唯品会"), ("网易严选的退款", "网易严选")):
        assert foreign_subject(question, [claim]) == name  # a brand still is one


def test_document_citations_quote_the_sentence_and_name_the_section() -> None:
    passage = Passage(
        chunk_id="d1",
        text="Orders paid before 16:00 ship the same day. Remote areas take 5-7 days.",
        source="policies/shipping-policy.md",
        title="Shipping Policy",
        section="Shipping Policy > Delivery times",
        kind="doc",
        score=0.7,
        language="en",
    )
    answer = decide_answer("How long to remote areas?", "en", [passage], THRESHOLDS)
    citation = answer.citations[0]
    assert citation.quote == answer.text
    assert citation.anchor == "shipping-policy.md#delivery-times"


def test_a_follow_up_gets_the_sentences_about_what_changed() -> None:
    warranty = faq(
        "How long is the warranty?",
        "Phones come with 1 year. Laptops come with 2 years. It starts on delivery. "
        "Keep your order number.",
    )
    answer = decide_answer(
        "and for laptops?", "en", [warranty], THRESHOLDS, answered_before={warranty.chunk_id}
    )
    assert answer.kind is AnswerKind.PASSAGE
    assert "Laptops come with 2 years." in answer.text
    assert "Keep your order number." not in answer.text
    other = decide_answer("and for laptops?", "en", [warranty], THRESHOLDS, answered_before={"x"})
    assert len(other.text) > len(answer.text)  # another entry is answered in full


def test_a_passage_sharing_no_word_with_the_question_is_not_quoted() -> None:
    returns = Passage(
        chunk_id="r1",
        text="支持。自签收之日起7天内可以申请7天无理由退货。",
        source="faq.csv",
        title="退货",
        section=None,
        kind="doc",
        score=0.6,
        language="zh",
    )
    assert decide_answer("你们支持以旧换新吗", "zh", [returns], THRESHOLDS).kind is (
        AnswerKind.DONT_KNOW
    )
    assert decide_answer("退货要几天内申请", "zh", [returns], THRESHOLDS).kind is (
        AnswerKind.PASSAGE
    )


def test_a_chinese_abbreviation_matches_the_word_it_shortens() -> None:
    invoices = faq("怎么开发票？", "下单时在结算页选择“发票”并填写抬头。", ("发票咋开",))
    answer = decide_answer("开票咋开", "zh", [invoices], THRESHOLDS)
    assert answer.kind is AnswerKind.FAQ  # 开票 is 开发票, not a word the entry lacks
    care = faq("有延保服务吗？", "可以购买延长保修服务，再延长1年。")
    assert not uncovered_terms("延保怎么买", care)  # 延保 is 延长保修
    # only a dropped character in between, in order: 老板 is not in 平板电脑
    tablets = faq("平板保修多久？", "平板电脑保修1年。")
    assert uncovered_terms("你们老板是谁", tablets) == ["老板"]


def test_a_shopping_word_jieba_would_split_stays_one_word() -> None:
    fees = "订单满99元包邮，不满99元收取8元运费。"
    assert not shares_a_term("运费险有吗", fees)  # shipping insurance is not the shipping fee
    assert shares_a_term("运费多少", fees)
    assert shares_a_term("积分什么时候到账", "积分在签收7天后到账。")
    expiry = faq("积分会过期吗？", "每年的积分在次年12月31日到期，可以在“账户 → 我的积分”查看。")
    assert "到账" in uncovered_terms("积分什么时候到账", expiry)  # not the 账 of 账户


def test_a_one_character_word_that_names_the_topic_must_be_in_the_faq() -> None:
    returns = faq(
        "哪些商品不支持无理由退货？",
        "定制商品、礼品卡和拆封的入耳式耳机不支持无理由退货。",
        alternatives=("刻了字的手机可以无理由退吗",),
    )
    assert "卖" in uncovered_terms("你们手机有卖吗", returns)  # for sale: not about returns
    assert uncovered_terms("礼品卡可以退吗", returns) == []  # 卡 and 退 are in the entry


def test_a_curated_answer_asks_for_the_kind_of_answer_the_customer_wants() -> None:
    how_to = faq(
        "How do I return an item?",
        "Open the order, choose Return and send it back with a courier pickup.",
        alternatives=("how do i send something back",),
    )
    assert not faq_answers_it("How long do I have to send something back?", how_to)
    assert faq_answers_it("how do I send something back", how_to)


def test_a_curated_answer_needs_the_customer_to_ask_what_a_phrasing_asks() -> None:
    deletion = faq(
        "How do I delete my account?",
        "Deleting clears your points, coupons and gift card balance for good.",
        (
            "What happens to my gift card balance if I delete my account?",
            "I don't want to use your app anymore, can I close my account?",
        ),
    )
    # every word is in the entry, but the customer never mentions deleting or closing
    assert not asks_what_the_faq_asks("what happens to my points if I don't use them", deletion)
    assert asks_what_the_faq_asks("what happens to my points if I delete my account", deletion)
    invoices = faq("怎么开发票？", "下单时在结算页选择“发票”并填写抬头。", ("发票咋开",))
    assert asks_what_the_faq_asks("开票咋开", invoices)  # 开票 abbreviates 开发票


def test_a_word_jieba_makes_up_is_read_as_the_words_it_holds() -> None:
    levels = faq(
        "会员等级是怎么划分的？",
        "满2000元为银卡会员，满8000元为金卡会员，自动升级。消费按近12个月的实付金额计算。",
    )
    # jieba's guessing joins 银卡升 and 金卡要: neither is a word the entry lacks
    assert uncovered_terms("银卡升金卡要消费多少", levels) == []
    # the characters beside the entry's word must be in the entry too
    no_upgrade = faq("会员等级是怎么划分的？", "满2000元为银卡会员，满8000元为金卡会员。")
    assert uncovered_terms("银卡升金卡", no_upgrade) == ["银卡升"]
    assert shares_a_term("银卡升金卡要多少", levels.answer or "")
    # single characters only are not enough: 多买 (buy extra) is not 多 and 买
    period = faq("保修期是多久？", "手机保修1年，笔记本电脑保修2年，多数配件保修1年。")
    assert "多买" in uncovered_terms("可以多买一年保修吗", period)


def test_two_one_character_words_are_enough_to_ask_the_way_an_faq_is_asked() -> None:
    exchange = faq(
        "买的东西坏了，多少天内可以换新？",
        "签收后15天内出现性能故障，可以申请换同型号新品。",
    )
    answer = decide_answer("上周买的耳机坏了能换新吗", "zh", [exchange], THRESHOLDS)
    assert answer.kind is AnswerKind.PASSAGE
    assert "15天" in answer.text
    # one shared character (雨 is nowhere, 天 is one) is a coincidence
    weather = decide_answer("明天会下雨吗", "zh", [exchange], THRESHOLDS)
    assert weather.kind is AnswerKind.DONT_KNOW


def test_a_question_holding_most_of_an_alternative_is_asked_that_way() -> None:
    returns = faq(
        "支持7天无理由退货吗？",
        "支持。自签收之日起7天内，商品完好的可以申请无理由退货。",
        ("不想要了能退吗", "退货期限 几天"),
    )
    answer = decide_answer("买了个手表不想要了，能退吗", "zh", [returns], THRESHOLDS)
    assert answer.kind is AnswerKind.PASSAGE  # the alternative with the thing named
    assert "7天" in answer.text
    # sharing 能退吗 alone is not asking it that way: an annual fee is not goods returned
    assert decide_answer("年费能退吗", "zh", [returns], THRESHOLDS).kind is AnswerKind.DONT_KNOW


def _entry(chunk_id: str, question: str, answer: str, alternatives: tuple[str, ...]) -> Passage:
    return dataclasses.replace(
        faq(question, answer, alternatives), chunk_id=chunk_id, doc_id=chunk_id, score=0.85
    )


DELIVERY_TIMES = _entry(
    "shipping-times-zh",
    "下单后多久能收到货？",
    "16:00前付款的订单当天发货。发货后一线城市一般1-2天送达，新疆、西藏等偏远地区5-7天。",
    ("几天能到", "寄到新疆要多久"),
)
ABROAD = _entry(
    "shipping-international-zh",
    "可以寄到海外或港澳台吗？",
    "可以。我们配送到港澳台地区以及日本、韩国和美国，一般5-12个工作日送达。",
    ("能寄到美国吗", "香港能发货不"),
)


def test_a_city_the_delivery_entry_does_not_name_still_gets_its_delivery_times() -> None:
    for question in ("寄到北京要几天", "发到杭州几天能到", "送到成都要多久"):
        answer = decide_answer(question, "zh", [DELIVERY_TIMES], THRESHOLDS)
        assert answer.kind is AnswerKind.PASSAGE, question
        assert "1-2天" in answer.text
    # the place is a detail only where something is sent: the weather in Beijing is no
    # delivery question, and a shop in Shenzhen is not in the entry
    assert decide_answer("北京天气怎么样", "zh", [DELIVERY_TIMES], THRESHOLDS).kind is (
        AnswerKind.DONT_KNOW
    )
    assert decide_answer("你们在深圳有实体店吗", "zh", [DELIVERY_TIMES], THRESHOLDS).kind is (
        AnswerKind.DONT_KNOW
    )
    assert destinations("京东买的手机你们能修吗") == frozenset()  # a shop, not a place


def test_the_entry_that_names_the_destination_wins_over_the_general_one() -> None:
    for question in ("寄到日本要多久", "寄日本要多久"):  # 寄 takes the place without 到 too
        answer = decide_answer(question, "zh", [DELIVERY_TIMES, ABROAD], THRESHOLDS)
        assert answer.passage is ABROAD, question
        assert "5-12个工作日" in answer.text
    assert destinations("能发香港吗") == {"香港"}
    assert destinations("发票丢了") == set()
    assert destinations("how long does it take to get my stuff in Guangzhou") == {"guangzhou"}


def test_how_much_of_nothing_named_gets_no_curated_answer_by_chance() -> None:
    fees = _entry(
        "shipping-fees-zh",
        "运费怎么收？多少钱包邮？",
        "订单满99元包邮，不满99元收取8元运费。",
        ("运费多少钱",),
    )
    answer = decide_answer("多少钱", "zh", [fees], THRESHOLDS)
    assert answer.kind is AnswerKind.DONT_KNOW  # not the shipping fee as *the* answer
    asked = decide_answer("多少钱", "zh", [fees], THRESHOLDS, asked="运费怎么算 多少钱")
    # read with the question before it, it has a topic
    assert asked.kind is not AnswerKind.DONT_KNOW
    assert "99元" in asked.text
