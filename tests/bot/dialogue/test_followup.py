from bot.dialogue.followup import contextual_query, is_follow_up, may_follow_up


def test_short_chinese_follow_up_is_recognised() -> None:
    assert is_follow_up("那换货呢？", "zh")
    assert not is_follow_up("请问你们的发票怎么开具，需要提供什么信息？", "zh")


def test_english_follow_up_is_recognised() -> None:
    assert is_follow_up("what about laptops?", "en")
    assert not is_follow_up("How do I request an invoice for my company order?", "en")


def test_contextual_query_carries_the_previous_question() -> None:
    assert contextual_query("退货需要多久", "那换货呢") == "退货需要多久 那换货呢"


def test_a_longer_question_that_leans_back_may_be_a_follow_up() -> None:
    assert not is_follow_up("and when do they show up in my account?", "en")
    assert may_follow_up("and when do they show up in my account?", "en")
    assert is_follow_up("are they waterproof?", "en")
    assert not may_follow_up("How do I request an invoice for my company order?", "en")
    assert not may_follow_up("那如果我买了笔记本之后想换成别的型号，可以吗", "zh")


def test_asking_how_much_or_how_long_of_nothing_named_leans_on_the_last_question() -> None:
    assert is_follow_up("多少钱", "zh")  # after "有延保吗": what Care+ costs
    assert is_follow_up("要多久", "zh")
    assert is_follow_up("how long does it take?", "en")
    assert is_follow_up("when?", "en")
    # a topic of its own is a new question, however short
    assert not is_follow_up("退款多久到账", "zh")
    assert not is_follow_up("how much is shipping", "en")
    assert not is_follow_up("寄到北京要几天", "zh")
    assert not is_follow_up("好的", "zh")  # asks nothing
