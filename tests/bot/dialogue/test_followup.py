from bot.dialogue.followup import contextual_query, is_follow_up


def test_short_chinese_follow_up_is_recognised() -> None:
    assert is_follow_up("那换货呢？", "zh")
    assert not is_follow_up("请问你们的发票怎么开具，需要提供什么信息？", "zh")


def test_english_follow_up_is_recognised() -> None:
    assert is_follow_up("what about laptops?", "en")
    assert not is_follow_up("How do I request an invoice for my company order?", "en")


def test_contextual_query_carries_the_previous_question() -> None:
    assert contextual_query("退货需要多久", "那换货呢") == "退货需要多久 那换货呢"
