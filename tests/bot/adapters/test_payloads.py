"""Long button payloads behind a digest: the recent ones come back, old ones expire."""

from __future__ import annotations

from bot.adapters.payloads import DIGEST_MARK, DigestedPayloads


def test_a_long_payload_comes_back_from_its_short_digest() -> None:
    payloads = DigestedPayloads()
    payload = "请问国际快递的运费和关税怎么算" * 10
    digest = payloads.remember(payload)
    assert digest.startswith(DIGEST_MARK)
    assert len(digest) == len(digest.encode()) == 33
    assert payloads.remember(payload) == digest
    assert payloads.recall(digest) == payload
    assert payloads.recall(DIGEST_MARK + "0" * 32) is None


def test_only_the_most_recently_used_payloads_are_remembered() -> None:
    payloads = DigestedPayloads(capacity=2)
    first, second = payloads.remember("first"), payloads.remember("second")
    assert payloads.recall(first) == "first"  # pressed again: "second" is now the oldest
    third = payloads.remember("third")
    assert payloads.recall(second) is None
    assert (payloads.recall(first), payloads.recall(third)) == ("first", "third")
