"""Entity extraction: tricky formats, mixed languages, and the LLM's validated additions."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.dialogue.entities import Amount, Entities, ProductCatalogue, extract_entities
from bot.dialogue.entity_llm import extract_entities_with_llm
from bot.dialogue.numbers import parse_chinese_number
from core.errors import LLMError

TODAY = date(2024, 11, 12)  # a Tuesday


@pytest.mark.parametrize(
    "text",
    [
        "我的订单 DD20241101 到哪了",
        "订单号 DD2024 1101",
        "order dd-20241101 please",
        "ＤＤ２０２４１１０１",
        "订单号：20241101",
        "my order number is 20241101",
        "where is DD 2024-1101?",
    ],
)
def test_order_numbers_in_any_spelling_become_one_canonical_number(text: str) -> None:
    assert extract_entities(text).order_numbers == ("DD20241101",)


def test_an_order_number_is_not_read_again_as_a_phone_or_amount() -> None:
    entities = extract_entities("DD20241101 电话 138 1234 5678")

    assert entities.order_numbers == ("DD20241101",)
    assert entities.phones == ("13812345678",)
    assert entities.amounts == ()


@pytest.mark.parametrize(
    ("text", "phones"),
    [
        ("我的手机号13812345678", ("13812345678",)),
        ("call me on +86 139-1234-5678", ("13912345678",)),
        ("客服热线 400-820-1234", ("4008201234",)),
        ("座机 010-12345678", ("01012345678",)),
        ("my number is +44 20 7946 0958", ("+442079460958",)),
        ("(415) 555-0132 or +1 415 555 0133", ("4155550132", "+14155550133")),
    ],
)
def test_phone_numbers(text: str, phones: tuple[str, ...]) -> None:
    assert extract_entities(text).phones == phones


def test_email_addresses_are_lower_cased() -> None:
    entities = extract_entities("发到 Alice.W+shop@Example.COM 谢谢")

    assert entities.emails == ("alice.w+shop@example.com",)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("我付了¥199", Amount(199.0, "CNY")),
        ("退 199元 给我", Amount(199.0, "CNY")),
        ("it cost $20", Amount(20.0, "USD")),
        ("I paid 20 dollars", Amount(20.0, "USD")),
        ("两百元", Amount(200.0, "CNY")),
        ("1,299.50 RMB", Amount(1299.5, "CNY")),
        ("1.5万元的电脑", Amount(15000.0, "CNY")),
        ("三千以内的手机", Amount(3000.0, None, "max")),
        ("预算三千五", Amount(3500.0, None, "max")),
        ("something under 500", Amount(500.0, None, "max")),
    ],
)
def test_amounts(text: str, amount: Amount) -> None:
    assert extract_entities(text).amounts == (amount,)


@pytest.mark.parametrize("text", ["less than 3 days", "三天以内能到吗", "买了2个", "Watch 3"])
def test_counts_and_durations_are_not_money(text: str) -> None:
    assert extract_entities(text).amounts == ()


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("2024-11-01 下的单", ("2024-11-01",)),
        ("11月1日下的单", ("2024-11-01",)),
        ("2023年12月25日", ("2023-12-25",)),
        ("ordered on Nov 1st", ("2024-11-01",)),
        ("1 November 2023", ("2023-11-01",)),
        ("昨天买的", ("2024-11-11",)),
        ("I ordered it yesterday", ("2024-11-11",)),
        ("3天前下单", ("2024-11-09",)),
        ("上周五", ("2024-11-08",)),
        ("上上周五", ("2024-11-01",)),
        ("last friday", ("2024-11-08",)),
    ],
)
def test_dates_absolute_and_relative_to_today(text: str, dates: tuple[str, ...]) -> None:
    assert extract_entities(text, today=TODAY).dates == dates


def test_relative_dates_need_a_today() -> None:
    assert extract_entities("昨天买的").dates == ()


@pytest.mark.parametrize("text", ["I may 2 weeks late", "the market 5 is closed"])
def test_words_that_look_like_months_are_not_dates(text: str) -> None:
    assert extract_entities(text, today=TODAY).dates == ()


@pytest.mark.parametrize(
    ("text", "skus"),
    [
        ("我想买极光X1", ("XH-PH-001",)),
        ("Aurora X1 Pro 和 aurora x1 哪个好", ("XH-PH-002", "XH-PH-001")),
        ("the Tide Buds Pro keep disconnecting", ("XH-HP-002",)),
        ("星河 潮汐 Buds 还有 65W 氮化镓充电器", ("XH-HP-001", "XH-AC-001")),
        ("XINGHE COMET WATCH 3 PRO", ("XH-SW-002",)),
    ],
)
def test_products_from_the_catalogue_in_either_language(
    catalogue: ProductCatalogue, text: str, skus: tuple[str, ...]
) -> None:
    assert extract_entities(text, catalogue).products == skus


def test_a_mixed_language_message_yields_every_kind(catalogue: ProductCatalogue) -> None:
    text = "我昨天买的 Tide Buds Pro 订单 dd20241102 花了¥899，联系我 13812345678 或 bob@x.cn"

    entities = extract_entities(text, catalogue, TODAY)

    assert entities.order_numbers == ("DD20241102",)
    assert entities.products == ("XH-HP-002",)
    assert entities.amounts == (Amount(899.0, "CNY"),)
    assert entities.dates == ("2024-11-11",)
    assert entities.phones == ("13812345678",)
    assert entities.emails == ("bob@x.cn",)


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("DD20241101", True),
        ("订单号是 DD20241101", True),
        ("my order number is dd 2024 1101, thanks", True),
        ("我要退款 DD20241101", False),
        ("where is DD20241101", False),
    ],
)
def test_a_bare_answer_is_told_from_a_new_request(text: str, bare: bool) -> None:
    assert extract_entities(text).bare is bare


def test_entities_survive_a_json_round_trip(catalogue: ProductCatalogue) -> None:
    entities = extract_entities("DD20241101 ¥199 昨天 极光 X1", catalogue, TODAY)

    restored = Entities.from_json(json.loads(json.dumps(entities.to_json())))

    assert restored == entities
    assert entities.slot_value("order_no") == "DD20241101"
    assert entities.slot_value("amount") == "199 CNY"
    assert entities.slot_value("email") is None


@pytest.mark.parametrize(
    ("text", "value"), [("两百", 200), ("一千二百五十", 1250), ("三千五", 3500), ("十五", 15)]
)
def test_chinese_numerals(text: str, value: int) -> None:
    assert parse_chinese_number(text) == value


async def test_the_llm_adds_what_the_rules_missed_and_nothing_invented(
    catalogue: ProductCatalogue,
) -> None:
    prompts: list[str] = []

    async def llm(prompt: str) -> str:
        prompts.append(prompt)
        return (
            "Here you go:\n```json\n"
            + json.dumps(
                {
                    "order_numbers": ["DD20241101", "DD99999999"],
                    "phones": ["13800000000"],
                    "emails": ["someone@else.com"],
                    "amounts": [{"value": 250, "currency": "cny"}, {"value": "lots"}],
                    "dates": ["2024-11-01", "not a date", "1999-01-01"],
                    "products": ["Xinghe Tide Max", "Unicorn Phone"],
                }
            )
            + "\n```"
        )

    text = "上上周五买的大耳机，订单 DD20241101，二百五十块"
    entities = await extract_entities_with_llm(text, catalogue, TODAY, llm)

    assert "2024-11-12" in prompts[0] and text in prompts[0]
    assert entities.order_numbers == ("DD20241101",), "a number not in the message is dropped"
    assert entities.phones == () and entities.emails == ()
    assert entities.dates == ("2024-11-01",)
    assert entities.products == ("XH-HP-003",)
    assert Amount(250.0, "CNY") in entities.amounts
    assert entities.source == "rules+llm"


@pytest.mark.parametrize("answer", ["sorry, I can't", '["not", "an", "object"]', "{broken"])
async def test_an_unusable_llm_answer_leaves_the_rules_result(answer: str) -> None:
    async def llm(prompt: str) -> str:
        return answer

    entities = await extract_entities_with_llm("DD20241101", None, TODAY, llm)

    assert entities == extract_entities("DD20241101", None, TODAY)


async def test_a_failing_llm_leaves_the_rules_result() -> None:
    async def llm(prompt: str) -> str:
        raise LLMError("timeout")

    entities = await extract_entities_with_llm("DD20241101 昨天", None, TODAY, llm)

    assert entities.order_numbers == ("DD20241101",)
    assert entities.dates == ("2024-11-11",)
    assert entities.source == "rules"


def test_product_names_are_found_and_can_be_named_generically(
    catalogue: ProductCatalogue,
) -> None:
    question = "Is the Aurora Fold covered by warranty?"
    assert catalogue.names_in(question) == ["aurora fold"]
    assert catalogue.named_generically(question, "product") == "is the product covered by warranty?"
    assert catalogue.named_generically("轨道Book 16 Pro保修几年", "商品") == "商品保修几年"
    assert catalogue.names_in("What is the Pixel 8 warranty?") == []  # not ours
